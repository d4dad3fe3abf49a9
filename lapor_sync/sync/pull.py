"""Pull: copy what changed on SP4N-LAPOR! into the local mirror, losing nothing.

Paging strategy (why not plain offset paging): the remote pages by offset over a live
result set, so an item updated mid-listing moves to the end and the rest shift — an
offset walk can skip an item. We page by **keyset** instead: every request asks for
``updated_from = L`` (inclusive), page 1, where L is the last ``updated_at`` of the page
before. Items only ever move *later*, so a request starting at L sees every item whose
``updated_at >= L``; nothing with a smaller timestamp is left unseen. Items sharing L are
read again and recognised as unchanged (no detail fetch).

The one place offset paging is unavoidable is a **tie group**: more items with one
``updated_at`` T than a page holds. Such a group is walked with ``page=2,3,…`` at
``updated_from = T``; a member that changes during that walk leaves the group and may make
another member slip by. So the cursor is **held at T** until the pass ends; if any member
of the group was seen again with a newer timestamp, the group is walked once more (bounded
by ``max_verify_passes``). Only then may the cursor pass T.

Invariants:
- the cursor is a server timestamp, only moves forward, and is committed in the same
  transaction as the page it covers — it never passes data that is not committed;
- a page is all-or-nothing: a failure while fetching or writing it commits nothing of it;
- pages commit in order: a page is committed only when every page before it is, and
  nothing is committed after a page that failed (see ``_walk``);
- a malformed record is quarantined (reason without personal data) and the run goes on;
  quarantined complaints are retried on later pulls;
- each run starts ``lookback`` before the cursor, so late commits and ties are re-read —
  until the cursor's second has **settled** (``sync/quiet.py``): then a pull lists only
  what is newer and re-reads nothing, one list request when nothing changed;
- the safety probe against a mass drop comes before anything a run writes
  (``sync/quiet.py`` says when it is made at all).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from lapor_sync.domain import AuthorType, ComplaintDetail, ComplaintSummary, FollowUp, ListQuery
from lapor_sync.errors import InvalidRecordError, NotFoundError, describe
from lapor_sync.lapor.client import InvalidItem, ListPage
from lapor_sync.lapor.remote import Remote
from lapor_sync.redact import redact_text
from lapor_sync.store import mirror, pull_gaps
from lapor_sync.store.db import transaction
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.sync.pending import Failed, PendingPage
from lapor_sync.sync.pull_run import PullOptions, PullSummary
from lapor_sync.sync.quiet import EPOCH, QuietCycle
from lapor_sync.sync.workers import PullWorkers
from lapor_sync.timeutil import Clock, now_wib, to_db

__all__ = ["EPOCH", "ProgressHook", "PullOptions", "PullSummary", "Puller"]

ProgressHook = Callable[[int, int | None], None]
"""Called after each page with (complaints listed so far, total reported by the server)."""


@dataclass
class _TieGroup:
    stamp: datetime
    members: set[str]
    disturbed: bool = False


OpdResolver = Callable[[str | None], str | None]


class Puller:
    """One pull of one account. Create a new one per run."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        client: Remote,
        options: PullOptions,
        *,
        clock: Clock = now_wib,
        opd_for: OpdResolver = lambda _institution: None,
        progress: ProgressHook | None = None,
        run_id: int | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        workers: PullWorkers | None = None,
    ) -> None:
        self._should_stop, self._workers = should_stop, workers
        self._db = db
        self._client = client
        self._options = options
        self._clock = clock
        self._opd_for = opd_for
        self._progress = progress
        self._run_id = run_id
        self._groups: dict[datetime, _TieGroup] = {}
        self._seen: dict[str, datetime] = {}
        self._high: datetime | None = None
        self._resample_from: datetime | None = None
        self._in_flight: dict[str, datetime] = {}
        self._total: int | None = None
        self._listed_to: datetime | None = None
        self._quiet = QuietCycle(
            db,
            client,
            options.account,
            lookback=options.lookback,
            mass_drop_ratio=options.mass_drop_ratio,
            clock=clock,
        )
        self.summary = PullSummary(account=options.account)

    # --- entry point -----------------------------------------------------------------------

    def run(self, since: datetime | None = None) -> PullSummary:
        """Pull once. A failure leaves a ``pull_gaps`` row (what the run left unread) and
        propagates; a run that covers an earlier gap closes it."""
        started = time.perf_counter()
        requests_before = self._client.stats.total
        try:
            cursor = mirror.get_cursor(self._db, self._options.account)
            start = self._quiet.begin(cursor, since)
            self._resample_from = self._quiet.resample_from
            # The account's kept threads (sync/workers.py), or threads for this run only.
            with self._workers.scope() if self._workers else ThreadPoolExecutor(
                max_workers=self._options.concurrency
            ) as pool:
                self._pool = pool
                self._retry_quarantined()
                self._walk(start)
        except Exception as exc:
            self._record_gap(exc)
            raise
        # A walk that began after the cursor (``since`` later than it) did not cover it.
        began_at_cursor = cursor is None or since is None or since <= cursor
        self._close_gaps(walked_to_end=began_at_cursor and not self.summary.interrupted)
        self.summary.requests = self._client.stats.total - requests_before
        self.summary.duration_s = time.perf_counter() - started
        final = mirror.get_cursor(self._db, self._options.account)
        self.summary.cursor = final.isoformat() if final else None
        return self.summary

    # --- failed runs ------------------------------------------------------------------------

    def _record_gap(self, error: Exception) -> None:
        """Leave the failed run's trace: from the committed cursor to the newest timestamp
        it listed. Best effort: when the store itself failed, the ``runs`` row says so."""
        with contextlib.suppress(Exception), transaction(self._db):
            pull_gaps.record_failed_pull(
                self._db,
                self._options.account,
                run_id=self._run_id,
                now=self._clock(),
                listed_to=self._listed_to,
                reason=redact_text(describe(error)),
            )

    def _close_gaps(self, *, walked_to_end: bool) -> None:
        with transaction(self._db):
            pull_gaps.close_covered(
                self._db,
                self._options.account,
                walked_to_end=walked_to_end,
                run_id=self._run_id,
                now=self._clock(),
            )

    # --- paging ----------------------------------------------------------------------------

    def _walk(self, start: datetime) -> None:
        """Keyset walk, pipelined one page deep.

        The next page's ``updated_from`` is this page's last timestamp, known as soon as
        this page is listed; so the next page is listed and its downloads start before
        this page is committed, and the worker threads never wait for SQLite.

        Commit order (the no-loss rule): a page is committed only after every page before
        it was committed, and nothing is committed after a page that failed. At most two
        pages are open at a time: ``pending`` (downloading, next to commit) and the page
        just listed. When committing ``pending`` fails (a detail or follow-up request ran
        out of retries, a local error), the page listed after it is dropped, never
        committed: its cursor would pass the failed page. When *listing* fails, ``pending``
        is complete and next in order, so it may still be committed.
        """
        position = start
        pending: PendingPage | None = None
        try:
            while True:
                try:
                    listing = self._list(position, 1)
                    listed = self._begin_page(listing.page.items, listing.invalid)
                except Exception:
                    # Listing failed: the page before is complete and next in order. If
                    # its own downloads fail too it commits nothing; the first error wins.
                    with contextlib.suppress(Exception):
                        if pending is not None:
                            self._finish_page(pending)
                    pending = None
                    raise
                previous, pending = pending, listed
                if previous is not None:
                    self._finish_page(previous)  # on failure, ``pending`` is dropped below
                items = listing.page.items
                if not listing.page.has_next or not items:
                    break
                if self._should_stop():
                    # Stopping between pages is safe: the cursor covers what is committed.
                    self.summary.interrupted = True
                    break
                if all(i.updated_at == position for i in items):
                    tie_page, pending = pending, None
                    self._finish_page(tie_page)  # tie groups are walked without pipelining
                    after_group = self._walk_tie_group(position, items)
                    if after_group is None:
                        break
                    position = after_group
                else:
                    position = items[-1].updated_at
            if pending is not None:
                last, pending = pending, None
                self._finish_page(last)
        except BaseException:
            if pending is not None:
                pending.cancel()  # listed after a page that failed: commits nothing
            raise
        if self.summary.interrupted:
            return
        self._verify_tie_groups()
        self._commit_cursor(final=True)

    def _walk_tie_group(
        self, stamp: datetime, first_page: Sequence[ComplaintSummary]
    ) -> datetime | None:
        """Offset-walk the items sharing ``stamp``. Returns where to continue, or None at end."""
        group = self._groups.setdefault(stamp, _TieGroup(stamp, set()))
        group.members.update(i.remote_id for i in first_page)
        page_no = 1
        while True:
            page_no += 1
            listing = self._list(stamp, page_no)
            items = listing.page.items
            group.members.update(i.remote_id for i in items if i.updated_at == stamp)
            self._process_page(items, listing.invalid)
            beyond = [i for i in items if i.updated_at > stamp]
            if beyond:
                return beyond[-1].updated_at
            if not listing.page.has_next or not items:
                return None

    def _verify_tie_groups(self) -> None:
        for _ in range(self._options.max_verify_passes):
            disturbed = [g for g in self._groups.values() if g.disturbed]
            if not disturbed:
                return
            for group in disturbed:
                group.disturbed = False
                page_no = 0
                while True:
                    page_no += 1
                    listing = self._list(group.stamp, page_no)
                    items = listing.page.items
                    group.members.update(i.remote_id for i in items if i.updated_at == group.stamp)
                    self._process_page(items, listing.invalid)
                    if any(i.updated_at > group.stamp for i in items) or not listing.page.has_next:
                        break

    def _list(self, updated_from: datetime, page: int) -> ListPage:
        listing = self._client.list_complaints(
            ListQuery(updated_from=updated_from, page=page, page_size=self._options.page_size)
        )
        self._quiet.listed(listing)
        if self._total is None:
            self._total = listing.page.total
        if listing.page.items:
            newest = max(i.updated_at for i in listing.page.items)
            self._listed_to = max(newest, self._listed_to or newest)
        return listing

    # --- one page --------------------------------------------------------------------------

    def _process_page(
        self, items: Sequence[ComplaintSummary], invalid: Sequence[InvalidItem]
    ) -> None:
        self._finish_page(self._begin_page(items, invalid))

    def _begin_page(
        self, items: Sequence[ComplaintSummary], invalid: Sequence[InvalidItem]
    ) -> PendingPage:
        """Decide what changed and start downloading it; nothing is written yet."""
        self.summary.pages += 1
        self.summary.listed += len(items)
        self._note_movements(items)
        known = mirror.known_versions(self._db, self._options.account, [i.remote_id for i in items])
        # Timestamps have one-second resolution: an item read in the last second the feed
        # had reached may have changed again within that second without a newer
        # updated_at. Items at or after the cursor this run started from are read again.
        resample = self._resample_from
        in_flight = self._in_flight
        changed = [
            i
            for i in items
            if in_flight.get(i.remote_id) != i.updated_at
            and (
                i.remote_id not in known
                or known[i.remote_id].updated_at != to_db(i.updated_at)
                or (resample is not None and i.updated_at >= resample)
            )
        ]
        if changed or invalid:
            self._quiet.probe()  # before the first download or write
        self.summary.unchanged += len(items) - len(changed)
        # The page before may still be downloading the same version of a boundary item.
        self._in_flight = {i.remote_id: i.updated_at for i in changed}
        page = PendingPage(items, invalid, changed)
        for s in changed:
            page.details[s.remote_id] = self._pool.submit(
                self._client.complaint_detail, s.remote_id
            )
            page.followups[s.remote_id] = self._pool.submit(
                self._client.followups_checked, s.remote_id
            )
        return page

    def _finish_page(self, page: PendingPage) -> None:
        """Wait for the page's downloads, then write all of it in one transaction."""
        items, invalid, changed = page.items, page.invalid, page.changed
        fetched = page.collect()
        now = self._clock()
        with transaction(self._db):
            for item in invalid:
                self._quarantine("summary", item.remote_id, item.reason, item.raw, now)
            for summary in changed:
                outcome = fetched[summary.remote_id]
                if isinstance(outcome, Failed):
                    self._quarantine("detail", summary.remote_id, outcome.reason, outcome.raw, now)
                else:
                    self._store(outcome[0], outcome[1], now)
            for bad in (f for o in fetched.values() if not isinstance(o, Failed) for f in o[2]):
                self._quarantine("followup", bad.remote_id, bad.reason, bad.raw, now)
            if items:
                self._commit_cursor(final=False, last=items[-1].updated_at, now=now)
        if items and (self._high is None or items[-1].updated_at > self._high):
            self._high = items[-1].updated_at
        if self._progress:
            self._progress(self.summary.listed, self._total)

    def _note_movements(self, items: Sequence[ComplaintSummary]) -> None:
        """Mark tie groups disturbed when one of their members reappears, moved later."""
        for item in items:
            before = self._seen.get(item.remote_id)
            if before is not None and item.updated_at > before:
                group = self._groups.get(before)
                if group is not None and item.remote_id in group.members:
                    group.disturbed = True
            self._seen[item.remote_id] = item.updated_at

    def _commit_cursor(
        self, *, final: bool, last: datetime | None = None, now: datetime | None = None
    ) -> None:
        held = [g.stamp for g in self._groups.values()]
        if final:
            disturbed = [g.stamp for g in self._groups.values() if g.disturbed]
            # Still unsure after the verify passes: stay at the group; the next run re-reads.
            target = min(disturbed) if disturbed else self._high
            with transaction(self._db):
                if target is not None:
                    self._advance(target, now)
                self._quiet.finished(unsure=bool(disturbed), high=self._high)
            return
        assert last is not None
        self._advance(min([*held, last]), now)

    def _advance(self, position: datetime, now: datetime | None) -> None:
        mirror.advance_cursor(self._db, self._options.account, position, now or self._clock())

    # --- fetching --------------------------------------------------------------------------

    def _retry_quarantined(self) -> None:
        """Give complaints that could not be read before another chance."""
        ids = mirror.unresolved_quarantined_complaints(
            self._db, self._options.account, self._options.quarantine_retry_limit
        )
        if ids:
            self._quiet.probe()
        for remote_id in ids:
            try:
                detail = self._client.complaint_detail(remote_id)
                good, bad = self._client.followups_checked(remote_id)
            except (InvalidRecordError, NotFoundError):
                continue
            now = self._clock()
            with transaction(self._db):
                self._store(detail, good, now)
                for item in bad:
                    self._quarantine("followup", item.remote_id, item.reason, item.raw, now)

    # --- writing ---------------------------------------------------------------------------

    def _store(self, detail: ComplaintDetail, followups: list[FollowUp], now: datetime) -> None:
        account = self._options.account
        s = detail.summary
        result = mirror.save_complaint(self._db, account, detail, followups, now)
        mirror.resolve_quarantine(self._db, account, s.remote_id, now)
        if result.outcome == "stale":
            self.summary.stale += 1
            return
        if result.outcome == "same" and not result.new_followups:
            self.summary.unchanged += 1
            return
        opd = self._opd_for(s.disposition_id)

        def event(kind: EventKind, detail: dict[str, str | None]) -> None:
            record_event(
                self._db,
                kind,
                now,
                account=account,
                opd=opd,
                complaint_id=s.remote_id,
                tracking_id=s.tracking_id,
                side="lapor",
                detail=detail,
                run_id=self._run_id,
            )

        if result.outcome == "new":
            self.summary.new += 1
            event(EventKind.PULLED_NEW, {"to_status": s.status_name})
        elif result.outcome == "same":
            pass  # the same version read again, with new follow-ups (recorded below)
        else:
            self.summary.changed += 1
            if result.old_status != result.new_status:
                event(
                    EventKind.STATUS_CHANGED,
                    {"from_status": result.old_status, "to_status": s.status_name},
                )
        for f in result.new_followups:
            self.summary.followups_new += 1
            reply = f.author_type == AuthorType.REPORTER
            kind = EventKind.REPORTER_REPLY if reply else EventKind.FOLLOWUP_PULLED
            event(
                kind,
                {"followup_id": f.remote_id, "author": f.author_type.value},
            )

    def _quarantine(
        self, kind: str, remote_id: str | None, reason: str, raw: object, now: datetime
    ) -> None:
        self.summary.quarantined += 1
        key = mirror.quarantine(self._db, self._options.account, kind, remote_id, reason, raw, now)
        record_event(
            self._db,
            EventKind.QUARANTINED,
            now,
            account=self._options.account,
            complaint_id=key if kind != "followup" else None,
            side="lapor",
            detail={"kind": kind, "reason": reason},
            run_id=self._run_id,
        )

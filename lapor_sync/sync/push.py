"""Push: send the outbox to SP4N-LAPOR!, never twice.

How duplicates are prevented (the API takes no idempotency key):
1. the row is marked ``sending`` and committed *before* the POST;
2. after the POST, the answer and ``done`` are committed in one transaction;
3. a row found in ``sending`` at start (a crash between 1 and 2) becomes ``unknown``;
4. an ``unknown`` (or once-ambiguous) row is never resent before the remote has been
   searched for the reference every push carries (``[Ref: …]`` in the text, the ref in
   the tags, a disposition entry for a forward).

Ordering and throughput: a ticket's rows go strictly in id order (create before
follow-up before forward), each ticket in one worker; different tickets go in parallel,
so one slow or stuck ticket holds up nobody else. Accounts go in parallel too: the
tickets are handed out round robin over accounts (``sync/fair.py``), at most
``concurrency`` tickets of one account at once, on up to ``max_in_flight`` workers, so
a slow or failing account holds only its own share of the workers and the others go on.
Every HTTP attempt still takes the account's rate budget and a slot of the global
in-flight limit (``lapor/pacing.py``, in the client). Credentials refused (HTTP 401) for
one account stop that account's tickets for this pass; the others finish, then the pass
raises the error. All database work happens under one lock (the connection is shared);
HTTP happens outside it. Waiting is scheduled (``next_attempt_at``), never slept.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import groupby
from typing import Any

import sqlite_utils

from lapor_sync.domain import Forward, ListQuery, NewComplaint, NewFollowUp
from lapor_sync.errors import (
    AmbiguousWriteError,
    AuthError,
    FatalRemoteError,
    ForbiddenError,
    RetryableRemoteError,
    describe,
)
from lapor_sync.lapor.remote import Remote
from lapor_sync.sync import disposition_gate, outbox
from lapor_sync.sync.fair import FairQueue
from lapor_sync.sync.outbox import (
    NotReady,
    OutboxCounts,
    Prepared,
    PushPolicy,
    Refused,
    Sent,
    recover_interrupted,
    retry_rows,
)
from lapor_sync.sync.pull import EPOCH
from lapor_sync.sync.uploads import UploadRefused, upload_attachments
from lapor_sync.timeutil import Clock, now_wib

__all__ = ["PushPolicy", "PushSummary", "Pusher", "recover_interrupted", "retry_rows"]


@dataclass
class PushSummary(OutboxCounts):
    def figures(self) -> dict[str, object]:
        return {
            "pushed": self.sent,
            "recovered": self.recovered,
            "retry_later": self.retry_later,
            "unknown": self.unknown,
            "dead": self.dead,
            "waiting": self.waiting,
        }


class Pusher:
    """One pass over the outbox. Create a new one per pass."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        clients: Mapping[str, Remote],
        policy: PushPolicy,
        *,
        clock: Clock = now_wib,
        rng: random.Random | None = None,
        run_id: int | None = None,
        concurrency: int = 4,
        max_in_flight: int | None = None,
        after_claim: Callable[[int], None] | None = None,
        after_send: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._db = db
        self._clients = clients
        self._policy = policy
        self._clock = clock
        self._rng = rng or random.Random()
        self._run_id = run_id
        self._concurrency = max(1, concurrency)  # tickets of one account at once
        self._workers = max(1, max_in_flight or concurrency)  # tickets of all accounts
        # Test hooks: crash points named in docs/design.md ("after claiming an outbox row",
        # "after the POST and before recording its answer").
        self._after_claim = after_claim
        self._after_send = after_send
        self._should_stop = should_stop
        self._lock = threading.Lock()
        self.summary = PushSummary()

    def run(self, limit: int = 1000) -> PushSummary:
        recover_interrupted(self._db)
        rows = outbox.due_rows(self._db, self._clock(), limit)
        tickets = [list(group) for _, group in groupby(rows, key=lambda r: r["ticket_id"])]
        queue = FairQueue(((self._account_of(t[0]), t) for t in tickets), self._concurrency)
        workers = min(len(tickets), self._workers, self._concurrency * queue.accounts)
        refused: dict[str, AuthError] = {}

        def work() -> None:
            while (taken := queue.take()) is not None:
                account, ticket_rows = taken
                try:
                    self._push_ticket(ticket_rows)
                except AuthError as exc:  # this account only: the others go on
                    with self._lock:
                        refused.setdefault(account, exc)
                    queue.drop(account)
                finally:
                    queue.done(account)

        if workers <= 1:
            work()
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push") as pool:
                # list() re-raises an unexpected error of a worker (a store failure).
                list(pool.map(lambda _n: work(), range(workers)))
        if refused:
            raise next(iter(refused.values()))
        return self.summary

    def _account_of(self, row: Mapping[str, Any]) -> str:
        return str(row["ticket_account"] or self._policy.default_account)

    def _push_ticket(self, rows: list[dict[str, Any]]) -> None:
        """One ticket's due rows, in order, stopping at the first that is not done.

        Nothing silent: when the ticket is stuck behind a dead row, every row waiting
        behind it says so (not just the first).
        """
        for position, row in enumerate(rows):
            if self._should_stop():
                return  # between rows: every row is either untouched or fully recorded
            with self._lock:
                blocker = outbox.blocked_by(self._db, row)
                if blocker is not None:
                    self._wait_behind(rows[position:], blocker)
                    return
            if not self._process(row):
                with self._lock:
                    state = self._db.execute(
                        "SELECT state FROM outbox WHERE id = ?", [row["id"]]
                    ).fetchone()[0]
                    self._wait_behind(rows[position + 1 :], (int(row["id"]), str(state)))
                return

    def _wait_behind(self, waiting: list[dict[str, Any]], blocker: tuple[int, str]) -> None:
        """Count rows that wait behind ``blocker``; when it is dead or waits for its
        complaint's disposition (it may for days), tell each one why."""
        self.summary.waiting += len(waiting)
        if blocker[1] == "dead":
            for row in waiting:
                outbox.note_blocked_by_dead(self._db, row, blocker[0])
        elif blocker[1] == "pending" and outbox.waits_for_disposition(self._db, blocker[0]):
            for row in waiting:
                outbox.note_blocked_by_waiting(self._db, row, blocker[0])

    # --- one row ---------------------------------------------------------------------------

    def _process(self, row: dict[str, Any]) -> bool:
        """Handle one row. Returns True when the row is done (the ticket may go on)."""
        if row["ref"] is None:
            return False  # a directly inserted ticket awaiting its reference
        account = self._account_of(row)
        client = self._clients.get(account)
        with self._lock:
            if client is None:
                self._dead(row, f"account {account!r} is not configured or not enabled")
                return False
            try:
                prepared = outbox.prepare(self._db, row, account, self._policy)
            except NotReady as exc:
                self._again(row, "pending", str(exc), count_attempt=False)
                return False
            except Refused as exc:
                self._dead(row, str(exc))
                return False
            waiting = self._held(prepared)
            if waiting is not None:
                self.summary.waiting += 1
                outbox.note_waiting(self._db, row, waiting)
                return False
            outbox.claim(self._db, row, self._clock())
        if self._after_claim:
            self._after_claim(int(row["id"]))
        try:
            sent, recovered = self._deliver(client, prepared)
        except UploadRefused as exc:  # an attachment cannot go: neither can the create
            with self._lock:
                self._dead(row, str(exc), ambiguous=bool(row["ambiguous"]))
            return False
        except AuthError:
            with self._lock:
                self._again(row, "pending", "credentials refused (HTTP 401)")
            raise
        except AmbiguousWriteError as exc:
            with self._lock:
                self.summary.unknown += 1
                self._again(row, "unknown", describe(exc), ambiguous=True)
            return False
        except RetryableRemoteError as exc:
            with self._lock:
                self.summary.retry_later += 1
                self._again(row, "pending", describe(exc), retry_after=exc.retry_after)
            return False
        except ForbiddenError as exc:
            if row["kind"] not in disposition_gate.GATED_KINDS:
                with self._lock:
                    self._dead(row, describe(exc))
                return False
            # The complaint moved since the last pull: wait for it again (the attempt
            # counts, so a server that keeps refusing ends the row, not a loop).
            assert prepared.complaint_id is not None
            with self._lock:
                reason = disposition_gate.refused_reason(prepared.complaint_id, describe(exc))
                if self._again(row, "pending", reason):
                    self.summary.waiting += 1
            return False
        except FatalRemoteError as exc:  # 403, 404, 422: this row can never go as it is
            with self._lock:
                self._dead(row, describe(exc))
            return False
        with self._lock:
            outbox.finish_done(self._db, row, account, sent, self._clock(), self._run_id)
            if recovered:
                self.summary.recovered += 1
            else:
                self.summary.sent += 1
        return True

    def _held(self, prepared: Prepared) -> str | None:
        """Why a follow-up or forward must wait for its complaint's disposition, if it must
        (``sync/disposition_gate.py``); called with the lock held."""
        row = prepared.row
        if (
            row["kind"] not in disposition_gate.GATED_KINDS
            or prepared.look_up_first
            or prepared.complaint_id is None
        ):
            return None
        account = prepared.account
        return disposition_gate.hold_reason(
            self._db, account, prepared.complaint_id, self._policy.scope_of(account)
        )

    def _deliver(self, client: Remote, prepared: Prepared) -> tuple[Sent, bool]:
        """The network step: (where it landed, whether it was found rather than sent)."""
        if prepared.already_linked is not None:
            return prepared.already_linked, True
        if prepared.look_up_first:
            found = self._look_up(client, prepared)
            if found is not None:
                return found, True
        if isinstance(prepared.payload, NewComplaint):
            prepared = self._with_uploads(client, prepared, prepared.payload)
        sent = self._send(client, prepared)
        if self._after_send:
            self._after_send(int(prepared.row["id"]))
        return sent, False

    def _with_uploads(
        self, client: Remote, prepared: Prepared, payload: NewComplaint
    ) -> Prepared:
        """Upload the ticket's files not uploaded yet (sync/uploads.py); the create then
        refers to every file's id."""
        ids = upload_attachments(
            self._db,
            self._lock,
            client,
            ticket_id=int(prepared.row["ticket_id"]),
            ref=str(prepared.row["ref"]),
            account=prepared.account,
            folder=self._policy.attachments_folder,
            max_bytes=self._policy.attachment_max_bytes,
            clock=self._clock,
        )
        if not (ids.images or ids.docs):
            return prepared
        return replace(prepared, payload=replace(payload, image_ids=ids.images, doc_ids=ids.docs))

    @staticmethod
    def _send(client: Remote, prepared: Prepared) -> Sent:
        payload = prepared.payload
        if isinstance(payload, NewComplaint):
            created = client.create_complaint(payload)
            return Sent(created.remote_id, created.tracking_id)
        if isinstance(payload, NewFollowUp):
            return Sent(client.add_followup(payload))
        assert isinstance(payload, Forward) and prepared.complaint_id is not None
        client.forward(payload)
        return Sent(prepared.complaint_id)

    @staticmethod
    def _look_up(client: Remote, prepared: Prepared) -> Sent | None:
        """Find a write whose answer was lost, by the reference it carries."""
        payload = prepared.payload
        if isinstance(payload, NewComplaint):
            ref = str(prepared.row["ref"])
            page = 1
            while True:
                # The search narrows by reference; the time window must not depend on
                # either side's clock (ours may run ahead of the server's).
                listing = client.list_complaints(
                    ListQuery(updated_from=EPOCH, page=page, page_size=100, search=ref)
                )
                for item in listing.page.items:
                    if ref in item.tags:
                        return Sent(item.remote_id, item.tracking_id)
                if not listing.page.has_next:
                    return None
                page += 1
        assert prepared.complaint_id is not None
        if isinstance(payload, NewFollowUp):
            marker = prepared.marker or ""
            for f in client.followups(prepared.complaint_id):
                if marker in f.content:
                    return Sent(f.remote_id)
            return None
        assert isinstance(payload, Forward)
        detail = client.complaint_detail(prepared.complaint_id)
        forwarded = any(d.to_id == payload.target_institution_id for d in detail.dispositions)
        return Sent(prepared.complaint_id) if forwarded else None

    # --- outcomes (called with the lock held) ------------------------------------------------

    def _again(
        self,
        row: Mapping[str, Any],
        state: str,
        reason: str,
        *,
        retry_after: float | None = None,
        count_attempt: bool = True,
        ambiguous: bool | None = None,
    ) -> bool:
        """Reschedule the row; False when its retry budget is spent and it went dead."""
        still_alive = outbox.reschedule(
            self._db,
            row,
            self._policy,
            self._rng,
            self._clock(),
            self._run_id,
            state=state,
            reason=reason,
            retry_after=retry_after,
            count_attempt=count_attempt,
            # a failure that proves nothing was applied keeps the row's earlier ambiguity
            ambiguous=bool(row["ambiguous"]) if ambiguous is None else ambiguous,
        )
        if not still_alive:
            self.summary.dead += 1
        return still_alive

    def _dead(
        self, row: Mapping[str, Any], reason: str, *, ambiguous: bool | None = None
    ) -> None:
        self.summary.dead += 1
        outbox.finish_dead(
            self._db, row, self._clock(), self._run_id, reason, ambiguous=ambiguous
        )

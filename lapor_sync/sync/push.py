"""Push: send the outbox to SP4N-LAPOR!, never twice.

Row life: ``pending → sending → done``; ``unknown`` when a write was sent and its answer
lost; ``dead`` after the retry budget or a refusal (422), with the reason.

How duplicates are prevented (the API takes no idempotency key):
1. the row is marked ``sending`` and committed *before* the POST;
2. after the POST, the answer and ``done`` are committed in one transaction;
3. a row found in ``sending`` at start (a crash between 1 and 2) becomes ``unknown``;
4. an ``unknown`` row is never resent before the remote has been searched for the
   reference that every push carries (``[Ref: …]`` in the text, the ref in the tags).

Ordering: a ticket's rows go strictly in id order (create before follow-up before
forward); a row waits while an earlier row of its ticket is not ``done``. A ticket that is
stuck does not hold up the others. Waiting is scheduled (``next_attempt_at``), never slept.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlite_utils

from lapor_sync.domain import Forward, ListQuery, NewComplaint, NewFollowUp, Reporter
from lapor_sync.errors import (
    AmbiguousWriteError,
    AuthError,
    FatalRemoteError,
    RejectedError,
    RemoteError,
    RetryableRemoteError,
    describe,
)
from lapor_sync.lapor.client import LaporClient
from lapor_sync.local.register import complaint_marker, followup_marker
from lapor_sync.store.db import transaction
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.timeutil import WIB, Clock, now_wib, to_db

SEARCH_FROM = datetime(2000, 1, 1, tzinfo=WIB)


@dataclass(frozen=True)
class PushPolicy:
    """What push needs from the configuration, as plain values."""

    default_account: str
    account_institutions: Mapping[str, str]
    opd_institutions: Mapping[str, str]
    channel_ids: Mapping[str, str]
    max_attempts: int = 8
    backoff_initial: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)


@dataclass
class PushSummary:
    sent: int = 0
    recovered: int = 0
    retry_later: int = 0
    unknown: int = 0
    dead: int = 0
    waiting: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, object]:
        return {
            "pushed": self.sent,
            "recovered": self.recovered,
            "retry_later": self.retry_later,
            "unknown": self.unknown,
            "dead": self.dead,
            "waiting": self.waiting,
        }


def recover_interrupted(db: sqlite_utils.Database) -> int:
    """Rows a crash left in ``sending`` may have reached the remote: mark them ``unknown``."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE outbox SET state = 'unknown', "
            "last_error = 'interrupted while sending; will look up before resending' "
            "WHERE state = 'sending'"
        )
    return cursor.rowcount


class Pusher:
    """One pass over the outbox. Create a new one per pass."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        clients: Mapping[str, LaporClient],
        policy: PushPolicy,
        *,
        clock: Clock = now_wib,
        rng: random.Random | None = None,
        run_id: int | None = None,
        after_claim: Callable[[int], None] | None = None,
        after_send: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._should_stop = should_stop
        self._db = db
        self._clients = clients
        self._policy = policy
        self._clock = clock
        self._rng = rng or random.Random()
        self._run_id = run_id
        # Test hooks: crash points named in architecture.md ("after claiming an outbox row",
        # "after the POST and before recording its answer").
        self._after_claim = after_claim
        self._after_send = after_send
        self.summary = PushSummary()

    def run(self, limit: int = 1000) -> PushSummary:
        recover_interrupted(self._db)
        blocked: set[int] = set()
        for row in self._due_rows(limit):
            if self._should_stop():
                break  # between rows: every row is either untouched or fully recorded
            ticket_id = int(row["ticket_id"])
            if ticket_id in blocked or self._earlier_row_open(row):
                self.summary.waiting += 1
                blocked.add(ticket_id)
                self._note_if_blocked_by_dead(row)
                continue
            if not self._process(row):
                blocked.add(ticket_id)
        return self.summary

    # --- selection -------------------------------------------------------------------------

    def _due_rows(self, limit: int) -> list[dict[str, Any]]:
        return list(
            self._db.query(
                "SELECT o.*, t.ref, t.account AS ticket_account FROM outbox o "
                "JOIN local_tickets t ON t.id = o.ticket_id "
                "WHERE o.state IN ('pending', 'unknown') AND o.next_attempt_at <= ? "
                "ORDER BY o.ticket_id, o.id LIMIT ?",
                [to_db(self._clock()), limit],
            )
        )

    def _earlier_row_open(self, row: Mapping[str, Any]) -> bool:
        found = self._db.execute(
            "SELECT 1 FROM outbox WHERE ticket_id = ? AND id < ? AND state != 'done' LIMIT 1",
            [row["ticket_id"], row["id"]],
        ).fetchone()
        return found is not None

    def _note_if_blocked_by_dead(self, row: Mapping[str, Any]) -> None:
        """Nothing silent: a row that waits behind a dead row says so, for the admin."""
        dead = self._db.execute(
            "SELECT id FROM outbox WHERE ticket_id = ? AND id < ? AND state = 'dead' "
            "ORDER BY id LIMIT 1",
            [row["ticket_id"], row["id"]],
        ).fetchone()
        if dead is None:
            return
        reason = f"waits for outbox row {dead[0]} of the same ticket, which is dead: retry it"
        with transaction(self._db):
            self._db.execute(
                "UPDATE outbox SET last_error = ? WHERE id = ? AND last_error IS NOT ?",
                [reason, row["id"], reason],
            )

    # --- one row ---------------------------------------------------------------------------

    def _process(self, row: dict[str, Any]) -> bool:
        """Handle one row. Returns True when the row is done (the ticket may go on)."""
        if row["ref"] is None:
            return False  # a directly inserted ticket awaiting its reference
        account = row["ticket_account"] or self._policy.default_account
        client = self._clients.get(account)
        if client is None:
            self._finish_dead(row, f"account {account!r} is not configured or not enabled")
            return False
        was_unknown = row["state"] == "unknown" or bool(row["ambiguous"])
        with transaction(self._db):
            # Claimed and committed before the POST: a crash from here on leaves 'sending',
            # which the next pass turns into 'unknown' (look up before resending).
            self._db.execute(
                "UPDATE outbox SET state = 'sending', ambiguous = 1, attempts = attempts + 1, "
                "updated_at = ? WHERE id = ?",
                [to_db(self._clock()), row["id"]],
            )
        if self._after_claim:
            self._after_claim(int(row["id"]))
        try:
            if row["kind"] == "create_complaint":
                linked = self._existing_link(row)
                if linked is not None:  # an echo pulled back already told us where it went
                    self._finish_done(row, account, linked, recovered=True)
                    return True
            if was_unknown:
                found = self._look_up(client, row)
                if found is not None:
                    self._finish_done(row, account, found, recovered=True)
                    return True
            result = self._send(client, row, account)
            if self._after_send:
                self._after_send(int(row["id"]))
            self._finish_done(row, account, result, recovered=False)
            return True
        except AuthError:
            self._reschedule(
                row,
                "pending",
                "credentials refused (HTTP 401/403)",
                None,
                ambiguous=bool(row["ambiguous"]),
            )
            raise
        except RejectedError as exc:
            self._finish_dead(row, describe(exc))
        except AmbiguousWriteError as exc:
            self.summary.unknown += 1
            self._reschedule(row, "unknown", describe(exc), None, ambiguous=True)
        except RetryableRemoteError as exc:
            self.summary.retry_later += 1
            self._reschedule(
                row, "pending", describe(exc), exc.retry_after, ambiguous=bool(row["ambiguous"])
            )
        except FatalRemoteError as exc:
            self._finish_dead(row, describe(exc))
        except _NotReady as exc:
            self._reschedule(
                row,
                "pending",
                str(exc),
                None,
                count_attempt=False,
                ambiguous=bool(row["ambiguous"]),
            )
        return False

    def _send(self, client: LaporClient, row: Mapping[str, Any], account: str) -> _Result:
        kind = row["kind"]
        if kind == "create_complaint":
            created = client.create_complaint(self._new_complaint(row, account))
            return _Result(created.remote_id, created.tracking_id)
        complaint_id = self._linked_complaint(row)
        if kind == "post_followup":
            new = self._new_followup(row, complaint_id, account)
            return _Result(client.add_followup(new), None)
        forward = self._forward(row, complaint_id)
        client.forward(forward)
        return _Result(complaint_id, None)

    # --- payloads --------------------------------------------------------------------------

    def _ticket(self, ticket_id: int) -> dict[str, Any]:
        return next(iter(self._db.query("SELECT * FROM local_tickets WHERE id = ?", [ticket_id])))

    def _new_complaint(self, row: Mapping[str, Any], account: str) -> NewComplaint:
        t = self._ticket(int(row["ticket_id"]))
        channel = self._policy.channel_ids.get(t["channel"])
        if channel is None:
            raise RejectedError(
                "channel has no SP4N-LAPOR! id", endpoint="create", field_errors={"channel": []}
            )
        reporter = None
        if not t["is_anonymous"] and (t["reporter_name"] or t["reporter_phone"]):
            reporter = Reporter(t["reporter_name"], t["reporter_phone"], t["reporter_email"])
        target = self._policy.opd_institutions.get(t["opd_code"] or "")
        return NewComplaint(
            title=t["title"],
            content=f"{t['content']}\n\n{complaint_marker(t['ref'])}",
            channel_id=channel,
            category_id=t["category_id"],
            classification_id=None,
            disposition_id=target or self._policy.account_institutions.get(account),
            location_id=t["location_id"],
            date_of_incident=_date_or_none(t["date_of_incident"]),
            is_anonymous=bool(t["is_anonymous"]),
            is_secret=bool(t["is_secret"]),
            tags=(t["ref"], f"kanal-{t['channel']}"),
            reporter=reporter,
        )

    def _existing_link(self, row: Mapping[str, Any]) -> _Result | None:
        link = self._db.execute(
            "SELECT remote_id, tracking_id FROM links WHERE ticket_id = ?", [row["ticket_id"]]
        ).fetchone()
        return _Result(str(link[0]), link[1]) if link else None

    def _linked_complaint(self, row: Mapping[str, Any]) -> str:
        link = self._db.execute(
            "SELECT remote_id FROM links WHERE ticket_id = ?", [row["ticket_id"]]
        ).fetchone()
        if link is None:
            raise _NotReady("ticket is not on SP4N-LAPOR! yet")
        return str(link[0])

    def _new_followup(self, row: Mapping[str, Any], complaint_id: str, account: str) -> NewFollowUp:
        f = next(
            iter(self._db.query("SELECT * FROM local_followups WHERE id = ?", [row["subject_id"]]))
        )
        institution = self._policy.opd_institutions.get(f["opd_code"] or "")
        return NewFollowUp(
            complaint_id=complaint_id,
            from_institution_id=institution or self._policy.account_institutions[account],
            content=f"{f['content']}\n\n{followup_marker(row['ref'], int(f['id']))}",
            is_secret=bool(f["is_secret"]),
        )

    def _forward(self, row: Mapping[str, Any], complaint_id: str) -> Forward:
        f = next(
            iter(self._db.query("SELECT * FROM local_forwards WHERE id = ?", [row["subject_id"]]))
        )
        return Forward(complaint_id, str(f["target_institution_id"]), str(f["reason"]))

    # --- looking up a write whose answer was lost -------------------------------------------

    def _look_up(self, client: LaporClient, row: Mapping[str, Any]) -> _Result | None:
        kind = row["kind"]
        ref = str(row["ref"])
        if kind == "create_complaint":
            # The search by reference is what narrows the answer; the time window must not
            # depend on either side's clock (ours may run ahead of the server's).
            since = SEARCH_FROM
            page = 1
            while True:
                listing = client.list_complaints(
                    ListQuery(updated_from=since, page=page, page_size=100, search=ref)
                )
                for item in listing.page.items:
                    if ref in item.tags:
                        return _Result(item.remote_id, item.tracking_id)
                if not listing.page.has_next:
                    return None
                page += 1
        complaint_id = self._linked_complaint(row)
        if kind == "post_followup":
            marker = followup_marker(ref, int(row["subject_id"]))
            for f in client.followups(complaint_id):
                if marker in f.content:
                    return _Result(f.remote_id, None)
            return None
        forward = self._forward(row, complaint_id)
        detail = client.complaint_detail(complaint_id)
        forwarded = any(d.to_id == forward.target_institution_id for d in detail.dispositions)
        return _Result(complaint_id, None) if forwarded else None

    # --- recording outcomes ------------------------------------------------------------------

    def _finish_done(
        self, row: Mapping[str, Any], account: str, result: _Result, *, recovered: bool
    ) -> None:
        now = self._clock()
        kind = row["kind"]
        with transaction(self._db):
            self._db.execute(
                "UPDATE outbox SET state = 'done', result_remote_id = ?, last_error = NULL, "
                "updated_at = ? WHERE id = ?",
                [result.remote_id, to_db(now), row["id"]],
            )
            if kind == "create_complaint":
                self._db.execute(
                    "INSERT INTO links (ticket_id, account, remote_id, tracking_id, linked_at) "
                    "VALUES (?,?,?,?,?) ON CONFLICT (ticket_id) DO NOTHING",
                    [row["ticket_id"], account, result.remote_id, result.tracking_id, to_db(now)],
                )
                self._db.execute(
                    "UPDATE local_tickets SET status = 'awaiting_verification', updated_at = ? "
                    "WHERE id = ? AND status = 'received'",
                    [to_db(now), row["ticket_id"]],
                )
            elif kind == "post_followup":
                self._db.execute(
                    "UPDATE local_followups SET remote_account = ?, remote_id = ? WHERE id = ?",
                    [account, result.remote_id, row["subject_id"]],
                )
            self._event(EventKind.PUSHED, row, now, {"kind": kind, "outbox_id": row["id"]})
        if recovered:
            self.summary.recovered += 1
        else:
            self.summary.sent += 1
        self.summary.by_kind[kind] = self.summary.by_kind.get(kind, 0) + 1

    def _reschedule(
        self,
        row: Mapping[str, Any],
        state: str,
        reason: str,
        retry_after: float | None,
        *,
        count_attempt: bool = True,
        ambiguous: bool = False,
    ) -> None:
        now = self._clock()
        attempts = int(row["attempts"]) + (1 if count_attempt else 0)
        if count_attempt and attempts >= self._policy.max_attempts:
            self._finish_dead(row, f"retry budget spent ({attempts} attempts); last: {reason}")
            return
        delay = self._backoff(attempts)
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        with transaction(self._db):
            self._db.execute(
                "UPDATE outbox SET state = ?, ambiguous = ?, last_error = ?, next_attempt_at = ?, "
                "attempts = ?, updated_at = ? WHERE id = ?",
                [
                    state,
                    int(ambiguous),
                    reason,
                    to_db(now + delay),
                    attempts,
                    to_db(now),
                    row["id"],
                ],
            )
            self._event(
                EventKind.PUSH_FAILED,
                row,
                now,
                {
                    "kind": row["kind"],
                    "outbox_id": row["id"],
                    "reason": reason,
                    "attempts": attempts,
                },
            )

    def _finish_dead(self, row: Mapping[str, Any], reason: str) -> None:
        now = self._clock()
        self.summary.dead += 1
        with transaction(self._db):
            self._db.execute(
                "UPDATE outbox SET state = 'dead', last_error = ?, updated_at = ? WHERE id = ?",
                [reason, to_db(now), row["id"]],
            )
            self._event(
                EventKind.PUSH_DEAD,
                row,
                now,
                {"kind": row["kind"], "outbox_id": row["id"], "reason": reason},
            )

    def _backoff(self, attempts: int) -> timedelta:
        base = self._policy.backoff_initial.total_seconds() * (2 ** max(attempts - 1, 0))
        ceiling = min(base, self._policy.backoff_max.total_seconds())
        return timedelta(seconds=self._rng.uniform(ceiling / 2, ceiling))

    def _event(
        self, kind: EventKind, row: Mapping[str, Any], now: datetime, detail: dict[str, Any]
    ) -> None:
        ticket = self._db.execute(
            "SELECT t.opd_code, l.account, l.remote_id, l.tracking_id FROM local_tickets t "
            "LEFT JOIN links l ON l.ticket_id = t.id WHERE t.id = ?",
            [row["ticket_id"]],
        ).fetchone()
        record_event(
            self._db,
            kind,
            now,
            account=ticket[1] if ticket else None,
            opd=ticket[0] if ticket else None,
            complaint_id=ticket[2] if ticket else None,
            tracking_id=ticket[3] if ticket else None,
            ticket_ref=row["ref"],
            side="local",
            detail=detail,
            run_id=self._run_id,
        )


@dataclass(frozen=True)
class _Result:
    remote_id: str
    tracking_id: str | None


class _NotReady(RemoteError):
    """The row cannot go yet (its ticket is not linked); not a failure of the remote."""


def _date_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def retry_rows(
    db: sqlite_utils.Database, *, ids: list[int] | None = None, all_dead: bool = False
) -> int:
    """Put dead (or chosen) rows back to pending with a fresh budget. Returns rows changed."""
    with transaction(db):
        if all_dead:
            cursor = db.execute(
                "UPDATE outbox SET state = CASE WHEN ambiguous THEN 'unknown' ELSE 'pending' END, "
                "attempts = 0, next_attempt_at = '' WHERE state = 'dead'"
            )
        else:
            marks = ",".join("?" for _ in ids or [])
            cursor = db.execute(
                "UPDATE outbox SET state = CASE WHEN state != 'dead' THEN state "
                "WHEN ambiguous THEN 'unknown' ELSE 'pending' END, "
                f"attempts = 0, next_attempt_at = '' WHERE id IN ({marks}) AND state != 'done'",
                list(ids or []),
            )
    return cursor.rowcount

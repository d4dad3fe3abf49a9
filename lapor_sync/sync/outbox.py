"""The outbox, decisions: choosing rows, building what to send, recording outcomes.

No HTTP and no writing SQL here: the rows are changed through their owner,
``store/outbox.py`` (and the ticket, its link and follow-up through ``store/tickets.py``
and ``store/links.py``). ``push.py`` calls these functions under one lock (they share a SQLite
connection) and does the network work outside it.

Row life: ``pending → sending → done``; ``unknown`` when a write was sent and its answer
lost; ``dead`` after the retry budget or a refusal, with the reason. ``ambiguous`` is
sticky: once an attempt may have reached the remote, every later attempt looks the record
up before sending, even after a manual retry.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from lapor_sync.domain import Forward, NewComplaint, NewFollowUp, Reporter
from lapor_sync.local.create_fields import CreateDefaults, resolve
from lapor_sync.local.register import complaint_marker, followup_marker
from lapor_sync.store import outbox as outbox_rows
from lapor_sync.store import tickets as register_rows
from lapor_sync.store.db import transaction
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.store.links import link_of, link_ticket
from lapor_sync.sync.disposition_gate import WAITING
from lapor_sync.timeutil import to_db


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
    create: CreateDefaults = field(default_factory=CreateDefaults)
    # Attachments (sync/uploads.py): where their bytes are, and the per-file limit.
    attachments_folder: Path | None = None
    attachment_max_bytes: int = 10 * 1024 * 1024
    # Per account: its institution and the [[opd]] units configured under it — where a
    # complaint must be for the account's follow-ups and forwards (sync/disposition_gate).
    account_scopes: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def scope_of(self, account: str) -> frozenset[str]:
        own = self.account_institutions.get(account)
        return self.account_scopes.get(account, frozenset({own} if own else ()))


@dataclass(frozen=True)
class Sent:
    """Where a push landed on SP4N-LAPOR!."""

    remote_id: str
    tracking_id: str | None = None


@dataclass(frozen=True)
class Prepared:
    """Everything the network step needs for one row, read while holding the DB lock."""

    row: Mapping[str, Any]
    account: str
    look_up_first: bool
    already_linked: Sent | None = None
    complaint_id: str | None = None
    payload: NewComplaint | NewFollowUp | Forward | None = None
    marker: str | None = None


class NotReady(Exception):
    """The row cannot go yet (its ticket is not on SP4N-LAPOR!); not a failure."""


class Refused(Exception):
    """The row can never go as it is (a setting is missing); the message says what."""


@dataclass
class OutboxCounts:
    sent: int = 0
    recovered: int = 0
    retry_later: int = 0
    unknown: int = 0
    dead: int = 0
    waiting: int = 0


def recover_interrupted(db: sqlite_utils.Database) -> int:
    """Rows a crash left in ``sending`` may have reached the remote: mark them ``unknown``."""
    with transaction(db):
        return outbox_rows.mark_interrupted_unknown(db)


def due_rows(db: sqlite_utils.Database, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Rows to try now, grouped by ticket and in order within each ticket."""
    return outbox_rows.due_rows(db, to_db(now), limit)


def blocked_by(db: sqlite_utils.Database, row: Mapping[str, Any]) -> tuple[int, str] | None:
    """The earliest earlier row of the same ticket that is not done: (id, state), or None."""
    return outbox_rows.first_unfinished_before(db, int(row["ticket_id"]), int(row["id"]))


def note_blocked_by_dead(db: sqlite_utils.Database, row: Mapping[str, Any], dead_id: int) -> None:
    """Nothing silent: a row that waits behind a dead row says so, for the admin."""
    reason = f"waits for outbox row {dead_id} of the same ticket, which is dead: retry it"
    with transaction(db):
        outbox_rows.note_reason(db, int(row["id"]), reason)


def note_waiting(db: sqlite_utils.Database, row: Mapping[str, Any], reason: str) -> None:
    """The row waits for its complaint's disposition (no attempt spent, no event)."""
    with transaction(db):
        outbox_rows.note_reason(db, int(row["id"]), reason)


def waits_for_disposition(db: sqlite_utils.Database, row_id: int) -> bool:
    reason = outbox_rows.reason_of(db, row_id)
    return reason is not None and reason.startswith(WAITING)


def note_blocked_by_waiting(
    db: sqlite_utils.Database, row: Mapping[str, Any], waiting_id: int
) -> None:
    reason = (
        f"waits for outbox row {waiting_id} of the same ticket, which is {WAITING} "
        "of the complaint"
    )
    with transaction(db):
        outbox_rows.note_reason(db, int(row["id"]), reason)


def claim(db: sqlite_utils.Database, row: Mapping[str, Any], now: datetime) -> None:
    """Mark the row ``sending`` and commit, before anything is sent.

    A crash from here on leaves 'sending', which the next pass turns into 'unknown'.
    """
    with transaction(db):
        outbox_rows.mark_sending(db, int(row["id"]), to_db(now))


def prepare(
    db: sqlite_utils.Database, row: Mapping[str, Any], account: str, policy: PushPolicy
) -> Prepared:
    """Read what the network step needs. Raises NotReady or Refused."""
    look_up_first = row["state"] == "unknown" or bool(row["ambiguous"])
    kind = row["kind"]
    link = link_of(db, int(row["ticket_id"]))
    if kind == "create_complaint":
        if link is not None:  # an echo pulled back already told us where it went
            return Prepared(row, account, look_up_first, already_linked=Sent(link[0], link[1]))
        return Prepared(
            row, account, look_up_first, payload=_new_complaint(db, row, account, policy)
        )
    if link is None:
        raise NotReady("ticket is not on SP4N-LAPOR! yet")
    complaint_id = str(link[0])
    if kind == "post_followup":
        followup = _found(register_rows.followup_by_id(db, int(row["subject_id"])))
        return Prepared(
            row,
            account,
            look_up_first,
            complaint_id=complaint_id,
            payload=_new_followup(followup, row, complaint_id, account, policy),
            marker=followup_marker(row["ref"], int(followup["id"])),
        )
    forward = _found(register_rows.forward_by_id(db, int(row["subject_id"])))
    return Prepared(
        row,
        account,
        look_up_first,
        complaint_id=complaint_id,
        payload=Forward(
            complaint_id, str(forward["target_institution_id"]), str(forward["reason"])
        ),
    )


def _found(record: dict[str, Any] | None) -> dict[str, Any]:
    # A trigger created the outbox row for its subject, and subjects are never deleted.
    if record is None:
        raise LookupError("the outbox row's ticket, follow-up or forward is missing")
    return record


def _new_complaint(
    db: sqlite_utils.Database, row: Mapping[str, Any], account: str, policy: PushPolicy
) -> NewComplaint:
    t = _found(register_rows.ticket_by_id(db, int(row["ticket_id"])))
    channel = policy.channel_ids.get(t["channel"])
    if channel is None:
        raise Refused(f"channel {t['channel']!r} has no SP4N-LAPOR! id in [channels]")
    reporter = None
    if not t["is_anonymous"] and (t["reporter_name"] or t["reporter_phone"]):
        reporter = Reporter(t["reporter_name"], t["reporter_phone"], t["reporter_email"])
    incident = t["date_of_incident"]
    fields = resolve(
        policy.create,
        opd_code=t["opd_code"],
        account=account,
        received_at=datetime.fromisoformat(t["received_at"]) if t["received_at"] else None,
        classification_id=t["classification_id"],
        category_id=t["category_id"],
        disposition_id=t["disposition_id"]
        or policy.opd_institutions.get(t["opd_code"] or "")
        or policy.account_institutions.get(account),
        location_id=t["location_id"],
        date_of_incident=date.fromisoformat(incident) if incident else None,
    )
    missing = fields.missing(policy.create.required)
    if missing:
        # Rows other software wrote may lack what the intake would have refused.
        raise Refused(
            f"SP4N-LAPOR! requires {', '.join(missing)}: the ticket gives none and "
            "[local.create] has no default; set it with 'lapor-sync local edit "
            f"{t['ref']}', then 'lapor-sync outbox retry'"
        )
    return NewComplaint(
        title=t["title"],
        content=f"{t['content']}\n\n{complaint_marker(t['ref'])}",
        channel_id=channel,
        category_id=fields.category_id,
        classification_id=fields.classification_id,
        disposition_id=fields.disposition_id,
        location_id=fields.location_id,
        date_of_incident=fields.date_of_incident,
        is_anonymous=bool(t["is_anonymous"]),
        is_secret=bool(t["is_secret"]),
        tags=(t["ref"], f"kanal-{t['channel']}"),
        reporter=reporter,
    )


def _new_followup(
    f: Mapping[str, Any],
    row: Mapping[str, Any],
    complaint_id: str,
    account: str,
    policy: PushPolicy,
) -> NewFollowUp:
    institution = policy.opd_institutions.get(f["opd_code"] or "")
    return NewFollowUp(
        complaint_id=complaint_id,
        from_institution_id=institution or policy.account_institutions[account],
        content=f"{f['content']}\n\n{followup_marker(row['ref'], int(f['id']))}",
        is_secret=bool(f["is_secret"]),
    )


# --- recording outcomes ----------------------------------------------------------------------


def finish_done(
    db: sqlite_utils.Database,
    row: Mapping[str, Any],
    account: str,
    sent: Sent,
    now: datetime,
    run_id: int | None,
) -> None:
    """The answer, the link and ``done``, in one transaction."""
    kind = row["kind"]
    with transaction(db):
        outbox_rows.mark_done(db, int(row["id"]), sent.remote_id, to_db(now))
        if kind == "create_complaint":
            ticket_id = int(row["ticket_id"])
            link_ticket(db, ticket_id, account, sent.remote_id, sent.tracking_id, to_db(now))
            register_rows.mark_awaiting_verification(db, ticket_id, to_db(now))
        elif kind == "post_followup":
            register_rows.set_followup_remote(db, int(row["subject_id"]), account, sent.remote_id)
        _event(db, EventKind.PUSHED, row, now, {"kind": kind, "outbox_id": row["id"]}, run_id)


def reschedule(
    db: sqlite_utils.Database,
    row: Mapping[str, Any],
    policy: PushPolicy,
    rng: random.Random,
    now: datetime,
    run_id: int | None,
    *,
    state: str,
    reason: str,
    retry_after: float | None = None,
    count_attempt: bool = True,
    ambiguous: bool = False,
) -> bool:
    """Try again later, with backoff and jitter (never sooner than ``retry_after``).

    Returns False when the retry budget is spent and the row went ``dead`` instead.
    """
    attempts = int(row["attempts"]) + (1 if count_attempt else 0)
    if count_attempt and attempts >= policy.max_attempts:
        finish_dead(
            db, row, now, run_id, f"retry budget spent ({attempts} attempts); last: {reason}"
        )
        return False
    base = policy.backoff_initial.total_seconds() * (2 ** max(attempts - 1, 0))
    ceiling = min(base, policy.backoff_max.total_seconds())
    delay = timedelta(seconds=rng.uniform(ceiling / 2, ceiling))
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    with transaction(db):
        outbox_rows.schedule_retry(
            db,
            int(row["id"]),
            state=state,
            ambiguous=ambiguous,
            reason=reason,
            next_attempt_at=to_db(now + delay),
            attempts=attempts,
            stamp=to_db(now),
        )
        detail = {"kind": row["kind"], "outbox_id": row["id"], "reason": reason}
        _event(db, EventKind.PUSH_FAILED, row, now, {**detail, "attempts": attempts}, run_id)
    return True


def finish_dead(
    db: sqlite_utils.Database,
    row: Mapping[str, Any],
    now: datetime,
    run_id: int | None,
    reason: str,
    *,
    ambiguous: bool | None = None,
) -> None:
    """The row is dead; ``ambiguous`` given when this attempt proved nothing was sent."""
    with transaction(db):
        outbox_rows.mark_dead(db, int(row["id"]), reason, to_db(now), ambiguous=ambiguous)
        detail = {"kind": row["kind"], "outbox_id": row["id"], "reason": reason}
        _event(db, EventKind.PUSH_DEAD, row, now, detail, run_id)


def _event(
    db: sqlite_utils.Database,
    kind: EventKind,
    row: Mapping[str, Any],
    now: datetime,
    detail: dict[str, Any],
    run_id: int | None,
) -> None:
    ticket = db.execute(
        "SELECT t.opd_code, l.account, l.remote_id, l.tracking_id FROM local_tickets t "
        "LEFT JOIN links l ON l.ticket_id = t.id WHERE t.id = ?",
        [row["ticket_id"]],
    ).fetchone()
    record_event(
        db,
        kind,
        now,
        account=ticket[1] if ticket else None,
        opd=ticket[0] if ticket else None,
        complaint_id=ticket[2] if ticket else None,
        tracking_id=ticket[3] if ticket else None,
        ticket_ref=row["ref"],
        side="local",
        detail=detail,
        run_id=run_id,
    )


def retry_rows(
    db: sqlite_utils.Database, *, ids: list[int] | None = None, all_dead: bool = False
) -> int:
    """Put dead (or chosen) rows back with a fresh budget. Returns rows changed.

    A row that may already have reached SP4N-LAPOR! goes back as ``unknown`` (look up
    first), never as ``pending``.
    """
    with transaction(db):
        if all_dead:
            return outbox_rows.retry_all_dead(db)
        return outbox_rows.retry_chosen(db, list(ids or []))

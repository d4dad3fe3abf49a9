"""The OPD register: local tickets, follow-ups and forwards.

Other local software may write the same tables directly (docs/local-records.md); this
module is how lapor-sync itself writes them. Invariants:
- an outbox row is created by trigger in the same transaction as the local change, so a
  change can never be saved without its push;
- a ticket's reference is unique and never changes once given; references are issued
  from a per-year counter inside the same transaction as the ticket;
- nothing here talks to SP4N-LAPOR!.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.domain import ComplaintState
from lapor_sync.local.intake import MAX_TITLE, TicketInput
from lapor_sync.local.values import LOCAL_CHANNELS
from lapor_sync.store.db import transaction
from lapor_sync.timeutil import now_wib, to_db

# The marker written into what lapor-sync sends, so a lost answer can be found again and
# a pulled-back echo recognised: "[Ref: LPG-2026-000123]" or "[Ref: LPG-2026-000123/TL-7]".
MARKER_RE = re.compile(r"\[Ref: (?P<ref>[A-Za-z0-9][A-Za-z0-9_.\-]*)(?:/TL-(?P<fu>\d+))?\]")


def complaint_marker(ref: str) -> str:
    return f"[Ref: {ref}]"


def followup_marker(ref: str, followup_id: int) -> str:
    return f"[Ref: {ref}/TL-{followup_id}]"


__all__ = [
    "LOCAL_CHANNELS",
    "MARKER_RE",
    "MAX_TITLE",
    "RegisterError",
    "Ticket",
    "TicketInput",
    "add_followup",
    "add_forward",
    "add_ticket",
    "assign_missing_refs",
    "complaint_marker",
    "followup_marker",
    "insert_ticket",
    "issue_ref",
    "set_status",
    "ticket_row",
    "update_ticket",
]


class RegisterError(ValueError):
    """A local record cannot be written as given; the message says what to fix."""


@dataclass(frozen=True)
class Ticket:
    id: int
    ref: str


def issue_ref(db: sqlite_utils.Database, reference_format: str, year: int) -> str:
    """The next reference of ``year``. Call inside a transaction."""
    db.execute(
        "INSERT INTO ref_sequences (year, last) VALUES (?, 1) "
        "ON CONFLICT (year) DO UPDATE SET last = last + 1",
        [year],
    )
    row = db.execute("SELECT last FROM ref_sequences WHERE year = ?", [year]).fetchone()
    return reference_format.format(year=year, seq=int(row[0]))


def add_ticket(
    db: sqlite_utils.Database,
    ticket: TicketInput,
    reference_format: str,
    account: str,
    *,
    now: datetime | None = None,
) -> Ticket:
    """Record a local ticket; its push to SP4N-LAPOR! is queued in the same transaction.

    ``now`` (default: the machine's clock) stamps the record and its outbox row: callers
    with a clock of their own (the app's, the demo's sandbox) pass it, so every stamp of
    one run comes from one clock.
    """
    problems = ticket.problems()
    if problems:
        raise RegisterError("; ".join(problems))
    with transaction(db):
        return insert_ticket(db, ticket, reference_format, account, now=now)


def insert_ticket(
    db: sqlite_utils.Database,
    ticket: TicketInput,
    reference_format: str,
    account: str,
    *,
    now: datetime | None = None,
) -> Ticket:
    """``add_ticket`` without its own transaction, for batch imports."""
    ref = issue_ref(db, reference_format, ticket.received_at.year)
    stamp = to_db(ticket.received_at)
    recorded = to_db(now or now_wib())
    cursor = db.execute(
        "INSERT INTO local_tickets (ref, origin, account, channel, reporter_name, reporter_phone, "
        "reporter_email, is_anonymous, is_secret, title, content, category_id, opd_code, "
        "location_id, date_of_incident, received_at, import_key, classification_id, "
        "disposition_id, created_at, updated_at) "
        "VALUES (?, 'local', ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            ref,
            account,
            ticket.channel,
            ticket.reporter_name,
            ticket.reporter_phone,
            ticket.reporter_email,
            int(ticket.is_anonymous),
            int(ticket.is_secret),
            ticket.title,
            ticket.content,
            ticket.category_id,
            ticket.opd_code,
            ticket.location_id,
            ticket.date_of_incident.isoformat() if ticket.date_of_incident else None,
            stamp,
            ticket.import_key,
            ticket.classification_id,
            ticket.disposition_id,
            recorded,
            recorded,
        ],
    )
    ticket_id = int(cursor.lastrowid or 0)
    _stamp_outbox(db, "create_complaint", ticket_id, recorded)
    return Ticket(id=ticket_id, ref=ref)


def _stamp_outbox(db: sqlite_utils.Database, kind: str, subject_id: int, stamp: str) -> None:
    """Give the outbox row a trigger just made the caller's clock instead of SQLite's.

    The triggers stamp with the machine's clock because other writers of these tables
    have no other; lapor-sync's own writes know the clock of the run.
    """
    db.execute(
        "UPDATE outbox SET created_at = ?, updated_at = ? WHERE kind = ? AND subject_id = ?",
        [stamp, stamp, kind, subject_id],
    )


def ticket_row(db: sqlite_utils.Database, ref: str) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM local_tickets WHERE ref = ?", [ref]))
    if not rows:
        raise RegisterError(f"no ticket with reference {ref}")
    return rows[0]


def add_followup(
    db: sqlite_utils.Database,
    ref: str,
    opd_code: str,
    content: str,
    *,
    is_secret: bool = False,
    now: datetime | None = None,
) -> int:
    """An OPD's follow-up on a ticket; queued for SP4N-LAPOR! in the same transaction.

    ``now`` (default: the machine's clock) is when it was written: the report counts the
    working days to the first follow-up from it.
    """
    if not content.strip():
        raise RegisterError("text: must not be empty")
    stamp = to_db(now or now_wib())
    with transaction(db):
        ticket = ticket_row(db, ref)
        cursor = db.execute(
            "INSERT INTO local_followups (ticket_id, origin, author, opd_code, content, is_secret, "
            "created_at) VALUES (?, 'local', 'opd', ?, ?, ?, ?)",
            [ticket["id"], opd_code, content, int(is_secret), stamp],
        )
        followup_id = int(cursor.lastrowid or 0)
        _stamp_outbox(db, "post_followup", followup_id, stamp)
        # An OPD's follow-up answers the complaint (reconciliation sees the local change).
        db.execute(
            "UPDATE local_tickets SET status = 'answered', updated_at = ? "
            "WHERE id = ? AND status IN ('received', 'awaiting_verification', 'dispositioned', "
            "'in_progress', 'postponed')",
            [stamp, ticket["id"]],
        )
        return followup_id


def add_forward(
    db: sqlite_utils.Database,
    ref: str,
    target_institution_id: str,
    reason: str = "Diteruskan ke Instansi Tujuan",
    *,
    now: datetime | None = None,
) -> int:
    """Forward a ticket to another instansi (bukan wewenang); queued in the same transaction."""
    stamp = to_db(now or now_wib())
    with transaction(db):
        ticket = ticket_row(db, ref)
        cursor = db.execute(
            "INSERT INTO local_forwards (ticket_id, target_institution_id, reason, created_at) "
            "VALUES (?,?,?,?)",
            [ticket["id"], target_institution_id, reason, stamp],
        )
        forward_id = int(cursor.lastrowid or 0)
        _stamp_outbox(db, "forward", forward_id, stamp)
        db.execute(
            "UPDATE local_tickets SET status = 'forwarded', updated_at = ? WHERE id = ?",
            [stamp, ticket["id"]],
        )
        return forward_id


def set_status(
    db: sqlite_utils.Database, ref: str, state: str, *, now: datetime | None = None
) -> str:
    """An OPD sets its ticket's state by hand; reconciliation weighs it against LAPOR!.

    Returns the previous state.
    """
    allowed = {s.value for s in ComplaintState}
    if state not in allowed:
        raise RegisterError(f"state: must be one of {', '.join(sorted(allowed))}")
    with transaction(db):
        ticket = ticket_row(db, ref)
        db.execute(
            "UPDATE local_tickets SET status = ?, updated_at = ? WHERE id = ?",
            [state, to_db(now or now_wib()), ticket["id"]],
        )
    return str(ticket["status"])


def assign_missing_refs(db: sqlite_utils.Database, reference_format: str) -> int:
    """Give a reference to tickets other software inserted without one. Returns the count."""
    with transaction(db):
        rows = db.execute(
            "SELECT id, received_at FROM local_tickets WHERE ref IS NULL ORDER BY id"
        ).fetchall()
        for ticket_id, received_at in rows:
            year = int(str(received_at)[:4])
            ref = issue_ref(db, reference_format, year)
            db.execute("UPDATE local_tickets SET ref = ? WHERE id = ?", [ref, ticket_id])
    return len(rows)


_EDITABLE = (
    "channel",
    "title",
    "content",
    "reporter_name",
    "reporter_phone",
    "reporter_email",
    "is_anonymous",
    "is_secret",
    "category_id",
    "opd_code",
    "location_id",
    "date_of_incident",
    "classification_id",
    "disposition_id",
)


def update_ticket(db: sqlite_utils.Database, ref: str, ticket: TicketInput) -> None:
    """Correct a ticket that is not on SP4N-LAPOR! yet (e.g. after a 422 made its push dead).

    The next attempt of its ``create_complaint`` row sends the corrected content (the push
    reads the ticket when it sends). Once the complaint exists remotely the ticket is
    refused here: what SP4N-LAPOR! holds is corrected through a follow-up, not an edit.
    """
    problems = ticket.problems()
    if problems:
        raise RegisterError("; ".join(problems))
    with transaction(db):
        row = ticket_row(db, ref)
        linked = db.execute("SELECT 1 FROM links WHERE ticket_id = ?", [row["id"]]).fetchone()
        sending = db.execute(
            "SELECT 1 FROM outbox WHERE ticket_id = ? AND kind = 'create_complaint' "
            "AND state IN ('sending', 'done')",
            [row["id"]],
        ).fetchone()
        if linked or sending:
            raise RegisterError(
                f"{ref} is already on SP4N-LAPOR! (or being sent); correct it there with a "
                "follow-up instead"
            )
        values: dict[str, Any] = {name: getattr(ticket, name) for name in _EDITABLE}
        values["is_anonymous"] = int(ticket.is_anonymous)
        values["is_secret"] = int(ticket.is_secret)
        if ticket.date_of_incident is not None:
            values["date_of_incident"] = ticket.date_of_incident.isoformat()
        assignments = ", ".join(f"{name} = ?" for name in values)
        db.execute(
            f"UPDATE local_tickets SET {assignments}, updated_at = ? WHERE id = ?",
            [*values.values(), to_db(now_wib()), row["id"]],
        )

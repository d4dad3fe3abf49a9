"""The OPD register: local tickets, follow-ups and forwards.

Other local software may write the same tables directly (docs/local-records.md); this
module decides what lapor-sync itself writes to them (the rows are written through their
owner, ``store/tickets.py``). Invariants:
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
from lapor_sync.errors import RegisterError
from lapor_sync.local.intake import MAX_TITLE, TicketInput
from lapor_sync.local.values import LOCAL_CHANNELS
from lapor_sync.store import outbox as outbox_rows
from lapor_sync.store import tickets as register_rows
from lapor_sync.store.db import transaction
from lapor_sync.store.links import link_of
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


@dataclass(frozen=True)
class Ticket:
    id: int
    ref: str


def issue_ref(db: sqlite_utils.Database, reference_format: str, year: int) -> str:
    """The next reference of ``year``. Call inside a transaction."""
    return reference_format.format(year=year, seq=register_rows.next_ref_number(db, year))


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
    ticket_id = register_rows.create_ticket(
        db,
        {
            "ref": ref,
            "origin": "local",
            "account": account,
            "channel": ticket.channel,
            "reporter_name": ticket.reporter_name,
            "reporter_phone": ticket.reporter_phone,
            "reporter_email": ticket.reporter_email,
            "is_anonymous": int(ticket.is_anonymous),
            "is_secret": int(ticket.is_secret),
            "title": ticket.title,
            "content": ticket.content,
            "category_id": ticket.category_id,
            "opd_code": ticket.opd_code,
            "location_id": ticket.location_id,
            "date_of_incident": (
                ticket.date_of_incident.isoformat() if ticket.date_of_incident else None
            ),
            "received_at": stamp,
            "import_key": ticket.import_key,
            "classification_id": ticket.classification_id,
            "disposition_id": ticket.disposition_id,
            "created_at": recorded,
            "updated_at": recorded,
        },
    )
    outbox_rows.restamp(db, "create_complaint", ticket_id, recorded)
    return Ticket(id=ticket_id, ref=ref)


def ticket_row(db: sqlite_utils.Database, ref: str) -> dict[str, Any]:
    row = register_rows.ticket_by_ref(db, ref)
    if row is None:
        raise RegisterError(f"no ticket with reference {ref}")
    return row


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
        followup_id = register_rows.create_followup(
            db,
            ticket_id=ticket["id"],
            origin="local",
            author="opd",
            opd_code=opd_code,
            content=content,
            is_secret=int(is_secret),
            created_at=stamp,
        )
        outbox_rows.restamp(db, "post_followup", followup_id, stamp)
        # An OPD's follow-up answers the complaint (reconciliation sees the local change).
        register_rows.mark_answered(db, ticket["id"], stamp)
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
        forward_id = register_rows.create_forward(
            db, ticket["id"], target_institution_id, reason, stamp
        )
        outbox_rows.restamp(db, "forward", forward_id, stamp)
        register_rows.set_ticket_status(db, ticket["id"], ComplaintState.FORWARDED.value, stamp)
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
        register_rows.set_ticket_status(db, ticket["id"], state, to_db(now or now_wib()))
    return str(ticket["status"])


def assign_missing_refs(db: sqlite_utils.Database, reference_format: str) -> int:
    """Give a reference to tickets other software inserted without one. Returns the count."""
    with transaction(db):
        rows = register_rows.tickets_without_ref(db)
        for ticket_id, received_at in rows:
            ref = issue_ref(db, reference_format, int(received_at[:4]))
            register_rows.set_ticket_ref(db, ticket_id, ref)
    return len(rows)


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
        if link_of(db, row["id"]) is not None or outbox_rows.complaint_push_started(db, row["id"]):
            raise RegisterError(
                f"{ref} is already on SP4N-LAPOR! (or being sent); correct it there with a "
                "follow-up instead"
            )
        values: dict[str, Any] = {
            name: getattr(ticket, name) for name in register_rows.EDITABLE_COLUMNS
        }
        values["is_anonymous"] = int(ticket.is_anonymous)
        values["is_secret"] = int(ticket.is_secret)
        if ticket.date_of_incident is not None:
            values["date_of_incident"] = ticket.date_of_incident.isoformat()
        register_rows.correct_ticket(db, row["id"], values, to_db(now_wib()))

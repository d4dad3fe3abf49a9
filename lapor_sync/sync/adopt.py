"""Adopt: bring what was pulled from SP4N-LAPOR! into the OPD register.

- A pulled complaint with no link becomes a local ticket (origin 'lapor') and is linked —
  unless it is an **echo**: it carries the ``[Ref: …]`` marker or ref tag of a local ticket
  that lapor-sync pushed itself (for example after a lost answer). An echo is linked to its
  ticket, never imported again.
- A pulled follow-up of a linked complaint becomes a local follow-up (origin 'lapor'), so
  the OPD sees reporter replies — unless it carries the marker of a local follow-up that
  lapor-sync pushed: then that local follow-up is completed with the remote id instead.

Invariants: adoption never creates outbox rows (the triggers skip origin 'lapor'); a
remote complaint is linked to at most one ticket and a ticket to at most one complaint
(unique constraints); each run is one transaction per complaint, so a crash leaves no
half-adopted complaint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from lapor_sync.domain import ComplaintState
from lapor_sync.local.register import MARKER_RE, issue_ref
from lapor_sync.store import tickets as register_rows
from lapor_sync.store.db import transaction
from lapor_sync.store.links import link_ticket
from lapor_sync.timeutil import Clock, now_wib, to_db

StateResolver = Callable[[str], ComplaintState | None]
OpdResolver = Callable[[str | None], str | None]

_AUTHORS = {"institution": "opd", "reporter": "reporter", "admin": "admin"}


@dataclass
class AdoptSummary:
    tickets_new: int = 0
    echoes_linked: int = 0
    followups_new: int = 0
    followup_echoes: int = 0


def _marker_refs(text: str | None) -> list[tuple[str, int | None]]:
    found = []
    for match in MARKER_RE.finditer(text or ""):
        fu = match.group("fu")
        found.append((match.group("ref"), int(fu) if fu else None))
    return found


def adopt(
    db: sqlite_utils.Database,
    *,
    reference_format: str,
    state_for: StateResolver,
    opd_for: OpdResolver,
    clock: Clock = now_wib,
) -> AdoptSummary:
    summary = AdoptSummary()
    _adopt_complaints(db, reference_format, state_for, opd_for, clock(), summary)
    _adopt_followups(db, summary)
    return summary


def _adopt_complaints(
    db: sqlite_utils.Database,
    reference_format: str,
    state_for: StateResolver,
    opd_for: OpdResolver,
    now: datetime,
    summary: AdoptSummary,
) -> None:
    unlinked = list(
        db.query(
            "SELECT rc.* FROM remote_complaints rc LEFT JOIN links l "
            "ON l.account = rc.account AND l.remote_id = rc.remote_id "
            "WHERE l.ticket_id IS NULL ORDER BY rc.created_at, rc.remote_id"
        )
    )
    for rc in unlinked:
        with transaction(db):
            echo = _echo_ticket(db, rc)
            if echo is not None:
                ticket_id, linked = echo
                if not linked:
                    _link(db, ticket_id, rc, now)
                    summary.echoes_linked += 1
                continue  # already ours (perhaps through another account): never a new ticket
            state = state_for(rc["status_name"])
            received = datetime.fromisoformat(rc["created_at"])
            ref = issue_ref(db, reference_format, received.year)
            ticket_id = register_rows.create_ticket(
                db,
                {
                    "ref": ref,
                    "origin": "lapor",
                    "account": rc["account"],
                    "channel": "lapor",
                    "reporter_name": rc["reporter_name"],
                    "reporter_phone": rc["reporter_phone"],
                    "reporter_email": rc["reporter_email"],
                    "is_anonymous": rc["is_anonymous"],
                    "is_secret": rc["is_secret"],
                    "title": (rc["title"] or "(tanpa judul)")[:150],
                    "content": rc["content"] or "(tanpa isi)",
                    "category_id": rc["category_id"],
                    "opd_code": opd_for(rc["disposition_id"]),
                    "location_id": rc["location_id"],
                    "date_of_incident": rc["date_of_incident"],
                    "received_at": rc["created_at"],
                    "status": (state or ComplaintState.AWAITING_VERIFICATION).value,
                },
            )
            _link(db, ticket_id, rc, now)
            summary.tickets_new += 1


def _echo_ticket(db: sqlite_utils.Database, rc: dict[str, object]) -> tuple[int, bool] | None:
    """(ticket id, already linked) of the local ticket this complaint echoes, if any."""
    candidates = [ref for ref, fu in _marker_refs(str(rc["content"] or "")) if fu is None]
    candidates += [str(tag) for tag in json.loads(str(rc["tags"] or "[]"))]
    for ref in candidates:
        row = db.execute(
            "SELECT t.id, l.ticket_id IS NOT NULL FROM local_tickets t "
            "LEFT JOIN links l ON l.ticket_id = t.id WHERE t.ref = ? AND t.origin = 'local'",
            [ref],
        ).fetchone()
        if row is not None:
            return int(row[0]), bool(row[1])
    return None


def _link(db: sqlite_utils.Database, ticket_id: int, rc: dict[str, object], now: datetime) -> None:
    link_ticket(
        db,
        ticket_id,
        str(rc["account"]),
        str(rc["remote_id"]),
        None if rc["tracking_id"] is None else str(rc["tracking_id"]),
        to_db(now),
    )


def _adopt_followups(db: sqlite_utils.Database, summary: AdoptSummary) -> None:
    new = list(
        db.query(
            "SELECT rf.*, l.ticket_id, t.ref AS ticket_ref FROM remote_followups rf "
            "JOIN links l ON l.account = rf.account AND l.remote_id = rf.complaint_id "
            "JOIN local_tickets t ON t.id = l.ticket_id "
            "LEFT JOIN local_followups lf "
            "ON lf.remote_account = rf.account AND lf.remote_id = rf.remote_id "
            "WHERE lf.id IS NULL ORDER BY rf.created_at, rf.remote_id"
        )
    )
    for rf in new:
        with transaction(db):
            own = [
                fu
                for ref, fu in _marker_refs(rf["content"])
                if fu is not None and ref == rf["ticket_ref"]
            ]
            if own:
                if register_rows.claim_followup_echo(
                    db, own[0], rf["ticket_id"], rf["account"], rf["remote_id"]
                ):
                    summary.followup_echoes += 1
                    continue
                if register_rows.followup_by_id(db, own[0]) is not None:
                    continue  # our own, already completed under another id: never import twice
            register_rows.create_followup(
                db,
                ticket_id=rf["ticket_id"],
                origin="lapor",
                author=_AUTHORS.get(rf["author_type"], "admin"),
                opd_code=None,
                content=rf["content"] or "(tanpa isi)",
                is_secret=rf["is_secret"],
                created_at=rf["created_at"],
                remote_account=rf["account"],
                remote_id=rf["remote_id"],
            )
            summary.followups_new += 1

"""Owner of ``conflicts``: what no reconciliation rule could settle, waiting for a person.

Invariants: both sides' values are kept on the row; at most one open conflict per ticket,
kind and pair of values (a unique index), so opening the same conflict twice is a no-op;
a conflict is closed by setting ``resolved_at`` — never deleted.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils


def open_conflict(
    db: sqlite_utils.Database,
    ticket_id: int,
    kind: str,
    lapor_value: str,
    local_value: str,
    base_value: str | None,
    stamp: str,
) -> bool:
    """Open a conflict; False when the same one is open already."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO conflicts (ticket_id, kind, lapor_value, local_value, "
        "base_value, opened_at) VALUES (?,?,?,?,?,?)",
        [ticket_id, kind, lapor_value, local_value, base_value, stamp],
    )
    return bool(cursor.rowcount)


def close_unknown_status(db: sqlite_utils.Database, ticket_id: int, stamp: str) -> None:
    """The status map now knows the name: the ticket's unknown-status conflicts close as
    settled by SP4N-LAPOR!."""
    db.execute(
        "UPDATE conflicts SET resolved_at = ?, resolution = 'lapor', "
        "note = 'status name now in status_map' "
        "WHERE ticket_id = ? AND kind = 'unknown_status' AND resolved_at IS NULL",
        [stamp, ticket_id],
    )


def resolve_open(
    db: sqlite_utils.Database, ticket_id: int, take: str, note: str | None, stamp: str
) -> None:
    """A person's decision settles every open conflict of the ticket."""
    db.execute(
        "UPDATE conflicts SET resolved_at = ?, resolution = ?, note = ? "
        "WHERE ticket_id = ? AND resolved_at IS NULL",
        [stamp, take, note, ticket_id],
    )


def open_count(db: sqlite_utils.Database, ticket_id: int | None = None) -> int:
    """Open conflicts of one ticket, or of the whole store."""
    if ticket_id is None:
        row = db.execute("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()
    else:
        row = db.execute(
            "SELECT count(*) FROM conflicts WHERE ticket_id = ? AND resolved_at IS NULL",
            [ticket_id],
        ).fetchone()
    return int(row[0])


def conflict_to_resolve(db: sqlite_utils.Database, conflict_id: int) -> dict[str, Any] | None:
    """The conflict with its ticket, link and LAPOR!'s current status name, or None."""
    rows = list(
        db.query(
            "SELECT c.*, t.ref, t.opd_code, t.status, l.account, l.remote_id, l.tracking_id, "
            "rc.status_name FROM conflicts c JOIN local_tickets t ON t.id = c.ticket_id "
            "LEFT JOIN links l ON l.ticket_id = t.id LEFT JOIN remote_complaints rc "
            "ON rc.account = l.account AND rc.remote_id = l.remote_id WHERE c.id = ?",
            [conflict_id],
        )
    )
    return rows[0] if rows else None

"""Owner of ``links``: which SP4N-LAPOR! complaint each local ticket is.

Invariants (enforced by the schema's unique constraints, relied on here): a ticket is
linked to at most one complaint and a complaint to at most one ticket; a link, once
made, is never changed or removed. Written by adoption (a pulled complaint or an echo)
and by the push (a created complaint's answer), both through ``link_ticket``.
"""

from __future__ import annotations

import sqlite_utils


def link_ticket(
    db: sqlite_utils.Database,
    ticket_id: int,
    account: str,
    remote_id: str,
    tracking_id: str | None,
    linked_at: str,
) -> bool:
    """Link the ticket to the complaint; False when the ticket was linked already (the
    first link stands). A complaint already linked to another ticket is an integrity
    error, raised by SQLite."""
    cursor = db.execute(
        "INSERT INTO links (ticket_id, account, remote_id, tracking_id, linked_at) "
        "VALUES (?,?,?,?,?) ON CONFLICT (ticket_id) DO NOTHING",
        [ticket_id, account, remote_id, tracking_id, linked_at],
    )
    return bool(cursor.rowcount)


def link_of(db: sqlite_utils.Database, ticket_id: int) -> tuple[str, str | None] | None:
    """(remote_id, tracking_id) of the ticket's complaint, or None while it has none."""
    row = db.execute(
        "SELECT remote_id, tracking_id FROM links WHERE ticket_id = ?", [ticket_id]
    ).fetchone()
    return (str(row[0]), None if row[1] is None else str(row[1])) if row else None

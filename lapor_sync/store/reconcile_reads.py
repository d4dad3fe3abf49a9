"""What reconciliation reads: its candidate tickets with their facts, in keyset pages.

Only reads (the tables belong to ``store.tickets``, ``store.links``, ``store.mirror``,
``store.sync_base`` and ``store.conflicts``). A page is at most ``limit`` linked tickets
with ``after < ticket_id <= up_to``, in ticket id order, so no caller holds the store.

Two selections:

- **every** linked ticket (the first pass, and whenever the rules or the status mapping
  changed — a changed mapping moves R without any status name changing, so only the
  mapped states, compared by the rules, can tell);
- the tickets the **journal** names (local status changes, new links, SP4N-LAPOR! status
  changes up to the entry ``journal_up_to``) and those with a conflict waiting, of which
  only those whose base no longer matches both sides (or that have a conflict open).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

_TICKET_SQL = (
    "SELECT t.id, t.ref, t.status, t.opd_code, l.account, l.remote_id, l.tracking_id, "
    "rc.status_name, b.lapor_state, b.local_state, "
    "(SELECT json_group_array(json_array(c.kind, c.lapor_value, c.local_value)) "
    " FROM conflicts c WHERE c.ticket_id = t.id AND c.resolved_at IS NULL) "
    "FROM links l JOIN local_tickets t ON t.id = l.ticket_id "
    "JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
    "LEFT JOIN sync_base b ON b.ticket_id = t.id "
    "WHERE t.id > :after AND (:up_to IS NULL OR t.id <= :up_to) "
)

# Read by index, not by scanning every linked ticket.
_JOURNAL_SQL = (
    _TICKET_SQL + "AND t.id IN ("
    "SELECT row_id FROM local_changes WHERE processed = 0 AND id <= :journal "
    "AND table_name IN ('local_tickets', 'links') "
    "UNION SELECT l2.ticket_id FROM local_changes j "
    "JOIN remote_complaints r2 ON r2.rowid = j.row_id "
    "JOIN links l2 ON l2.account = r2.account AND l2.remote_id = r2.remote_id "
    "WHERE j.processed = 0 AND j.id <= :journal AND j.table_name = 'remote_complaints' "
    "UNION SELECT ticket_id FROM conflicts WHERE resolved_at IS NULL) "
    "AND (b.ticket_id IS NULL OR b.lapor_status_name IS NOT rc.status_name "
    "OR b.local_state IS NOT t.status OR EXISTS (SELECT 1 FROM conflicts c "
    "WHERE c.ticket_id = t.id AND c.resolved_at IS NULL)) "
)

_ORDER = "ORDER BY t.id LIMIT :limit"


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """One linked ticket as stored; states are the stored text (mapped by the caller)."""

    ticket_id: int
    ref: str | None
    local_state: str
    opd_code: str | None
    account: str
    remote_id: str
    tracking_id: str | None
    status_name: str
    base_lapor: str | None
    base_local: str | None
    open_conflicts: frozenset[tuple[str, str | None, str | None]]


def candidates_page(
    db: sqlite_utils.Database,
    *,
    journal_up_to: int | None,
    after: int,
    up_to: int | None = None,
    limit: int,
) -> list[CandidateRow]:
    """Up to ``limit`` candidates with ``after < id <= up_to`` in id order: every linked
    ticket when ``journal_up_to`` is None, else those the journal names (see above)."""
    sql = (_TICKET_SQL if journal_up_to is None else _JOURNAL_SQL) + _ORDER
    params = {"after": after, "up_to": up_to, "limit": limit, "journal": journal_up_to}
    if journal_up_to is None:
        del params["journal"]
    return [
        CandidateRow(
            int(tid),
            ref,
            str(status),
            opd,
            str(account),
            str(remote_id),
            tracking,
            str(status_name),
            base_lapor,
            base_local,
            frozenset((str(kind), lapor, local) for kind, lapor, local in json.loads(conflicts)),
        )
        for (
            tid,
            ref,
            status,
            opd,
            account,
            remote_id,
            tracking,
            status_name,
            base_lapor,
            base_local,
            conflicts,
        ) in db.execute(sql, params).fetchall()
    ]

"""Owner of ``sync_base``: the base of reconciliation's three-way comparison.

Per linked ticket, the state each side was last accounted at (see ``sync/reconcile.py``).
Invariant: one row per ticket, replaced whole — the base is always a pair of states that
were true together at ``updated_at``.
"""

from __future__ import annotations

import sqlite_utils


def save_base(
    db: sqlite_utils.Database,
    ticket_id: int,
    lapor_state: str,
    local_state: str,
    lapor_status_name: str | None,
    stamp: str,
) -> None:
    """Record both sides' states (and LAPOR!'s raw status name) as the ticket's base."""
    db.execute(
        "INSERT INTO sync_base (ticket_id, lapor_state, local_state, lapor_status_name, "
        "updated_at) VALUES (?,?,?,?,?) ON CONFLICT (ticket_id) DO UPDATE SET "
        "lapor_state = excluded.lapor_state, local_state = excluded.local_state, "
        "lapor_status_name = excluded.lapor_status_name, updated_at = excluded.updated_at",
        [ticket_id, lapor_state, local_state, lapor_status_name, stamp],
    )

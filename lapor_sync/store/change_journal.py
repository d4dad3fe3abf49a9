"""Consuming ``local_changes``, the change journal that SQLite triggers fill.

The triggers (``store/migrations_history.py``, migrations 0002 and 0003) are the only
writers of new entries; this module is the only code that marks entries read or drops
them. Invariant: an entry is dropped only when reconciliation has consumed it *and* the
deadline scan has read past it, so neither reader ever misses a change.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from lapor_sync.store.sync_state import DEADLINES_JOURNAL_ID
from lapor_sync.timeutil import to_db


def last_change_id(db: sqlite_utils.Database) -> int:
    """The newest journal entry's id (0 for an empty journal)."""
    return int(db.execute("SELECT coalesce(max(id), 0) FROM local_changes").fetchone()[0])


def consume_changes(db: sqlite_utils.Database, up_to: int, drop_before: datetime) -> None:
    """Mark entries up to ``up_to`` consumed by reconciliation; drop consumed entries older
    than ``drop_before`` that the deadline scan has already read."""
    db.execute("UPDATE local_changes SET processed = 1 WHERE processed = 0 AND id <= ?", [up_to])
    db.execute(
        "DELETE FROM local_changes WHERE processed = 1 AND at < ? AND id <= coalesce(("
        "SELECT CAST(value AS INTEGER) FROM sync_state WHERE key = ?), 0)",
        [to_db(drop_before), DEADLINES_JOURNAL_ID],
    )

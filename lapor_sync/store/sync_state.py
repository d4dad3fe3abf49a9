"""Owner of ``sync_state``: the resume state of jobs that are not per account.

One accessor for every key, so the keys live here and not as strings spread over the
jobs that use them. Invariant: a value is written only inside the caller's transaction
together with the work it describes (the caller holds ``transaction(db)``).

Keys:

- ``reconcile_rules``: fingerprint of the reconcile rules and status map of the last pass
  (a change forces a full pass);
- ``reconcile_resume``: a full reconciliation pass under way (JSON: the rules key, last
  ticket id done), so an interrupted first pass resumes instead of starting over;
- ``deadlines_fingerprint``: fingerprint of the calendar and deadline rules of the last
  scan (a change forces a full recompute);
- ``deadlines_journal_id``: the last ``local_changes`` id the deadline scan has read;
- ``deadlines_resume``: a deadline recompute under way (JSON: fingerprint, journal range,
  last ticket id done), so an interrupted first scan resumes instead of starting over.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

RECONCILE_RULES = "reconcile_rules"
RECONCILE_RESUME = "reconcile_resume"
DEADLINES_FINGERPRINT = "deadlines_fingerprint"
DEADLINES_JOURNAL_ID = "deadlines_journal_id"
DEADLINES_RESUME = "deadlines_resume"


def read_state(db: sqlite_utils.Database, keys: Iterable[str]) -> dict[str, str]:
    """The stored values of ``keys``; a key never written is absent from the result."""
    wanted = list(keys)
    marks = ", ".join("?" for _ in wanted)
    rows = db.execute(f"SELECT key, value FROM sync_state WHERE key IN ({marks})", wanted)
    return {str(key): str(value) for key, value in rows.fetchall()}


def write_state(db: sqlite_utils.Database, values: dict[str, str]) -> None:
    """Store each key's value, replacing what was there."""
    for key, value in values.items():
        db.execute(
            "INSERT INTO sync_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def clear_state(db: sqlite_utils.Database, keys: Iterable[str]) -> None:
    """Forget the given keys (a finished pass leaves no resume state behind)."""
    for key in keys:
        db.execute("DELETE FROM sync_state WHERE key = ?", [key])

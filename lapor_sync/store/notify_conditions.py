"""What has been announced: the one writer of ``notify_conditions``.

A condition is a key such as ``followup:12:2026-11-27T10:00:00+07:00`` (ticket 12 waits
for its OPD's first follow-up since that disposition) or ``admin:quarantine:7``. Rows are
written in the same transaction as the notification that announces them, so a condition
is announced exactly when its message is decided: never twice, never forgotten.

- OPD conditions are announced once; when they stop holding they are closed silently
  (``cleared_at``), and a key that comes back later is not announced again (a new
  disposition makes a new key).
- Admin conditions are announced when they open and again when they clear; one that
  opens again after clearing is announced again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from lapor_sync.store.db import transaction
from lapor_sync.timeutil import to_db


@dataclass(frozen=True)
class Condition:
    key: str
    audience: str  # "opd" | "admin"
    opd_code: str | None
    label: str


def is_recorded(db: sqlite_utils.Database, key: str) -> bool:
    found = db.execute("SELECT 1 FROM notify_conditions WHERE key = ?", [key]).fetchone()
    return found is not None


def open_conditions(db: sqlite_utils.Database, audience: str) -> dict[str, Condition]:
    rows = db.execute(
        "SELECT key, audience, opd_code, label FROM notify_conditions "
        "WHERE audience = ? AND cleared_at IS NULL",
        [audience],
    )
    return {str(r[0]): Condition(str(r[0]), str(r[1]), r[2], str(r[3])) for r in rows}


def record_opened(
    db: sqlite_utils.Database, conditions: Iterable[Condition], now: datetime
) -> None:
    """Open the conditions (a cleared one opens again). Use inside the caller's transaction."""
    with transaction(db):
        for c in conditions:
            db.execute(
                "INSERT INTO notify_conditions (key, audience, opd_code, label, opened_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET cleared_at = NULL, "
                "opened_at = excluded.opened_at, label = excluded.label",
                [c.key, c.audience, c.opd_code, c.label, to_db(now)],
            )


def record_cleared(db: sqlite_utils.Database, keys: Iterable[str], now: datetime) -> None:
    with transaction(db):
        for key in keys:
            db.execute(
                "UPDATE notify_conditions SET cleared_at = ? WHERE key = ? AND cleared_at IS NULL",
                [to_db(now), key],
            )

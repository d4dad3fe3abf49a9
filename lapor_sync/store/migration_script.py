"""Running one migration's SQL script atomically (used by every migration)."""

from __future__ import annotations

import sqlite3

import sqlite_utils


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run statements one by one inside the migration's transaction.

    ``executescript`` would COMMIT first, so a crash could leave a half-applied migration
    that is not recorded as applied; statement-by-statement keeps it atomic. Statements
    are split with ``sqlite3.complete_statement`` so trigger bodies stay whole.
    """
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            db.execute(pending)
            pending = ""
    if pending.strip():
        raise ValueError("migration script ends with an incomplete statement")

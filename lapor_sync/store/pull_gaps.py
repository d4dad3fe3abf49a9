"""Failed pulls that left part of an account's change feed unread (table ``pull_gaps``).

A failed pull leaves a row: from where the feed is known to be complete (the account's
cursor after the failure; NULL when nothing was ever committed) up to the newest
``updated_at`` the failed run had listed (NULL when it listed nothing), and beyond. The
row stays open — shown by ``lapor-sync status``, turning ``/healthz`` to 503 — until a
later pull has covered that range: one that walked from the cursor to the end of the
feed, or one whose committed cursor went past ``listed_to``. Failed pulls in a row extend
the one open row of their account instead of adding rows. Owner of the table; callers
wrap the writes in ``store.db.transaction``.

Invariants: at most one open row per account (a unique partial index); ``reason`` is the
program's own operator sentence (``errors.describe``), masked, with no personal data;
ranges are server timestamps, never the local clock.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from lapor_sync.timeutil import to_db

REASON_WIDTH = 300


@dataclass(frozen=True)
class PullGap:
    account: str
    run_id: int | None
    first_failed_at: str
    last_failed_at: str
    failures: int
    covered_to: str | None
    listed_to: str | None
    reason: str

    @property
    def range_text(self) -> str:
        """The unread part of the feed, in words."""
        start = self.covered_to or "the start of the feed"
        return f"updated_at from {start} to the end of the feed" + (
            f" (listed up to {self.listed_to})" if self.listed_to else ""
        )

    @property
    def sentence(self) -> str:
        """For an operator: which pulls failed, what they left unread, why, what next."""
        runs = f"{self.failures} pulls since {self.first_failed_at}"
        if self.failures == 1:
            runs = f"the pull of {self.first_failed_at}"
        return (
            f"{runs} failed (last: run {self.run_id}) and left {self.range_text} unread "
            f"until a later pull covers it; reason: {self.reason}"
        )


def record_failed_pull(
    db: sqlite_utils.Database,
    account: str,
    *,
    run_id: int | None,
    now: datetime,
    listed_to: datetime | None,
    reason: str,
) -> None:
    """Record that a pull of ``account`` failed, leaving the feed after the committed
    cursor unread; close first the gap the run did cover (its cursor went past it), else
    extend the open one (its start stays, its end is the furthest listed)."""
    close_covered(db, account, walked_to_end=False, run_id=run_id, now=now)
    reason = reason.replace("\n", " ")[:REASON_WIDTH]
    listed = to_db(listed_to) if listed_to else None
    db.execute(
        "INSERT INTO pull_gaps (account, run_id, first_failed_at, last_failed_at, covered_to, "
        "listed_to, reason) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (account) WHERE closed_at IS NULL DO UPDATE SET "
        "run_id = excluded.run_id, last_failed_at = excluded.last_failed_at, "
        "failures = failures + 1, reason = excluded.reason, "
        "listed_to = CASE WHEN listed_to IS NULL THEN excluded.listed_to "
        "WHEN excluded.listed_to IS NULL THEN listed_to "
        "ELSE max(listed_to, excluded.listed_to) END",
        [account, run_id, to_db(now), to_db(now), _cursor(db, account), listed, reason],
    )


def close_covered(
    db: sqlite_utils.Database,
    account: str,
    *,
    walked_to_end: bool,
    run_id: int | None,
    now: datetime,
) -> int:
    """Close the open gap of ``account`` if a pull has now covered it; returns 1 if so.

    ``walked_to_end``: the pull read the feed from (before) the cursor to its end. That
    covers the gap: the cursor is at the gap's ``covered_to``, or past it only because a
    pull committed everything in between (the cursor never passes unread data).
    Otherwise the gap is covered once the committed cursor is past its ``listed_to``.
    """
    condition, params = "", []
    if not walked_to_end:
        cursor = _cursor(db, account)
        if cursor is None:
            return 0
        condition, params = " AND listed_to IS NOT NULL AND listed_to < ?", [cursor]
    changed = db.execute(
        "UPDATE pull_gaps SET closed_at = ?, closed_by_run = ? "
        "WHERE account = ? AND closed_at IS NULL" + condition,
        [to_db(now), run_id, account, *params],
    )
    return int(changed.rowcount or 0)


def open_gaps(db: sqlite_utils.Database | sqlite3.Connection, account: str) -> list[PullGap]:
    """The account's open gap, as a list (empty or one); only reads, so a read-only
    connection will do."""
    rows = db.execute(
        "SELECT account, run_id, first_failed_at, last_failed_at, failures, covered_to, "
        "listed_to, reason FROM pull_gaps WHERE account = ? AND closed_at IS NULL",
        [account],
    ).fetchall()
    return [PullGap(*row) for row in rows]


def _cursor(db: sqlite_utils.Database, account: str) -> str | None:
    # The cursors table is mirror.py's; read as stored text so comparisons stay textual.
    row = db.execute("SELECT updated_from FROM cursors WHERE account = ?", [account]).fetchone()
    return str(row[0]) if row else None

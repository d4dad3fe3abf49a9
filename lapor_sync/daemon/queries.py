"""Read-only figures about the store, for health, metrics, ``status`` and the daily summary.

Every function takes a plain ``sqlite3.Connection`` and only reads. The health and
metrics endpoints answer from their own HTTP threads, so they open a short-lived
connection with :func:`open_reader` for each request instead of touching the jobs'
connection (SQLite connections are not meant to be shared by threads that may use them
at the same time). In WAL mode such readers never block the jobs' writer.

Invariant: nothing returned here is personal data. The queries read counts, states,
timestamps, account names, OPD codes, cursors and the program-written ``runs.error``
sentences; never the reporter or content columns.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lapor_sync.store.db import BUSY_TIMEOUT_MS, StoreError, refuse_if_writable_by_others
from lapor_sync.sync.disposition_gate import WAITING
from lapor_sync.timeutil import to_db

OUTBOX_STATES = ("pending", "sending", "unknown", "done", "dead")
BACKLOG_STATES = ("pending", "unknown", "sending")
NO_OPD = "unassigned"


@contextmanager
def open_reader(db_path: Path | str) -> Iterator[sqlite3.Connection]:
    """A read-only connection to an existing store, closed after the block.

    Never creates the file and never runs migrations (``StoreError`` if it is missing).
    """
    path = Path(db_path)
    if not path.exists():
        raise StoreError(f"no database at {path} (lapor-sync has not run yet?)")
    refuse_if_writable_by_others(path)
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store at {path}: {exc}") from None
    try:
        conn.execute("PRAGMA query_only = 1")
        yield conn
    finally:
        conn.close()


def outbox_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per outbox state, every state present (0 when none)."""
    counts = dict.fromkeys(OUTBOX_STATES, 0)
    for state, count in conn.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
        counts[str(state)] = int(count)
    return counts


def backlog(counts: Mapping[str, int]) -> int:
    """What still has to reach SP4N-LAPOR! (dead rows are counted apart)."""
    return sum(counts.get(s, 0) for s in BACKLOG_STATES)


def waiting_for_disposition(conn: sqlite3.Connection) -> int:
    """Follow-ups and forwards held until a pull sees their complaint with the account."""
    row = conn.execute(
        "SELECT count(*) FROM outbox WHERE state = 'pending' AND last_error LIKE ?",
        [f"{WAITING}:%"],
    ).fetchone()
    return int(row[0]) if row else 0


def conflicts_waiting(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()
    return int(row[0]) if row else 0


def overdue_by_opd(conn: sqlite3.Connection, now: datetime) -> dict[str, int]:
    """Open deadlines past due, per OPD of the ticket (``unassigned`` when it has none)."""
    rows = conn.execute(
        "SELECT coalesce(t.opd_code, ?), count(*) FROM deadlines d "
        "JOIN local_tickets t ON t.id = d.ticket_id "
        "WHERE d.met_at IS NULL AND d.due_at < ? GROUP BY 1 ORDER BY 1",
        [NO_OPD, to_db(now)],
    )
    return {str(opd): int(count) for opd, count in rows}


@dataclass(frozen=True)
class RunInfo:
    """One row of ``runs``: the figures are numbers only (``cursor`` aside)."""

    job: str
    account: str | None
    started_at: str
    finished_at: str | None
    outcome: str
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _figures(summary: str | None) -> dict[str, Any]:
    try:
        data = json.loads(summary or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): v for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def last_run(conn: sqlite3.Connection, job: str, account: str | None = None) -> RunInfo | None:
    """The most recent run of ``job`` (for ``account`` if given), whatever its outcome."""
    row = conn.execute(
        "SELECT job, account, started_at, finished_at, outcome, summary, error FROM runs "
        "WHERE job = ? AND (account IS ? OR ? IS NULL) ORDER BY id DESC LIMIT 1",
        [job, account, account],
    ).fetchone()
    if row is None:
        return None
    return RunInfo(row[0], row[1], row[2], row[3], row[4], _figures(row[5]), row[6])


def last_success(conn: sqlite3.Connection, job: str, account: str | None = None) -> str | None:
    """``finished_at`` of the latest successful run (stored text, WIB), or None."""
    row = conn.execute(
        "SELECT max(finished_at) FROM runs WHERE job = ? AND outcome = 'ok' "
        "AND (account IS ? OR ? IS NULL)",
        [job, account, account],
    ).fetchone()
    return str(row[0]) if row and row[0] else None


def cursor_of(conn: sqlite3.Connection, account: str) -> str | None:
    row = conn.execute("SELECT updated_from FROM cursors WHERE account = ?", [account]).fetchone()
    return str(row[0]) if row else None


def sum_figure(conn: sqlite3.Connection, job: str, names: tuple[str, ...], since: datetime) -> int:
    """Sum of figures ``names`` over the successful runs of ``job`` finished since ``since``."""
    total = 0
    for name in names:
        row = conn.execute(
            "SELECT coalesce(sum(json_extract(summary, ?)), 0) FROM runs "
            "WHERE job = ? AND outcome = 'ok' AND finished_at >= ? AND json_valid(summary)",
            [f"$.{name}", job, to_db(since)],
        ).fetchone()
        total += int(row[0] or 0) if row else 0
    return total


@dataclass(frozen=True)
class StoreFigures:
    """The backlog-type figures shown by health, metrics, status and the daily summary."""

    outbox: dict[str, int]
    conflicts_waiting: int
    overdue: dict[str, int]
    waiting_for_disposition: int = 0

    @property
    def backlog(self) -> int:
        return backlog(self.outbox)

    @property
    def dead(self) -> int:
        return self.outbox.get("dead", 0)

    @property
    def overdue_total(self) -> int:
        return sum(self.overdue.values())


def store_figures(conn: sqlite3.Connection, now: datetime) -> StoreFigures:
    return StoreFigures(
        outbox_counts(conn),
        conflicts_waiting(conn),
        overdue_by_opd(conn, now),
        waiting_for_disposition(conn),
    )


def activity_since(conn: sqlite3.Connection, now: datetime, hours: int = 24) -> dict[str, int]:
    """Complaints pulled (new + changed) and rows pushed in the last ``hours``."""
    since = now - timedelta(hours=hours)
    return {
        "pulled": sum_figure(conn, "pull", ("new", "changed"), since),
        "pushed": sum_figure(conn, "push", ("pushed",), since),
    }


NOTIFY_STATES = ("pending", "sending", "sent", "unknown", "dead")


def notify_counts(conn: sqlite3.Connection) -> dict[str, int] | None:
    """Notification outbox rows per state (every state present); None on a store without it."""
    try:
        found = conn.execute("SELECT state, count(*) FROM notify_outbox GROUP BY state").fetchall()
    except sqlite3.OperationalError:
        return None
    counts = dict.fromkeys(NOTIFY_STATES, 0)
    counts.update({str(state): int(n) for state, n in found})
    return counts


def notify_failed(conn: sqlite3.Connection, limit: int = 5) -> list[tuple[int, str, str, str]]:
    """The newest ``dead`` or ``unknown`` notifications: (id, kind + OPD, state, reason)."""
    try:
        rows = conn.execute(
            "SELECT id, kind, opd_code, state, last_error FROM notify_outbox "
            "WHERE state IN ('dead', 'unknown') ORDER BY id DESC LIMIT ?",
            [limit],
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    return [
        (int(i), f"{kind} {opd}" if opd else str(kind), str(state), str(error or ""))
        for i, kind, opd, state, error in rows
    ]


@dataclass(frozen=True)
class StuckRow:
    """An outbox row that needs a person: ``dead``, or ``unknown`` for too long.

    ``reason`` is the row's last error as stored (the push writes no personal data there).
    """

    id: int
    kind: str
    ref: str | None
    state: str
    since: str
    reason: str | None


def stuck_rows(
    conn: sqlite3.Connection, now: datetime, unknown_after: timedelta
) -> list[StuckRow]:
    """Dead rows and rows ``unknown`` since before ``now - unknown_after``, oldest first."""
    rows = conn.execute(
        "SELECT o.id, o.kind, t.ref, o.state, o.updated_at, o.last_error FROM outbox o "
        "LEFT JOIN local_tickets t ON t.id = o.ticket_id "
        "WHERE o.state = 'dead' OR (o.state = 'unknown' AND o.updated_at < ?) "
        "ORDER BY o.state, o.updated_at, o.id",
        [to_db(now - unknown_after)],
    ).fetchall()
    return [StuckRow(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]

"""Owner of the ``deadlines`` table: one row per ticket and stage with its due date; and of
``ticket_due``: one row per ticket with an open deadline, its earliest open ``due_at`` and
the ticket's current ``opd_code`` (what the portal's home counts, by index ranges).

Every statement that reads rows back for the scan, and every write, lives here; the rules
that decide what the rows hold are in ``lapor_sync.sla``. Reads are keyset-paged (by
``ticket_id``, or by ``(ticket_id, stage)``) so no caller ever holds the whole table.

Invariants:
- writes run inside the caller's ``transaction(db)``, with the journal event or resume
  state they belong to;
- an upsert keeps ``flagged`` only when the stage's start did not move: a new round of a
  stage (a new reply opened, a new disposition) is announced anew;
- no row holds personal data: ids, stage names, timestamps and a fingerprint;
- ``ticket_due`` holds exactly ``min(due_at)`` over the ticket's rows with ``met_at IS NULL``
  (no row when there is none) and the ticket's ``opd_code``, at every commit: triggers
  (migration 0015) keep it on every insert, update and delete of ``deadlines`` and on a
  ticket's ``opd_code`` change or delete, whichever program writes. A full scan pass
  rebuilds it as well (``rebuild_ticket_due``), so it is derived from scratch whenever
  every deadline is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

Key = tuple[int, str]  # (ticket_id, stage)


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    """A row as the scan writes it (``flagged`` is kept or reset by the upsert)."""

    ticket_id: int
    stage: str
    started_at: str
    due_at: str
    met_at: str | None
    fingerprint: str
    computed_at: str


@dataclass(frozen=True, slots=True)
class StoredDeadline:
    """What the scan compares against: the computed part of a stored row, and its flag."""

    started_at: str
    due_at: str
    met_at: str | None
    fingerprint: str
    flagged: str | None

    def same_as(self, row: DeadlineRow) -> bool:
        return (
            self.started_at == row.started_at
            and self.due_at == row.due_at
            and self.met_at == row.met_at
            and self.fingerprint == row.fingerprint
        )


_STORED_COLUMNS = "ticket_id, stage, started_at, due_at, met_at, fingerprint, flagged"


def _stored(rows: Iterable[Any]) -> dict[Key, StoredDeadline]:
    return {
        (int(ticket_id), str(stage)): StoredDeadline(started, due, met, fingerprint, flagged)
        for ticket_id, stage, started, due, met, fingerprint, flagged in rows
    }


def stored_between(
    db: sqlite_utils.Database, after: int, up_to: int | None
) -> dict[Key, StoredDeadline]:
    """Stored rows of tickets with ``after < ticket_id <= up_to`` (no upper bound: None)."""
    if up_to is None:
        rows = db.execute(f"SELECT {_STORED_COLUMNS} FROM deadlines WHERE ticket_id > ?", [after])
    else:
        rows = db.execute(
            f"SELECT {_STORED_COLUMNS} FROM deadlines WHERE ticket_id > ? AND ticket_id <= ?",
            [after, up_to],
        )
    return _stored(rows)


def stored_of(db: sqlite_utils.Database, ticket_ids: Sequence[int]) -> dict[Key, StoredDeadline]:
    """Stored rows of the given tickets."""
    rows = db.execute(
        f"SELECT {_STORED_COLUMNS} FROM deadlines "
        "WHERE ticket_id IN (SELECT value FROM json_each(?))",
        [json.dumps(list(ticket_ids))],
    )
    return _stored(rows)


def upsert_deadlines(db: sqlite_utils.Database, rows: Sequence[DeadlineRow]) -> None:
    """Insert or update rows; ``flagged`` survives only when ``started_at`` is unchanged.

    One statement for all the rows (read from a JSON array), not one per row: with the
    triggers that keep ``ticket_due`` on the table, each statement costs SQLite a fixed
    overhead (probably its statement journal), which per-row statements paid for every row
    (``docs/performance.md``, the home).
    """
    if not rows:
        return
    values = [
        (r.ticket_id, r.stage, r.started_at, r.due_at, r.met_at, r.fingerprint, r.computed_at)
        for r in rows
    ]
    db.execute(
        "INSERT INTO deadlines (ticket_id, stage, started_at, due_at, met_at, "
        "fingerprint, computed_at) SELECT json_extract(value, '$[0]'), "
        "json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
        "json_extract(value, '$[3]'), json_extract(value, '$[4]'), "
        "json_extract(value, '$[5]'), json_extract(value, '$[6]') FROM json_each(?) "
        "WHERE true "  # an upsert's SELECT needs a WHERE (SQLite's parser)
        "ON CONFLICT (ticket_id, stage) DO UPDATE SET "
        "flagged = CASE WHEN deadlines.started_at = excluded.started_at "
        "THEN deadlines.flagged ELSE NULL END, "
        "started_at = excluded.started_at, due_at = excluded.due_at, "
        "met_at = excluded.met_at, fingerprint = excluded.fingerprint, "
        "computed_at = excluded.computed_at",
        [json.dumps(values)],
    )


def delete_deadlines(db: sqlite_utils.Database, keys: Sequence[Key]) -> None:
    """Drop rows of stages that no longer apply (or of tickets that are gone)."""
    db.conn.executemany("DELETE FROM deadlines WHERE ticket_id = ? AND stage = ?", keys)


def mark_flagged(db: sqlite_utils.Database, flags: Sequence[tuple[str, int, str]]) -> None:
    """Remember what was logged: ``(flag, ticket_id, stage)`` per row."""
    db.conn.executemany("UPDATE deadlines SET flagged = ? WHERE ticket_id = ? AND stage = ?", flags)


# --- open deadlines -------------------------------------------------------------------------

# Rows whose state is already logged: overdue as "overdue:<due>"; near due as
# "near_due:<due>" (or already overdue once). ``only_unflagged`` reads only the others.
_UNFLAGGED = (
    " AND NOT (coalesce(d.flagged, '') = 'overdue:' || d.due_at OR (d.due_at >= ? "
    "AND coalesce(d.flagged, '') = 'near_due:' || d.due_at))"
)

OpenRow = tuple[
    int, str, str, str, str | None, str | None, str | None, str | None, str | None, str | None
]
"""ticket_id, stage, started_at, due_at, flagged, ref, opd_code, account, remote_id,
tracking_id."""


def open_rows_page(
    db: sqlite_utils.Database,
    horizon: str,
    *,
    after: Key | None,
    limit: int,
    unflagged_at: str | None = None,
) -> list[OpenRow]:
    """One page of unmet rows due at or before ``horizon``, in ``(ticket_id, stage)`` order
    after the key ``after``; with ``unflagged_at`` (now), only rows whose state at that
    instant is not logged yet."""
    params: list[object] = [horizon]
    where = "d.met_at IS NULL AND d.due_at <= ?"
    if unflagged_at is not None:
        where += _UNFLAGGED
        params.append(unflagged_at)
    if after is not None:
        where += " AND (d.ticket_id, d.stage) > (?, ?)"
        params.extend(after)
    params.append(limit)
    rows = db.execute(
        "SELECT d.ticket_id, d.stage, d.started_at, d.due_at, d.flagged, t.ref, t.opd_code, "
        "coalesce(l.account, t.account), l.remote_id, coalesce(l.tracking_id, rc.tracking_id) "
        "FROM deadlines d JOIN local_tickets t ON t.id = d.ticket_id "
        "LEFT JOIN links l ON l.ticket_id = d.ticket_id "
        "LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
        f"WHERE {where} ORDER BY d.ticket_id, d.stage LIMIT ?",
        params,
    ).fetchall()
    return [tuple(r) for r in rows]


def open_counts(
    db: sqlite_utils.Database,
    now: str,
    horizon: str,
    no_opd: str,
    *,
    excluding: Sequence[int] | None = None,
) -> list[tuple[str, int, int]]:
    """(OPD, complaints with a stage past due, complaints with none past due but one due by
    ``horizon``), counted in SQL; ``excluding`` leaves those tickets out."""
    skip = ""
    params: list[object] = [no_opd, now, horizon]
    if excluding is not None:
        skip = " AND d.ticket_id NOT IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(list(excluding)))
    rows = db.execute(
        "SELECT opd, sum(late), sum(NOT late) FROM ("
        "SELECT coalesce(t.opd_code, ?) AS opd, max(d.due_at < ?) AS late "
        "FROM deadlines d JOIN local_tickets t ON t.id = d.ticket_id "
        f"WHERE d.met_at IS NULL AND d.due_at <= ?{skip} GROUP BY d.ticket_id) GROUP BY opd",
        params,
    ).fetchall()
    return [(str(opd), int(late or 0), int(soon or 0)) for opd, late, soon in rows]


def rebuild_ticket_due(db: sqlite_utils.Database) -> None:
    """Derive ``ticket_due`` from scratch from the open deadlines (a full scan pass).

    The triggers keep it exact already; this makes a copy right that was ever written
    without them (a store restored from a partial dump). One grouped read of the open
    deadlines, so only a pass that recomputed every ticket anyway pays for it.
    """
    db.execute("DELETE FROM ticket_due")
    db.execute(
        "INSERT INTO ticket_due (ticket_id, opd_code, first_open_due) "
        "SELECT d.ticket_id, t.opd_code, min(d.due_at) FROM deadlines d "
        "LEFT JOIN local_tickets t ON t.id = d.ticket_id "
        "WHERE d.met_at IS NULL GROUP BY d.ticket_id"
    )

"""Named reads of the portal's "what needs me today": the home's counts and work list,
the open conflicts an account may decide, and the outbox page.

Only reads, like ``store.portal_queries`` (whose ``Scope`` they take): a row outside the
account's scope is not found. The home's tiles and the pages they open read the same
states and scope here, so each tile counts exactly what its page lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.store.db import read_rows
from lapor_sync.store.portal_queries import Scope
from lapor_sync.timeutil import to_db


def home_counts(
    db: sqlite_utils.Database,
    scope: Scope,
    now: datetime,
    since: str | None,
    horizon: datetime,
    *,
    deadlines: bool = True,
) -> dict[str, int]:
    """What needs me today: late, near-due, new since ``since``, open conflicts, outbox.

    ``late``: complaints with a stage past due; ``near_due``: complaints with none past due
    but one due by ``horizon`` (the report's and the digests' split, ``deadlines.open_counts``),
    so the two add up to the home's work list. Each complaint is counted once, by its earliest
    open deadline, read from ``ticket_due`` (one row per complaint with an open deadline,
    kept exact by triggers: see ``store/deadlines.py``): two index range counts, whatever
    the number of open deadlines. A complaint without a reference yet is counted like any
    other. ``deadlines=False`` (a role that is not shown them) leaves both at 0 and reads
    no deadline.
    """
    scope_sql, params = scope.where()
    stamp, far = to_db(now), to_db(horizon)
    late = soon = 0
    if deadlines:
        # ticket_due holds the OPD, so an OPD scope reads no ticket row; the origin
        # (operator's scope) is read from the ticket.
        join, due_scope = "", scope.where("u")[0]
        if scope.local_only:
            join, due_scope = " JOIN local_tickets t ON t.id = u.ticket_id", scope_sql
        row = db.execute(
            f"SELECT (SELECT count(*) FROM ticket_due u{join} "
            f"WHERE u.first_open_due < ? AND {due_scope}), "
            f"(SELECT count(*) FROM ticket_due u{join} "
            f"WHERE u.first_open_due >= ? AND u.first_open_due <= ? AND {due_scope})",
            [stamp, *params, stamp, far, *params],
        ).fetchone()
        late, soon = int(row[0] or 0), int(row[1] or 0)
    waiting = "(" + ", ".join(f"'{state}'" for state in OUTBOX_WAITING) + ")"  # all but done
    # CROSS JOIN keeps SQLite on the few open conflicts and waiting outbox rows, then their
    # tickets by key: with an OPD scope it would otherwise walk the OPD's every ticket
    # (measured: 5 ms of a liaison's home at 25,000 complaints per OPD).
    one = db.execute(
        "SELECT "
        "(SELECT count(*) FROM local_tickets t INDEXED BY local_tickets_created "
        f" WHERE t.created_at > ? AND {scope_sql}), "
        "(SELECT count(*) FROM conflicts c CROSS JOIN local_tickets t ON t.id = c.ticket_id "
        f" WHERE c.resolved_at IS NULL AND {scope_sql}), "
        "(SELECT count(*) FROM outbox o CROSS JOIN local_tickets t ON t.id = o.ticket_id "
        f" WHERE o.state IN {waiting} AND {scope_sql}), "
        "(SELECT count(*) FROM outbox o CROSS JOIN local_tickets t ON t.id = o.ticket_id "
        f" WHERE o.state = 'dead' AND {scope_sql})",
        [since or "", *params, *params, *params, *params],
    ).fetchone()
    keys = ("new", "conflicts", "outbox_waiting", "outbox_dead")
    return {"late": late, "near_due": soon} | {
        k: int(v or 0) for k, v in zip(keys, one, strict=True)
    }


def open_conflicts_in(db: sqlite_utils.Database, scope: Scope) -> list[dict[str, Any]]:
    """Open conflicts the scope may decide, oldest first, with both sides' values."""
    scope_sql, params = scope.where()
    return [
        dict(r)
        for r in read_rows(
            db,
            "SELECT c.id, c.kind, c.lapor_value, c.local_value, c.base_value, c.opened_at, "
            "t.ref, t.opd_code, l.tracking_id FROM conflicts c JOIN local_tickets t ON "
            "t.id = c.ticket_id LEFT JOIN links l ON l.ticket_id = t.id "
            f"WHERE c.resolved_at IS NULL AND {scope_sql} ORDER BY c.opened_at, c.id",
            params,
        )
    ]


def conflict_in_scope(db: sqlite_utils.Database, scope: Scope, conflict_id: int) -> bool:
    scope_sql, params = scope.where()
    row = db.execute(
        "SELECT 1 FROM conflicts c JOIN local_tickets t ON t.id = c.ticket_id "
        f"WHERE c.id = ? AND {scope_sql}",
        [conflict_id, *params],
    ).fetchone()
    return row is not None


OUTBOX_WAITING: tuple[str, ...] = ("dead", "unknown", "pending", "sending")  # all but done


def outbox_rows(
    db: sqlite_utils.Database,
    scope: Scope,
    *,
    limit: int,
    before_id: int | None = None,
    states: Sequence[str] = OUTBOX_WAITING,
) -> list[dict[str, Any]]:
    """Outbox rows in ``states`` of the complaints ``scope`` may see, newest first (by id),
    with their ticket's reference; ``before_id``: the keyset cursor (the last id shown).

    The rows the home's "belum terkirim" tile counts (same states, same scope), one page
    at a time: the page after the last row shown starts below its id, so a row is shown
    once even while new ones arrive."""
    scope_sql, params = scope.where()
    marks = ", ".join("?" * len(states))
    cursor = "AND o.id < ? " if before_id is not None else ""
    return [
        dict(r)
        for r in read_rows(
            db,
            "SELECT o.id, o.kind, o.state, o.attempts, o.last_error, o.next_attempt_at, "
            "o.updated_at, t.ref, t.opd_code FROM outbox o CROSS JOIN local_tickets t ON "
            f"t.id = o.ticket_id WHERE o.state IN ({marks}) AND {scope_sql} {cursor}"
            "ORDER BY o.id DESC LIMIT ?",
            [*states, *params, *([before_id] if before_id is not None else []), limit],
        )
    ]


def work_list(
    db: sqlite_utils.Database, scope: Scope, horizon: datetime, complaints: int
) -> list[dict[str, Any]]:
    """The home's work list: at most ``complaints`` complaints with an open deadline due by
    ``horizon``, the one due earliest first, each with *every* such stage.

    Each item: ``ref``, ``opd_code``, ``title``, ``is_secret`` and ``stages`` (dicts of
    ``stage`` and ``due_at``, earliest first). Bounded: the open deadlines are read in due
    order only until ``complaints`` distinct complaints are found (a large backlog costs no
    more), then the stages of those complaints are read by their key.
    """
    scope_sql, params = scope.where()
    cursor = db.execute(
        "SELECT d.ticket_id FROM deadlines d JOIN local_tickets t ON t.id = d.ticket_id "
        f"WHERE d.met_at IS NULL AND d.due_at <= ? AND t.ref IS NOT NULL AND {scope_sql} "
        "ORDER BY d.due_at, d.ticket_id",
        [to_db(horizon), *params],
    )
    order: dict[int, int] = {}
    while len(order) < complaints:
        batch = cursor.fetchmany(max(50, complaints))
        if not batch:
            break
        for (ticket_id,) in batch:
            if len(order) < complaints:
                order.setdefault(int(ticket_id), len(order))
    cursor.close()
    if not order:
        return []
    found: dict[int, dict[str, Any]] = {}
    for r in read_rows(
        db,
        "SELECT t.id, t.ref, t.opd_code, t.title, d.stage, d.due_at, "
        "max(t.is_secret, coalesce(rc.is_secret, 0)) AS is_secret "
        "FROM json_each(:ids) j JOIN deadlines d ON d.ticket_id = j.value "
        "JOIN local_tickets t ON t.id = d.ticket_id "
        "LEFT JOIN links l ON l.ticket_id = t.id "
        "LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
        "WHERE +d.met_at IS NULL AND +d.due_at <= :horizon ORDER BY d.due_at, d.stage",
        {"ids": json.dumps(list(order)), "horizon": to_db(horizon)},
    ):
        item = found.setdefault(
            int(r["id"]),
            {"ref": r["ref"], "opd_code": r["opd_code"], "title": r["title"],
             "is_secret": r["is_secret"], "stages": []},
        )  # fmt: skip
        item["stages"].append({"stage": r["stage"], "due_at": r["due_at"]})
    return [found[i] for i in sorted(found, key=order.__getitem__)]

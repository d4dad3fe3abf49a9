"""Stored due dates per ticket and stage, and the overdue / near-due scan.

The stages (verification, followup, reply, closure, settlement), their rules and how
their due dates are computed are described and implemented in ``sla.stages``. This module
stores one row per ticket and stage, and finds what is overdue or near due.

Invariants:
- ``recompute_deadlines`` is a pure function of the store, the rules and the calendar:
  run twice, it changes nothing the second time. Every row carries the fingerprint of the
  calendar and the rules it was computed with, so a change to either rewrites every
  affected row even when no new fact arrived.
- ``scan`` logs each ``overdue`` / ``near_due`` once per (ticket, stage, due date) and
  round; the ``flagged`` column remembers what was logged, in the same transaction as
  the event.
- Nothing here writes personal data: events carry ids, the stage, the due date and days.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import sqlite_utils

from lapor_sync.sla.calendar import WorkingCalendar
from lapor_sync.sla.stages import (
    STAGES,
    DeadlineRules,
    DueDates,
    Stage,
    StageDeadline,
    as_rules,
    compute_stages,
)
from lapor_sync.sla.timeline import load_timelines
from lapor_sync.store.db import read_snapshot, transaction
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.store.sync_state import (
    DEADLINES_FINGERPRINT,
    DEADLINES_JOURNAL_ID,
    read_state,
    write_state,
)
from lapor_sync.timeutil import WIB, from_db, to_db, wib_date

if TYPE_CHECKING:
    from lapor_sync.config import Settings

__all__ = [
    "NEAR_DUE",
    "NO_OPD",
    "OVERDUE",
    "STAGES",
    "DeadlineRules",
    "DueDates",
    "OpdCounts",
    "OpenDeadline",
    "RecomputeSummary",
    "ScanSummary",
    "Stage",
    "StageDeadline",
    "as_rules",
    "compute_stages",
    "open_deadlines",
    "recompute_deadlines",
    "scan",
]

OVERDUE = "overdue"
NEAR_DUE = "near_due"
NO_OPD = "unassigned"  # per-OPD key for tickets without an OPD (as the daemon metrics)

_END_OF_DAY = time(23, 59, 59)


@dataclass
class RecomputeSummary:
    tickets: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    invalid: int = 0  # tickets with an unreadable timestamp: their rows are left as they were

    def figures(self) -> dict[str, int]:
        return dict(vars(self))


_Key = tuple[int, str]


def recompute_deadlines(
    db: sqlite_utils.Database,
    rules: DeadlineRules | Settings,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    only: Collection[int] | None = None,
) -> RecomputeSummary:
    """Bring the ``deadlines`` table in line with the store's facts, rules and calendar.

    Reads every ticket's timeline in a few queries, computes its stages, and writes only
    rows that differ (a different start, due date, met time or fingerprint); rows of
    stages that no longer apply are deleted. All writes are one transaction. ``flagged``
    survives an update unless the stage's start moved (a new round is flagged anew).
    """
    rules = as_rules(rules)
    fingerprint = rules.fingerprint(calendar)
    due = DueDates(rules, calendar)
    invalid: list[int] = []
    with read_snapshot(db):
        timelines = load_timelines(db, rules.state_for, invalid, only=only)
        where, params = (
            ("", [])
            if only is None
            else ("WHERE ticket_id IN (SELECT value FROM json_each(?))", [json.dumps(sorted(only))])
        )
        # One text per row, compared as a whole: far cheaper than tuples of 400,000 rows.
        stored: dict[_Key, str] = {
            (r[0], r[1]): r[2]
            for r in db.execute(
                "SELECT ticket_id, stage, started_at || '|' || due_at || '|' || "
                f"coalesce(met_at, '') || '|' || fingerprint FROM deadlines {where}",
                params,
            )
        }
    summary = RecomputeSummary(tickets=len(timelines), invalid=len(invalid))
    computed_at = to_db(now)
    upserts: list[tuple[object, ...]] = []
    for tl in timelines:
        ticket_id = tl.ticket_id
        for stage, started_at, due_at, met_at in compute_stages(tl, due):
            key = (ticket_id, stage)
            previous = stored.pop(key, None)
            if previous == f"{started_at}|{due_at}|{met_at or ''}|{fingerprint}":
                summary.unchanged += 1
                continue
            if previous is None:
                summary.inserted += 1
            else:
                summary.updated += 1
            upserts.append((ticket_id, stage, started_at, due_at, met_at, fingerprint, computed_at))
    skipped = set(invalid)
    # Rows of stages that no longer apply, or of deleted tickets.
    stale = [key for key in stored if key[0] not in skipped]
    summary.deleted = len(stale)
    if upserts or stale:
        with transaction(db):
            db.conn.executemany(
                "INSERT INTO deadlines (ticket_id, stage, started_at, due_at, met_at, "
                "fingerprint, computed_at) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT (ticket_id, stage) DO UPDATE SET "
                "flagged = CASE WHEN deadlines.started_at = excluded.started_at "
                "THEN deadlines.flagged ELSE NULL END, "
                "started_at = excluded.started_at, due_at = excluded.due_at, "
                "met_at = excluded.met_at, fingerprint = excluded.fingerprint, "
                "computed_at = excluded.computed_at",
                upserts,
            )
            db.conn.executemany("DELETE FROM deadlines WHERE ticket_id = ? AND stage = ?", stale)
    return summary


# --- open deadlines: overdue and near-due ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenDeadline:
    """An unmet deadline that is past due or near due. No personal data."""

    ticket_id: int
    stage: Stage
    started_at: datetime
    due_at: datetime
    flagged: str | None
    kind: str  # OVERDUE | NEAR_DUE
    days_late: int  # > 0 overdue; 0 due today; -n due in n working days
    ref: str | None
    opd_code: str | None
    account: str | None
    remote_id: str | None
    tracking_id: str | None

    @property
    def flag(self) -> str:
        """What ``flagged`` holds once this state was logged."""
        return f"{self.kind}:{to_db(self.due_at)}"


def open_deadlines(
    db: sqlite_utils.Database,
    calendar: WorkingCalendar,
    now: datetime,
    near_due_days: int,
    *,
    include_near_due: bool = True,
    only_unflagged: bool = False,
) -> list[OpenDeadline]:
    """Unmet deadlines past due, and (unless off) those due within ``near_due_days``.

    Overdue: the due instant is before ``now``; days late = working days after the due
    date up to today, at least 1 (a deadline missed on Friday is 1 day late at the
    weekend). Near due: due at or after ``now`` and at most ``near_due_days`` working days
    after today (0 = due today). ``near_due_days`` = 0 turns near-due off.
    """
    today = wib_date(now)
    near = include_near_due and near_due_days > 0
    if near:
        horizon_day = calendar.add_working_days(today, near_due_days)
        horizon = datetime.combine(horizon_day, _END_OF_DAY, tzinfo=WIB)
    else:
        horizon = now
    rows = db.execute(
        "SELECT d.ticket_id, d.stage, d.started_at, d.due_at, d.flagged, t.ref, t.opd_code, "
        "coalesce(l.account, t.account), l.remote_id, coalesce(l.tracking_id, rc.tracking_id) "
        "FROM deadlines d JOIN local_tickets t ON t.id = d.ticket_id "
        "LEFT JOIN links l ON l.ticket_id = d.ticket_id "
        "LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
        "WHERE d.met_at IS NULL AND d.due_at <= ?" + (_UNFLAGGED if only_unflagged else ""),
        [to_db(horizon), *([to_db(now)] if only_unflagged else [])],
    )
    between: dict[tuple[date, date], int] = {}

    def days_between(a: date, b: date) -> int:
        if (a, b) not in between:
            between[a, b] = calendar.working_days_between(a, b)
        return between[a, b]

    found = []
    for ticket_id, stage, started, due_text, flagged, ref, opd, account, remote, tracking in rows:
        due_at = from_db(due_text)
        if due_at < now:
            kind = OVERDUE
            days = max(1, days_between(wib_date(due_at), today))
        elif near:
            left = days_between(today, wib_date(due_at))
            if left > near_due_days:
                continue
            kind, days = NEAR_DUE, -left
        else:
            continue
        found.append(
            OpenDeadline(
                ticket_id=ticket_id,
                stage=stage,
                started_at=from_db(started),
                due_at=due_at,
                flagged=flagged,
                kind=kind,
                days_late=days,
                ref=ref,
                opd_code=opd,
                account=account,
                remote_id=remote,
                tracking_id=tracking,
            )
        )
    return found


@dataclass
class OpdCounts:
    overdue: int = 0
    near_due: int = 0
    new_overdue: int = 0
    new_near_due: int = 0


@dataclass
class ScanSummary:
    recompute: RecomputeSummary
    per_opd: dict[str, OpdCounts] = field(default_factory=dict)

    @property
    def overdue(self) -> int:
        return sum(c.overdue for c in self.per_opd.values())

    @property
    def near_due(self) -> int:
        return sum(c.near_due for c in self.per_opd.values())

    @property
    def events(self) -> int:
        return sum(c.new_overdue + c.new_near_due for c in self.per_opd.values())

    def figures(self) -> dict[str, int]:
        return {
            **self.recompute.figures(),
            "overdue": self.overdue,
            "near_due": self.near_due,
            "events": self.events,
        }


# Rows whose state is already logged: overdue as "overdue:<due>"; near due as
# "near_due:<due>" (or already overdue once). The scan reads only the others.
_UNFLAGGED = (
    " AND NOT (coalesce(d.flagged, '') = 'overdue:' || d.due_at OR (d.due_at >= ? "
    "AND coalesce(d.flagged, '') = 'near_due:' || d.due_at))"
)


def _already_logged(item: OpenDeadline) -> bool:
    if item.flagged == item.flag:
        return True
    # Once logged as overdue, the same due date is never announced as near due again.
    return item.kind == NEAR_DUE and item.flagged == f"{OVERDUE}:{to_db(item.due_at)}"


def scan(
    db: sqlite_utils.Database,
    rules: DeadlineRules | Settings,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    run_id: int | None = None,
) -> ScanSummary:
    """Recompute, then log ``overdue`` / ``near_due`` events for what was not logged yet.

    Returns, per OPD code (``NO_OPD`` for tickets without one), how many deadlines are
    overdue and near due now, and how many of them were logged by this scan.
    """
    rules = as_rules(rules)
    fingerprint = rules.fingerprint(calendar)
    journal_end = int(db.execute("SELECT coalesce(max(id), 0) FROM local_changes").fetchone()[0])
    only = _changed_tickets(db, fingerprint, journal_end)
    summary = ScanSummary(recompute_deadlines(db, rules, calendar, now, only=only))
    flags: list[tuple[str, int, str]] = []
    with transaction(db):  # read and flag under the write lock: two scans never both log
        for opd, overdue_count, near_count in _open_counts(db, calendar, now, rules):
            counts = summary.per_opd.setdefault(opd, OpdCounts())
            counts.overdue, counts.near_due = overdue_count, near_count
        for item in open_deadlines(db, calendar, now, rules.near_due_days, only_unflagged=True):
            counts = summary.per_opd.setdefault(item.opd_code or NO_OPD, OpdCounts())
            overdue = item.kind == OVERDUE
            if _already_logged(item):
                continue
            record_event(
                db,
                EventKind.OVERDUE if overdue else EventKind.NEAR_DUE,
                now,
                account=item.account,
                opd=item.opd_code,
                complaint_id=item.remote_id,
                tracking_id=item.tracking_id,
                ticket_ref=item.ref,
                side="lapor" if item.stage == "verification" else "local",
                detail={
                    "stage": item.stage,
                    "due": to_db(item.due_at),
                    "days_late": item.days_late,
                },
                run_id=run_id,
            )
            flags.append((item.flag, item.ticket_id, item.stage))
            if overdue:
                counts.new_overdue += 1
            else:
                counts.new_near_due += 1
        db.conn.executemany(
            "UPDATE deadlines SET flagged = ? WHERE ticket_id = ? AND stage = ?", flags
        )
        write_state(
            db, {DEADLINES_FINGERPRINT: fingerprint, DEADLINES_JOURNAL_ID: str(journal_end)}
        )
    return summary


def _changed_tickets(
    db: sqlite_utils.Database, fingerprint: str, journal_end: int
) -> set[int] | None:
    """Tickets whose facts changed since the last scan, from the change journal.

    None (recompute everything) on the first scan and whenever the calendar or the rules
    changed: their fingerprint differs from the one stored by the last scan.
    """
    state = read_state(db, [DEADLINES_FINGERPRINT, DEADLINES_JOURNAL_ID])
    if state.get(DEADLINES_FINGERPRINT) != fingerprint or DEADLINES_JOURNAL_ID not in state:
        return None
    since = int(state[DEADLINES_JOURNAL_ID])
    rows = db.execute(
        "SELECT row_id FROM local_changes WHERE id > ?1 AND id <= ?2 "
        "AND table_name IN ('local_tickets', 'links', 'ticket_facts') "
        "UNION SELECT f.ticket_id FROM local_changes j JOIN local_followups f ON f.id = j.row_id "
        "WHERE j.id > ?1 AND j.id <= ?2 AND j.table_name = 'local_followups' "
        "UNION SELECT w.ticket_id FROM local_changes j JOIN local_forwards w ON w.id = j.row_id "
        "WHERE j.id > ?1 AND j.id <= ?2 AND j.table_name = 'local_forwards' "
        "UNION SELECT l.ticket_id FROM local_changes j "
        "JOIN remote_complaints r ON r.rowid = j.row_id "
        "JOIN links l ON l.account = r.account AND l.remote_id = r.remote_id "
        "WHERE j.id > ?1 AND j.id <= ?2 AND j.table_name = 'remote_complaints'",
        [since, journal_end],
    ).fetchall()
    return {int(r[0]) for r in rows}


def _open_counts(
    db: sqlite_utils.Database,
    calendar: WorkingCalendar,
    now: datetime,
    rules: DeadlineRules,
) -> list[tuple[str, int, int]]:
    """(OPD, late complaints, near-due complaints), counted in SQL — complaints, not stages.

    The one definition of late (docs/deadlines.md): a complaint with at least one unmet
    stage past its due instant is late, counted once however many stages are; a
    complaint with none late but one due within ``near_due_days`` is near due.
    """
    near = rules.near_due_days > 0
    if near:
        day = calendar.add_working_days(wib_date(now), rules.near_due_days)
        horizon = to_db(datetime.combine(day, _END_OF_DAY, tzinfo=WIB))
    else:
        horizon = to_db(now)
    rows = db.execute(
        "SELECT opd, sum(late), sum(NOT late) FROM ("
        "SELECT coalesce(t.opd_code, ?) AS opd, max(d.due_at < ?) AS late "
        "FROM deadlines d JOIN local_tickets t ON t.id = d.ticket_id "
        "WHERE d.met_at IS NULL AND d.due_at <= ? GROUP BY d.ticket_id) GROUP BY opd",
        [NO_OPD, to_db(now), horizon],
    ).fetchall()
    return [(str(opd), int(late or 0), int(soon or 0) if near else 0) for opd, late, soon in rows]

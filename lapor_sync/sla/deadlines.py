"""Deadline rules per stage, their stored due dates, and the overdue / near-due scan.

Stages (numbers from ``[deadlines]``; working days counted as in ``sla.calendar``):

- ``verification``: SP4N-LAPOR! verifies and dispositions, ``verification_days`` from
  submission; met at ``verified_at``.
- ``followup``: the OPD's first tindak lanjut, ``followup_days`` from the disposition; met
  by the first institution follow-up at or after the disposition.
- ``reply``: a reply (reporter or LAPOR! admin) after an institution follow-up is owed an
  answer, ``followup_days`` from the first reply of that round; met by the next institution
  follow-up. One row per ticket: the latest round.
- ``closure``: the report is expected to be closed ``closure_days`` after the last
  institution follow-up, when no reply came after it; met when the ticket is closed. While
  a reply waits for an answer the stage does not apply (no row): the answer restarts it.
- ``settlement``: ``settlement_days`` (working or calendar days, ``settlement_unit``) from
  the disposition; met when the ticket is closed.

A terminal ticket (closed, archived, forwarded) meets every open stage at the time it
ended. A stage that cannot start yet has no row.

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

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Literal, NamedTuple

import sqlite_utils

from lapor_sync.config.sections import DEFAULT_STATUS_MAP, status_key
from lapor_sync.domain import ComplaintState
from lapor_sync.sla.calendar import WorkingCalendar
from lapor_sync.sla.timeline import Stamp, Timeline, load_timelines
from lapor_sync.store.db import read_snapshot, transaction
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.timeutil import WIB, from_db, to_db, wib_date

if TYPE_CHECKING:
    from lapor_sync.config import Settings

Stage = Literal["verification", "followup", "reply", "closure", "settlement"]
STAGES: tuple[Stage, ...] = ("verification", "followup", "reply", "closure", "settlement")

# Bump when the rules in this module change meaning: every stored row is then recomputed.
RULES_VERSION = "1"

OVERDUE = "overdue"
NEAR_DUE = "near_due"
NO_OPD = "unassigned"  # per-OPD key for tickets without an OPD (as the daemon metrics)

_END_OF_DAY = time(23, 59, 59)


def _default_status_map() -> dict[str, ComplaintState]:
    return {status_key(k): v for k, v in DEFAULT_STATUS_MAP.items()}


@dataclass(frozen=True)
class DeadlineRules:
    """The numbers of ``[deadlines]`` and the status map (to read LAPOR! status history)."""

    verification_days: int = 3
    followup_days: int = 5
    closure_days: int = 10
    settlement_days: int = 60
    settlement_unit: Literal["working", "calendar"] = "working"
    near_due_days: int = 1
    status_map: Mapping[str, ComplaintState] = field(default_factory=_default_status_map)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeadlineRules:
        d = settings.deadlines
        return cls(
            verification_days=d.verification_days,
            followup_days=d.followup_days,
            closure_days=d.closure_days,
            settlement_days=d.settlement_days,
            settlement_unit=d.settlement_unit,
            near_due_days=d.near_due_days,
            status_map={status_key(k): v for k, v in settings.status_map.items()},
        )

    def state_for(self, name: str) -> ComplaintState | None:
        """Internal state for a LAPOR! status name (keys are compared case-folded)."""
        return self.status_map.get(status_key(name))

    def fingerprint(self, calendar: WorkingCalendar) -> str:
        """Changes when the calendar overrides, a due-date rule or the status map change."""
        statuses = sorted(f"{k}={v.value}" for k, v in self.status_map.items())
        text = "|".join(
            [
                RULES_VERSION,
                calendar.fingerprint,
                str(self.verification_days),
                str(self.followup_days),
                str(self.closure_days),
                str(self.settlement_days),
                self.settlement_unit,
                *statuses,
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_rules(rules: DeadlineRules | Settings) -> DeadlineRules:
    return rules if isinstance(rules, DeadlineRules) else DeadlineRules.from_settings(rules)


class StageDeadline(NamedTuple):
    """One stage of one ticket. Times are canonical stored text (``timeline.Stamp``)."""

    stage: Stage
    started_at: Stamp
    due_at: Stamp
    met_at: Stamp | None


class DueDates:
    """Due instants for the rules on one calendar, memoised by start date.

    Thousands of tickets share a start date; walking the calendar once per date keeps a
    100,000-ticket recompute fast. The WIB date of a canonical stamp is its first ten
    characters.
    """

    def __init__(self, rules: DeadlineRules, calendar: WorkingCalendar) -> None:
        self.rules = rules
        self.calendar = calendar
        self._cache: dict[tuple[str, int, bool], Stamp] = {}

    def working(self, start: Stamp, days: int) -> Stamp:
        due = self._cache.get((start[:10], days, True))
        return due if due is not None else self._due(start[:10], days, True)

    def settlement(self, start: Stamp) -> Stamp:
        working = self.rules.settlement_unit == "working"
        return self._due(start[:10], self.rules.settlement_days, working)

    def _due(self, day: str, days: int, working: bool) -> Stamp:
        key = (day, days, working)
        due = self._cache.get(key)
        if due is None:
            started = datetime.combine(date.fromisoformat(day), time(12), tzinfo=WIB)
            if working:
                instant = self.calendar.deadline(started, days)
            else:
                instant = self.calendar.calendar_deadline(started, days)
            due = self._cache[key] = to_db(instant)
        return due


def _first_at_or_after(times: tuple[Stamp, ...], start: Stamp) -> Stamp | None:
    return next((t for t in times if t >= start), None)


def _reply_round(tl: Timeline) -> tuple[Stamp, Stamp | None] | None:
    """(first reply of the latest round, the follow-up that answered it or None).

    A round opens with the first reply after an institution follow-up and closes with the
    next institution follow-up. Replies before any institution follow-up open nothing:
    the ``followup`` stage already covers them. At the same instant, a follow-up answers
    the reply.
    """
    if not tl.replies or not tl.institution_followups:
        return None
    events = sorted([(t, 0) for t in tl.replies] + [(t, 1) for t in tl.institution_followups])
    seen_followup = False
    open_since: Stamp | None = None
    last: tuple[Stamp, Stamp | None] | None = None
    for at, kind in events:
        if kind == 1:
            seen_followup = True
            if open_since is not None:
                last, open_since = (open_since, at), None
        elif seen_followup and open_since is None:
            open_since = at
    if open_since is not None:
        return (open_since, None)
    return last


def compute_stages(tl: Timeline, due: DueDates) -> list[StageDeadline]:
    """The stage deadlines of one ticket (stages that have not started are left out)."""
    rules = due.rules
    end = tl.closed_at

    def met(at: Stamp | None) -> Stamp | None:
        if at is None:
            return end
        return at if end is None else min(at, end)

    found = [
        StageDeadline(
            "verification",
            tl.submitted_at,
            due.working(tl.submitted_at, rules.verification_days),
            met(tl.verified_at),
        )
    ]
    disposition = tl.dispositioned_at
    if disposition is not None:
        first = _first_at_or_after(tl.institution_followups, disposition)
        found.append(
            StageDeadline(
                "followup",
                disposition,
                due.working(disposition, rules.followup_days),
                met(first),
            )
        )
    reply = _reply_round(tl)
    if reply is not None:
        opened, answered = reply
        found.append(
            StageDeadline("reply", opened, due.working(opened, rules.followup_days), met(answered))
        )
    if tl.institution_followups and (reply is None or reply[1] is not None):
        last = tl.institution_followups[-1]
        found.append(StageDeadline("closure", last, due.working(last, rules.closure_days), end))
    if disposition is not None:
        found.append(StageDeadline("settlement", disposition, due.settlement(disposition), end))
    return found


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
        for key, value in (
            ("deadlines_fingerprint", fingerprint),
            ("deadlines_journal_id", str(journal_end)),
        ):
            db.execute(
                "INSERT INTO sync_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
    return summary


def _changed_tickets(
    db: sqlite_utils.Database, fingerprint: str, journal_end: int
) -> set[int] | None:
    """Tickets whose facts changed since the last scan, from the change journal.

    None (recompute everything) on the first scan and whenever the calendar or the rules
    changed: their fingerprint differs from the one stored by the last scan.
    """
    state = dict(
        db.execute(
            "SELECT key, value FROM sync_state WHERE key IN "
            "('deadlines_fingerprint', 'deadlines_journal_id')"
        ).fetchall()
    )
    if state.get("deadlines_fingerprint") != fingerprint or "deadlines_journal_id" not in state:
        return None
    since = int(state["deadlines_journal_id"])
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
    """(OPD, overdue, near due) of every unmet deadline, counted in SQL."""
    near = rules.near_due_days > 0
    if near:
        day = calendar.add_working_days(wib_date(now), rules.near_due_days)
        horizon = to_db(datetime.combine(day, _END_OF_DAY, tzinfo=WIB))
    else:
        horizon = to_db(now)
    rows = db.execute(
        "SELECT coalesce(t.opd_code, ?), sum(d.due_at < ?), sum(d.due_at >= ?) "
        "FROM deadlines d JOIN local_tickets t ON t.id = d.ticket_id "
        "WHERE d.met_at IS NULL AND d.due_at <= ? GROUP BY 1",
        [NO_OPD, to_db(now), to_db(now), horizon],
    ).fetchall()
    return [(str(opd), int(late or 0), int(soon or 0) if near else 0) for opd, late, soon in rows]

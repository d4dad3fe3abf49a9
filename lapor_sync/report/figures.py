"""Monitoring figures per OPD for a period: what the liaison report and its CSV/JSON show.

For the complaints **received in the period** (the cohort: a ticket's submission time as
the deadlines count it — SP4N-LAPOR!'s ``created_at``, else the register's ``received_at``
— falls in the period, WIB), per OPD (the ticket's current ``opd_code``):

- ``received``: how many;
- the follow-up clock (``[deadlines] followup_days`` working days from the disposition)
  of each dispositioned ticket: **on time** (the first institution follow-up at or after
  the disposition came by the end of working day N), **late** (it came, after that),
  **missed** (none came and the due date passed, or the ticket ended without one after
  it), **pending** (none yet, not due yet) — or none of these when the ticket ended
  without a follow-up before its due date (forwarded, archived). ``assessed`` = on time +
  late + missed; the percentage is on time ÷ assessed;
- ``late``: tickets with at least one stage overdue now (an open row of the ``deadlines``
  table past its due instant);
- ``open``: tickets whose register status is not terminal (closed, archived, forwarded);
- ``median_days``: the median of the working days from the disposition to the first
  follow-up, over the tickets that have one: the least N such that the follow-up came by
  the end of working day N (the counting convention of ``working_days``, counted on the
  configured ``WorkingCalendar``; 0 = the disposition's own date). So a follow-up on a
  Saturday after a Thursday disposition took 2 (Monday would have been in time), and on
  time means exactly N ≤ ``followup_days``;
- ``conflicts``: open conflicts on these tickets;

and, whatever the period (what is on the liaison's desk now): ``backlog_late``, tickets of
the OPD with a stage overdue now. Weekly counts of received tickets feed the chart.

**Where the facts come from.** ``recompute_deadlines`` turns every ticket's timeline
(``sla.timeline``) into rows of the ``deadlines`` table, and those rows carry exactly the
facts needed here: the ``verification`` row starts at the submission, the ``followup`` row
starts at the disposition, is due at the end of working day ``followup_days`` and is met by
the first institution follow-up at or after the disposition — or by the ticket's end if
that came first — and the ``settlement`` row is met at the end. Reading them is one join;
re-deriving 100,000 timelines with ``load_timelines`` took nine seconds of a ten-second
report. ``tests/test_report_figures.py`` checks both ways agree. So: recompute (or scan)
before computing figures, as for the overdue list.

Invariants: a fixed number of statements whatever the size of the store, all read in one
snapshot; no personal data is read; the figures depend only on the store, the settings,
the period and ``now``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.glossary import NO_OPD_LIAISON, NO_OPD_NAME
from lapor_sync.report.period import (
    Period,
    Week,
    period_weeks,
)
from lapor_sync.sla.deadlines import NO_OPD
from lapor_sync.sla.timeline import TERMINAL_STATES
from lapor_sync.store.db import read_snapshot
from lapor_sync.timeutil import to_db, wib_date
from lapor_sync.working_days import WorkingCalendar

# --- working days ------------------------------------------------------------------------------


class WorkdayCounter:
    """Working days between dates in O(1), by prefix counts over the calendar.

    ``WorkingCalendar.working_days_between`` walks day by day; a 100,000-ticket report asks
    it 100,000 times. This builds the cumulative count once over the span asked for.
    """

    def __init__(self, calendar: WorkingCalendar, first: date, last: date) -> None:
        self.calendar = calendar
        self.first = first
        self._working: list[bool] = []
        self._cumulative: list[int] = []
        self._extend(last)

    def _extend(self, last: date) -> None:
        day = self.first + timedelta(days=len(self._working))
        total = self._cumulative[-1] if self._cumulative else 0
        while day <= last:
            working = self.calendar.is_working_day(day)
            total += working
            self._working.append(working)
            self._cumulative.append(total)
            day += timedelta(days=1)

    def _index(self, day: date) -> int:
        if day < self.first:  # odd data (a disposition before its submission): re-base
            last = self.first + timedelta(days=len(self._working) - 1)
            self.first, self._working, self._cumulative = day, [], []
            self._extend(last)
        index = (day - self.first).days
        if index >= len(self._working):
            self._extend(day)
        return index

    def is_working_day(self, day: date) -> bool:
        return self._working[self._index(day)]

    def between(self, start: date, end: date) -> int:
        """Working days in (start, end], as ``WorkingCalendar.working_days_between``."""
        if end < start:
            return -self.between(end, start)
        first = self._index(start)  # before ``end``'s: a re-base moves every index
        return self._cumulative[self._index(end)] - self._cumulative[first]

    def days_taken(self, started: date, done: date) -> int:
        """The least N such that ``done`` is on or before working day N after ``started``.

        0 when ``done`` is ``started``'s date (or before); a non-working day counts as the
        working day after it, because the deadline of the working day before it had passed.
        """
        if done <= started:
            return 0
        count = self.between(started, done)
        return count if self.is_working_day(done) else count + 1


# --- figures -------------------------------------------------------------------------------------


@dataclass
class OpdFigures:
    """The figures of one OPD (or of the province) for the period. Counts are tickets."""

    key: str  # the OPD code; ``NO_OPD`` for tickets without one; "TOTAL" for the province
    code: str | None
    name: str
    liaison: str
    configured: bool
    received: int = 0
    dispositioned: int = 0
    followup_on_time: int = 0
    followup_late: int = 0
    followup_missed: int = 0
    followup_pending: int = 0
    late: int = 0
    open: int = 0
    conflicts: int = 0
    backlog_late: int = 0
    weekly: list[int] = field(default_factory=list)
    days_to_followup: list[int] = field(default_factory=list, repr=False)

    @property
    def assessed(self) -> int:
        """Tickets whose follow-up deadline is decided: followed up, or due and missed."""
        return self.followup_on_time + self.followup_late + self.followup_missed

    @property
    def on_time_pct(self) -> float | None:
        if not self.assessed:
            return None
        return round(100.0 * self.followup_on_time / self.assessed, 1)

    @property
    def median_days(self) -> float | None:
        if not self.days_to_followup:
            return None
        return float(statistics.median(self.days_to_followup))

    def add(self, other: OpdFigures) -> None:
        """Add ``other``'s counts (for totals); weekly counts add element-wise."""
        for name in (
            "received",
            "dispositioned",
            "followup_on_time",
            "followup_late",
            "followup_missed",
            "followup_pending",
            "late",
            "open",
            "conflicts",
            "backlog_late",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if not self.weekly:
            self.weekly = [0] * len(other.weekly)
        self.weekly = [a + b for a, b in zip(self.weekly, other.weekly, strict=True)]
        self.days_to_followup.extend(other.days_to_followup)

    def as_dict(self) -> dict[str, Any]:
        return {
            "opd_code": self.code,
            "opd_name": self.name,
            "liaison": self.liaison,
            "received": self.received,
            "dispositioned": self.dispositioned,
            "followup_assessed": self.assessed,
            "followup_on_time": self.followup_on_time,
            "followup_on_time_pct": self.on_time_pct,
            "followup_late": self.followup_late,
            "followup_missed": self.followup_missed,
            "followup_pending": self.followup_pending,
            "late": self.late,
            "open": self.open,
            "median_working_days_to_first_followup": self.median_days,
            "conflicts_waiting": self.conflicts,
            "backlog_late": self.backlog_late,
            "weekly_received": list(self.weekly),
        }


TOTAL_KEY = "TOTAL"


@dataclass
class ReportFigures:
    period: Period
    generated_at: datetime
    followup_days: int
    weeks: tuple[Week, ...]
    opds: list[OpdFigures]
    total: OpdFigures
    filtered: bool  # one OPD only (``--opd``): the total is that OPD's, not the province's

    def opd(self, key: str) -> OpdFigures:
        return next(o for o in self.opds if o.key == key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "generated_at": to_db(self.generated_at),
            "period": self.period.as_dict(),
            "followup_days": self.followup_days,
            "weeks": [w.as_dict() for w in self.weeks],
            "opd": [o.as_dict() for o in self.opds],
            "total": self.total.as_dict(),
        }


def opd_identity(settings: Settings, code: str | None) -> tuple[str, str, bool]:
    """(name, liaison, configured) for an OPD code as the overdue list names it."""
    if code is None:
        return NO_OPD_NAME, NO_OPD_LIAISON, False
    configured = settings.opd_by_code(code)
    if configured is not None:
        return configured.name, configured.liaison, True
    return f"{code} (tidak ada di konfigurasi)", NO_OPD_LIAISON, False


def opd_key(code: str | None) -> str:
    """The grouping key of a stored ``opd_code``: upper-cased code, or ``NO_OPD``."""
    cleaned = code.strip().upper() if code else ""
    return cleaned or NO_OPD


def wanted_key(opd: str | None) -> str | None:
    """The key ``--opd`` selects (``unassigned`` or ``-`` for tickets without an OPD)."""
    if opd is None:
        return None
    value = opd.strip().upper()
    return NO_OPD if value in (NO_OPD.upper(), "-") else value


def late_ticket_ids(db: sqlite_utils.Database, now: datetime) -> set[int]:
    """Tickets with at least one open deadline past its due instant (the deadlines table)."""
    rows = db.execute(
        "SELECT DISTINCT ticket_id FROM deadlines WHERE met_at IS NULL AND due_at < ?",
        [to_db(now)],
    )
    return {int(r[0]) for r in rows}


def open_conflict_counts(db: sqlite_utils.Database) -> dict[int, int]:
    rows = db.execute(
        "SELECT ticket_id, count(*) FROM conflicts WHERE resolved_at IS NULL GROUP BY ticket_id"
    )
    return {int(r[0]): int(r[1]) for r in rows}


# Per ticket: its OPD, whether it ended, and three of its stage rows. ``deadlines`` holds the
# timeline's facts as ``recompute_deadlines`` derived them (see the module docstring), so
# one join answers what ``load_timelines`` would, without re-deriving 100,000 timelines.
_COHORT_SQL = """
SELECT t.id, t.opd_code, t.status IN ({terminal}) AS ended,
    v.started_at, f.started_at, f.due_at, f.met_at, s.met_at
FROM local_tickets t
JOIN deadlines v ON v.ticket_id = t.id AND v.stage = 'verification'
LEFT JOIN deadlines f ON f.ticket_id = t.id AND f.stage = 'followup'
LEFT JOIN deadlines s ON s.ticket_id = t.id AND s.stage = 'settlement'
{where}
"""

# The cohort's earliest submission (the first row's day of the working-day counter).
_FIRST_SQL = """
SELECT min(v.started_at) FROM local_tickets t
JOIN deadlines v ON v.ticket_id = t.id AND v.stage = 'verification'
{where}
"""

_BACKLOG_SQL = """
SELECT t.opd_code, count(DISTINCT d.ticket_id) FROM deadlines d
JOIN local_tickets t ON t.id = d.ticket_id
WHERE d.met_at IS NULL AND d.due_at < ?
GROUP BY t.opd_code
"""


@dataclass(frozen=True)
class FollowupOutcome:
    """How one ticket's follow-up clock went, and when its first follow-up came."""

    kind: str  # on_time | late | missed | pending | ended | none (no disposition yet)
    first_followup: str | None  # canonical stamp


def followup_outcome(
    disposition: str | None,
    due_at: str | None,
    met_at: str | None,
    ended_at: str | None,
    now_stamp: str,
) -> FollowupOutcome:
    """Judge the ``followup`` stage row of one ticket (``ended_at``: when it ended, if so).

    The row is met by the first institution follow-up at or after the disposition, or by
    the ticket's end if that came first (``recompute_deadlines``). A met time before the
    end is therefore a follow-up; one equal to the end is the end (a ticket forwarded or
    archived without a follow-up).
    """
    if disposition is None or due_at is None:
        return FollowupOutcome("none", None)
    if met_at is not None and (ended_at is None or met_at < ended_at):
        return FollowupOutcome("on_time" if met_at <= due_at else "late", met_at)
    if ended_at is not None:
        return FollowupOutcome("missed" if ended_at > due_at else "ended", None)
    return FollowupOutcome("missed" if now_stamp > due_at else "pending", None)


def compute_figures(
    db: sqlite_utils.Database,
    settings: Settings,
    now: datetime,
    period: Period,
    *,
    opd: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> ReportFigures:
    """The figures of every OPD (or of ``opd`` only) for ``period``, as of ``now``.

    Reads the ``deadlines`` table as it stands: recompute (or scan) first.
    """
    calendar = calendar or settings.calendar()
    weeks = period_weeks(period, now)
    only = wanted_key(opd)
    now_stamp = to_db(now)
    terminal = ",".join(f"'{state.value}'" for state in sorted(TERMINAL_STATES))
    where, params = "", []
    if period.start is not None and period.end is not None:
        where = "WHERE v.started_at >= ? AND v.started_at < ?"
        params = [period.start.isoformat(), period.end.isoformat()]
    groups: dict[str, OpdFigures] = {}

    def group(key: str) -> OpdFigures:
        found = groups.get(key)
        if found is None:
            code = None if key == NO_OPD else key
            name, liaison, configured = opd_identity(settings, code)
            found = groups[key] = OpdFigures(
                key, code, name, liaison, configured, weekly=[0] * len(weeks)
            )
        return found

    for configured_opd in settings.opd:
        if only is None or configured_opd.code == only:
            group(configured_opd.code)
    if only is not None:
        group(only)  # an unconfigured code or NO_OPD asked for explicitly
    with read_snapshot(db):
        late = late_ticket_ids(db, now)
        conflicts = open_conflict_counts(db)
        for code, count in db.execute(_BACKLOG_SQL, [now_stamp]).fetchall():
            key = opd_key(code)
            if only is None or key == only:
                group(key).backlog_late += int(count)
        sql = _COHORT_SQL.format(terminal=terminal, where=where)
        (first,) = db.execute(_FIRST_SQL.format(where=where), params).fetchone()
        first_day = first[:10] if first else now_stamp[:10]
        counter = WorkdayCounter(calendar, date.fromisoformat(first_day), wib_date(now))
        week_index = _week_lookup(weeks)
        # Streamed row by row (never fetched whole): memory stays flat with the store's size.
        for row in db.execute(sql, params):
            _count(row, only, group, late, conflicts, week_index, counter, now_stamp)
    opds = _ordered(groups.values(), settings)
    total_name = "Jumlah" if only is not None else "Provinsi (semua OPD)"
    total = OpdFigures(TOTAL_KEY, None, total_name, "", False, weekly=[0] * len(weeks))
    for figures in opds:
        total.add(figures)
    return ReportFigures(
        period=period,
        generated_at=now,
        followup_days=settings.deadlines.followup_days,
        weeks=weeks,
        opds=opds,
        total=total,
        filtered=only is not None,
    )


def _count(
    row: Sequence[Any],
    only: str | None,
    group: Callable[[str], OpdFigures],
    late: set[int],
    conflicts: dict[int, int],
    week_index: dict[str, int],
    counter: WorkdayCounter,
    now_stamp: str,
) -> None:
    """Add one ticket of the cohort (a row of ``_COHORT_SQL``) to its OPD's figures."""
    ticket_id, code, ended, submitted, disposition, due_at, met_at, ended_at = row
    key = opd_key(code)
    if only is not None and key != only:
        return
    figures = group(key)
    figures.received += 1
    week = week_index.get(submitted[:10])
    if week is not None:
        figures.weekly[week] += 1
    figures.late += ticket_id in late
    figures.open += not ended
    figures.conflicts += conflicts.get(ticket_id, 0)
    outcome = followup_outcome(
        disposition, due_at, met_at, ended_at if ended else None, now_stamp
    )
    if outcome.kind != "none":
        figures.dispositioned += 1
    if outcome.kind == "on_time":
        figures.followup_on_time += 1
    elif outcome.kind == "late":
        figures.followup_late += 1
    elif outcome.kind == "missed":
        figures.followup_missed += 1
    elif outcome.kind == "pending":
        figures.followup_pending += 1
    if outcome.first_followup is not None and disposition is not None:
        figures.days_to_followup.append(
            counter.days_taken(
                date.fromisoformat(disposition[:10]),
                date.fromisoformat(outcome.first_followup[:10]),
            )
        )


def _week_lookup(weeks: Sequence[Week]) -> dict[str, int]:
    lookup = {}
    for index, week in enumerate(weeks):
        day = week.start
        while day <= week.end:
            lookup[day.isoformat()] = index
            day += timedelta(days=1)
    return lookup


def _ordered(groups: Iterable[OpdFigures], settings: Settings) -> list[OpdFigures]:
    """Configured OPDs in configuration order, then unknown codes, then "no OPD"."""
    order = {o.code: i for i, o in enumerate(settings.opd)}
    return sorted(
        groups,
        key=lambda g: (
            0 if g.configured else (2 if g.key == NO_OPD else 1),
            order.get(g.key, 0),
            g.key,
        ),
    )

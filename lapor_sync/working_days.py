"""The working-day calendar of Indonesian government offices, in WIB.

A day is a working day when it is Monday–Friday, not a national holiday or cuti bersama
(from the ``holidays`` package, Indonesia, categories ``public`` and ``government``), not
an extra holiday from the configuration, or when the configuration names it an extra
working day (a decree that moves a day off).

Counting convention (docs/deadlines.md; kept everywhere): for a clock started at instant t, let D
be the WIB calendar date of t. Day 1 is the first working day strictly after D, whatever D
is; a deadline of N working days ends at 23:59:59 WIB of day N.

Invariant: results depend only on the date arguments and the calendar's overrides, so a
due date stored today is recomputed identically tomorrow unless the calendar changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from lapor_sync.timeutil import WIB, wib_date

_END_OF_DAY = time(23, 59, 59)


@lru_cache(maxsize=64)
def _national_holidays(year: int) -> dict[date, str]:
    # holidays' objects lazily populate per year and are not thread-safe; take a plain copy.
    calendar = holidays.country_holidays(
        "ID", years=[year], categories=("public", "government"), language="id"
    )
    return dict(calendar.items())


class WorkingCalendar:
    """Working days for one configuration of overrides. Immutable; safe to share."""

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_working_days = frozenset(extra_working_days)
        overlap = self._extra_holidays & self._extra_working_days
        if overlap:
            days = ", ".join(sorted(d.isoformat() for d in overlap))
            raise ValueError(f"dates both extra holiday and extra working day: {days}")
        # Per year: the days where the weekday rule is wrong (filled on first use).
        self._exception_cache: dict[int, tuple[tuple[date, int], ...]] = {}

    @property
    def fingerprint(self) -> str:
        """Changes whenever the overrides change; stored beside computed due dates."""
        holidays_part = sorted(d.isoformat() for d in self._extra_holidays)
        working_part = sorted(d.isoformat() for d in self._extra_working_days)
        text = "|".join(["H", *holidays_part, "W", *working_part])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def holiday_name(self, day: date) -> str | None:
        """The name (Bahasa Indonesia) of a holiday on ``day``, or None."""
        if day in self._extra_working_days:
            return None
        if day in self._extra_holidays:
            return "Libur daerah / tambahan"
        return _national_holidays(day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        if day in self._extra_working_days:
            return True
        if day.weekday() >= 5 or day in self._extra_holidays:
            return False
        return day not in _national_holidays(day.year)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        candidate = day + timedelta(days=1)
        while not self.is_working_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def add_working_days(self, start: date, days: int) -> date:
        """Day ``days`` counted from ``start`` (day 1 is the first working day after start)."""
        if days < 0:
            raise ValueError("days must not be negative")
        return _add_working_days(self, start, days)

    def _walk(self, start: date, days: int) -> date:
        current = start
        for _ in range(days):
            current = self.next_working_day(current)
        return current

    # Equal overrides, equal calendar: so results are shared between instances (below).
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingCalendar):
            return NotImplemented
        return (self._extra_holidays, self._extra_working_days) == (
            other._extra_holidays,
            other._extra_working_days,
        )

    def __hash__(self) -> int:
        return hash((self._extra_holidays, self._extra_working_days))

    def deadline(self, started: datetime, working_days: int) -> datetime:
        """The instant a clock of ``working_days`` started at ``started`` runs out."""
        last_day = self.add_working_days(wib_date(started), working_days)
        return datetime.combine(last_day, _END_OF_DAY, tzinfo=WIB)

    def calendar_deadline(self, started: datetime, days: int) -> datetime:
        """Same convention in calendar days: day 1 is the day after ``started``'s date."""
        last_day = wib_date(started) + timedelta(days=days)
        return datetime.combine(last_day, _END_OF_DAY, tzinfo=WIB)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start.

        Arithmetic, not a walk: Monday–Friday counted by formula, then corrected by the
        few days per year that break the weekday rule (a weekday holiday, a weekend made a
        working day). A late complaint's page asks this for spans of hundreds of days on
        every view; ``tests/test_calendar.py`` holds it equal to the day-by-day count.
        """
        if end < start:
            return -self.working_days_between(end, start)
        count = _weekdays_through(end) - _weekdays_through(start)
        for year in range(start.year, end.year + 1):
            for day, correction in self._exceptions(year):
                if start < day <= end:
                    count += correction
        return count

    def _exceptions(self, year: int) -> tuple[tuple[date, int], ...]:
        """Days of ``year`` where the weekday rule is wrong: (day, -1) or (day, +1)."""
        found = self._exception_cache.get(year)
        if found is None:
            candidates = set(_national_holidays(year)) | {
                d for d in self._extra_holidays | self._extra_working_days if d.year == year
            }
            found = tuple(
                (day, 1 if self.is_working_day(day) else -1)
                for day in sorted(candidates)
                if self.is_working_day(day) != (day.weekday() < 5)
            )
            self._exception_cache[year] = found  # a race only computes the same tuple twice
        return found


def _weekdays_through(day: date) -> int:
    """Monday–Friday dates from 0001-01-01 (a Monday) through ``day``."""
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


@lru_cache(maxsize=16384)
def _add_working_days(calendar: WorkingCalendar, start: date, days: int) -> date:
    """``add_working_days``, remembered: results depend only on the calendar's overrides
    and the arguments (the invariant above), and the walk goes day by day. Due dates of
    every ticket and the sandbox's histories ask the same few thousand questions again and
    again, of calendars equal in overrides though not the same object."""
    return calendar._walk(start, days)

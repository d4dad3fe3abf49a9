"""The period a report covers (a month, or everything) and its weeks, in WIB."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from lapor_sync.glossary import MONTHS, SHORT_MONTHS
from lapor_sync.timeutil import wib_date

ALL = "all"
RECENT_WEEKS = 12  # weeks in the chart of ``--period all``


@dataclass(frozen=True)
class Period:
    """A calendar month (``2026-11``) or everything (``all``); dates are WIB."""

    code: str
    start: date | None  # first day, inclusive; None for ``all``
    end: date | None  # first day after, exclusive; None for ``all``

    @property
    def label(self) -> str:
        if self.start is None:
            return "Semua periode"
        return f"{MONTHS[self.start.month - 1]} {self.start.year}"

    @property
    def is_all(self) -> bool:
        return self.start is None

    def contains_day(self, day_text: str) -> bool:
        """Whether the date ``YYYY-MM-DD`` (a stamp's first ten characters) is in it."""
        if self.start is None or self.end is None:
            return True
        return self.start.isoformat() <= day_text < self.end.isoformat()

    def as_dict(self) -> dict[str, Any]:
        last = self.end - timedelta(days=1) if self.end else None
        return {
            "code": self.code,
            "label": self.label,
            "start": self.start.isoformat() if self.start else None,
            "end": last.isoformat() if last else None,
        }


def month_period(year: int, month: int) -> Period:
    start = date(year, month, 1)
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(f"{year:04d}-{month:02d}", start, end)


def parse_period(text: str | None, now: datetime) -> Period:
    """``2026-11``, ``all``, or None for the month of ``now`` (WIB)."""
    if text is None or not text.strip():
        today = wib_date(now)
        return month_period(today.year, today.month)
    value = text.strip().lower()
    if value in (ALL, "semua"):
        return Period(ALL, None, None)
    parts = value.split("-")
    if len(parts) == 2 and len(parts[0]) == 4 and parts[0].isdigit() and parts[1].isdigit():
        year, month = int(parts[0]), int(parts[1])
        if 1 <= month <= 12 and year >= 2000:
            return month_period(year, month)
    raise ValueError(f"period must be YYYY-MM (e.g. 2026-11) or 'all', not {text!r}")


@dataclass(frozen=True)
class Week:
    """A Monday–Sunday week, clipped to the period: ``start`` and ``end`` inclusive."""

    start: date
    end: date

    @property
    def label(self) -> str:
        if self.start == self.end:
            return f"{self.start.day} {SHORT_MONTHS[self.start.month - 1]}"
        if self.start.month == self.end.month:
            return f"{self.start.day}–{self.end.day} {SHORT_MONTHS[self.end.month - 1]}"
        return (
            f"{self.start.day} {SHORT_MONTHS[self.start.month - 1]}–"
            f"{self.end.day} {SHORT_MONTHS[self.end.month - 1]}"
        )

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


def period_weeks(period: Period, now: datetime) -> tuple[Week, ...]:
    """The weeks of a month (clipped to it and to today), or the last ``RECENT_WEEKS`` weeks
    for ``all``."""
    if period.start is None or period.end is None:
        today = wib_date(now)
        monday = today - timedelta(days=today.weekday())
        first = monday - timedelta(weeks=RECENT_WEEKS - 1)
        return tuple(
            Week(first + timedelta(weeks=i), first + timedelta(weeks=i, days=6))
            for i in range(RECENT_WEEKS)
        )
    weeks = []
    monday = period.start - timedelta(days=period.start.weekday())
    # Weeks still to come are left out: a month in progress ends today.
    last = min(period.end - timedelta(days=1), max(wib_date(now), period.start))
    while monday <= last:
        weeks.append(Week(max(monday, period.start), min(monday + timedelta(days=6), last)))
        monday += timedelta(weeks=1)
    return tuple(weeks)

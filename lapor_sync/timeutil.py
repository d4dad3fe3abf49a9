"""Time in lapor-sync: one zone (WIB), one storage format.

Invariants: every datetime the program handles is aware; every timestamp stored in SQLite
is ISO 8601 in WIB with its offset (``2025-03-28T14:05:09+07:00``), so that text order is
time order and a person reading the database sees local time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")

Clock = Callable[[], datetime]


def now_wib() -> datetime:
    """The current instant in WIB. Inject a different ``Clock`` in tests."""
    return datetime.now(WIB)


def to_db(value: datetime) -> str:
    """Aware datetime → stored text (WIB, seconds precision)."""
    if value.tzinfo is WIB:  # most are (now_wib, from_db): no conversion to make
        return value.replace(microsecond=0).isoformat()
    if value.tzinfo is None:
        raise ValueError("naive datetime cannot be stored")
    return value.astimezone(WIB).replace(microsecond=0).isoformat()


def from_db(text: str) -> datetime:
    """Stored text → aware datetime in WIB."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=WIB)
    return value.astimezone(WIB)


def date_to_db(value: date) -> str:
    return value.isoformat()


def wib_date(value: datetime) -> date:
    """The calendar date, in WIB, of an instant."""
    return value.astimezone(WIB).date()

"""THE duration grammar, for the configuration and for command-line flags alike.

A duration is a whole number of seconds (TOML integer) or a text of one or more
``<number><unit>`` parts, units ``s`` (seconds), ``m`` (minutes), ``h`` (hours), ``d``
(days) and ``w`` (weeks), without or with spaces: ``"90s"``, ``"5m"``, ``"1h30m"``,
``"7d"``, ``"2w"``. ``config.toml`` settings and flags such as ``log --since 7d`` use the
same parser, so what one accepts the other accepts.

Invariants: the result is always a ``timedelta`` between ``minimum`` and ``maximum``
(``MAX_DURATION`` unless the caller sets a tighter bound); anything else — an unknown
unit, a number too long to compute with, a value outside the bounds — is a ``ValueError``
whose message says what is accepted, never an ``OverflowError`` from deep inside a
library (a 4,000,000-day interval once passed validation and killed the scheduler).
"""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION = timedelta(days=3660)
"""The longest duration anything accepts: ten years (far beyond any sensible setting,
far below where date arithmetic overflows)."""

_WHOLE = re.compile(r"(?:\d+[smhdw])+")
_PART = re.compile(r"(\d+)([smhdw])")
_MAX_DIGITS = 12  # more digits than this cannot be a sensible number of any unit
HINT = 'a duration such as "90s", "5m", "2h", "1h30m", "7d" or "2w"'


def describe_bound(value: timedelta) -> str:
    """``10 days``, ``2 hours``, ``90 seconds``: a bound as a person reads it."""
    seconds = int(value.total_seconds())
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {name}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def parse_duration(
    value: object,
    *,
    minimum: timedelta = timedelta(0),
    maximum: timedelta = MAX_DURATION,
    allow_zero: bool = True,
) -> timedelta:
    """A duration within [``minimum``, ``maximum``]; ``ValueError`` saying what to write."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > maximum.total_seconds():
            raise ValueError(f"must be at most {describe_bound(maximum)}")
        result = timedelta(seconds=value)
    elif isinstance(value, str):
        text = value.replace(" ", "").lower()
        if not _WHOLE.fullmatch(text):
            raise ValueError(f"must be {HINT}")
        seconds = 0
        for number, unit in _PART.findall(text):
            if len(number.lstrip("0")) > _MAX_DIGITS:
                raise ValueError(f"must be at most {describe_bound(maximum)}")
            seconds += int(number) * UNITS[unit]
        if seconds > maximum.total_seconds():
            raise ValueError(f"must be at most {describe_bound(maximum)}")
        result = timedelta(seconds=seconds)
    else:
        raise ValueError(f"must be {HINT} or a whole number of seconds")
    if result > maximum:
        raise ValueError(f"must be at most {describe_bound(maximum)}")
    if result < minimum or (not allow_zero and result <= timedelta(0)):
        if not allow_zero and minimum <= timedelta(0):
            raise ValueError("must be longer than 0 seconds")
        raise ValueError(f"must be at least {describe_bound(minimum)}")
    return result

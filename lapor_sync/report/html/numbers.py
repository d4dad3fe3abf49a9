"""Numbers as Indonesian readers write them: ``1.234`` (thousands), ``83,3`` (decimals)."""

from __future__ import annotations

MISSING = "–"


def number(value: int) -> str:
    """``1234567`` → ``1.234.567``."""
    return f"{value:,}".replace(",", ".")


def decimal(value: float | None, places: int = 1, *, missing: str = MISSING) -> str:
    """``83.33`` → ``83,3``; whole numbers keep their decimals (``100,0``)."""
    if value is None:
        return missing
    text = f"{value:,.{places}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def compact(value: float | None, *, missing: str = MISSING) -> str:
    """``3.0`` → ``3``, ``2.5`` → ``2,5`` (a median of whole days is whole or a half)."""
    if value is None:
        return missing
    if float(value).is_integer():
        return number(int(value))
    return decimal(value)


def percent(value: float | None, *, missing: str = MISSING) -> str:
    return missing if value is None else f"{decimal(value)}%"

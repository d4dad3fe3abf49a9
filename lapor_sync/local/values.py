"""How operators write values, read the same way everywhere: channels, yes/no, dates, times.

One grammar for flags (``local add --received-at``, ``log --since``), files (the Call
Center CSV) and the web portal, so ``01/11/2026`` means the same date wherever it is
typed. Pure functions, no database, no settings. Every error message says what to write
and never quotes the value that was refused (it may be personal data).

Dates are day first (``dd/mm/yyyy``, ``dd-mm-yyyy``, as Indonesian spreadsheets write
them) or ISO (``yyyy-mm-dd``); a time is an optional ``HH:MM[:SS]`` after the date, in
WIB. ISO timestamps with an offset are also accepted and converted to WIB.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from lapor_sync.timeutil import WIB

LOCAL_CHANNELS = ("sms", "whatsapp", "telepon", "walk-in", "media-sosial", "web")

# Channel words operators write -> the register's channel names.
CHANNEL_ALIASES: dict[str, str] = {
    "sms": "sms",
    "sms 1708": "sms",
    "whatsapp": "whatsapp",
    "whats app": "whatsapp",
    "wa": "whatsapp",
    "w a": "whatsapp",
    "telepon": "telepon",
    "telpon": "telepon",
    "telp": "telepon",
    "tlp": "telepon",
    "telefon": "telepon",
    "phone": "telepon",
    "telephone": "telepon",
    "walk in": "walk-in",
    "walkin": "walk-in",
    "datang langsung": "walk-in",
    "tatap muka": "walk-in",
    "langsung": "walk-in",
    "media sosial": "media-sosial",
    "medsos": "media-sosial",
    "sosmed": "media-sosial",
    "social media": "media-sosial",
    "facebook": "media-sosial",
    "instagram": "media-sosial",
    "twitter": "media-sosial",
    "tiktok": "media-sosial",
    "web": "web",
    "website": "web",
    "situs": "web",
}
CHANNEL_HINT = (
    "SMS, WhatsApp/WA, Telepon/telp, Walk-in/datang langsung/tatap muka, Media Sosial/medsos, Web"
)

_TRUE = frozenset({"ya", "y", "iya", "yes", "1", "true", "benar"})
_FALSE = frozenset({"", "tidak", "n", "no", "0", "false", "salah"})
BOOL_HINT = "use ya/tidak, y/n, 1/0 or true/false (empty = tidak)"
BOOL_HINT_ID = "tulis ya/tidak, y/n, 1/0 atau true/false (kosong = tidak)"

_TIME = r"(?:[ T]+(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2}))?)?"
_DAY_FIRST = re.compile(r"(?P<d>\d{1,2})(?P<sep>[/\-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME)
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME)
DATE_HINT = "use dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd"
DATETIME_HINT = "use dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd, optionally followed by HH:MM[:SS] (WIB)"
MIN_YEAR = 2000
FUTURE_TOLERANCE = timedelta(minutes=10)


def _words(text: str) -> str:
    return re.sub(r"[\s_\-./]+", " ", text.strip().lower()).strip()


def normalize_channel(text: str) -> str | None:
    """The register's channel name for what an operator wrote, or None if not recognised."""
    words = _words(text)
    if words.replace(" ", "-") in LOCAL_CHANNELS:
        return words.replace(" ", "-")
    return CHANNEL_ALIASES.get(words)


def parse_bool(text: str) -> bool | None:
    """ya/tidak, y/n, 1/0, true/false (any case); empty is False; None if not a yes/no."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def parse_date(text: str) -> date:
    """``dd/mm/yyyy``, ``dd-mm-yyyy`` or ``yyyy-mm-dd``. Raises ValueError (no value quoted)."""
    match = _DAY_FIRST.fullmatch(text.strip()) or _ISO.fullmatch(text.strip())
    if match is None or match.group("H") is not None:
        raise ValueError(f"not a date; {DATE_HINT}")
    return _date_of(match)


def parse_received(text: str) -> datetime:
    """A date with an optional ``HH:MM[:SS]``, in WIB. ISO with an offset is also accepted."""
    value = text.strip()
    match = _DAY_FIRST.fullmatch(value) or _ISO.fullmatch(value)
    if match is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a date and time; {DATETIME_HINT}") from None
        return parsed.replace(tzinfo=WIB) if parsed.tzinfo is None else parsed.astimezone(WIB)
    day = _date_of(match)
    hour, minute, second = (int(match.group(g) or 0) for g in ("H", "M", "S"))
    try:
        return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=WIB)
    except ValueError:
        raise ValueError(f"not a valid time of day; {DATETIME_HINT}") from None


def _date_of(match: re.Match[str]) -> date:
    try:
        return date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
    except ValueError:
        raise ValueError(f"not a valid calendar date (day first); {DATE_HINT}") from None

"""The columns of a Call Center CSV file and how each cell is read.

Pure functions, no database: header names and their aliases, channel names as operators
write them, Indonesian yes/no, day-first and ISO dates, and the ``import_key`` that makes
importing the same row twice add nothing. Messages name what to write, never a value
from the file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, datetime, timedelta

from lapor_sync.local.register import LOCAL_CHANNELS, TicketInput
from lapor_sync.timeutil import WIB, to_db

# Canonical field -> accepted header names (compared case-insensitively, with spaces and
# dashes read as underscores). The first name is the one the documentation uses.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "channel": ("saluran", "channel"),
    "received_at": ("diterima", "tanggal_diterima", "received_at", "waktu_diterima"),
    "reporter_name": ("nama_pelapor", "nama", "reporter_name"),
    "reporter_phone": ("telepon", "no_hp", "hp", "phone", "reporter_phone"),
    "reporter_email": ("email", "reporter_email"),
    "is_anonymous": ("anonim", "anonymous"),
    "is_secret": ("rahasia", "secret"),
    "title": ("judul", "title"),
    "content": ("isi", "isi_laporan", "content"),
    "category_id": ("kategori", "category_id"),
    "opd_code": ("opd", "opd_code"),
    "date_of_incident": ("tanggal_kejadian", "date_of_incident"),
    "location_id": ("lokasi", "location_id"),
}
REQUIRED_FIELDS = ("channel", "received_at", "title", "content")
HEADER_TO_FIELD = {alias: field for field, names in FIELD_ALIASES.items() for alias in names}

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

_TIME = r"(?:[ T]+(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2}))?)?"
_DAY_FIRST = re.compile(r"(?P<d>\d{1,2})(?P<sep>[/\-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME)
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME)
DATE_HINT = "use dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd"
DATETIME_HINT = "use dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd, optionally followed by HH:MM[:SS] (WIB)"
MIN_YEAR = 2000
FUTURE_TOLERANCE = timedelta(minutes=10)
SEPARATORS = (";", ",", "\t")


def _words(text: str) -> str:
    return re.sub(r"[\s_\-./]+", " ", text.strip().lower()).strip()


def normalize_header(text: str) -> str:
    """``"No. HP"`` → ``no_hp``, ``"Tanggal Diterima"`` → ``tanggal_diterima``."""
    return re.sub(r"[\s\-.]+", "_", text.strip().lower()).strip("_")


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


def _key_text(text: str | None) -> str:
    folded = unicodedata.normalize("NFC", text or "").casefold()
    return " ".join(folded.split())


def _key_phone(text: str | None) -> str:
    digits = re.sub(r"\D", "", text or "")
    return "0" + digits[2:] if digits.startswith("62") else digits


def import_key(ticket: TicketInput) -> str:
    """Hash of what identifies a complaint; unchanged by file name, row order, spacing, case."""
    parts = [
        "csv-v1",
        ticket.channel,
        to_db(ticket.received_at),
        _key_phone(ticket.reporter_phone),
        _key_text(ticket.title),
        _key_text(ticket.content),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

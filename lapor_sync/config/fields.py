"""Value types of the configuration file and their parsers.

Each parser raises ``ValueError`` with a message that describes what is expected, never the
value it was given (a misplaced secret must not end up in an error message). The loader
prefixes each message with the TOML key path.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, Strict, ValidationInfo

from lapor_sync import durations

# Context key under which the loader passes the config file's directory to validators.
BASE_DIR = "base_dir"

LOOPBACK_NAMES = frozenset({"localhost"})

PositiveFloat = Annotated[float, Strict(), Field(gt=0)]
NonNegativeFloat = Annotated[float, Strict(), Field(ge=0)]
NonEmptyStr = Annotated[str, Field(min_length=1)]

ChannelName = Literal["sms", "whatsapp", "telepon", "walk-in", "media-sosial", "web"]
CHANNEL_NAMES: tuple[ChannelName, ...] = (
    "sms",
    "whatsapp",
    "telepon",
    "walk-in",
    "media-sosial",
    "web",
)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def int_between(low: int, high: int) -> object:
    """``Annotated[int, int_between(1, 65535)]``: a strict integer in ``[low, high]``."""
    return Field(ge=low, le=high, strict=True)


def loopback_unless_allowed(
    value: str, info: ValidationInfo, flag: str, key: str, hint: str = ""
) -> str:
    """A listening host: loopback, unless the section's ``flag`` (``key`` in messages) is
    true; read from ``info.data``, so the flag must come before the host in the model."""
    if not is_loopback_host(value) and info.data.get(flag) is not True:
        raise ValueError(
            f"must be a loopback address (127.0.0.1, ::1 or localhost) unless {key} = true"
            + (f"; {hint}" if hint else "")
        )
    return value


_Bound = TypeVar("_Bound", float, timedelta)


def at_least_earlier(value: _Bound, info: ValidationInfo, earlier: str, key: str) -> _Bound:
    """``value``, refused below the section's earlier field ``earlier`` (``key`` in
    messages); an earlier field that is itself invalid is left to its own message."""
    bound = info.data.get(earlier)
    if isinstance(bound, type(value)) and value < bound:
        raise ValueError(f"must be at least {key}")
    return value


def check_base_url(value: str) -> str:
    """Validate a LAPOR! base URL; returns it without a trailing slash.

    https is required unless the host is loopback (the sandbox). Credentials, query strings
    and fragments are refused: the credentials travel in headers only.
    """
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    del port
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            "must be an absolute URL starting with https:// (or http:// for a loopback sandbox)"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "must not contain a user name or password; credentials belong in api_key and token"
        )
    if not parts.hostname:
        raise ValueError("has no host name")
    if parts.query or parts.fragment:
        raise ValueError("must not contain a query string (?...) or fragment (#...)")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(
            "must use https:// (plain http:// is allowed only for a loopback sandbox "
            "such as http://127.0.0.1:8765/api)"
        )
    return text.rstrip("/")


def url_host(url: str) -> str:
    """The host name of an already validated URL."""
    return urlsplit(url).hostname or ""


CONFIG_MAX_DURATION = timedelta(days=366)
"""The longest duration a setting takes: a year. Anything longer is a typo, and far longer
values (``"4000000d"``) would overflow the scheduler's date arithmetic at run time."""


def parse_duration(value: object) -> timedelta:
    """A setting's duration in THE grammar (``lapor_sync.durations``), at most a year."""
    return durations.parse_duration(value, maximum=CONFIG_MAX_DURATION)


def _positive_duration(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0 seconds")
    return value


PositiveDuration = Annotated[
    timedelta, BeforeValidator(parse_duration), AfterValidator(_positive_duration)
]


def parse_date(value: object) -> date:
    """A TOML date (``2026-03-20``) or a string ``"2026-03-20"``; never a date-time."""
    if isinstance(value, datetime):
        raise ValueError("must be a date without a time, e.g. 2026-03-20")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("is not a valid calendar date") from None
    raise ValueError('must be a date written 2026-03-20 or "2026-03-20"')


ConfigDate = Annotated[date, BeforeValidator(parse_date)]


def parse_local_time(value: object) -> time:
    """``"07:00"``, ``"07:00:00"`` or a TOML local time; a WIB wall-clock time, no offset."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("must be a local (WIB) time without an offset")
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", value.strip()):
        try:
            return time.fromisoformat(value.strip().zfill(5 if value.count(":") == 1 else 8))
        except ValueError:
            pass
    raise ValueError('must be a WIB time of day such as "07:00"')


LocalTime = Annotated[time, BeforeValidator(parse_local_time)]


def parse_numeric_id(value: object) -> str:
    """An id written as a TOML integer or a string of digits; always kept as a string."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return value.strip()
    raise ValueError('must be a numeric id such as "18" (a number or a string of digits)')


NumericId = Annotated[str, BeforeValidator(parse_numeric_id)]


def _check_slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", value):
        raise ValueError(
            'must be a lowercase name of letters a-z, digits and "-", e.g. "pemprov-lampung"'
        )
    return value


Slug = Annotated[str, Strict(), AfterValidator(_check_slug)]


def _check_opd_code(value: str) -> str:
    if not re.fullmatch(r"[A-Z][A-Z0-9_-]*", value):
        raise ValueError('must be an upper-case code such as "DISDIK" (A-Z, 0-9, "_", "-")')
    return value


OpdCode = Annotated[str, Strict(), AfterValidator(_check_opd_code)]


def _check_email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError("must be an e-mail address such as pengaduan@example.go.id")
    return value


Email = Annotated[str, Strict(), AfterValidator(_check_email)]


def resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Expand ``~``; a relative path is taken relative to the config file's directory."""
    path = value.expanduser()
    if path.is_absolute():
        return path
    context = info.context if isinstance(info.context, dict) else {}
    base = context.get(BASE_DIR)
    return (Path(base) if base is not None else Path.cwd()) / path


ResolvedPath = Annotated[Path, AfterValidator(resolve_path)]

"""Records → the JSON shapes of docs/lapor-api.md, and the wire's time formats.

Default wire style: ids are integers, booleans are ``true``/``false``, status codes and
tracking ids are strings. ``restyle`` applies the quirks a real server shows (ids as
numeric strings, booleans as 0/1) when a fault asks for them.

Invariant: rendering never changes a record, and text fields pass through verbatim.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from lapor_sync.sandbox.masters import institution_name
from lapor_sync.sandbox.records import Complaint, FollowUpRecord
from lapor_sync.timeutil import WIB

TS_FORMAT = "%d-%m-%Y %H:%M:%S"
DATE_FORMAT = "%d-%m-%Y"

ID_KEYS = frozenset({
    "id", "complaint_id", "disposition_id", "category_id", "classification_id", "channel",
    "location_id", "institution_from_id", "institution_to_id", "parent",
})
BOOL_KEYS = frozenset({"is_secret", "is_anonymous"})


def fmt_ts(value: datetime) -> str:
    return value.astimezone(WIB).strftime(TS_FORMAT)


def fmt_date(value: date | None) -> str | None:
    return value.strftime(DATE_FORMAT) if value is not None else None


def parse_ts(text: str) -> datetime:
    """``d-m-Y H:i:s`` (or ``d-m-Y``, meaning midnight) as an aware WIB datetime."""
    text = text.strip()
    fmt = TS_FORMAT if " " in text else DATE_FORMAT
    return datetime.strptime(text, fmt).replace(tzinfo=WIB)


def parse_date(text: str) -> date:
    return datetime.strptime(text.strip(), DATE_FORMAT).date()


def wire_id(value: str | int | None) -> int | None:
    """Institution ids are numeric strings inside the sandbox, integers on the wire."""
    return int(value) if value is not None else None


def summary(c: Complaint, status: tuple[str, str]) -> dict[str, Any]:
    return {
        "id": c.id,
        "tracking_id": c.tracking_id,
        "title": c.title,
        "status_code": status[0],
        "status_name": status[1],
        "disposition_id": wire_id(c.disposition_id),
        "disposition_name": institution_name(c.disposition_id),
        "category_id": c.category_id,
        "classification_id": c.classification_id,
        "channel": c.channel,
        "is_secret": c.is_secret,
        "is_anonymous": c.is_anonymous,
        "tags": list(c.tags),
        "created_at": fmt_ts(c.created_at),
        "updated_at": fmt_ts(c.updated_at),
    }


def detail(c: Complaint, status: tuple[str, str]) -> dict[str, Any]:
    data = summary(c, status)
    reporter = None
    if c.reporter is not None and not c.is_anonymous:
        reporter = {"name": c.reporter.name, "phone": c.reporter.phone,
                    "email": c.reporter.email}
    data.update({
        "content": c.content,
        "location_id": c.location_id,
        "date_of_incident": fmt_date(c.date_of_incident),
        "reporter": reporter,
        "status_logs": [
            {"status_code": s.code, "status_name": s.name, "note": s.note,
             "timestamp": fmt_ts(s.at)}
            for s in c.status_logs
        ],
        "attachments": [dict(a) for a in c.attachments],
    })
    return data


def disposition_logs(c: Complaint) -> list[dict[str, Any]]:
    return [
        {
            "institution_from_id": wire_id(log.from_id),
            "institution_from_name": log.from_name,
            "institution_to_id": wire_id(log.to_id),
            "institution_to_name": log.to_name,
            "template_code": log.template_code,
            "content": log.content,
            "created_at": fmt_ts(log.at),
        }
        for log in c.disposition_logs
    ]


def followup(f: FollowUpRecord) -> dict[str, Any]:
    return {
        "id": f.id,
        "complaint_id": f.complaint_id,
        "author_type": f.author_type,
        "institution_from_id": wire_id(f.from_id),
        "institution_from_name": f.from_name,
        "institution_to_id": wire_id(f.to_id),
        "institution_to_name": f.to_name,
        "content": f.content,
        "template_code": f.template_code,
        "is_secret": f.is_secret,
        "rating": f.rating,
        "attachments": [dict(a) for a in f.attachments],
        "created_at": fmt_ts(f.created_at),
    }


def restyle(value: Any, *, ids_as_strings: bool, bools_as_ints: bool) -> Any:
    """A copy of a JSON value with ids as strings and/or booleans as 0/1."""
    if not (ids_as_strings or bools_as_ints):
        return value
    if isinstance(value, list):
        return [restyle(v, ids_as_strings=ids_as_strings, bools_as_ints=bools_as_ints)
                for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if ids_as_strings and key in ID_KEYS and isinstance(item, int) \
                and not isinstance(item, bool):
            out[key] = str(item)
        elif bools_as_ints and key in BOOL_KEYS and isinstance(item, bool):
            out[key] = int(item)
        else:
            out[key] = restyle(item, ids_as_strings=ids_as_strings, bools_as_ints=bools_as_ints)
    return out

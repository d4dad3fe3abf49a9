"""The SP4N-LAPOR! wire format, and its conversion to and from domain objects.

This module, ``envelope.py`` and ``client.py`` are the only places that know LAPOR!'s field
names. When a
province receives the official integration document, this is the file that changes.

What the wire does and how it is absorbed here:

- ids arrive as integers or numeric strings → always ``str``;
- booleans arrive as ``true``/``false``, ``0``/``1`` or their string forms → ``bool``;
- timestamps are naive ``d-m-Y H:i:s`` strings in the profile's zone (WIB by default; a
  stamp with an offset keeps it) → aware datetimes in WIB;
- a failure may come as HTTP 200 with ``"success": false``; bodies may be HTML, truncated
  JSON, ``null`` or JSON of the wrong shape; ``Content-Type`` is not trusted;
- the id of a created complaint comes in one of three shapes.

Invariant: no exception raised here quotes a field *value* or a body; reasons name fields
and problems only, because bodies hold personal data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo

from lapor_sync.domain import (
    AuthorType,
    Category,
    ComplaintDetail,
    ComplaintSummary,
    DispositionEntry,
    FollowUp,
    Forward,
    Institution,
    NewComplaint,
    NewFollowUp,
    ReplyTemplate,
    Reporter,
    StatusEntry,
)
from lapor_sync.errors import (
    InvalidRecordError,
    RetryableRemoteError,
)
from lapor_sync.lapor.files import attachments_from_wire, create_references
from lapor_sync.timeutil import WIB

WIRE_TIMESTAMP = "%d-%m-%Y %H:%M:%S"
WIRE_DATE = "%d-%m-%Y"


# --- scalar coercions -------------------------------------------------------------------


def _coerce_id(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("boolean is not an id")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if value is None or value == "":
        return None
    raise ValueError("not an id")


def _coerce_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"0", "1", "true", "false"}:
        return value.strip().lower() in {"1", "true"}
    if value is None:
        return False
    raise ValueError("not a boolean")


def parse_timestamp(value: Any, zone: tzinfo = WIB) -> datetime:
    """``"28-03-2025 14:05:09"`` (naive, in ``zone``) → aware datetime in WIB. ISO 8601
    tolerated too; a stamp with an offset is converted from it."""
    if isinstance(value, datetime):
        parsed = value
    elif not isinstance(value, str):
        raise ValueError("timestamp must be a string")
    else:
        text = value.strip()
        try:
            parsed = datetime.strptime(text, WIRE_TIMESTAMP)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError("timestamp is not d-m-Y H:i:s") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(WIB)


def _timestamp_in_context(value: Any, info: ValidationInfo) -> datetime:
    # The zone of zone-less stamps is the account's (profile.time_zone), passed by the
    # *_from_wire functions as validation context; WIB when none is given.
    context = info.context if isinstance(info.context, Mapping) else {}
    return parse_timestamp(value, context.get("zone", WIB))


def _coerce_date(value: Any) -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("date must be a string")
    text = value.strip()
    for fmt in (WIRE_DATE, "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    # some servers send the full timestamp where a date is expected
    return parse_timestamp(text).date()


def _status_change(value: Any) -> tuple[str | None, str | None]:
    """``data_logs[].data`` → (status_old name, status_new name); (None, None) if absent."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError:
            return (None, None)
    if not isinstance(value, Mapping):
        return (None, None)

    def name(item: Any) -> str | None:
        if isinstance(item, Mapping):
            item = item.get("name")
        return item.strip() if isinstance(item, str) and item.strip() else None

    return (name(value.get("status_old")), name(value.get("status_new")))


def _coerce_tags(value: Any) -> Any:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        raise ValueError("tags must be a list")
    return tuple(str(tag).lstrip("#") for tag in value if str(tag).strip("# "))


def _coerce_text(value: Any) -> Any:
    return "" if value is None else value


WireId = Annotated[str, BeforeValidator(_coerce_id)]
OptionalWireId = Annotated[str | None, BeforeValidator(_coerce_id)]
WireBool = Annotated[bool, BeforeValidator(_coerce_bool)]
WireTimestamp = Annotated[datetime, BeforeValidator(_timestamp_in_context)]
WireDate = Annotated[date | None, BeforeValidator(_coerce_date)]
WireTags = Annotated[tuple[str, ...], BeforeValidator(_coerce_tags)]
WireText = Annotated[str, BeforeValidator(_coerce_text)]


class _WireModel(BaseModel):
    # Servers add fields over time; unknown ones are ignored, not errors.
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, frozen=True)


class WireSummary(_WireModel):
    id: WireId
    tracking_id: OptionalWireId = None
    title: WireText = ""
    status_code: OptionalWireId = None
    status_name: str
    disposition_id: OptionalWireId = None
    disposition_name: str | None = None
    category_id: OptionalWireId = None
    classification_id: OptionalWireId = None
    channel: OptionalWireId = None
    is_secret: WireBool = False
    is_anonymous: WireBool = False
    tags: WireTags = ()
    created_at: WireTimestamp
    updated_at: WireTimestamp

    def to_domain(self) -> ComplaintSummary:
        return ComplaintSummary(
            remote_id=self.id,
            tracking_id=self.tracking_id,
            title=self.title,
            status_code=self.status_code or "",
            status_name=self.status_name.strip(),
            disposition_id=self.disposition_id,
            disposition_name=self.disposition_name,
            category_id=self.category_id,
            classification_id=self.classification_id,
            channel=self.channel,
            is_secret=self.is_secret,
            is_anonymous=self.is_anonymous,
            tags=self.tags,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


class WireReporter(_WireModel):
    name: str | None = None
    phone: OptionalWireId = None
    email: str | None = None


class WireStatusLog(_WireModel):
    status_code: OptionalWireId = None
    status_name: str
    note: str | None = None
    timestamp: WireTimestamp


class WireDispositionLog(_WireModel):
    institution_from_id: OptionalWireId = None
    institution_from_name: str | None = None
    institution_to_id: OptionalWireId = None
    institution_to_name: str | None = None
    template_code: str | None = None
    content: str | None = None
    created_at: WireTimestamp
    # ``data`` has been seen as a JSON *string* holding {"status_old": {"name": …},
    # "status_new": {"name": …}} (the public client json_decodes it); an object is read
    # the same way, and anything unreadable is ignored rather than failing the record.
    data: Annotated[tuple[str | None, str | None], BeforeValidator(_status_change)] = (
        None,
        None,
    )


class WireDetail(WireSummary):
    content: WireText = ""
    location_id: OptionalWireId = None
    date_of_incident: WireDate = None
    reporter: WireReporter | None = None
    status_logs: list[WireStatusLog] = []
    attachments: list[Any] | None = None


class WireFollowUp(_WireModel):
    id: WireId
    complaint_id: WireId
    author_type: str = "instansi"
    institution_from_id: OptionalWireId = None
    institution_from_name: str | None = None
    institution_to_id: OptionalWireId = None
    institution_to_name: str | None = None
    content: WireText = ""
    template_code: str | None = None
    is_secret: WireBool = False
    rating: int | None = None
    attachments: list[Any] | None = None
    created_at: WireTimestamp

    def to_domain(self) -> FollowUp:
        return FollowUp(
            remote_id=self.id,
            complaint_id=self.complaint_id,
            author_type=_AUTHOR_TYPES.get(self.author_type.strip().lower(), AuthorType.ADMIN),
            from_id=self.institution_from_id,
            from_name=self.institution_from_name,
            to_id=self.institution_to_id,
            to_name=self.institution_to_name,
            content=self.content,
            template_code=self.template_code,
            is_secret=self.is_secret,
            rating=self.rating,
            attachment_count=len(self.attachments or ()),
            created_at=self.created_at,
            attachments=attachments_from_wire(self.attachments),
        )


_AUTHOR_TYPES = {
    "instansi": AuthorType.INSTITUTION,
    "pelapor": AuthorType.REPORTER,
    "admin": AuthorType.ADMIN,
}


def _validation_reason(what: str, error: ValidationError) -> str:
    """Field locations and error kinds only: values would leak personal data."""
    parts = []
    for item in error.errors(include_input=False, include_url=False)[:5]:
        loc = ".".join(str(p) for p in item["loc"]) or "(record)"
        parts.append(f"{loc}: {item['type']}")
    return f"{what} unreadable ({'; '.join(parts)})"


def _record_id(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        try:
            value = _coerce_id(raw.get("id"))
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    return None


def summary_from_wire(raw: Any, zone: tzinfo = WIB) -> ComplaintSummary:
    try:
        return WireSummary.model_validate(raw, context={"zone": zone}).to_domain()
    except ValidationError as exc:
        raise InvalidRecordError(
            _validation_reason("complaint summary", exc), record_id=_record_id(raw), raw=raw
        ) from None


def detail_from_wire(results: Mapping[str, Any], zone: tzinfo = WIB) -> ComplaintDetail:
    """``results`` of the detail endpoint: ``data`` plus ``data_logs``."""
    raw, context = results.get("data"), {"zone": zone}
    try:
        wire = WireDetail.model_validate(raw, context=context)
        logs = [WireDispositionLog.model_validate(x, context=context)
                for x in results.get("data_logs") or []]
    except ValidationError as exc:
        raise InvalidRecordError(
            _validation_reason("complaint detail", exc),
            record_id=_record_id(raw),
            raw=dict(results),
        ) from None
    reporter = None
    if wire.reporter is not None and not wire.is_anonymous:
        reporter = Reporter(wire.reporter.name, wire.reporter.phone, wire.reporter.email)
    return ComplaintDetail(
        summary=wire.to_domain(),
        content=wire.content,
        location_id=wire.location_id,
        date_of_incident=wire.date_of_incident,
        reporter=reporter,
        status_history=tuple(
            StatusEntry(s.status_code or "", s.status_name.strip(), s.note, s.timestamp)
            for s in wire.status_logs
        ),
        dispositions=tuple(
            DispositionEntry(
                d.institution_from_id,
                d.institution_from_name,
                d.institution_to_id,
                d.institution_to_name,
                d.template_code,
                d.content,
                d.created_at,
                status_old=d.data[0],
                status_new=d.data[1],
            )
            for d in logs
        ),
        attachments=attachments_from_wire(wire.attachments),
    )


def followup_from_wire(raw: Any, zone: tzinfo = WIB) -> FollowUp:
    try:
        return WireFollowUp.model_validate(raw, context={"zone": zone}).to_domain()
    except ValidationError as exc:
        raise InvalidRecordError(
            _validation_reason("follow-up", exc), record_id=_record_id(raw), raw=raw
        ) from None


def institution_from_wire(raw: Any) -> Institution:
    if not isinstance(raw, Mapping) or _record_id(raw) is None:
        raise InvalidRecordError("institution unreadable (id: missing)")
    return Institution(remote_id=str(_record_id(raw)), name=str(raw.get("name") or ""))


def template_from_wire(raw: Any) -> ReplyTemplate:
    if not isinstance(raw, Mapping) or _record_id(raw) is None:
        raise InvalidRecordError("reply template unreadable (id: missing)")
    code, content = raw.get("code"), raw.get("content")
    return ReplyTemplate(
        remote_id=str(_record_id(raw)),
        code=str(code) if isinstance(code, str | int) and str(code) else None,
        name=str(raw.get("name") or code or ""),
        content=content if isinstance(content, str) else None,
    )


def category_from_wire(raw: Any) -> Category:
    if not isinstance(raw, Mapping) or _record_id(raw) is None:
        raise InvalidRecordError("category unreadable (id: missing)")
    parent = _coerce_id(raw.get("parent"))
    return Category(
        remote_id=str(_record_id(raw)),
        parent_id=None if parent in (None, "0") else parent,
        name=str(raw.get("name") or ""),
    )


# --- writes ------------------------------------------------------------------------------


def _flag(value: bool) -> int:
    return 1 if value else 0


def complaint_to_wire(new: NewComplaint) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": new.title,
        "content": new.content,
        "channel": int(new.channel_id) if new.channel_id.isdigit() else new.channel_id,
        "classification_id": new.classification_id,
        "category_id": new.category_id,
        "disposition_id": new.disposition_id,
        "location_id": new.location_id,
        "date_of_incident": new.date_of_incident.strftime(WIRE_DATE)
        if new.date_of_incident
        else None,
        "is_anonymous": _flag(new.is_anonymous),
        "is_secret": _flag(new.is_secret),
        "tags_raw": " ".join(f"#{tag}" for tag in new.tags),
        **create_references(new.image_ids, new.doc_ids),
    }
    if new.reporter is not None:
        body["nameUser"] = new.reporter.name
        body["phoneUser"] = new.reporter.phone
        body["emailUser"] = new.reporter.email
    return {key: value for key, value in body.items() if value is not None}


def followup_to_wire(new: NewFollowUp) -> dict[str, Any]:
    body: dict[str, Any] = {
        "complaint_id": new.complaint_id,
        "institution_from_id": new.from_institution_id,
        "content": new.content,
        "template_code": "followup",
        "is_secret": _flag(new.is_secret),
    }
    if new.to_institution_id:
        body["institution_to_id"] = new.to_institution_id
    if new.rating is not None:
        body["rating"] = new.rating
    return body


def forward_to_wire(forward: Forward) -> dict[str, Any]:
    return {
        "is_request": 1,
        "reason": forward.target_institution_id,
        "reason_description": forward.reason_text,
        "not_authority": 1,
    }


def fields_sent(payload: NewComplaint | NewFollowUp | Forward) -> tuple[str, ...]:
    """The names of the fields a write would carry (sorted), never their values: what
    ``sync --dry-run`` may show of a push (values hold names, phones and complaint text)."""
    if isinstance(payload, NewComplaint):
        body = complaint_to_wire(payload)
    elif isinstance(payload, NewFollowUp):
        body = followup_to_wire(payload)
    else:
        body = forward_to_wire(payload)
    return tuple(sorted(key for key, value in body.items() if value not in (None, "")))


def created_complaint_id(envelope: Mapping[str, Any]) -> tuple[str, str | None]:
    """The new complaint's (id, tracking id) from any of the three shapes seen in real use."""
    candidates: list[Any] = []
    results = envelope.get("results")
    if isinstance(results, Mapping):
        complaint = results.get("complaint")
        if isinstance(complaint, Mapping):
            candidates.append(complaint)
    data = envelope.get("data")
    if isinstance(data, Mapping):
        candidates.append({"id": data.get("complaint_id"), **data})
    candidates.append({"id": envelope.get("complaint_id"), **envelope})
    for candidate in candidates:
        try:
            complaint_id = _coerce_id(candidate.get("id"))
        except ValueError:
            continue
        if complaint_id:
            tracking = candidate.get("tracking_id")
            return str(complaint_id), None if tracking in (None, "") else str(tracking)
    raise RetryableRemoteError("create answered without a complaint id", endpoint="create")


def created_followup_id(envelope: Mapping[str, Any]) -> str:
    results = envelope.get("results")
    data = results.get("data") if isinstance(results, Mapping) else None
    raw_id = data.get("id") if isinstance(data, Mapping) else None
    try:
        followup_id = _coerce_id(raw_id)
    except ValueError:
        followup_id = None
    if not followup_id:
        raise RetryableRemoteError("follow-up answered without an id", endpoint="followup_add")
    return str(followup_id)

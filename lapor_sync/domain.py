"""Typed domain objects: what the rest of the program knows of SP4N-LAPOR! records.

Only the remote adapter (``lapor_sync.lapor``) and the sandbox know the wire names; they
convert to and from these classes. Invariants that every constructor caller upholds:

- every id is a ``str`` (the wire sends integers and numeric strings interchangeably);
- every ``datetime`` is timezone-aware (WIB for values that came from the wire);
- every collection is a tuple, so objects are hashable and safe to share between threads.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

T = TypeVar("T")


class ComplaintState(enum.StrEnum):
    """The one internal state machine of a complaint; both sides' statuses map onto it."""

    RECEIVED = "received"  # recorded locally, not yet on SP4N-LAPOR!
    AWAITING_VERIFICATION = "awaiting_verification"
    DISPOSITIONED = "dispositioned"  # verified and routed, no follow-up yet
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"  # a follow-up was posted
    CLOSED = "closed"
    ARCHIVED = "archived"
    FORWARDED = "forwarded"  # bukan wewenang: sent to another instansi
    POSTPONED = "postponed"


# The LAPOR! status names a state is known by, before ``[status_map]`` in the configuration
# adds or replaces any; compared through ``status_key``.
DEFAULT_STATUS_MAP: Mapping[str, ComplaintState] = {
    # integration API status_name
    "Belum Terverifikasi": ComplaintState.AWAITING_VERIFICATION,
    "Terverifikasi": ComplaintState.DISPOSITIONED,
    "Dalam Proses": ComplaintState.IN_PROGRESS,
    "Selesai": ComplaintState.CLOSED,
    "Diarsipkan": ComplaintState.ARCHIVED,
    "Ditolak": ComplaintState.FORWARDED,
    "Ditunda": ComplaintState.POSTPONED,
    # per-instansi statistics page
    "Laporan Belum Terverifikasi": ComplaintState.AWAITING_VERIFICATION,
    "Terdisposisi Belum Ditindaklanjuti": ComplaintState.DISPOSITIONED,
    "Terdisposisi Sedang Diproses": ComplaintState.IN_PROGRESS,
    "Terdisposisi Selesai": ComplaintState.CLOSED,
    "Laporan Tertunda": ComplaintState.POSTPONED,
    "Laporan Arsip": ComplaintState.ARCHIVED,
}


def status_key(name: str) -> str:
    """How status names are compared: surrounding whitespace stripped, case-folded."""
    return name.strip().casefold()


class AuthorType(enum.StrEnum):
    """Who wrote a follow-up."""

    INSTITUTION = "institution"
    REPORTER = "reporter"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Reporter:
    """The reporter's contact data. Personal data: never log, never put in reports."""

    name: str | None
    phone: str | None
    email: str | None

    def __repr__(self) -> str:  # personal data must not leak through a repr in a traceback
        return "Reporter(<redacted>)"


@dataclass(frozen=True, slots=True)
class ComplaintSummary:
    """One row of the complaint list."""

    remote_id: str
    tracking_id: str | None
    title: str
    status_code: str
    status_name: str
    disposition_id: str | None
    disposition_name: str | None
    category_id: str | None
    classification_id: str | None
    channel: str | None
    is_secret: bool
    is_anonymous: bool
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One entry of a complaint's status history, as the remote reports it."""

    status_code: str
    status_name: str
    note: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class DispositionEntry:
    """One routing step: from one institution to another."""

    from_id: str | None
    from_name: str | None
    to_id: str | None
    to_name: str | None
    template_code: str | None
    content: str | None
    at: datetime
    status_old: str | None = None  # the status names a log's ``data`` may carry
    status_new: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file SP4N-LAPOR! lists on a complaint or follow-up; any field may be unknown.
    The name and URL may identify a person: never log them."""

    name: str | None
    media_type: str | None
    size: int | None
    url: str | None

    def __repr__(self) -> str:
        return f"Attachment(media_type={self.media_type!r}, size={self.size!r})"


@dataclass(frozen=True, slots=True)
class ComplaintDetail:
    """A complaint with everything the detail endpoint returns."""

    summary: ComplaintSummary
    content: str
    location_id: str | None
    date_of_incident: date | None
    reporter: Reporter | None
    status_history: tuple[StatusEntry, ...]
    dispositions: tuple[DispositionEntry, ...]
    attachments: tuple[Attachment, ...] = ()

    @property
    def remote_id(self) -> str:
        return self.summary.remote_id


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A follow-up (tindak lanjut), a reporter's reply, or an admin note."""

    remote_id: str
    complaint_id: str
    author_type: AuthorType
    from_id: str | None
    from_name: str | None
    to_id: str | None
    to_name: str | None
    content: str
    template_code: str | None
    is_secret: bool
    rating: int | None
    attachment_count: int
    created_at: datetime
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Institution:
    remote_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    """A reply template of SP4N-LAPOR! (``code`` is what follow-ups carry)."""

    remote_id: str
    code: str | None
    name: str
    content: str | None


@dataclass(frozen=True, slots=True)
class Category:
    remote_id: str
    parent_id: str | None
    name: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing. ``has_next`` is False on the last page."""

    items: tuple[T, ...]
    page: int
    page_size: int
    total: int | None
    has_next: bool


@dataclass(frozen=True, slots=True)
class NewComplaint:
    """A complaint to create on SP4N-LAPOR!. ``tags`` are written without the leading '#'."""

    title: str
    content: str
    channel_id: str
    category_id: str | None
    classification_id: str | None
    disposition_id: str | None
    location_id: str | None
    date_of_incident: date | None
    is_anonymous: bool
    is_secret: bool
    tags: tuple[str, ...] = ()
    reporter: Reporter | None = None
    # Ids of files uploaded before the create, by the list SP4N-LAPOR! answered them in.
    image_ids: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"NewComplaint(tags={self.tags!r}, <content redacted>)"


@dataclass(frozen=True, slots=True)
class NewUpload:
    """One file to upload before a create. ``kind`` is ``image`` or ``doc``."""

    file_name: str
    media_type: str
    kind: str
    data: bytes

    def __repr__(self) -> str:
        return f"NewUpload(media_type={self.media_type!r}, size={len(self.data)})"


@dataclass(frozen=True, slots=True)
class Uploaded:
    """An upload's id and the list (``image`` or ``doc``) SP4N-LAPOR! answered it in."""

    upload_id: str
    kind: str


@dataclass(frozen=True, slots=True)
class CreatedComplaint:
    remote_id: str
    tracking_id: str | None


@dataclass(frozen=True, slots=True)
class NewFollowUp:
    complaint_id: str
    from_institution_id: str
    content: str
    to_institution_id: str | None = None
    is_secret: bool = False
    rating: int | None = None

    def __repr__(self) -> str:
        return f"NewFollowUp(complaint_id={self.complaint_id!r}, <content redacted>)"


@dataclass(frozen=True, slots=True)
class Forward:
    """Forward a complaint to another instansi as not within this one's authority."""

    complaint_id: str
    target_institution_id: str
    reason_text: str = "Diteruskan ke Instansi Tujuan"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A complaint listing request: everything updated at or after ``updated_from``."""

    updated_from: datetime
    page: int = 1
    page_size: int = 100
    search: str | None = None

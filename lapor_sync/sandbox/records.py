"""The sandbox's in-memory records of complaints, their logs and follow-ups.

These are mutable and owned by ``SandboxWorld``: read or change them only while holding
``world.lock`` (the world's methods do). ``SandboxWorld.complaint`` hands out deep copies.

Invariants kept by the world:

- ``status_logs``, ``disposition_logs`` and ``followups`` are append-only, oldest first;
- ``updated_at`` is at or after every entry's time (except after ``set_time`` moved the
  clock back, which tests do on purpose);
- every datetime is aware, in WIB, with whole seconds;
- text fields are stored verbatim, never trimmed or normalised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(slots=True)
class ReporterRecord:
    """Personal data. The sandbox generates fake values; tests search logs for them."""

    name: str | None
    phone: str | None
    email: str | None

    def __repr__(self) -> str:
        return "ReporterRecord(<redacted>)"


@dataclass(slots=True)
class StatusLog:
    code: str
    name: str
    note: str | None
    at: datetime


@dataclass(slots=True)
class DispositionLog:
    from_id: str | None
    from_name: str | None
    to_id: str | None
    to_name: str | None
    template_code: str
    content: str | None
    at: datetime


@dataclass(slots=True)
class FollowUpRecord:
    id: int
    complaint_id: int
    author_type: str  # "instansi" | "pelapor" | "admin"
    from_id: str | None
    from_name: str | None
    to_id: str | None
    to_name: str | None
    content: str
    template_code: str
    is_secret: bool
    rating: int | None
    attachments: list[dict[str, str]]
    created_at: datetime


@dataclass(slots=True)
class Complaint:
    """One complaint with its whole history.

    ``disposition_id`` is the institution currently holding the complaint (None until the
    admin verifies it); ``requested_disposition_id`` is what the creator asked for.
    ``forwarded_by`` holds the accounts that sent it away as "bukan wewenang": while it is
    held outside their scope they see it as "Ditolak". ``visible_to`` caches which
    accounts may read it and is recomputed by the world after every change.
    ``closure_anchor`` starts the 10-working-day closure clock; a reply clears it.
    """

    id: int
    tracking_id: str
    title: str
    content: str
    channel: int
    category_id: int | None
    classification_id: int | None
    location_id: int | None
    date_of_incident: date | None
    is_anonymous: bool
    is_secret: bool
    tags: list[str]
    reporter: ReporterRecord | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    status_code: str
    status_name: str
    disposition_id: str | None = None
    requested_disposition_id: str | None = None
    status_logs: list[StatusLog] = field(default_factory=list)
    disposition_logs: list[DispositionLog] = field(default_factory=list)
    followups: list[FollowUpRecord] = field(default_factory=list)
    forwarded_by: set[str] = field(default_factory=set)
    visible_to: frozenset[str] = frozenset()
    last_instansi_followup_at: datetime | None = None
    last_reply_at: datetime | None = None
    closure_anchor: datetime | None = None  # last instansi follow-up with no reply since
    search_text: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)  # uploads it refers to

    def __repr__(self) -> str:
        return f"Complaint(id={self.id}, status={self.status_code!r})"

    def refresh_search_text(self) -> None:
        """Cache the lower-cased text that ``search`` matches (title, content, tags)."""
        self.search_text = "\n".join([self.title, self.content, *self.tags]).lower()

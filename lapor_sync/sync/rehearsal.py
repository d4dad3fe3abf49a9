"""A remote for rehearsing a sync pass: reads go to SP4N-LAPOR!, writes are only noted.

:class:`RehearsalRemote` wraps an account's real remote for ``sync --dry-run``. Every read
(list, detail, follow-ups, masters) is passed through, so the rehearsal sees exactly what
the next real pass will see. No write is ever sent: ``create_complaint``, ``add_followup``
and ``forward`` record a :class:`NotedWrite` (an ``upload_attachment`` before a create is
only counted) (what kind, to which complaint, which field
names — never a value) and answer as if accepted, with placeholder ids that start with
:data:`PLACEHOLDER`, so the push code goes on exactly as after a real answer.

Invariant: the wrapped remote is only ever asked to read (HTTP GET); nothing here holds
or returns a field value of a write.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lapor_sync.domain import (
    Category,
    ComplaintDetail,
    CreatedComplaint,
    FollowUp,
    Forward,
    Institution,
    ListQuery,
    NewComplaint,
    NewFollowUp,
    NewUpload,
    ReplyTemplate,
    Uploaded,
)
from lapor_sync.lapor.remote import Remote, RequestCounts
from lapor_sync.lapor.wire import fields_sent

if TYPE_CHECKING:
    from lapor_sync.lapor.client import InvalidItem, ListPage
    from lapor_sync.lapor.pacing import RateBudget

__all__ = ["PLACEHOLDER", "NotedWrite", "RehearsalRemote"]

PLACEHOLDER = "dry-run-"
"""Prefix of the ids a rehearsal answers writes with (never a real SP4N-LAPOR! id)."""


@dataclass(frozen=True)
class NotedWrite:
    """A write the pass would send: its kind, the complaint it is about (None for a
    create), and the names of the fields it would carry."""

    account: str
    kind: str  # create_complaint | post_followup | forward
    complaint_id: str | None
    fields: tuple[str, ...]


class RehearsalRemote:
    """``inner``'s reads, and writes noted instead of sent. Thread-safe."""

    def __init__(self, account: str, inner: Remote) -> None:
        self.account = account
        self._inner = inner
        self._lock = threading.Lock()
        self._serial = 0
        self.writes: list[NotedWrite] = []
        # Uploads before a create are counted apart: ``writes`` holds one entry per
        # outbox row sent (sync/dryrun.py pairs them in order).
        self.uploads = 0

    def __repr__(self) -> str:
        return f"RehearsalRemote({self.account!r})"

    @property
    def stats(self) -> RequestCounts:
        return self._inner.stats

    @property
    def budget(self) -> RateBudget:
        return self._inner.budget

    # --- reads: passed through -------------------------------------------------------------

    def list_complaints(self, query: ListQuery) -> ListPage:
        return self._inner.list_complaints(query)

    def complaint_detail(self, complaint_id: str) -> ComplaintDetail:
        return self._inner.complaint_detail(complaint_id)

    def followups(self, complaint_id: str) -> list[FollowUp]:
        return self._inner.followups(complaint_id)

    def followups_checked(self, complaint_id: str) -> tuple[list[FollowUp], list[InvalidItem]]:
        return self._inner.followups_checked(complaint_id)

    def institutions(self) -> list[Institution]:
        return self._inner.institutions()

    def templates(self) -> list[ReplyTemplate]:
        return self._inner.templates()

    def categories(self) -> list[Category]:
        return self._inner.categories()

    # --- writes: noted, never sent ---------------------------------------------------------

    def create_complaint(self, new: NewComplaint) -> CreatedComplaint:
        placeholder = self._note("create_complaint", None, fields_sent(new))
        return CreatedComplaint(remote_id=placeholder, tracking_id=placeholder.upper())

    def add_followup(self, new: NewFollowUp) -> str:
        return self._note("post_followup", new.complaint_id, fields_sent(new))

    def forward(self, forward: Forward) -> None:
        self._note("forward", forward.complaint_id, fields_sent(forward))

    def upload_attachment(self, upload: NewUpload) -> Uploaded:
        """Not sent: a placeholder id in the list the file's type would go to."""
        with self._lock:
            self._serial += 1
            self.uploads += 1
            return Uploaded(f"{PLACEHOLDER}{self.account}-{self._serial}", upload.kind)

    def close(self) -> None:
        """The wrapped remote belongs to the caller, who closes it."""

    def _note(self, kind: str, complaint_id: str | None, fields: tuple[str, ...]) -> str:
        with self._lock:
            self._serial += 1
            self.writes.append(NotedWrite(self.account, kind, complaint_id, fields))
            return f"{PLACEHOLDER}{self.account}-{self._serial}"

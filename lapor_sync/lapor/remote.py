"""The remote as the sync sees it: a typed protocol, implemented by every remote.

:class:`Remote` is exactly what the sync (sync/*.py, the daemon's jobs, app.py) uses of
an SP4N-LAPOR! account: the reads (complaint list, detail, follow-ups, masters), the
writes (upload, create, follow-up, forward), the request counters the pull and the metrics read,
the rate budget the pull's ETA reads, and ``close``. Implementations:

- :class:`lapor_sync.lapor.client.LaporClient` — HTTP, the production remote;
- :class:`lapor_sync.sandbox.memory_remote.MemoryRemote` — the sandbox's world in-process,
  without HTTP, for the model test and fast tests.

Both are held to the same behaviour by tests/test_remote_contract.py (with a third,
``responses``-mocked HTTP remote): same domain objects, same errors (``RemoteError``
kinds, ``AmbiguousWriteError`` after a lost answer), unreadable items set aside as
``InvalidItem`` for quarantine. See docs/design.md, "The remote protocol".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

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

if TYPE_CHECKING:
    from lapor_sync.lapor.client import InvalidItem, ListPage
    from lapor_sync.lapor.pacing import RateBudget


class RequestCounts(Protocol):
    """Counters of requests sent (every attempt) and of retried reads."""

    @property
    def total(self) -> int: ...

    @property
    def retries(self) -> int: ...


class Remote(Protocol):
    """One account's SP4N-LAPOR!, as the sync uses it. Implementations are thread-safe."""

    @property
    def stats(self) -> RequestCounts: ...

    @property
    def budget(self) -> RateBudget: ...

    def list_complaints(self, query: ListQuery) -> ListPage: ...

    def complaint_detail(self, complaint_id: str) -> ComplaintDetail: ...

    def followups(self, complaint_id: str) -> list[FollowUp]: ...

    def followups_checked(
        self, complaint_id: str
    ) -> tuple[list[FollowUp], list[InvalidItem]]: ...

    def institutions(self) -> list[Institution]: ...

    def templates(self) -> list[ReplyTemplate]: ...

    def categories(self) -> list[Category]: ...

    def create_complaint(self, new: NewComplaint) -> CreatedComplaint: ...

    def add_followup(self, new: NewFollowUp) -> str: ...

    def upload_attachment(self, upload: NewUpload) -> Uploaded: ...

    def forward(self, forward: Forward) -> None: ...

    def close(self) -> None: ...

"""One stage of the pull's pipeline: a listed page whose downloads are running.

``Puller._walk`` keeps at most two of these open (the page next to commit and the page
listed after it); ``collect`` waits for a page's downloads. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from lapor_sync.domain import ComplaintDetail, ComplaintSummary, FollowUp
from lapor_sync.errors import InvalidRecordError, NotFoundError
from lapor_sync.lapor.client import InvalidItem

Fetched = tuple[ComplaintDetail, list[FollowUp], list[InvalidItem]]
"""A changed complaint's detail, its readable follow-ups and the unreadable ones."""


@dataclass(frozen=True)
class Failed:
    """A complaint that could not be read (goes to quarantine); ``reason`` names fields."""

    reason: str
    raw: object


@dataclass
class PendingPage:
    """A listed page whose details are downloading."""

    items: Sequence[ComplaintSummary]
    invalid: Sequence[InvalidItem]
    changed: list[ComplaintSummary]
    details: dict[str, Future[ComplaintDetail]] = field(default_factory=dict)
    followups: dict[str, Future[tuple[list[FollowUp], list[InvalidItem]]]] = field(
        default_factory=dict
    )

    def cancel(self) -> None:
        """Cancel downloads not started yet (finished or running ones are left be)."""
        for detail in self.details.values():
            detail.cancel()
        for followup in self.followups.values():
            followup.cancel()

    def collect(self) -> dict[str, Fetched | Failed]:
        """The page's downloads. A bad record becomes a ``Failed`` entry; any other remote
        error (retries ran out) propagates, and the page must then commit nothing."""
        out: dict[str, Fetched | Failed] = {}
        try:
            for remote_id, future in self.details.items():
                try:
                    detail = future.result()
                    good, bad = self.followups[remote_id].result()
                    out[remote_id] = (detail, good, bad)
                except InvalidRecordError as exc:
                    out[remote_id] = Failed(exc.reason, exc.raw)
                except NotFoundError:
                    out[remote_id] = Failed("detail: HTTP 404 although listed", None)
        finally:
            self.cancel()
        return out

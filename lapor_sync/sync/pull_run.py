"""What one pull is told (``PullOptions``) and what it reports (``PullSummary``).

``PullSummary.figures`` is the run's summary as the ``runs`` row and the ``run_summary``
log line carry it (counts and the cursor only: no personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class PullOptions:
    account: str
    page_size: int = 100
    lookback: timedelta = timedelta(minutes=10)
    concurrency: int = 4
    max_verify_passes: int = 3
    mass_drop_ratio: float = 0.5
    quarantine_retry_limit: int = 50


@dataclass
class PullSummary:
    account: str
    listed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0
    followups_new: int = 0
    quarantined: int = 0
    requests: int = 0
    pages: int = 0
    duration_s: float = 0.0
    cursor: str | None = None
    interrupted: bool = False

    def figures(self) -> dict[str, object]:
        return {
            "account": self.account,
            "fetched": self.listed,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "followups_new": self.followups_new,
            "quarantined": self.quarantined,
            "stale": self.stale,
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "cursor": self.cursor,
        }

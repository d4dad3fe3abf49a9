"""One notification pass: decide what is due, commit it, deliver what the outbox holds.

The daemon's ``notify`` job calls :func:`notify_pass` every minute (or every
``batch_every`` if shorter): batches go out at most once per OPD per ``batch_every``,
digests on the first pass at or after ``digest_at``, the weekly figures on the first pass
at or after ``weekly_at`` of ``weekly_day``, admin alerts when a condition starts or clears.

:func:`preview` is ``notify --preview``: the same decisions on a read-only connection,
digests and the weekly message included whatever the hour, nothing committed or sent.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.notify.admin import WatchedJob, admin_decisions, weekly_decisions
from lapor_sync.notify.channels import configured_channels
from lapor_sync.notify.decision import Decision, commit, rows_of
from lapor_sync.notify.deliver import DeliverySummary, RetryPolicy, deliver_due
from lapor_sync.notify.opd import batch_decisions, digest_decisions
from lapor_sync.notify.outcome import Channel
from lapor_sync.store.notify_outbox import NewNotification
from lapor_sync.timeutil import Clock, now_wib


@dataclass
class NotifySummary:
    queued: int = 0
    delivery: DeliverySummary = field(default_factory=DeliverySummary)

    def figures(self) -> dict[str, int]:
        return {"queued": self.queued, **self.delivery.figures()}


def retry_policy(settings: Settings) -> RetryPolicy:
    notify = settings.notify
    return RetryPolicy(
        max_attempts=notify.max_attempts,
        backoff_initial=timedelta(seconds=notify.backoff_initial_seconds),
        backoff_max=timedelta(seconds=notify.backoff_max_seconds),
    )


def decide(
    db: sqlite_utils.Database,
    settings: Settings,
    now: datetime,
    jobs: Sequence[WatchedJob] = (),
    *,
    force: bool = False,
) -> list[Decision]:
    """Every message due now (``force``: digests and the weekly message regardless of time)."""
    return [
        *batch_decisions(db, settings, now),
        *digest_decisions(db, settings, now, force=force),
        *admin_decisions(db, settings, now, jobs),
        *weekly_decisions(db, settings, now, force=force),
    ]


def notify_pass(
    db: sqlite_utils.Database,
    settings: Settings,
    *,
    clock: Clock = now_wib,
    jobs: Sequence[WatchedJob] = (),
    channels: Mapping[str, Channel] | None = None,
    rng: random.Random | None = None,
    stop: threading.Event | None = None,
) -> NotifySummary:
    now = clock()
    queued = commit(db, settings, decide(db, settings, now, jobs), now)
    delivery = deliver_due(
        db,
        channels if channels is not None else configured_channels(settings, clock),
        policy=retry_policy(settings),
        clock=clock,
        rng=rng,
        stop=stop,
    )
    return NotifySummary(queued, delivery)


def preview(
    db: sqlite_utils.Database, settings: Settings, now: datetime, *, opd: str | None = None
) -> list[NewNotification]:
    """The rows a pass would queue now (digests and weekly as if due), for one OPD or all."""
    rows = []
    for decision in decide(db, settings, now, force=True):
        if opd is not None and decision.draft.opd_code != opd:
            continue
        rows += rows_of(settings, decision)
    return rows

"""Sending what the notification outbox holds, with the push's discipline.

For each due row: claim it (``sending``, committed), hand it to its channel, record the
answer. Before the first row, rows a crash left in ``sending`` become ``unknown``
(:func:`~lapor_sync.store.notify_outbox.recover_interrupted`). Waits between attempts are
scheduled (``next_attempt_at``, exponential backoff with jitter from an injected random
source), never slept: a later run picks the row up.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import sqlite_utils

from lapor_sync.logs import allow_fields, get_logger
from lapor_sync.notify.outcome import Channel, Outcome
from lapor_sync.store import notify_outbox as box
from lapor_sync.timeutil import Clock, now_wib

allow_fields("notification_id", "channel", "attempts")
log = get_logger("lapor_sync.notify")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_initial: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=1)

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        base = self.backoff_initial.total_seconds() * (2 ** max(attempts - 1, 0))
        ceiling = min(base, self.backoff_max.total_seconds())
        return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


@dataclass
class DeliverySummary:
    sent: int = 0
    retry_later: int = 0
    dead: int = 0
    unknown: int = 0
    recovered: int = 0

    def figures(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "retry_later": self.retry_later,
            "dead": self.dead,
            "unknown": self.unknown,
            "recovered": self.recovered,
        }


def deliver_due(
    db: sqlite_utils.Database,
    channels: Mapping[str, Channel],
    *,
    policy: RetryPolicy,
    clock: Clock = now_wib,
    rng: random.Random | None = None,
    limit: int = 200,
    stop: threading.Event | None = None,
) -> DeliverySummary:
    """Send every due row once; see the module docstring."""
    rng = rng or random.Random()
    summary = DeliverySummary(recovered=box.recover_interrupted(db, clock()))
    for row in box.due(db, clock(), limit):
        if stop is not None and stop.is_set():
            break
        channel = channels.get(row.channel)
        if channel is None:
            box.mark_final(
                db,
                row.id,
                clock(),
                "dead",
                f"[notify.{'smtp' if row.channel == 'email' else 'webhook'}] is not configured",
            )
            summary.dead += 1
            continue
        if not box.claim(db, row.id, clock()):
            continue
        outcome = channel.send(row)
        _record(db, row, outcome, policy, clock, rng, summary)
    return summary


def _record(
    db: sqlite_utils.Database,
    row: box.NotificationRow,
    outcome: Outcome,
    policy: RetryPolicy,
    clock: Clock,
    rng: random.Random,
    summary: DeliverySummary,
) -> None:
    now = clock()
    attempts = row.attempts + 1
    state = outcome.state
    reason = outcome.reason or ""
    if state == "retry" and attempts >= policy.max_attempts:
        state, reason = "dead", f"retry budget spent ({attempts} attempts); last: {reason}"
    if state == "sent":
        box.mark_sent(db, row.id, now, outcome.reason)
        summary.sent += 1
    elif state == "retry":
        box.mark_retry(db, row.id, now, now + policy.delay(attempts, rng), reason)
        summary.retry_later += 1
    else:
        box.mark_final(db, row.id, now, state, reason)
        if state == "dead":
            summary.dead += 1
        else:
            summary.unknown += 1
    log_fn = log.info if state == "sent" else log.warning
    log_fn(
        "notification_" + state,
        notification_id=row.id,
        channel=row.channel,
        attempts=attempts,
    )

"""APScheduler 3.x set-up: one worker thread per lane, coalesced, one instance per job.

Why ``BackgroundScheduler`` (not ``BlockingScheduler``): the main thread stays free for
what only it can do in Python — receive SIGTERM/SIGINT — and for an orderly shutdown
(stop flag → wait for the running job → close the endpoint → close the store → release
the lock), and it runs the clock guard below between waits.

Why one worker per lane (``ThreadPoolExecutor(max_workers=1)`` each, see
``daemon/lanes.py``): the pull and the push wait on the network and must not hold up the
jobs that only use the store, nor each other; each lane has its own SQLite connection, so
jobs in different lanes never share a transaction. Jobs in one lane run one at a time: a
job that comes due while another of its lane runs waits in that worker's queue; if it
waited longer than ``schedule.misfire_grace`` it is reported missed (a metric, a warning)
and runs at its next time.

Every job: ``coalesce=True`` (after a pause or a forward clock jump, one run, not a
burst), ``max_instances=1``, ``misfire_grace_time`` from the configuration. At start the
interval jobs are due at once, staggered by a millisecond in registry order so the first
pass runs pull → reconcile → push → deadlines.

A backward clock jump is the one thing APScheduler 3 does not absorb: it keeps each next
run time on the wall clock, so after the clock goes back three hours nothing would run
for three hours. :func:`keep_schedule_near` (called by the daemon every few seconds)
brings any next run time back within one interval of now (for the daily job: to the next
time of day); in normal operation it changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from lapor_sync.app import App
from lapor_sync.daemon.jobs import JobSpec
from lapor_sync.daemon.lanes import LOCAL, Lanes
from lapor_sync.logs import get_logger
from lapor_sync.timeutil import WIB

__all__ = ["LISTENED_EVENTS", "build_scheduler", "job_options", "keep_schedule_near", "trigger_for"]

LISTENED_EVENTS = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
START_STAGGER = timedelta(milliseconds=1)
log = get_logger("lapor_sync.daemon")


def job_options(misfire_grace: timedelta) -> dict[str, Any]:
    """The options every job gets (APScheduler wants whole seconds, at least 1)."""
    return {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": max(1, round(misfire_grace.total_seconds())),
    }


def trigger_for(spec: JobSpec) -> IntervalTrigger | CronTrigger:
    if spec.every is not None:
        return IntervalTrigger(seconds=spec.every.total_seconds(), timezone=WIB)
    assert spec.at is not None
    return CronTrigger(
        hour=spec.at.hour, minute=spec.at.minute, second=spec.at.second, timezone=WIB
    )


def build_scheduler(
    app: App | Lanes,
    jobs: Sequence[JobSpec],
    *,
    misfire_grace: timedelta,
    listener: Callable[[Any], None] | None = None,
    start_at: datetime | None = None,
) -> BackgroundScheduler:
    """A scheduler (not started) with one APScheduler job per spec, id = the job's name.

    ``start_at``: when the interval jobs first run (default: now, i.e. at start);
    staggered in registry order. Daily jobs first run at their next time of day.
    ``app``: an App (its lanes are made here) or the caller's :class:`Lanes`, which the
    caller then closes after the scheduler has shut down.
    """
    lanes = app if isinstance(app, Lanes) else Lanes(app)
    workers = {lane: ThreadPoolExecutor(max_workers=1) for lane in {LOCAL, *(s.lane for s in jobs)}}
    scheduler = BackgroundScheduler(
        # "default" is never used (every job names its lane) but APScheduler wants one.
        executors={"default": ThreadPoolExecutor(max_workers=1), **workers},
        job_defaults=job_options(misfire_grace),
        timezone=WIB,
    )
    first = start_at or datetime.now(WIB)
    position = 0
    for spec in jobs:
        extra: dict[str, Any] = {}
        if spec.every is not None:
            extra["next_run_time"] = first + START_STAGGER * position
            position += 1
        scheduler.add_job(
            lanes.run,
            trigger_for(spec),
            args=[spec],
            executor=spec.lane,
            id=spec.name,
            name=spec.name,
            replace_existing=True,
            **extra,
        )
    if listener is not None:
        scheduler.add_listener(listener, LISTENED_EVENTS)
    # "Running job …" / "… executed successfully" for every run duplicate our own lines.
    executors = logging.getLogger("apscheduler.executors")
    executors.setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    return scheduler


def keep_schedule_near(scheduler: BackgroundScheduler, now: datetime | None = None) -> int:
    """Pull next run times that lie too far ahead (the clock went back) to where they belong.

    Returns how many jobs were moved. Safe to call at any time, from any thread.
    """
    now = now or datetime.now(WIB)
    moved = 0
    for job in scheduler.get_jobs():
        current = getattr(job, "next_run_time", None)  # unset on a not-yet-started job
        if current is None:
            continue
        trigger = job.trigger
        if isinstance(trigger, IntervalTrigger):
            limit = now + trigger.interval
        else:
            limit = trigger.get_next_fire_time(None, now)
        if limit is not None and current > limit + timedelta(seconds=1):
            scheduler.modify_job(job.id, next_run_time=limit)
            moved += 1
    if moved:
        log.warning("schedule_realigned", count=moved, reason="the clock went back")
    return moved

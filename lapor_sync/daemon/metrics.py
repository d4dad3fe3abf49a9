"""Prometheus metrics of the daemon, on a registry of its own (never the global one).

Families (all prefixed ``lapor_sync_``)::

    requests_total{endpoint,outcome}          HTTP attempts to SP4N-LAPOR! (client hook)
    retries_total                             retried reads (the clients' counters)
    job_runs_total{job,outcome}               ok, failed, skipped, error, missed, max_instances
    job_duration_seconds{job}                 histogram of job run times
    job_last_success_timestamp_seconds{job}   unix time of the last successful run
    complaints_pulled_total{account}          complaints stored new or changed by pulls
    tickets_pushed_total                      outbox rows sent to SP4N-LAPOR!
    outbox_rows{state}                        rows per outbox state          (read at scrape)
    conflicts_waiting                         conflicts nobody resolved yet  (read at scrape)
    overdue{opd}                              open deadlines past due        (read at scrape)
    notifications{state}                      notification outbox rows       (read at scrape)
    daemon_start_time_seconds                 when this daemon started

Where the numbers come from: the scheduler's events (``EVENT_JOB_EXECUTED`` carries the
:class:`~lapor_sync.daemon.jobs.JobResult`; ``EVENT_JOB_ERROR``, ``EVENT_JOB_MISSED``,
``EVENT_JOB_MAX_INSTANCES``) via :meth:`DaemonMetrics.on_event`, the client's
``on_request`` hook, and, for the gauges, the store itself, read at scrape time on a
short-lived connection of the HTTP thread (never the jobs' connection).

Invariant (privacy): label values are route names, HTTP status codes or exception class
names, job names, account names and OPD codes from the configuration, and outbox states.
Never an id, a reference, a name, a text or a credential.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from lapor_sync.daemon import queries
from lapor_sync.daemon.jobs import JobResult, PullAllReport
from lapor_sync.logs import get_logger
from lapor_sync.sync.push import PushSummary
from lapor_sync.timeutil import Clock, now_wib

__all__ = ["CONTENT_TYPE", "DaemonMetrics", "StoreCollector"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "lapor_sync"
JOB_OUTCOMES = ("ok", "failed", "skipped", "error", "missed", "max_instances")
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

log = get_logger("lapor_sync.daemon")


class StoreCollector:
    """Gauges read from the store at scrape time, each scrape on its own connection."""

    def __init__(self, db_path: Path | str, clock: Clock = now_wib) -> None:
        self._db_path = db_path
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def _families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(f"{PREFIX}_outbox_rows", "Outbox rows per state.", labels=["state"]),
            GaugeMetricFamily(
                f"{PREFIX}_conflicts_waiting", "Conflicts waiting for a person to resolve."
            ),
            GaugeMetricFamily(
                f"{PREFIX}_overdue", "Open deadlines past due, per OPD.", labels=["opd"]
            ),
            GaugeMetricFamily(
                f"{PREFIX}_notifications", "Notification outbox rows per state.", labels=["state"]
            ),
        ]

    def collect(self) -> Iterable[Metric]:
        outbox, conflicts, overdue, notifications = self._families()
        try:
            with queries.open_reader(self._db_path) as conn:
                figures = queries.store_figures(conn, self._clock())
                notify = queries.notify_counts(conn) or {}
        except Exception as exc:  # a scrape must answer even when the store cannot
            log.warning("metrics_store_unreadable", error_type=type(exc).__name__)
            return []
        for state, count in figures.outbox.items():
            outbox.add_metric([state], count)
        conflicts.add_metric([], figures.conflicts_waiting)
        for opd, count in figures.overdue.items():
            overdue.add_metric([opd], count)
        for state, count in notify.items():
            notifications.add_metric([state], count)
        return [outbox, conflicts, overdue, notifications]


class _RetriesCollector:
    def __init__(self, retries: Callable[[], int]) -> None:
        self._retries = retries

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(f"{PREFIX}_retries", "Retried requests to SP4N-LAPOR!.")]

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(f"{PREFIX}_retries", "Retried requests to SP4N-LAPOR!.")
        family.add_metric([], self._retries())
        return [family]


class DaemonMetrics:
    """The daemon's metrics. Thread-safe: jobs, clients and the HTTP thread all use it."""

    def __init__(self, *, jobs: Sequence[str] = (), accounts: Sequence[str] = ()) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests",
            "HTTP attempts to SP4N-LAPOR!, by route and outcome (status or error class).",
            ["endpoint", "outcome"],
            registry=r,
        )
        self.job_runs = Counter(
            f"{PREFIX}_job_runs", "Job runs by outcome.", ["job", "outcome"], registry=r
        )
        self.job_duration = Histogram(
            f"{PREFIX}_job_duration_seconds",
            "How long job runs took.",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.job_last_success = Gauge(
            f"{PREFIX}_job_last_success_timestamp_seconds",
            "Unix time of the last successful run of each job.",
            ["job"],
            registry=r,
        )
        self.pulled = Counter(
            f"{PREFIX}_complaints_pulled",
            "Complaints stored new or changed by pulls.",
            ["account"],
            registry=r,
        )
        self.pushed = Counter(
            f"{PREFIX}_tickets_pushed", "Outbox rows sent to SP4N-LAPOR!.", registry=r
        )
        self.start_time = Gauge(
            f"{PREFIX}_daemon_start_time_seconds", "When this daemon started.", registry=r
        )
        self._retry_sources: list[Callable[[], int]] = []
        r.register(_RetriesCollector(self._retries))
        # Known series exist from the start, at 0: an alert on rate() needs them.
        for job in jobs:
            for outcome in ("ok", "failed"):
                self.job_runs.labels(job, outcome)
            self.job_duration.labels(job)
        for account in accounts:
            self.pulled.labels(account)

    # --- sources -------------------------------------------------------------------------

    def on_request(self, endpoint: str, outcome: str, seconds: float) -> None:
        """The ``LaporClient`` hook: one call per HTTP attempt."""
        self.requests.labels(endpoint or "unknown", outcome or "unknown").inc()

    def count_retries_of(self, retries: Callable[[], int]) -> None:
        self._retry_sources.append(retries)

    def _retries(self) -> int:
        return sum(source() for source in self._retry_sources)

    def add_store(self, db_path: Path | str, clock: Clock = now_wib) -> None:
        self.registry.register(StoreCollector(db_path, clock))

    def started(self, at: datetime) -> None:
        self.start_time.set(at.timestamp())

    def observe_result(self, result: JobResult) -> None:
        """Count one run of a job as :func:`~lapor_sync.daemon.jobs.run_job` reported it."""
        self.job_runs.labels(result.job, result.outcome).inc()
        if result.outcome == "skipped":
            return
        self.job_duration.labels(result.job).observe(result.duration_s)
        if result.ok:
            self.job_last_success.labels(result.job).set(
                result.started_at.timestamp() + result.duration_s
            )
        value = result.value
        if isinstance(value, PullAllReport):
            for account, summary in value.summaries.items():
                self.pulled.labels(account).inc(summary.new + summary.changed)
        elif isinstance(value, PushSummary):
            self.pushed.inc(value.sent)

    def on_event(self, event: Any) -> None:
        """An APScheduler 3 listener for executed, error, missed and max-instances events."""
        from apscheduler.events import (
            EVENT_JOB_ERROR,
            EVENT_JOB_EXECUTED,
            EVENT_JOB_MAX_INSTANCES,
            EVENT_JOB_MISSED,
        )

        code = getattr(event, "code", 0)
        job = str(getattr(event, "job_id", "unknown"))
        if code == EVENT_JOB_EXECUTED:
            retval = getattr(event, "retval", None)
            if isinstance(retval, JobResult):
                self.observe_result(retval)
            else:
                self.job_runs.labels(job, "ok").inc()
        elif code == EVENT_JOB_ERROR:
            self.job_runs.labels(job, "error").inc()
        elif code == EVENT_JOB_MISSED:
            self.job_runs.labels(job, "missed").inc()
        elif code == EVENT_JOB_MAX_INSTANCES:
            self.job_runs.labels(job, "max_instances").inc()

    # --- output --------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text format (0.0.4)."""
        return bytes(generate_latest(self.registry))

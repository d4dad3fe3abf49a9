"""The daemon's jobs: a registry of named callables taking the App, and one wrapper.

A job is a :class:`JobSpec`: a name, a function ``(App) -> object`` and when it runs
(``every`` an interval, or ``at`` a WIB time of day). :func:`default_jobs` builds the real
registry from the settings; tests pass their own specs (fakes that raise, count, block).

:func:`run_job` is the one way a job runs, in the daemon and in ``sync --once``:

- it never raises for a job's failure: a lapor-sync error is logged as one sentence
  (``errors.describe``, no traceback); anything else is a bug and is logged with its
  traceback (rendered without local variables, masked). The outcome comes back as a
  :class:`JobResult` that the scheduler's ``EVENT_JOB_EXECUTED`` hands to the metrics;
- when the stop flag is set it does not start the job (``skipped``), so jobs queued
  behind the running one do not delay a shutdown;
- every run leaves a ``runs`` row: the app's own functions (pull, push, …) write theirs
  through ``recorded_run`` and log their ``run_summary``; for a job function that did not
  write a row named after the job, the wrapper writes one and logs the summary line.

Jobs and their ``runs`` names: ``pull`` (one row per account), ``push``, ``reconcile``,
``deadlines``, ``daily_summary``, and ``notify`` when ``[notify] enabled``.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from lapor_sync.app import App, pull_all, push_outbox
from lapor_sync.config import Settings
from lapor_sync.daemon import queries
from lapor_sync.errors import LaporSyncError, describe
from lapor_sync.logs import allow_fields, get_logger, log_run_summary
from lapor_sync.store.journal import finish_run, start_run
from lapor_sync.sync.pull import PullSummary

__all__ = [
    "ONCE_ORDER",
    "JobFunc",
    "JobResult",
    "JobSpec",
    "PullAllReport",
    "daily_summary",
    "default_jobs",
    "run_job",
]

allow_fields("accounts", "backlog", "pulled", "overdue_by_opd")
log = get_logger("lapor_sync.daemon")

JobFunc = Callable[[App], object]

# pull → reconcile → push → deadlines: reconcile adopts what was pulled and links echoes
# of our own pushes, and the local changes it makes are pushed in the same pass;
# deadlines come last so they see the statuses both sides settled on.
ONCE_ORDER: tuple[str, ...] = ("pull", "reconcile", "push", "deadlines")


@dataclass(frozen=True)
class JobSpec:
    """A named job. Exactly one of ``every`` (interval) or ``at`` (daily, WIB) is set.

    ``per_account``: the job's ``runs`` rows are per account (health checks each).
    ``watched``: health reports the job unhealthy when it has not succeeded in its window.
    ``lane``: the worker thread (and store connection) it runs in, see ``daemon/lanes.py``;
    jobs that wait on the network get a lane of their own.
    """

    name: str
    func: JobFunc
    every: timedelta | None = None
    at: time | None = None
    per_account: bool = False
    watched: bool = True
    lane: str = "local"

    def __post_init__(self) -> None:
        if (self.every is None) == (self.at is None):
            raise ValueError(f"job {self.name!r} needs exactly one of every= or at=")


@dataclass(frozen=True)
class JobResult:
    """How one run went. ``outcome``: ``ok``, ``failed`` or ``skipped`` (stopping)."""

    job: str
    outcome: str
    started_at: datetime
    duration_s: float
    figures: dict[str, object] = field(default_factory=dict)
    reason: str | None = None
    value: object = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


# --- the real jobs ----------------------------------------------------------------------


@dataclass
class PullAllReport:
    """``pull_all``'s results: a summary per account that pulled, a sentence per failure."""

    summaries: dict[str, PullSummary] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def figures(self) -> dict[str, object]:
        total = {"fetched": 0, "new": 0, "changed": 0, "quarantined": 0, "requests": 0}
        for summary in self.summaries.values():
            total["fetched"] += summary.listed
            total["new"] += summary.new
            total["changed"] += summary.changed
            total["quarantined"] += summary.quarantined
            total["requests"] += summary.requests
        return {"accounts": len(self.summaries), "failed": len(self.failures), **total}


def pull_job(app: App) -> PullAllReport:
    """Pull every enabled account; one account's failure does not stop the others."""
    report = PullAllReport()
    for account, result in pull_all(app).items():
        if isinstance(result, LaporSyncError):
            report.failures[account] = describe(result)
        else:
            report.summaries[account] = result
    return report


def push_job(app: App) -> object:
    return push_outbox(app)


def reconcile_job(app: App) -> object:
    # Imported when the job runs, not with the daemon: written alongside it in app.py.
    from lapor_sync.app import reconcile_all

    return reconcile_all(app)


def deadlines_job(app: App) -> object:
    from lapor_sync.app import publish_report, scan_deadlines

    summary = scan_deadlines(app)
    # The liaisons' report follows every scan; its failure is its own run, not the scan's.
    publish_report(app)
    return summary


@dataclass(frozen=True)
class DailySummary:
    pulled: int
    pushed: int
    backlog: int
    dead: int
    conflicts: int
    overdue: int
    overdue_by_opd: dict[str, int]

    def figures(self) -> dict[str, object]:
        return {
            "pulled": self.pulled,
            "pushed": self.pushed,
            "backlog": self.backlog,
            "dead": self.dead,
            "conflicts": self.conflicts,
            "overdue": self.overdue,
        }


def daily_summary(app: App) -> DailySummary:
    """The last 24 hours and what is waiting, from ``runs`` and the tables (one log line)."""
    now = app.clock()
    conn = app.db.conn
    figures = queries.store_figures(conn, now)
    activity = queries.activity_since(conn, now)
    summary = DailySummary(
        pulled=activity["pulled"],
        pushed=activity["pushed"],
        backlog=figures.backlog,
        dead=figures.dead,
        conflicts=figures.conflicts_waiting,
        overdue=figures.overdue_total,
        overdue_by_opd=figures.overdue,
    )
    log.info("daily_summary", **summary.figures(), overdue_by_opd=summary.overdue_by_opd)
    return summary


def default_jobs(settings: Settings) -> list[JobSpec]:
    """The production registry, with the intervals of ``[schedule]``."""
    schedule = settings.schedule
    return [
        JobSpec("pull", pull_job, every=schedule.pull_every, per_account=True, lane="pull"),
        JobSpec("reconcile", reconcile_job, every=schedule.reconcile_every),
        JobSpec("push", push_job, every=schedule.push_every, lane="push"),
        JobSpec("deadlines", deadlines_job, every=schedule.deadlines_every),
        JobSpec("daily_summary", daily_summary, at=schedule.daily_summary_at, watched=False),
        JobSpec("masters", masters_job, at=schedule.masters_at, watched=False, lane="pull"),
        *notify_jobs(settings),
    ]


def masters_job(app: App) -> object:
    from lapor_sync.sync.masters import sync_masters

    return sync_masters(app)


def notify_jobs(settings: Settings) -> list[JobSpec]:
    """``notify`` (batches, digests, alerts, weekly figures, delivery) when enabled.

    Every minute (or every ``batch_every`` if shorter), so the per-OPD batch interval and
    the digest hour are kept to the minute and retries go out on time; in a lane of its
    own, since it waits on the mail server.
    """
    if not settings.notify.enabled:
        return []
    every = min(settings.notify.batch_every, timedelta(minutes=1))
    return [JobSpec("notify", notify_job, every=every, lane="notify")]


def notify_job(app: App) -> object:
    from lapor_sync.notify.admin import WatchedJob
    from lapor_sync.notify.run import notify_pass

    factor = app.settings.schedule.health_window_factor
    accounts = tuple(a.name for a in app.settings.enabled_accounts)
    watched = [
        WatchedJob(s.name, s.every * factor, accounts if s.per_account else (None,))
        for s in default_jobs(app.settings)
        if s.every is not None and s.watched and s.name != "notify"
    ]
    return notify_pass(
        app.db, app.settings, clock=app.clock, jobs=watched, stop=app.stop_event
    )


# --- the wrapper ------------------------------------------------------------------------


def _figures_of(value: object) -> dict[str, object]:
    figures = getattr(value, "figures", None)
    if callable(figures):
        result = figures()
        if isinstance(result, Mapping):
            return {str(k): v for k, v in result.items()}
    return {}


def _last_run_id(app: App) -> int:
    row = app.db.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()
    return int(row[0]) if row else 0


def _recorded_since(app: App, job: str, after_id: int) -> bool:
    row = app.db.execute(
        "SELECT 1 FROM runs WHERE id > ? AND job = ? LIMIT 1", [after_id, job]
    ).fetchone()
    return row is not None


def _numbers(figures: Mapping[str, object]) -> dict[str, object]:
    return {
        k: v for k, v in figures.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def run_job(app: App, spec: JobSpec, *, now: Callable[[], float] = _time.perf_counter) -> JobResult:
    """Run one job now; see the module docstring. Never raises for the job's failure."""
    started_at = app.clock()
    if app.stop_event.is_set():
        log.info("job_skipped", job=spec.name, reason="stopping")
        return JobResult(spec.name, "skipped", started_at, 0.0, reason="stopping")
    try:
        before: int | None = _last_run_id(app)
    except Exception:  # an unreadable store fails the job below, with its reason
        before = None
    began = now()
    value: object = None
    reason: str | None = None
    try:
        value = spec.func(app)
    except LaporSyncError as exc:
        reason = describe(exc)
        log.error("job_failed", job=spec.name, error_type=type(exc).__name__, reason=reason)
    except Exception as exc:
        reason = describe(exc)
        log.error("job_crashed", job=spec.name, error_type=type(exc).__name__, exc_info=exc)
    duration = round(now() - began, 3)
    figures = _figures_of(value)
    failures = getattr(value, "failures", None)
    if reason is None and isinstance(failures, Mapping) and failures:
        reason = "failed for " + ", ".join(f"{k}: {v}" for k, v in sorted(failures.items()))
        log.error(
            "job_failed",
            job=spec.name,
            error_type="PartialFailure",
            accounts=sorted(failures),
            reason="part of the job failed; the rest was done",
        )
    outcome = "ok" if reason is None else "failed"
    try:
        recorded = before is None or _recorded_since(app, spec.name, before)
    except Exception:
        recorded = True  # the store cannot be read: nothing can be recorded either
    if not recorded:
        # The job function keeps no run log of its own: keep it for it.
        run_id: int | None = None
        try:
            run_id = start_run(app.db, spec.name, None, started_at)
            finish_run(
                app.db,
                run_id,
                app.clock(),
                ok=reason is None,
                summary=_numbers(figures),
                error=reason,
            )
        except Exception as exc:  # the store itself failing is already reported above
            log.error("job_not_recorded", job=spec.name, error_type=type(exc).__name__)
        if reason is None:
            log_run_summary(
                log, spec.name, run_id=run_id, **{"duration_s": duration, **_numbers(figures)}
            )
    return JobResult(spec.name, outcome, started_at, duration, figures, reason, value)


def run_in_order(app: App, specs: Sequence[JobSpec], order: Sequence[str]) -> list[JobResult]:
    """Run the jobs named in ``order`` once each (``sync --once``); stops early on a signal."""
    by_name = {s.name: s for s in specs}
    results = []
    for name in order:
        if name in by_name:
            results.append(run_job(app, by_name[name]))
    return results

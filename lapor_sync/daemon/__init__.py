"""The daemon: APScheduler jobs, the single-instance lock, signals, health and metrics.

It knows no business rules: jobs are the application's functions (``lapor_sync.app``)
run through one wrapper (:func:`~lapor_sync.daemon.jobs.run_job`).

Modules::

    lock       one lapor-sync per database: flock on <db>.lock, dies with the process
    jobs       the registry of named jobs (JobSpec), the wrapper, the daily summary
    scheduler  APScheduler 3.x: one worker thread, coalesce, max_instances=1, clock guard
    service    Daemon (lapor-sync run) and sync_once (lapor-sync sync --once)
    endpoint   the route table and the ThreadingHTTPServer for /healthz and /metrics
    health     /healthz: jobs within their windows, backlog, conflicts, overdue
    metrics    /metrics: a dedicated prometheus-client registry and a store collector
    queries    read-only figures from the store, on connections of their own
    status     lapor-sync status
    backup     lapor-sync backup (SQLite online backup + integrity check)

Threads: the main thread (signals, clock guard, shutdown), the scheduler's thread, ONE
job worker (all jobs, the App's one SQLite connection), the pull's HTTP pool, and the
endpoint's request threads (their own short-lived read connections).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lapor_sync.daemon.backup import BackupError, BackupResult, backup_database
    from lapor_sync.daemon.endpoint import (
        EndpointError,
        EndpointServer,
        Request,
        Response,
        RouteTable,
    )
    from lapor_sync.daemon.health import HealthCheck, HealthReport
    from lapor_sync.daemon.jobs import ONCE_ORDER, JobResult, JobSpec, default_jobs, run_job
    from lapor_sync.daemon.lock import DatabaseLock, database_lock, lock_holder, lock_path_for
    from lapor_sync.daemon.metrics import DaemonMetrics
    from lapor_sync.daemon.scheduler import build_scheduler, keep_schedule_near
    from lapor_sync.daemon.service import Daemon, sync_once
    from lapor_sync.daemon.status import status_lines

__all__ = [
    "ONCE_ORDER",
    "BackupError",
    "BackupResult",
    "Daemon",
    "DaemonMetrics",
    "DatabaseLock",
    "EndpointError",
    "EndpointServer",
    "HealthCheck",
    "HealthReport",
    "JobResult",
    "JobSpec",
    "Request",
    "Response",
    "RouteTable",
    "backup_database",
    "build_scheduler",
    "database_lock",
    "default_jobs",
    "keep_schedule_near",
    "lock_holder",
    "lock_path_for",
    "run_job",
    "status_lines",
    "sync_once",
]

# Exports are loaded on first use, so that ``from lapor_sync.daemon.lock import …`` (the
# pull and push commands) does not import APScheduler and prometheus-client.
_WHERE = {
    "BackupError": "backup",
    "BackupResult": "backup",
    "backup_database": "backup",
    "EndpointError": "endpoint",
    "EndpointServer": "endpoint",
    "Request": "endpoint",
    "Response": "endpoint",
    "RouteTable": "endpoint",
    "HealthCheck": "health",
    "HealthReport": "health",
    "ONCE_ORDER": "jobs",
    "JobResult": "jobs",
    "JobSpec": "jobs",
    "default_jobs": "jobs",
    "run_job": "jobs",
    "DatabaseLock": "lock",
    "database_lock": "lock",
    "lock_holder": "lock",
    "lock_path_for": "lock",
    "DaemonMetrics": "metrics",
    "build_scheduler": "scheduler",
    "keep_schedule_near": "scheduler",
    "Daemon": "service",
    "sync_once": "service",
    "status_lines": "status",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

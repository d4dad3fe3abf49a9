"""Lanes: the daemon's jobs run in separate worker threads, so a stall in one cannot starve
the others.

A lane is one worker thread and one SQLite connection. The jobs that wait on the network
each have their own lane (``pull``, ``push``); the jobs that only work on the store
(``reconcile``, ``deadlines``, ``daily_summary``) share the ``local`` lane. So a pull
stuck on a slow server delays neither the push nor the deadline scan.

Why a connection per lane, and why that is safe: a ``sqlite3`` connection holds one
transaction at a time, so two threads must never share one while they write. Each lane
gets its own connection to the same file (WAL mode: readers never wait; every write is a
``BEGIN IMMEDIATE`` transaction of one unit of work, so writers queue on the busy timeout
and never interleave). The ``local`` lane uses the App's own connection; the others open
theirs on first use and :meth:`Lanes.close` closes them. A store that cannot be opened
twice (``:memory:``, in tests) makes every lane share the App and run one job at a time.

Invariant: a lane App shares the settings, the clients (thread-safe), the clock and the
stop flag of the App it was made from; only ``db`` differs.
"""

from __future__ import annotations

import dataclasses
import threading

from lapor_sync.app import App
from lapor_sync.daemon.jobs import JobResult, JobSpec, run_job
from lapor_sync.errors import LaporSyncError, describe
from lapor_sync.logs import get_logger
from lapor_sync.store.db import open_database, reopenable_path

__all__ = ["LOCAL", "Lanes"]

LOCAL = "local"
log = get_logger("lapor_sync.daemon")


class Lanes:
    """Hands each lane its App; runs a job in the lane it names."""

    def __init__(self, app: App) -> None:
        self._base = app
        self._apps: dict[str, App] = {}
        self._lock = threading.Lock()
        # Held around every job when all lanes share the App's one connection.
        self._shared = threading.Lock()
        self._path: str | None = None
        self._resolved = False

    def app_for(self, lane: str) -> App:
        with self._lock:
            if not self._resolved:
                self._path = reopenable_path(self._base.db)
                self._resolved = True
            app = self._apps.get(lane)
            if app is None:
                if lane == LOCAL or self._path is None:
                    app = self._base
                else:
                    db = open_database(self._path, migrate=False)
                    app = dataclasses.replace(self._base, db=db)
                self._apps[lane] = app
            return app

    def run(self, spec: JobSpec) -> JobResult:
        """Run ``spec`` in its lane (the scheduler's job function)."""
        try:
            app = self.app_for(spec.lane)
        except LaporSyncError as exc:  # the lane's connection could not be opened
            log.error("job_failed", job=spec.name, error_type=type(exc).__name__)
            return JobResult(spec.name, "failed", self._base.clock(), 0.0, reason=describe(exc))
        if self._path is None:
            with self._shared:
                return run_job(app, spec)
        return run_job(app, spec)

    def close(self) -> None:
        """Close the connections the lanes opened (never the App's own, nor its clients)."""
        with self._lock:
            for app in self._apps.values():
                if app is not self._base:
                    app.db.close()
            self._apps.clear()

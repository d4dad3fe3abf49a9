"""The long-running service (``lapor-sync run``) and the one-pass run (``sync --once``).

Start, in this order: take the database lock (a second daemon stops here, exit code 3);
open the App with the metrics' request hook; turn outbox rows a crash left in ``sending``
into ``unknown`` (looked up before any resend) and log how many; start the health and
metrics endpoint; start the scheduler, which runs every interval job once at once and
then on its schedule. Then the main thread waits for SIGTERM/SIGINT, running the clock
guard (``keep_schedule_near``) every few seconds.

Stop, on SIGTERM or SIGINT: set ``app.stop_event`` — the pull stops between pages, the
push between outbox rows, jobs still queued are skipped, and the clients' watchdog
abandons every request in flight (``lapor/deadline.py``) and ends every wait — wait for
the running jobs (one per lane, ``daemon/lanes.py``), stop the endpoint, close the App,
release the lock, exit 0. Each unit of work is one transaction, so nothing is left
half-done; the stop takes well under a second whatever the network does, far below
systemd's stop timeout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from types import FrameType
from typing import Any

from lapor_sync import __version__
from lapor_sync.app import App, open_app
from lapor_sync.config import Settings
from lapor_sync.daemon.endpoint import EndpointServer, Request, Response, RouteTable
from lapor_sync.daemon.health import HealthCheck
from lapor_sync.daemon.jobs import ONCE_ORDER, JobResult, JobSpec, default_jobs, run_in_order
from lapor_sync.daemon.lanes import Lanes
from lapor_sync.daemon.lock import DatabaseLock
from lapor_sync.daemon.metrics import CONTENT_TYPE, DaemonMetrics
from lapor_sync.daemon.recovery import recover
from lapor_sync.daemon.scheduler import build_scheduler, keep_schedule_near
from lapor_sync.daemon.static import serve_directory
from lapor_sync.lapor.client import RequestHook
from lapor_sync.logs import allow_fields, get_logger
from lapor_sync.timeutil import Clock, now_wib

__all__ = ["AppFactory", "Daemon", "sync_once"]

allow_fields("host", "jobs")
log = get_logger("lapor_sync.daemon")

AppFactory = Callable[[RequestHook | None], App]
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _default_factory(settings: Settings) -> AppFactory:
    def factory(on_request: RequestHook | None) -> App:
        return open_app(settings, on_request=on_request)

    return factory


@contextlib.contextmanager
def _signals_set(handler: Callable[[int], None]) -> Iterator[None]:
    """Install ``handler`` for SIGTERM/SIGINT (main thread only), restore on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        handler(signum)

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old if old is not None else signal.SIG_DFL)


class Daemon:
    """``start()``, ``wait()``, ``stop()``; ``run()`` does all three with signal handlers."""

    def __init__(
        self,
        settings: Settings,
        *,
        jobs: Sequence[JobSpec] | None = None,
        app_factory: AppFactory | None = None,
        clock: Clock = now_wib,
        port: int | None = None,
        guard_every: float = 5.0,
    ) -> None:
        self.settings = settings
        self.jobs = list(jobs) if jobs is not None else default_jobs(settings)
        self._factory = app_factory or _default_factory(settings)
        self._clock = clock
        self._port = settings.daemon.health_port if port is None else port
        self._guard_every = guard_every
        self._stop = threading.Event()
        self._signal: str | None = None
        self._lock = DatabaseLock(settings.store.path)
        self.app: App | None = None
        self.metrics: DaemonMetrics | None = None
        self.health: HealthCheck | None = None
        self.endpoint: EndpointServer | None = None
        self.scheduler: Any = None
        self._lanes: Lanes | None = None
        self.started_at: datetime | None = None
        self._began = 0.0

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._lock.acquire()
        try:
            self._start()
        except BaseException:
            self._teardown()
            raise

    def _start(self) -> None:
        settings = self.settings
        db_path = settings.store.path
        accounts = [a.name for a in settings.enabled_accounts]
        self._began = time.monotonic()
        metrics = self.metrics = DaemonMetrics(jobs=[j.name for j in self.jobs], accounts=accounts)
        app = self.app = self._factory(metrics.on_request)
        if self._stop.is_set():
            app.stop_event.set()
        for client in app.clients.values():
            metrics.count_retries_of(lambda c=client: c.stats.retries)  # type: ignore[misc]
        self.started_at = self._clock()
        recover(app)
        metrics.add_store(db_path, self._clock)
        metrics.started(self.started_at)
        self.health = HealthCheck(
            db_path,
            self.jobs,
            accounts,
            window_factor=settings.schedule.health_window_factor,
            started_at=self.started_at,
            clock=self._clock,
            unknown_alarm_after=settings.push.unknown_alarm_after,
            settings=settings,
        )
        routes = RouteTable()
        # Only health and metrics may leave loopback (daemon.allow_remote_health); the
        # index and the report stay loopback-only: people get reports through the portal.
        routes.add("/healthz", self._healthz, remote=True)
        routes.add("/metrics", self._metrics, remote=True)
        routes.add("/", self._index)
        # The latest liaison report, regenerated after each deadline scan; read-only.
        routes.add_prefix("/report/", serve_directory(settings.report.out_dir, "/report/"))
        self.endpoint = EndpointServer(settings.daemon.health_host, self._port, routes).start()
        self._lanes = Lanes(app)
        self.scheduler = build_scheduler(
            self._lanes,
            self.jobs,
            misfire_grace=settings.schedule.misfire_grace,
            listener=metrics.on_event,
        )
        log.info(
            "daemon_started",
            version=__version__,
            pid=os.getpid(),
            path=str(db_path),
            host=self.endpoint.host,
            port=self.endpoint.port,
            jobs=[j.name for j in self.jobs],
        )
        self.scheduler.start()

    def request_stop(self, signum: int | None = None) -> None:
        """Ask the daemon to stop (signal handlers call this; safe from any thread)."""
        # No logging here: a signal handler that writes to the stream the main thread is
        # writing to can fail with a re-entrant call. The stop line names the signal.
        if signum is not None and self._signal is None:
            self._signal = signal.Signals(signum).name
        self._stop.set()
        if self.app is not None:
            self.app.stop_event.set()

    def wait(self) -> None:
        while not self._stop.wait(self._guard_every):
            if self.scheduler is not None:
                keep_schedule_near(self.scheduler)

    def stop(self) -> None:
        log.info("daemon_stopping", signal=self._signal)
        self._teardown()
        log.info("daemon_stopped", duration_s=round(time.monotonic() - self._began, 3))

    def _teardown(self) -> None:
        if self.app is not None:
            self.app.stop_event.set()
        if self.scheduler is not None:
            with contextlib.suppress(Exception):
                # Requests in flight are abandoned (the stop flag reaches the clients'
                # watchdog), so waiting for the jobs in hand takes moments, not minutes.
                self.scheduler.shutdown(wait=True)
            self.scheduler = None
        if self._lanes is not None:
            self._lanes.close()
            self._lanes = None
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
        if self.app is not None:
            self.app.close()
            self.app = None
        self._lock.release()

    def run(self) -> int:
        """The whole service; returns the exit code (0 after SIGTERM/SIGINT)."""
        with _signals_set(self.request_stop):
            self.start()
            try:
                self.wait()
            finally:
                self.stop()
        return 0

    # --- routes --------------------------------------------------------------------------

    def _healthz(self, request: Request) -> Response:
        import json

        assert self.health is not None
        report = self.health.report()
        body = json.dumps(report.body, ensure_ascii=False, indent=1).encode("utf-8")
        return Response(report.status, body + b"\n", "application/json; charset=utf-8")

    def _metrics(self, request: Request) -> Response:
        assert self.metrics is not None
        return Response(200, self.metrics.render(), CONTENT_TYPE)

    def _index(self, request: Request) -> Response:
        assert self.endpoint is not None
        return Response.text(200, "lapor-sync\n" + "\n".join(self.endpoint.routes.paths) + "\n")


def sync_once(
    settings: Settings,
    *,
    jobs: Sequence[JobSpec] | None = None,
    app_factory: AppFactory | None = None,
    order: Sequence[str] = ONCE_ORDER,
) -> list[JobResult]:
    """Pull, reconcile, push and scan deadlines once, under the database lock.

    SIGTERM/SIGINT set the stop flag: the step in hand stops at its next safe point and
    the remaining steps are skipped.
    """
    specs = list(jobs) if jobs is not None else default_jobs(settings)
    factory = app_factory or _default_factory(settings)
    with DatabaseLock(settings.store.path):
        app = factory(None)
        try:
            with _signals_set(lambda _signum: app.stop_event.set()):
                recover(app)
                return run_in_order(app, specs, order)
        finally:
            app.close()

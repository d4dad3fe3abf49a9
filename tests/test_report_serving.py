"""The daemon serves the latest report read-only, and regenerates it after each scan."""

from __future__ import annotations

from typing import Any

from lapor_sync.daemon.jobs import default_jobs
from lapor_sync.daemon.service import Daemon
from lapor_sync.sandbox import SandboxWorld, seed_world
from tests.test_daemon_support import app_factory, http_get, runs_finished, wait_for
from tests.test_health import run_now


def test_the_report_is_published_after_each_scan_and_served_read_only(make_env: Any) -> None:
    world = SandboxWorld(seed=95)
    seed_world(world, complaints=40)
    env = make_env(world)
    jobs = [j for j in default_jobs(env.settings) if j.name in ("pull", "reconcile", "deadlines")]
    daemon = Daemon(
        env.settings, jobs=jobs, app_factory=app_factory(env), clock=env.world_clock, port=0
    )
    daemon.start()
    try:
        assert wait_for(runs_finished(env.settings.store.path, "report", 1), timeout=30)
        assert daemon.endpoint is not None
        url = daemon.endpoint.url
        status, body = http_get(url + "/report/")
        assert status == 200 and "Laporan Pengaduan per OPD" in body.decode()
        status, body = http_get(url + "/report/laporan.csv")
        assert status == 200 and body.startswith("\ufeff".encode())
        assert http_get(url + "/report/opd-BMBK.html")[0] == 200
        # nothing outside the report folder, and only the report's kinds of file
        for path in ("/report/../config.toml", "/report/%2e%2e/store.db", "/report/x.db"):
            assert http_get(url + path)[0] == 404, path
        run_now(daemon, "deadlines", 2)
        assert wait_for(runs_finished(env.settings.store.path, "report", 2), timeout=30)
    finally:
        daemon.stop()

"""The daemon serves the latest report read-only, and regenerates it after each scan."""

from __future__ import annotations

from typing import Any

import pytest

from lapor_sync.daemon import endpoint
from lapor_sync.daemon.endpoint import is_loopback_peer
from lapor_sync.daemon.jobs import default_jobs
from lapor_sync.daemon.service import Daemon
from lapor_sync.sandbox import SandboxWorld, seed_world
from tests.test_daemon_support import app_factory, edit_config, http_get, runs_finished, wait_for
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


def _remote_health_daemon(env: Any) -> Daemon:
    config = env.tmp_path / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "allow_remote_health = false", "allow_remote_health = true", 1
        ),
        encoding="utf-8",
    )
    settings = edit_config(config)
    assert settings.daemon.allow_remote_health
    out = settings.report.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text("<h1>Laporan Pengaduan per OPD</h1>", encoding="utf-8")
    return Daemon(settings, jobs=[], app_factory=app_factory(env), clock=env.world_clock, port=0)


def test_a_client_that_is_not_loopback_gets_404_for_the_report(
    make_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests talk to loopback only: every peer is made to count as remote instead of
    # connecting from another interface of this machine.
    env = make_env(SandboxWorld(seed=97))
    daemon = _remote_health_daemon(env)
    monkeypatch.setattr(endpoint, "is_loopback_peer", lambda _host: False)
    daemon.start()
    try:
        assert daemon.endpoint is not None
        url = f"http://127.0.0.1:{daemon.endpoint.port}"
        assert http_get(url + "/healthz")[0] == 200
        assert http_get(url + "/metrics")[0] == 200
        for path in ("/report/", "/report/index.html", "/"):
            status, body = http_get(url + path)
            assert status == 404 and b"Laporan" not in body, path
    finally:
        daemon.stop()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.3", True), ("::1", True), ("::ffff:127.0.0.1", True),
     ("192.0.2.2", False), ("::ffff:192.0.2.2", False), ("fd00::2", False), ("", False)],
)
def test_loopback_peers(host: str, loopback: bool) -> None:
    assert is_loopback_peer(host) is loopback

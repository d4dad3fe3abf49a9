"""``/healthz``: 200 while every job succeeds within its window, 503 with reasons otherwise.

Time is the sandbox world's clock, injected into the App and the health check: the tests
move it forward instead of sleeping.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from lapor_sync.daemon.endpoint import Response
from lapor_sync.daemon.health import HealthCheck
from lapor_sync.daemon.jobs import JobSpec, default_jobs
from lapor_sync.daemon.service import Daemon
from lapor_sync.local.register import TicketInput, add_ticket
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.timeutil import WIB, to_db
from tests.test_daemon_support import app_factory, edit_config, http_get, runs_finished, wait_for

ACCOUNTS = ("pemprov-lampung", "kota-bandar-lampung", "kab-lampung-selatan")


def tiny_window(env: Any) -> Any:
    """Pull and push every minute; unhealthy one minute (of world time) after a success."""
    env.settings = edit_config(
        env.tmp_path / "config.toml", pull_every="1m", push_every="1m", health_window_factor=1
    )
    return env.settings


def watched(settings: Any) -> list[JobSpec]:
    return [j for j in default_jobs(settings) if j.name in ("pull", "push")]


def healthz(daemon: Daemon) -> tuple[int, dict[str, Any]]:
    assert daemon.endpoint is not None
    status, body = http_get(daemon.endpoint.url + "/healthz")
    return status, json.loads(body)


def run_now(daemon: Daemon, job: str, runs: int) -> None:
    """Make the daemon's scheduler run ``job`` now; wait until ``runs`` rows are finished."""
    daemon.scheduler.modify_job(job, next_run_time=datetime.now(WIB))
    assert wait_for(runs_finished(daemon.settings.store.path, job, runs), timeout=20)


def test_a_fresh_daemon_is_healthy_for_one_window_before_its_first_success(
    make_env: Any,
) -> None:
    env = make_env(SandboxWorld(seed=91))
    settings = tiny_window(env)
    check = HealthCheck(
        settings.store.path,
        watched(settings),
        ACCOUNTS,
        window_factor=1,
        started_at=env.world.now(),
        clock=env.world_clock,
    )
    assert check.report().healthy
    env.world.advance(timedelta(seconds=59))
    assert check.report().healthy
    env.world.advance(timedelta(seconds=2))
    report = check.report()
    assert report.status == 503
    assert len(report.body["reasons"]) == 4  # pull for each of three accounts, and push
    assert any(
        "pull (kota-bandar-lampung): no successful run yet" in r for r in report.body["reasons"]
    )


def test_healthz_200_after_runs_503_when_the_remote_is_gone_200_again_after_a_success(
    make_env: Any,
) -> None:
    world = SandboxWorld(seed=92)
    seed_world(world, complaints=20)
    env = make_env(world)
    settings = tiny_window(env)
    daemon = Daemon(
        settings,
        jobs=watched(settings),
        app_factory=app_factory(env),
        clock=env.world_clock,
        port=0,
    )
    daemon.start()
    try:
        db = settings.store.path
        # the start-up pass is done (pull and push run in lanes of their own, side by side)
        assert wait_for(runs_finished(db, "push", 1), timeout=20)
        assert wait_for(runs_finished(db, "pull", len(settings.enabled_accounts)), timeout=20)
        status, body = healthz(daemon)
        assert status == 200, body
        assert body["status"] == "ok" and body["reasons"] == []
        assert all(a["ok"] for a in body["jobs"]["pull"]["accounts"].values())
        assert body["jobs"]["push"]["last_success"] is not None
        assert body["accounts"]["pemprov-lampung"]["outcome"] == "ok"
        assert body["outbox"] == {
            "backlog": 0,
            "dead": 0,
            "by_state": {"pending": 0, "sending": 0, "unknown": 0, "done": 0, "dead": 0},
            "stuck": [],
        }

        port = env.server.port
        env.server.stop()  # SP4N-LAPOR! is gone ...
        world.advance(timedelta(minutes=2))  # ... for longer than the window
        run_now(daemon, "pull", 6)  # fails: connection refused, for every account
        status, body = healthz(daemon)
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["accounts"]["pemprov-lampung"]["outcome"] == "failed"
        reasons = " | ".join(body["reasons"])
        for account in ACCOUNTS:
            assert f"pull ({account}): last success" in reasons
        assert "push: last success" in reasons

        env.server = SandboxServer(world, port=port).start()  # back again
        run_now(daemon, "pull", 9)
        run_now(daemon, "push", 2)
        status, body = healthz(daemon)
        assert status == 200, body["reasons"]
    finally:
        daemon.stop()


def test_healthz_shows_backlog_dead_rows_conflicts_and_overdue_per_opd(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=93))
    db = env.app.db
    for opd in ("BMBK", "BMBK", "DINKES"):
        ticket = TicketInput(
            channel="sms",
            title="Jalan rusak",
            content="Jalan rusak parah.",
            received_at=env.world.now(),
            opd_code=opd,
        )
        add_ticket(db, ticket, "LPG-{year}-{seq:06d}", "pemprov-lampung")
    db.execute("UPDATE outbox SET state = 'dead' WHERE id = 3")
    db.execute("INSERT INTO conflicts (ticket_id, kind, opened_at) VALUES (1, 'status', 'x')")
    past = to_db(env.world.now() - timedelta(days=1))
    future = to_db(env.world.now() + timedelta(days=1))
    for ticket_id, stage, due in (
        (1, "followup", past),
        (2, "followup", past),
        (2, "closure", future),
        (3, "followup", past),
    ):
        db.execute(
            "INSERT INTO deadlines (ticket_id, stage, started_at, due_at, fingerprint, "
            "computed_at) VALUES (?, ?, ?, ?, 'f', ?)",
            [ticket_id, stage, past, due, past],
        )
    daemon = Daemon(
        env.settings, jobs=[], app_factory=app_factory(env), clock=env.world_clock, port=0
    )
    daemon.start()
    try:
        status, body = healthz(daemon)
    finally:
        daemon.stop()
    # No watched jobs, so nothing can be late; but a dead row is an alarm (#10.2).
    assert status == 503
    assert [r for r in body["reasons"] if "dead row" in r] == body["reasons"]
    assert body["outbox"]["backlog"] == 2 and body["outbox"]["dead"] == 1
    assert body["conflicts_waiting"] == 1
    assert body["overdue"] == {"BMBK": 2, "DINKES": 1}


def test_the_route_table_serves_more_routes_and_only_get(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=94))
    daemon = Daemon(
        env.settings, jobs=[], app_factory=app_factory(env), clock=env.world_clock, port=0
    )
    daemon.start()
    try:
        assert daemon.endpoint is not None
        url = daemon.endpoint.url
        daemon.endpoint.routes.add_prefix(
            "/report/", lambda request: Response.text(200, f"file {request.path[8:]}\n")
        )
        assert http_get(url + "/report/BMBK.html") == (200, b"file BMBK.html\n")
        assert http_get(url + "/nothing")[0] == 404
        index = http_get(url + "/")[1].decode()
        assert "/healthz" in index and "/metrics" in index and "/report/*" in index
        import urllib.request

        request = urllib.request.Request(url + "/healthz", method="POST", data=b"x")
        try:
            urllib.request.urlopen(request, timeout=5)
            raise AssertionError("POST must be refused")
        except urllib.error.HTTPError as exc:
            assert exc.code == 405
    finally:
        daemon.stop()

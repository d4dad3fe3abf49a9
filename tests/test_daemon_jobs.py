"""The daemon in-process: job isolation, the job wrapper, sync order, and clock jumps."""

from __future__ import annotations

import io
import json
import socket
from datetime import datetime, time, timedelta
from typing import Any, cast

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lapor_sync.app import App
from lapor_sync.daemon.endpoint import EndpointError
from lapor_sync.daemon.jobs import ONCE_ORDER, JobSpec, default_jobs, run_job
from lapor_sync.daemon.lock import lock_holder
from lapor_sync.daemon.metrics import DaemonMetrics
from lapor_sync.daemon.scheduler import build_scheduler, keep_schedule_near
from lapor_sync.daemon.service import Daemon, sync_once
from lapor_sync.errors import RetryableRemoteError
from lapor_sync.logs import configure_logging, reset_logging
from lapor_sync.sandbox import SandboxWorld
from lapor_sync.timeutil import WIB
from tests.test_daemon_support import app_factory, wait_for

FAST = timedelta(milliseconds=50)


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_failing_job_does_not_stop_the_others(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=71))
    ticks: list[int] = []

    def boom(app: App) -> None:
        raise RetryableRemoteError("HTTP 503", endpoint="complaint_list", status=503)

    def crash(app: App) -> None:
        raise ZeroDivisionError("a bug")

    def tick(app: App) -> None:
        ticks.append(1)

    jobs = [
        JobSpec("boom", boom, every=FAST),
        JobSpec("crash", crash, every=FAST),
        JobSpec("tick", tick, every=FAST),
    ]
    daemon = Daemon(
        env.settings, jobs=jobs, app_factory=app_factory(env), clock=env.world_clock, port=0
    )
    out = io.StringIO()
    configure_logging(fmt="json", level="info", stream=out)
    try:
        daemon.start()
        try:
            metrics = daemon.metrics
            assert metrics is not None

            def enough() -> bool:
                runs = samples(metrics.render().decode(), "lapor_sync_job_runs_total")
                return runs.get((("job", "tick"), ("outcome", "ok")), 0) >= 4

            assert wait_for(enough, timeout=10)
            text = metrics.render().decode()
        finally:
            daemon.stop()
    finally:
        reset_logging()
    runs = samples(text, "lapor_sync_job_runs_total")
    assert runs[(("job", "boom"), ("outcome", "failed"))] >= 3
    assert runs[(("job", "crash"), ("outcome", "failed"))] >= 3
    assert runs[(("job", "tick"), ("outcome", "ok"))] >= 4
    lines = json_lines(out.getvalue())
    failed = [x for x in lines if x.get("event") == "job_failed" and x.get("job") == "boom"]
    assert failed and "exception" not in failed[0]  # our own error: one sentence
    assert "SP4N-LAPOR! is unavailable" in failed[0]["reason"]
    crashed = [x for x in lines if x.get("event") == "job_crashed"]
    assert crashed and "ZeroDivisionError" in crashed[0]["exception"]  # a bug: traceback
    events = [x.get("event") for x in lines]
    assert "daemon_started" in events and events[-1] == "daemon_stopped"


def test_the_wrapper_records_a_run_for_a_job_without_its_own(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=72))

    class Figures:
        def figures(self) -> dict[str, object]:
            return {"count": 3, "note": "not a number"}

    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    try:
        result = run_job(env.app, JobSpec("reconcile", lambda app: Figures(), every=FAST))
    finally:
        reset_logging()
    assert result.ok and result.figures["count"] == 3
    row = env.app.db.execute(
        "SELECT job, outcome, summary FROM runs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row[0] == "reconcile" and row[1] == "ok" and json.loads(row[2]) == {"count": 3}
    summary = [x for x in json_lines(out.getvalue()) if x["event"] == "run_summary"]
    assert summary[0]["job"] == "reconcile" and summary[0]["count"] == 3


def test_the_wrapper_does_not_record_twice_for_an_app_function(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=73))
    push = next(j for j in default_jobs(env.settings) if j.name == "push")
    result = run_job(env.app, push)
    assert result.ok
    rows = env.app.db.execute("SELECT job FROM runs").fetchall()
    assert rows == [("push",)]


def test_jobs_queued_behind_a_stop_are_skipped(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=74))
    env.app.stop_event.set()
    called: list[int] = []
    result = run_job(env.app, JobSpec("tick", lambda app: called.append(1), every=FAST))
    assert result.outcome == "skipped" and called == []
    metrics = DaemonMetrics(jobs=["tick"])
    metrics.observe_result(result)
    runs = samples(metrics.render().decode(), "lapor_sync_job_runs_total")
    assert runs[(("job", "tick"), ("outcome", "skipped"))] == 1


def test_sync_once_runs_pull_reconcile_push_deadlines_in_that_order(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=75))
    env.app.close()
    seen: list[str] = []

    def job(name: str) -> JobSpec:
        return JobSpec(name, lambda app: seen.append(name), every=FAST)

    jobs = [job(n) for n in ("deadlines", "push", "daily_summary", "reconcile", "pull")]
    results = sync_once(env.settings, jobs=jobs, app_factory=app_factory(env))
    assert seen == list(ONCE_ORDER) == ["pull", "reconcile", "push", "deadlines"]
    assert [r.outcome for r in results] == ["ok"] * 4


# --- scheduling ---------------------------------------------------------------------------

# APScheduler places the daily job from the real clock; the interval jobs start at T0.
T0 = datetime.now(WIB).replace(microsecond=0)
EVERY = timedelta(minutes=5)


def scheduler_for_test() -> Any:
    jobs = [
        JobSpec("pull", lambda app: None, every=EVERY),
        JobSpec("push", lambda app: None, every=timedelta(minutes=1)),
        JobSpec("daily_summary", lambda app: None, at=time(7, 0)),
    ]
    scheduler = build_scheduler(
        cast(App, object()), jobs, misfire_grace=timedelta(minutes=2), start_at=T0
    )
    scheduler.start(paused=True)
    return scheduler


def test_every_job_coalesces_runs_one_instance_and_has_a_misfire_grace() -> None:
    scheduler = scheduler_for_test()
    try:
        jobs = scheduler.get_jobs()
        assert {j.id for j in jobs} == {"pull", "push", "daily_summary"}
        for job in jobs:
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time == 120
        # at start: the interval jobs are due at once, in registry order
        assert scheduler.get_job("pull").next_run_time == T0
        assert scheduler.get_job("push").next_run_time > T0
        assert scheduler.get_job("push").next_run_time - T0 < timedelta(seconds=1)
    finally:
        scheduler.shutdown(wait=False)


def test_a_forward_clock_jump_gives_one_run_not_a_burst() -> None:
    scheduler = scheduler_for_test()
    try:
        job = scheduler.get_job("pull")
        jumped = T0 + timedelta(hours=5, seconds=7)
        missed = job._get_run_times(jumped)
        assert len(missed) == 61  # what a non-coalescing job would run in a burst
        # APScheduler submits run_times[-1:] for a coalescing job: one run, then on the grid
        upcoming = job.trigger.get_next_fire_time(missed[-1], jumped)
        assert jumped < upcoming <= jumped + EVERY
        assert keep_schedule_near(scheduler, jumped) == 0  # nothing to correct forward
    finally:
        scheduler.shutdown(wait=False)


def test_a_backward_clock_jump_does_not_skip_future_runs() -> None:
    scheduler = scheduler_for_test()
    try:
        back = T0 - timedelta(hours=3)
        # Without correction the next pull would wait for T0: three hours of nothing.
        assert scheduler.get_job("pull").next_run_time - back == timedelta(hours=3)
        daily_before = scheduler.get_job("daily_summary").next_run_time
        assert keep_schedule_near(scheduler, back) >= 2
        pull = scheduler.get_job("pull")
        assert back < pull.next_run_time <= back + EVERY
        assert pull.trigger.get_next_fire_time(pull.next_run_time, back) == (
            pull.next_run_time + EVERY
        )
        push = scheduler.get_job("push")
        assert push.next_run_time <= back + timedelta(minutes=1)
        # the daily job moves to the next 07:00 after the new "now", never later than before
        daily = scheduler.get_job("daily_summary").next_run_time
        assert daily <= daily_before and daily.astimezone(WIB).time() == time(7, 0)
        assert keep_schedule_near(scheduler, back) == 0  # settled: a second call is a no-op
    finally:
        scheduler.shutdown(wait=False)


def test_the_daily_job_follows_a_clock_that_went_back_a_day() -> None:
    scheduler = scheduler_for_test()
    try:
        daily = scheduler.get_job("daily_summary")
        current = daily.next_run_time
        back = current - timedelta(days=2, hours=1)
        keep_schedule_near(scheduler, back)
        assert scheduler.get_job("daily_summary").next_run_time == current - timedelta(days=2)
    finally:
        scheduler.shutdown(wait=False)


def test_the_daily_summary_logs_one_line_and_records_its_run(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=76))
    push = next(j for j in default_jobs(env.settings) if j.name == "push")
    run_job(env.app, push)
    daily = next(j for j in default_jobs(env.settings) if j.name == "daily_summary")
    assert daily.at == time(7, 0) and not daily.watched
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    try:
        result = run_job(env.app, daily)
    finally:
        reset_logging()
    assert result.ok
    assert result.figures == {
        "pulled": 0,
        "pushed": 0,
        "backlog": 0,
        "dead": 0,
        "conflicts": 0,
        "overdue": 0,
    }
    (line,) = [x for x in json_lines(out.getvalue()) if x["event"] == "daily_summary"]
    assert line["backlog"] == 0 and line["overdue_by_opd"] == {}
    assert "[disaring]" not in out.getvalue()
    jobs = [r[0] for r in env.app.db.execute("SELECT job FROM runs ORDER BY id")]
    assert jobs == ["push", "daily_summary"]


def test_a_taken_port_stops_the_start_cleanly_and_frees_the_lock(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=77))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        daemon = Daemon(env.settings, jobs=[], app_factory=app_factory(env), port=port)
        with pytest.raises(EndpointError, match=f"cannot listen on 127.0.0.1:{port}"):
            daemon.start()
    assert lock_holder(env.settings.store.path) is None
    assert daemon.app is None and daemon.scheduler is None

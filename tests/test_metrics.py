"""``/metrics``: Prometheus text that parses, the promised families, and nothing private."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lapor_sync.daemon.jobs import default_jobs
from lapor_sync.daemon.metrics import DaemonMetrics
from lapor_sync.daemon.service import Daemon
from lapor_sync.local.register import TicketInput, add_ticket
from lapor_sync.logs import configure_logging, reset_logging
from lapor_sync.sandbox import SandboxWorld, seed_world
from lapor_sync.timeutil import WIB
from tests.test_daemon_support import app_factory, http_get, runs_finished, wait_for

FAMILIES = {
    "lapor_sync_requests": "counter",
    "lapor_sync_retries": "counter",
    "lapor_sync_job_runs": "counter",
    "lapor_sync_job_duration_seconds": "histogram",
    "lapor_sync_job_last_success_timestamp_seconds": "gauge",
    "lapor_sync_complaints_pulled": "counter",
    "lapor_sync_tickets_pushed": "counter",
    "lapor_sync_outbox_rows": "gauge",
    "lapor_sync_conflicts_waiting": "gauge",
    "lapor_sync_overdue": "gauge",
}
REPORTERS = ("Siti Contoh Rahayu", "081277770001", "siti.contoh@example.co.id")


def values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(env: Any, out: io.StringIO) -> str:
    world = env.world
    for i in range(2):
        ticket = TicketInput(
            channel="whatsapp",
            title=f"Sampah menumpuk {i}",
            content="Sampah tidak diangkut dua minggu.",
            received_at=world.now(),
            reporter_name=REPORTERS[0],
            reporter_phone=REPORTERS[1],
            reporter_email=REPORTERS[2],
            opd_code="DLH",
            category_id="31",
        )
        add_ticket(env.app.db, ticket, "LPG-{year}-{seq:06d}", "pemprov-lampung")
    world.faults.script("list", ["503"])  # one retry
    jobs = [j for j in default_jobs(env.settings) if j.name in ("pull", "push")]
    daemon = Daemon(
        env.settings, jobs=jobs, app_factory=app_factory(env), clock=env.world_clock, port=0
    )
    configure_logging(fmt="json", level="debug", stream=out)
    try:
        daemon.start()
        try:
            assert wait_for(runs_finished(env.settings.store.path, "push", 1), timeout=20)
            # pull runs in a lane of its own, side by side with push: one row per account
            accounts = len(env.settings.enabled_accounts)
            assert wait_for(runs_finished(env.settings.store.path, "pull", accounts), timeout=20)
            assert daemon.metrics is not None and daemon.endpoint is not None

            def counted() -> bool:  # the EXECUTED event is handled just after the run row
                seen = values(daemon.metrics.render().decode())  # type: ignore[union-attr]
                return all(
                    seen.get(("lapor_sync_job_runs_total", (("job", job), ("outcome", "ok"))), 0)
                    >= 1
                    for job in ("pull", "push")
                )

            assert wait_for(counted, timeout=10)
            status, body = http_get(daemon.endpoint.url + "/metrics")
        finally:
            daemon.stop()
    finally:
        reset_logging()
    assert status == 200
    return body.decode("utf-8")


def test_metrics_parse_and_carry_every_family(make_env: Any) -> None:
    world = SandboxWorld(seed=101)
    seed_world(world, complaints=25)
    env = make_env(world)
    text = scrape(env, io.StringIO())
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    for name, kind in FAMILIES.items():
        assert families.get(name) == kind, name
    v = values(text)
    assert v[("lapor_sync_job_runs_total", (("job", "pull"), ("outcome", "ok")))] == 1
    assert v[("lapor_sync_job_runs_total", (("job", "push"), ("outcome", "ok")))] == 1
    assert v[("lapor_sync_job_runs_total", (("job", "push"), ("outcome", "failed")))] == 0
    assert v[("lapor_sync_job_duration_seconds_count", (("job", "pull"),))] == 1
    assert v[("lapor_sync_job_last_success_timestamp_seconds", (("job", "push"),))] > 0
    assert v[("lapor_sync_complaints_pulled_total", (("account", "pemprov-lampung"),))] > 0
    assert v[("lapor_sync_tickets_pushed_total", ())] == 2
    assert v[("lapor_sync_retries_total", ())] >= 1
    assert v[("lapor_sync_requests_total", (("endpoint", "list"), ("outcome", "503")))] == 1
    creates = {
        k[1]: n
        for k, n in v.items()
        if k[0] == "lapor_sync_requests_total" and dict(k[1]).get("endpoint") == "create"
    }
    assert sum(creates.values()) == 2 and all(dict(k)["outcome"][0] == "2" for k in creates)
    assert v[("lapor_sync_outbox_rows", (("state", "done"),))] == 2
    assert v[("lapor_sync_outbox_rows", (("state", "dead"),))] == 0
    assert v[("lapor_sync_conflicts_waiting", ())] == 0
    assert b"lapor_sync_" not in generate_latest(REGISTRY)  # a registry of its own


def test_no_secret_and_no_personal_data_in_metrics_or_logs(make_env: Any) -> None:
    world = SandboxWorld(seed=102)
    seed_world(world, complaints=25)
    env = make_env(world)
    out = io.StringIO()
    text = scrape(env, out)
    logs = out.getvalue()
    assert "run_summary" in logs and "daemon_started" in logs
    secrets = []
    for account in env.settings.accounts:
        secrets += [account.api_key.get_secret_value(), account.token.get_secret_value()]
    private = set(secrets) | world.personal_data() | set(REPORTERS)
    for where, content in (("metrics", text), ("logs", logs)):
        leaked = sorted(p for p in private if p and p in content)
        assert leaked == [], f"{where}: {leaked}"


def test_scheduler_events_feed_the_job_counters() -> None:
    metrics = DaemonMetrics(jobs=["pull", "push"])
    when = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
    metrics.on_event(JobExecutionEvent(EVENT_JOB_MISSED, "push", "default", when))
    metrics.on_event(
        JobExecutionEvent(EVENT_JOB_ERROR, "pull", "default", when, exception=OSError())
    )
    metrics.on_event(JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, "pull", "default", [when]))
    v = values(metrics.render().decode())
    assert v[("lapor_sync_job_runs_total", (("job", "push"), ("outcome", "missed")))] == 1
    assert v[("lapor_sync_job_runs_total", (("job", "pull"), ("outcome", "error")))] == 1
    assert v[("lapor_sync_job_runs_total", (("job", "pull"), ("outcome", "max_instances")))] == 1
    assert v[("lapor_sync_job_runs_total", (("job", "pull"), ("outcome", "ok")))] == 0


def test_a_scrape_answers_even_when_the_store_is_unreadable(tmp_path: Any) -> None:
    metrics = DaemonMetrics(jobs=["pull"])
    metrics.add_store(tmp_path / "missing.db")
    families = {f.name for f in text_string_to_metric_families(metrics.render().decode())}
    assert "lapor_sync_job_runs" in families and "lapor_sync_outbox_rows" not in families

"""Masters: the daily job stores institutions and reply templates; health and status warn
when an [[opd]] or a waiting forward names an institution SP4N-LAPOR! no longer lists, or
one whose name changed; ``data_logs[].data`` as a JSON string is read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from lapor_sync.daemon.health import HealthCheck
from lapor_sync.daemon.jobs import default_jobs
from lapor_sync.daemon.status import status_lines
from lapor_sync.lapor import wire
from lapor_sync.local.intake import TicketInput
from lapor_sync.local.register import add_forward, add_ticket
from lapor_sync.sandbox import SandboxWorld
from lapor_sync.sandbox.masters import INSTITUTIONS, TEMPLATES
from lapor_sync.store import masters
from lapor_sync.sync.masters import masters_warnings, sync_masters


def warnings_of(env: Any) -> list[str]:
    return masters_warnings(env.app.db.conn, env.settings)


def health_warnings(env: Any) -> list[str]:
    check = HealthCheck(
        env.settings.store.path, [], [], window_factor=3, started_at=env.world.now(),
        clock=env.world_clock, settings=env.settings,
    )
    report = check.report()
    assert report.healthy  # warnings do not make the service unhealthy
    return list(report.body["warnings"])


def test_the_job_stores_institutions_and_templates(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=21))
    assert warnings_of(env) == []  # never synced: nothing to compare with
    summary = sync_masters(env.app)
    accounts = len(env.settings.enabled_accounts)
    assert summary.institutions == accounts * len(INSTITUTIONS)
    assert summary.templates == accounts * len(TEMPLATES) and summary.problems == []
    stored = masters.institutions(env.app.db.conn, "pemprov-lampung")
    assert stored["18003"].name == INSTITUTIONS["18003"]
    codes = [t.code for t in masters.templates(env.app.db.conn, "pemprov-lampung")]
    assert sorted(codes) == sorted(t[1] for t in TEMPLATES)
    assert warnings_of(env) == [] and health_warnings(env) == []
    assert any(spec.name == "masters" and spec.at is not None
               for spec in default_jobs(env.settings))


def test_an_unlisted_opd_institution_is_warned_in_health_and_status(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=22))
    sync_masters(env.app)
    env.world.directory.unlist("18003")  # BMBK's id disappears from SP4N-LAPOR!'s list
    sync_masters(env.app)
    [warning] = warnings_of(env)
    assert warning.startswith("[[opd]] BMBK (opd[") and "institution 18003" in warning
    assert "no longer lists" in warning
    assert health_warnings(env) == [warning]
    lines = status_lines(env.settings, env.world.now())
    assert f"WARNING (masters): {warning}" in lines


def test_a_renamed_institution_is_warned_with_both_names(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=23))
    sync_masters(env.app)
    env.world.directory.rename("18002", "Dinas Kesehatan dan Keluarga Berencana")
    summary = sync_masters(env.app)
    assert summary.renamed == len(env.settings.enabled_accounts)
    [warning] = warnings_of(env)
    assert f'from "{INSTITUTIONS["18002"]}" to "Dinas Kesehatan dan Keluarga Berencana"' in warning
    assert "[[opd]] DINKES" in warning


def test_a_waiting_forward_to_an_unlisted_target_is_warned(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=24))
    ticket = add_ticket(
        env.app.db,
        TicketInput(channel="sms", title="Jalan rusak", content="Jalan rusak parah.",
                    received_at=env.world.now(), opd_code="BMBK"),
        "LPG-{year}-{seq:06d}",
        "pemprov-lampung",
    )
    add_forward(env.app.db, ticket.ref, "1871")
    sync_masters(env.app)
    assert warnings_of(env) == []
    env.world.directory.unlist("1871")
    sync_masters(env.app)
    [warning] = warnings_of(env)
    assert warning.startswith("the forward in outbox row ") and "institution 1871" in warning
    assert "Jalan rusak" not in warning  # no complaint data


def test_a_failing_templates_endpoint_keeps_the_institutions(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=25))
    attempts = env.settings.http.retry_attempts
    env.world.faults.script("masters", ["ok"] * 3 + ["503"] * attempts)  # templates fail
    summary = sync_masters(env.app)
    env.world.faults.clear("masters")
    assert summary.institutions >= len(INSTITUTIONS)
    assert summary.problems and summary.problems[0].startswith("templates (")


def test_data_logs_data_as_a_json_string_is_read() -> None:
    def log(data: object) -> dict[str, object]:
        return {"institution_to_id": 18, "created_at": "28-03-2025 14:05:09", "data": data}

    change = {"status_old": {"name": "Belum Terverifikasi"}, "status_new": {"name": "Selesai"}}
    detail = wire.detail_from_wire({
        "data": {"id": 1, "title": "t", "status_name": "Selesai",
                 "created_at": "27-03-2025 09:00:00", "updated_at": "28-03-2025 14:05:09"},
        "data_logs": [log(json.dumps(change)), log(change), log("{not json"), log(None)],
    })
    pairs = [(d.status_old, d.status_new) for d in detail.dispositions]
    assert pairs == [
        ("Belum Terverifikasi", "Selesai"),
        ("Belum Terverifikasi", "Selesai"),
        (None, None),
        (None, None),
    ]
    assert detail.dispositions[0].at == datetime.fromisoformat("2025-03-28T14:05:09+07:00")


def test_masters_command_syncs_and_warns(make_env: Any) -> None:
    from click.testing import CliRunner

    from lapor_sync.cli import cli

    env = make_env(SandboxWorld(seed=26))
    env.world.directory.unlist("18001")
    env.app.close()  # the command opens the store itself
    config = str(env.tmp_path / "config.toml")
    result = CliRunner().invoke(cli, ["--config", config, "--log-level", "error", "masters"])
    assert result.exit_code == 0, result.output
    assert "WARNING: [[opd]] DISDIK" in result.output and "institution 18001" in result.output
    env.reopen()

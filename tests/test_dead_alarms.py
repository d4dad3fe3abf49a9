"""Dead outbox rows are alarms (#10.2): push's exit code, /healthz, status; fix and replay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from lapor_sync.app import push_outbox
from lapor_sync.cli.common import CliState
from lapor_sync.cli.local_cmds import local_group
from lapor_sync.cli.outbox_cmds import outbox_group
from lapor_sync.cli.sync_cmds import push_command
from lapor_sync.daemon.health import HealthCheck
from lapor_sync.daemon.status import status_lines
from lapor_sync.local.register import TicketInput, add_ticket
from lapor_sync.sandbox import SandboxWorld
from lapor_sync.timeutil import to_db

REF_FORMAT = "LPG-{year}-{seq:06d}"


def _cli(env: Any, group: Any, *args: str) -> Result:
    state = CliState(env.settings.config_path, "console", "warning")
    return CliRunner().invoke(group, list(args), obj=state)


def _refused_ticket(env: Any) -> str:
    """A ticket whose category SP4N-LAPOR! does not know: its create answers 422."""
    ticket = TicketInput(
        channel="sms",
        title="Jalan berlubang",
        content="Di depan pasar",
        received_at=env.world.now(),
        opd_code="BMBK",
        category_id="999",
    )
    return add_ticket(env.app.db, ticket, REF_FORMAT, "pemprov-lampung").ref


def _state(env: Any) -> list[tuple[int, str]]:
    return env.app.db.execute("SELECT id, state FROM outbox ORDER BY id").fetchall()


def test_a_422_dead_row_is_fixed_and_replayed_once(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=21))
    ref = _refused_ticket(env)
    first = push_outbox(env.app)
    assert first.dead == 1 and first.sent == 0
    ((row_id, state),) = _state(env)
    assert state == "dead"
    assert env.world.find_by_tag(ref) == []

    fixed = _cli(env, local_group, "edit", ref, "--category", "31", "--title", "Jalan rusak")
    assert fixed.exit_code == 0, fixed.output
    assert f"lapor-sync outbox retry {row_id}" in fixed.output
    assert _cli(env, outbox_group, "retry", str(row_id)).exit_code == 0

    second = push_outbox(env.app)
    assert second.sent == 1 and second.dead == 0
    (cid,) = env.world.find_by_tag(ref)
    complaint = env.world.complaint(cid)
    assert (complaint.category_id, complaint.title) == (31, "Jalan rusak")
    assert env.world.stats.count("create") == 2  # the refused one and the corrected one
    assert push_outbox(env.app).sent == 0  # nothing sent twice


def test_edit_is_checked_by_the_intake_and_refused_once_on_lapor(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=22))
    ref = _refused_ticket(env)
    bad = _cli(env, local_group, "edit", ref, "--phone", "12345", "--category", "x")
    assert bad.exit_code == 2
    assert "--phone:" in bad.output and "--category:" in bad.output and "12345" not in bad.output
    assert _cli(env, local_group, "edit", ref).exit_code == 2  # nothing to change
    assert _cli(env, local_group, "edit", "LPG-2026-999999", "--title", "X").exit_code == 1
    assert _cli(env, local_group, "edit", ref, "--category", "31").exit_code == 0
    assert push_outbox(env.app).sent == 1
    late = _cli(env, local_group, "edit", ref, "--title", "Terlambat")
    assert late.exit_code == 1 and "follow-up" in late.output


def test_push_exits_non_zero_when_rows_went_dead(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=23))
    _refused_ticket(env)
    env.app.close()  # the command opens the store itself
    result = _cli(env, push_command)
    assert result.exit_code == 1
    assert "1 row(s) went dead" in result.output
    env.reopen()
    again = _cli(env, push_command)  # nothing went dead in this pass
    assert again.exit_code == 0, again.output


def test_healthz_and_status_report_dead_and_long_unknown_rows(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=24))
    _refused_ticket(env)
    good = TicketInput(
        channel="sms", title="Lain", content="Isi", received_at=env.world.now(), opd_code="BMBK"
    )
    add_ticket(env.app.db, good, REF_FORMAT, "pemprov-lampung")
    check = HealthCheck(
        env.settings.store.path,
        [],
        [],
        window_factor=3,
        started_at=env.world.now(),
        clock=env.world_clock,
        unknown_alarm_after=timedelta(hours=1),
    )
    assert check.report().healthy
    push_outbox(env.app)
    report = check.report()
    assert report.status == 503
    assert any("1 dead row(s)" in r for r in report.body["reasons"])
    assert [r["state"] for r in report.body["outbox"]["stuck"]] == ["dead"]

    # A row whose answer was lost, unsettled for longer than the threshold, is one too.
    env.app.db.execute(
        "UPDATE outbox SET state = 'unknown', updated_at = ? WHERE state = 'done'",
        [to_db(env.world.now() - timedelta(hours=2))],
    )
    env.app.db.conn.commit()
    reasons = check.report().body["reasons"]
    assert any("1 row(s) unknown (answer lost) for more than 1 h" in r for r in reasons)

    lines = status_lines(env.settings, env.world.now() + timedelta(hours=5))  # [push] 6 h
    first = next(i for i, line in enumerate(lines) if line.strip())
    alarm = next(i for i, line in enumerate(lines) if line.startswith("NEEDS A PERSON"))
    pull = lines.index("Pull, per account:")
    assert first < alarm < pull  # before everything else on the screen
    assert "2 outbox row(s) dead or long unknown" in lines[alarm]


def test_unknown_alarm_threshold_is_a_setting(tmp_path: Path) -> None:
    from lapor_sync.config import load_settings

    text = (Path(__file__).resolve().parent.parent / "config.toml").read_text(encoding="utf-8")
    assert 'unknown_alarm_after = "6h"' in text
    text = text.replace('unknown_alarm_after = "6h"', 'unknown_alarm_after = "30m"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    assert load_settings(path, env={}).push.unknown_alarm_after == timedelta(minutes=30)

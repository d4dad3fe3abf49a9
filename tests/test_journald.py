"""Logs under journald: a syslog priority per line, no scheduler chatter, no glued lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from lapor_sync import logs
from lapor_sync.cli import cli
from lapor_sync.sandbox import SandboxWorld, seed_world


@pytest.fixture(autouse=True)
def _reset(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    yield
    logs.reset_logging()


@pytest.mark.parametrize(
    ("method", "priority"),
    [("debug", 7), ("info", 6), ("warning", 4), ("error", 3), ("critical", 2)],
)
def test_under_journald_every_line_starts_with_its_syslog_priority(
    monkeypatch: pytest.MonkeyPatch, method: str, priority: int
) -> None:
    """journald turns a leading <N> into PRIORITY: `journalctl -p err` finds the errors."""
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    out = io.StringIO()
    logs.configure_logging(fmt="auto", level="debug", stream=out)
    getattr(logs.get_logger("t"), method)("something_happened", job="pull")
    line = out.getvalue()
    assert line.startswith(f"<{priority}>{{") and line.count("\n") == 1
    record = json.loads(line[len(f"<{priority}>") :])
    assert record["event"] == "something_happened" and record["priority"] == priority


def test_stdlib_errors_carry_the_error_priority_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    out = io.StringIO()
    logs.configure_logging(fmt="json", level="info", stream=out)
    logging.getLogger("somelib").error("broken")
    assert out.getvalue().startswith("<3>{")


def test_json_lines_off_journald_have_the_priority_field_and_no_prefix() -> None:
    out = io.StringIO()
    logs.configure_logging(fmt="json", level="info", stream=out)
    logs.get_logger("t").error("boom")
    record = json.loads(out.getvalue())
    assert record["priority"] == 3 and record["level"] == "error"


def test_no_scheduler_chatter_at_info() -> None:
    out = io.StringIO()
    logs.configure_logging(fmt="json", level="info", stream=out)
    logging.getLogger("apscheduler.scheduler").info("Adding job tentatively")
    logging.getLogger("apscheduler.scheduler").info("Scheduler started")
    assert out.getvalue() == ""
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    assert "was missed" in out.getvalue()


def test_a_log_line_is_not_glued_to_a_progress_bar() -> None:
    out = io.StringIO()
    logs.configure_logging(fmt="json", level="info", stream=out)
    out.write("pull pemprov-lampung  [######------]  50%")
    logs.partial_line(True)
    logs.get_logger("t").warning("retrying")
    text = out.getvalue()
    assert text.startswith("pull pemprov-lampung  [######------]  50%\n{")
    logs.get_logger("t").warning("again")  # the bar's line was ended once, not twice
    assert "\n\n" not in out.getvalue()


def test_pull_prints_each_accounts_summary_once(make_env: Any) -> None:
    world = SandboxWorld(seed=31)
    seed_world(world, complaints=20)
    env = make_env(world)
    config = str(env.tmp_path / "config.toml")
    env.app.close()
    result = CliRunner().invoke(cli, ["--config", config, "pull"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for account in ("pemprov-lampung", "kota-bandar-lampung", "kab-lampung-selatan"):
        assert sum(f"account={account}" in line for line in lines) == 1, result.output
    assert "run_summary" not in result.output
    verbose = CliRunner().invoke(cli, ["--config", config, "--log-level", "info", "pull"])
    assert "run_summary" in verbose.output  # asked for: the log lines are there

"""A hostile server's answers (JSON nested 200,000 deep, a gzip bomb, an endless body) are
bad answers for the account that got them: that account's pull fails with one clear
sentence, no traceback, and the other accounts are still pulled in the same cycle."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from lapor_sync.app import open_app
from lapor_sync.cli import cli
from lapor_sync.config import load_settings
from lapor_sync.daemon.jobs import JobSpec, pull_job, run_job
from lapor_sync.errors import RetryableRemoteError
from lapor_sync.lapor import envelope
from lapor_sync.sandbox import SandboxWorld, seed_world
from tests.hostile_server import HostileServer, serve


@pytest.fixture
def hostile_server() -> Iterator[HostileServer]:
    with serve() as httpd:
        yield httpd


PEMPROV, KOTA = "pemprov-lampung", "kota-bandar-lampung"
REASONS = {
    "deep": "nested deeper than 64 levels",
    "bomb": "larger than 1048576 bytes",
    "endless": "larger than 1048576 bytes",
}


def hostile_env(make_env: Any, server: HostileServer, route: str, seed: int) -> Any:
    """The shipped two accounts: pemprov's answers come from ``server`` (``route``), kota's
    from a seeded sandbox. A 1 MiB cap, and no real waits between retries."""
    world = SandboxWorld(seed=seed)
    seed_world(world, complaints=20)
    env = make_env(world)
    env.app.close()
    config = env.tmp_path / "config.toml"
    text = config.read_text(encoding="utf-8")
    hostile = f"http://127.0.0.1:{server.server_address[1]}/api/{route}"
    text = text.replace(f'base_url = "{env.server.base_url}"', f'base_url = "{hostile}"', 1)
    text = text.replace("retry_initial_wait = 1.0", "retry_initial_wait = 0.0", 1)
    text = text.replace("retry_max_wait = 30.0", "retry_max_wait = 0.0", 1)
    text = text.replace("[http]\n", "[http]\nmax_answer_mib = 1\n", 1)
    config.write_text(text, encoding="utf-8")
    env.settings = load_settings(config, env={})
    assert env.settings.accounts[0].base_url == hostile
    env.app = open_app(env.settings, sleep=env.sleeps.append, clock=env.world_clock)
    return env


@pytest.mark.parametrize("route", sorted(REASONS))
def test_the_daemons_pull_job_fails_that_account_only(
    make_env: Any, hostile_server: HostileServer, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = hostile_env(make_env, hostile_server, route, seed=301)
    spec = JobSpec("pull", pull_job, every=timedelta(minutes=5))
    with caplog.at_level(logging.DEBUG):
        result = run_job(env.app, spec)
    assert result.outcome == "failed"
    report = result.value
    assert sorted(report.failures) == [PEMPROV]
    assert REASONS[route] in report.failures[PEMPROV]
    assert KOTA in report.summaries and report.summaries[KOTA].listed > 0
    assert "job_crashed" not in caplog.text and "RecursionError" not in caplog.text
    assert "Traceback" not in caplog.text


def test_pull_on_the_command_line_says_why_without_a_traceback(
    make_env: Any, hostile_server: HostileServer
) -> None:
    env = hostile_env(make_env, hostile_server, "deep", seed=302)
    env.app.close()
    config = str(env.tmp_path / "config.toml")
    result = CliRunner().invoke(cli, ["--config", config, "--log-level", "error", "pull"])
    assert result.exit_code == 1, result.output
    assert REASONS["deep"] in result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    assert f"pull {KOTA}" in result.output  # the other account was pulled


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,
        b'{"a": ' + b"[" * 65 + b"]" * 65 + b"}",
        b'{"total": ' + b"9" * 5000 + b"}",
        b"\xff\xfe{}",
    ],
    ids=["200k-deep", "65-deep", "5000-digit-int", "not-utf8"],
)
def test_every_undecodable_body_is_a_bad_answer(body: bytes) -> None:
    with pytest.raises(RetryableRemoteError):
        envelope.decode_envelope("list", 200, body)


def test_an_answer_within_the_nesting_limit_is_read() -> None:
    nested = b'{"success": true, "results": {"data": ' + b"[" * 60 + b"]" * 60 + b"}}"
    assert envelope.decode_envelope("list", 200, nested)["success"] is True

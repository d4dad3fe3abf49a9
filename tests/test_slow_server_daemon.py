"""A slow server stalls nothing but its own account (issue #11.5), in the real daemon.

One account points at a loopback server that trickles its answers one byte at a time,
each byte well inside ``http.read_timeout``; the other accounts point at the sandbox.
The stalled account's pull is cut off at ``http.request_deadline``; the other accounts
are pulled meanwhile, push, reconcile and deadlines run meanwhile, and a stop ends the
daemon at once although a request is still in flight.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lapor_sync.config import load_settings
from lapor_sync.daemon.service import Daemon
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from tests.conftest import settings_for
from tests.slow_server import SlowServer
from tests.test_daemon_support import app_factory, wait_for

SLOW_ACCOUNT = "pemprov-lampung"


@pytest.fixture
def worlds(tmp_path: Path) -> Iterator[tuple[SandboxWorld, SandboxServer, SlowServer]]:
    world = SandboxWorld(seed=5)
    seed_world(world, complaints=12)
    with SandboxServer(world) as sandbox, SlowServer("body", gap=0.05) as slow:
        yield world, sandbox, slow


def env_for(tmp_path: Path, sandbox: SandboxServer, slow: SlowServer, deadline: float) -> Any:
    settings = settings_for(tmp_path, sandbox.base_url)
    config = tmp_path / "config.toml"
    text = config.read_text(encoding="utf-8")
    # The first account (the province) moves to the slow server.
    province = f'name = "{SLOW_ACCOUNT}"'
    head, _, tail = text.partition(province)
    text = head + province + tail.replace(sandbox.base_url, slow.base_url, 1)
    text = text.replace("request_deadline = 120.0", f"request_deadline = {deadline}", 1)
    text = text.replace("read_timeout = 30.0", "read_timeout = 5.0", 1)
    text = text.replace("retry_attempts = 5", "retry_attempts = 2", 1)
    config.write_text(text, encoding="utf-8")
    settings = load_settings(config, env={})
    assert settings.account(SLOW_ACCOUNT).base_url == slow.base_url

    class Env:
        pass

    env: Any = Env()
    env.settings, env.sleeps = settings, []
    env.world_clock = sandbox.world.now
    return env


def finished(db: Path) -> dict[tuple[str, str | None], str]:
    conn = sqlite3.connect(db, timeout=5)
    try:
        rows = conn.execute(
            "SELECT job, account, outcome FROM runs WHERE outcome != 'running'"
        ).fetchall()
    finally:
        conn.close()
    return {(job, account): outcome for job, account, outcome in rows}


def error_of(db: Path, account: str) -> str:
    conn = sqlite3.connect(db, timeout=5)
    try:
        row = conn.execute(
            "SELECT error FROM runs WHERE job = 'pull' AND account = ?", [account]
        ).fetchone()
    finally:
        conn.close()
    return str(row[0])


def test_a_trickling_account_is_cut_off_while_everything_else_runs(
    tmp_path: Path, worlds: Any
) -> None:
    _world, sandbox, slow = worlds
    env = env_for(tmp_path, sandbox, slow, deadline=0.8)
    db = env.settings.store.path
    others = [a.name for a in env.settings.enabled_accounts if a.name != SLOW_ACCOUNT]
    daemon = Daemon(env.settings, app_factory=app_factory(env), clock=env.world_clock, port=0)
    daemon.start()
    try:
        began = time.monotonic()

        def rest_done() -> bool:
            done = finished(db)
            return all(done.get(("pull", a)) == "ok" for a in others) and all(
                done.get((job, None)) == "ok" for job in ("reconcile", "push", "deadlines")
            )

        assert wait_for(rest_done, timeout=20)
        # Everything else was done while the slow account was still stalled: its pull
        # needs two attempts of 0.8 s (the trickle alone would take over 5,000 s).
        assert ("pull", SLOW_ACCOUNT) not in finished(db) or time.monotonic() - began >= 1.6
        assert wait_for(lambda: ("pull", SLOW_ACCOUNT) in finished(db), timeout=10)
        assert time.monotonic() - began < 1.6 + 4.0
    finally:
        daemon.stop()
    assert finished(db)[("pull", SLOW_ACCOUNT)] == "failed"
    assert "http.request_deadline" in error_of(db, SLOW_ACCOUNT)
    assert slow.requests == 2  # the list request, tried twice, never the rest


def test_a_stop_ends_the_daemon_at_once_mid_request(tmp_path: Path, worlds: Any) -> None:
    _world, sandbox, slow = worlds
    env = env_for(tmp_path, sandbox, slow, deadline=600.0)
    daemon = Daemon(env.settings, app_factory=app_factory(env), clock=env.world_clock, port=0)
    daemon.start()
    try:
        assert wait_for(lambda: slow.requests >= 1, timeout=10)  # the pull is in flight
    finally:
        began = time.monotonic()
        daemon.request_stop()
        daemon.stop()
        took = time.monotonic() - began
    assert took < 3.0  # far inside systemd's TimeoutStopSec=60, with a 600 s deadline
    done = finished(env.settings.store.path)
    assert done[("pull", SLOW_ACCOUNT)] == "failed"
    assert error_of(env.settings.store.path, SLOW_ACCOUNT).startswith("Stopped before")

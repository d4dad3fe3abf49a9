"""``lapor-sync run`` as a real process: one per database, SIGTERM, kill -9 at random moments.

The sandbox runs in the test process; each daemon is a child process talking to it over
loopback. Every wait is a bounded poll, every child is reaped (killed if need be).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lapor_sync.local.register import TicketInput, add_ticket
from lapor_sync.sandbox import SandboxWorld, seed_world
from lapor_sync.store.db import open_database
from tests.test_daemon_support import (
    edit_config,
    endpoint_up,
    free_port,
    run_cli,
    start_cli,
    wait_for,
)

PEMPROV = "pemprov-lampung"
REF_FORMAT = "LPG-{year}-{seq:06d}"
pytestmark = pytest.mark.slow


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def daemon_env(make_env: Any, seed: int, complaints: int) -> tuple[Any, Path, int]:
    world = SandboxWorld(seed=seed)
    seed_world(world, complaints=complaints)
    env = make_env(world, page_size=10)
    env.app.close()  # the daemons open their own
    port = free_port()
    config = env.tmp_path / "config.toml"
    edit_config(config, health_port=port, log_format="json")
    return env, config, port


def add_tickets(env: Any, count: int, start: int = 0) -> list[str]:
    db = open_database(env.settings.store.path)
    try:
        refs = []
        for i in range(start, start + count):
            ticket = TicketInput(
                channel="whatsapp",
                title=f"Jalan berlubang nomor {i}",
                content="Lubang besar di tengah jalan provinsi.",
                received_at=env.world.now(),
                reporter_name="Warga Contoh",
                reporter_phone="081277778888",
                opd_code="BMBK",
                category_id="31",
            )
            refs.append(add_ticket(db, ticket, REF_FORMAT, PEMPROV).ref)
        return refs
    finally:
        db.close()


def store_checks(db_path: Path) -> tuple[str, int, int]:
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        sending = conn.execute("SELECT count(*) FROM outbox WHERE state = 'sending'").fetchone()[0]
        running = conn.execute("SELECT count(*) FROM runs WHERE outcome = 'running'").fetchone()[0]
    finally:
        conn.close()
    return integrity, sending, running


def test_a_second_daemon_exits_3_at_once_naming_the_first(
    make_env: Any, children: list[subprocess.Popen[bytes]]
) -> None:
    env, config, port = daemon_env(make_env, seed=61, complaints=10)
    with (env.tmp_path / "first.log").open("wb") as log:
        first = start_cli(config, "run", log=log)
        children.append(first)
        assert wait_for(endpoint_up(port)), "the first daemon never listened"
        began = time.monotonic()
        second = run_cli(config, "run", timeout=30)
        assert time.monotonic() - began < 10
        assert second.returncode == 3, second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert "Only one lapor-sync may use a database at a time" in second.stderr
        assert "Traceback" not in second.stderr
        once = run_cli(config, "sync", "--once", timeout=30)
        assert once.returncode == 3 and f"pid {first.pid}" in once.stderr
        assert first.poll() is None  # the first one is not disturbed
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0


def test_sigterm_during_a_pull_exits_0_quickly_and_leaves_a_clean_store(
    make_env: Any, children: list[subprocess.Popen[bytes]]
) -> None:
    env, config, _port = daemon_env(make_env, seed=62, complaints=80)
    add_tickets(env, 2)
    env.world.faults.set("detail", latency_ms=30)
    env.world.faults.set("followups", latency_ms=30)
    log_path = env.tmp_path / "daemon.log"
    with log_path.open("wb") as log:
        proc = start_cli(config, "run", log=log)
        children.append(proc)
        assert wait_for(lambda: env.world.stats.count("detail") >= 5), "no pull in progress"
        proc.send_signal(signal.SIGTERM)
        began = time.monotonic()
        assert proc.wait(timeout=30) == 0
        elapsed = time.monotonic() - began
    assert elapsed < 5, f"stopping took {elapsed:.1f}s"
    assert store_checks(env.settings.store.path) == ("ok", 0, 0)
    text = log_path.read_text(encoding="utf-8")
    for event in ("daemon_started", "daemon_stopping", "daemon_stopped", "SIGTERM"):
        assert event in text
    assert "Traceback" not in text
    leaked = [p for p in env.world.personal_data() | {"081277778888"} if p and p in text]
    assert leaked == []


def test_kill_9_at_random_moments_then_one_clean_pass_loses_and_duplicates_nothing(
    make_env: Any, children: list[subprocess.Popen[bytes]]
) -> None:
    env, config, port = daemon_env(make_env, seed=63, complaints=60)
    world = env.world
    world.faults.set("detail", latency_ms=15)
    world.faults.set("followups", latency_ms=15)
    world.faults.set("create", latency_ms=60)
    rng = random.Random(2026)
    refs: list[str] = []
    for round_no in range(5):
        refs += add_tickets(env, 3, start=len(refs))
        proc = start_cli(config, "run")
        children.append(proc)
        assert wait_for(endpoint_up(port)), f"round {round_no}: the daemon never listened"
        time.sleep(rng.uniform(0.0, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert store_checks(env.settings.store.path)[0] == "ok"

    visible = {
        a.name: set(map(str, world.visible_ids(a.institution_id))) for a in env.settings.accounts
    }
    done = run_cli(config, "sync", "--once", timeout=60)
    assert "pull: FAILED" not in done.stderr and "push: FAILED" not in done.stderr, done.stderr
    assert "pull:" in done.stdout and "push:" in done.stdout, done.stdout

    conn = sqlite3.connect(env.settings.store.path, timeout=10)
    try:
        for account, ids in visible.items():
            mirrored = {
                r[0]
                for r in conn.execute(
                    "SELECT remote_id FROM remote_complaints WHERE account = ?", [account]
                )
            }
            assert ids <= mirrored, f"{account}: {len(ids - mirrored)} complaints not mirrored"
        states = [r[0] for r in conn.execute("SELECT state FROM outbox ORDER BY id")]
    finally:
        conn.close()
    for ref in refs:
        assert len(world.find_by_tag(ref)) == 1, ref
    assert states == ["done"] * len(refs)
    assert store_checks(env.settings.store.path) == ("ok", 0, 0)

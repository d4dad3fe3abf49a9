"""Pull against the sandbox: nothing lost, nothing half-written, the cursor safe."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import timedelta
from typing import Any

import pytest

from lapor_sync.app import open_app, pull_account
from lapor_sync.errors import DataSafetyError, RetryableRemoteError
from lapor_sync.logs import configure_logging, reset_logging
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.sandbox import render as sandbox_render
from lapor_sync.store import mirror
from lapor_sync.store.db import integrity_ok
from tests.conftest import settings_for

PEMPROV = "pemprov-lampung"


def mirrored_ids(env: Any, account: str = PEMPROV) -> set[str]:
    rows = env.app.db.execute(
        "SELECT remote_id FROM remote_complaints WHERE account = ?", [account]
    ).fetchall()
    return {r[0] for r in rows}


def visible_ids(env: Any, institution: str = "18") -> set[str]:
    return {str(i) for i in env.world.visible_ids(institution)}


def followups_in_world(env: Any) -> set[tuple[str, str]]:
    out = set()
    for cid in env.world.visible_ids("18"):
        for f in env.world.complaint(cid).followups:
            out.add((str(cid), str(f.id)))
    return out


def followups_mirrored(env: Any) -> set[tuple[str, str]]:
    rows = env.app.db.execute(
        "SELECT complaint_id, remote_id FROM remote_followups WHERE account = ?", [PEMPROV]
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def test_backfill_brings_every_visible_complaint_with_histories(make_env: Any) -> None:
    world = SandboxWorld(seed=3)
    seed_world(world, complaints=120)
    env = make_env(world, page_size=25)
    summary = pull_account(env.app, PEMPROV)
    assert mirrored_ids(env) == visible_ids(env)
    assert followups_mirrored(env) == followups_in_world(env)
    assert summary.new == len(visible_ids(env)) and summary.quarantined == 0
    # status histories are complete, oldest first as the remote reports them
    some = next(iter(world.visible_ids("18")))
    logs = env.app.db.execute(
        "SELECT count(*) FROM remote_status_history WHERE account=? AND complaint_id=?",
        [PEMPROV, str(some)],
    ).fetchone()[0]
    assert logs == len(world.complaint(some).status_logs)
    # the cursor is the newest server timestamp, not the local clock
    newest = max(world.complaint(i).updated_at for i in world.visible_ids("18"))
    assert mirror.get_cursor(env.app.db, PEMPROV) == newest


def test_incremental_pull_fetches_only_what_changed(make_env: Any) -> None:
    world = SandboxWorld(seed=4)
    ids = seed_world(world, complaints=80)
    env = make_env(world, page_size=100)
    pull_account(env.app, PEMPROV)
    cursor = mirror.get_cursor(env.app.db, PEMPROV)
    assert cursor is not None
    # Complaints in the cursor's very second are read again (one-second timestamps) —
    # unless the first pull read them a whole lookback after that second: then settled.
    settled = world.now() >= cursor + timedelta(seconds=1) + env.settings.pull.lookback
    at_cursor = [i for i in world.visible_ids("18") if world.complaint(i).updated_at == cursor]
    if settled:
        at_cursor = []
    world.advance(timedelta(hours=1))
    visible = world.visible_ids("18")
    changed = visible[:3]
    for cid in changed:
        world.reply_as_reporter(cid, "Mohon ditindaklanjuti segera.")
    world.stats.reset()
    summary = pull_account(env.app, PEMPROV)
    assert summary.changed == 3 and summary.new == 0 and summary.followups_new == 3
    assert world.stats.count("detail") == 3 + len(at_cursor)
    assert world.stats.count("followups") == 3 + len(at_cursor)
    # one safety probe plus one listing page
    assert world.stats.count("list") == 2
    assert len(ids) >= len(visible)


def test_a_second_change_within_the_same_second_is_not_missed(make_env: Any) -> None:
    world = SandboxWorld(seed=14)  # the sandbox clock stands still unless advanced
    env = make_env(world)
    cid = world.add_complaint("Jalan rusak", "Isi laporan", created_by="18")
    pull_account(env.app, PEMPROV)
    world.verify(cid)  # same second: updated_at does not change
    pull_account(env.app, PEMPROV)
    status = env.app.db.execute("SELECT status_name FROM remote_complaints").fetchone()[0]
    assert status == "Terverifikasi"
    # once the feed has moved past that second, the complaint is not fetched again
    world.advance(timedelta(minutes=1))
    other = world.add_complaint("Lain", "Isi lain", created_by="18")
    pull_account(env.app, PEMPROV)
    world.stats.reset()
    summary = pull_account(env.app, PEMPROV)
    assert world.stats.count("detail") == 1  # only the newest, in the cursor's second
    assert summary.unchanged == 2 and str(other) in mirrored_ids(env)


def test_more_equal_timestamps_than_a_page_lose_nothing(make_env: Any) -> None:
    world = SandboxWorld(seed=5)
    seed_world(world, complaints=140, same_updated_at=90)
    env = make_env(world, page_size=20)
    pull_account(env.app, PEMPROV)
    assert mirrored_ids(env) == visible_ids(env)


def test_updates_while_paging_lose_nothing(make_env: Any) -> None:
    world = SandboxWorld(seed=6)
    seed_world(world, complaints=150, same_updated_at=60)
    env = make_env(world, page_size=20)
    # every second page request moves an already-listed complaint to the end
    world.faults.set("list", page_shift=True)
    pull_account(env.app, PEMPROV)
    world.faults.clear()
    pull_account(env.app, PEMPROV)  # the look-back catches what moved at the very end
    assert mirrored_ids(env) == visible_ids(env)
    assert followups_mirrored(env) == followups_in_world(env)
    stored = dict(
        env.app.db.execute(
            "SELECT remote_id, updated_at FROM remote_complaints WHERE account=?", [PEMPROV]
        ).fetchall()
    )
    for cid in world.visible_ids("18"):
        assert stored[str(cid)] == world.complaint(cid).updated_at.isoformat()


def test_a_malformed_record_is_quarantined_and_the_run_goes_on(
    make_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = SandboxWorld(seed=8)
    seed_world(world, complaints=30)
    env = make_env(world)
    victim = world.visible_ids("18")[5]
    real_summary = sandbox_render.summary

    def broken(c: Any, status: Any) -> dict:
        data = real_summary(c, status)
        if c.id == victim:
            data["created_at"] = "kemarin sore"
        return data

    monkeypatch.setattr(sandbox_render, "summary", broken)
    summary = pull_account(env.app, PEMPROV)
    assert summary.quarantined == 1
    assert mirrored_ids(env) == visible_ids(env) - {str(victim)}
    row = env.app.db.execute("SELECT remote_id, reason, raw FROM quarantine").fetchone()
    assert row[0] == str(victim) and "created_at" in row[1]
    assert "kemarin" not in row[1]  # the reason names the field, not the value
    assert "kemarin sore" in row[2]  # the record itself is kept, nothing lost
    event = env.app.db.execute("SELECT detail FROM events WHERE kind='quarantined'").fetchone()
    assert "created_at" in json.loads(event[0])["reason"]

    # once the server sends it properly, the next pull picks it up and clears the quarantine
    monkeypatch.setattr(sandbox_render, "summary", real_summary)
    pull_account(env.app, PEMPROV)
    assert mirrored_ids(env) == visible_ids(env)
    assert (
        env.app.db.execute("SELECT count(*) FROM quarantine WHERE resolved_at IS NULL").fetchone()[
            0
        ]
        == 0
    )


def _snapshot(db: Any) -> dict[str, Any]:
    return {
        table: sorted(db.execute(f"SELECT {cols} FROM {table}").fetchall())
        for table, cols in [
            ("remote_complaints", "account, remote_id, status_name, updated_at, content"),
            ("remote_followups", "account, remote_id, complaint_id, content"),
            ("remote_status_history", "account, complaint_id, status_name, at"),
            ("remote_dispositions", "account, complaint_id, to_id, at"),
        ]
    }


def test_retries_running_out_mid_paging_commit_nothing_of_that_page_then_converge(
    make_env: Any, tmp_path: Any
) -> None:
    world = SandboxWorld(seed=9)
    seed_world(world, complaints=100)
    env = make_env(world, page_size=20)
    attempts = env.settings.http.retry_attempts
    # the safety probe is skipped on an empty store; pages 1-2 succeed, page 3 keeps failing
    world.faults.script("list", ["ok", "ok", *["503"] * attempts])
    with pytest.raises(RetryableRemoteError):
        pull_account(env.app, PEMPROV)
    db = env.app.db
    assert integrity_ok(db)
    # Two pages were committed (keyset paging: page 2 starts at page 1's last timestamp,
    # inclusive, so they overlap by one); the third committed nothing.
    held = mirrored_ids(env)
    assert 38 <= len(held) <= 40
    cursor = mirror.get_cursor(db, PEMPROV)
    listed = [world.complaint(i) for i in world.visible_ids("18")]
    # cursor safety: everything older than the cursor is held, nothing held is newer
    assert {str(c.id) for c in listed if c.updated_at < cursor} <= held
    assert all(c.updated_at <= cursor for c in listed if str(c.id) in held)
    assert cursor == max(c.updated_at for c in listed if str(c.id) in held)
    failed = db.execute("SELECT outcome, error FROM runs WHERE job='pull'").fetchone()
    assert failed[0] == "failed" and "unavailable" in failed[1]
    assert len(env.sleeps) == attempts - 1  # the waits were injected, not slept

    world.faults.clear()
    pull_account(env.app, PEMPROV)
    assert mirrored_ids(env) == visible_ids(env)

    # the same end state as an uninterrupted pull into a fresh store
    clean_world = SandboxWorld(seed=9)
    seed_world(clean_world, complaints=100)
    with SandboxServer(clean_world) as server:
        (tmp_path / "clean").mkdir()
        clean_app = open_app(settings_for(tmp_path / "clean", server.base_url, page_size=20))
        try:
            pull_account(clean_app, PEMPROV)
            assert _snapshot(clean_app.db) == _snapshot(db)
        finally:
            clean_app.close()


def test_a_local_failure_inside_a_page_rolls_the_page_back(
    make_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = SandboxWorld(seed=10)
    seed_world(world, complaints=60)
    env = make_env(world, page_size=20)
    real_save = mirror.save_complaint
    calls = {"n": 0}

    def failing_save(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 30:  # the 10th complaint of the second page
            raise OSError("disk full")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(mirror, "save_complaint", failing_save)
    with pytest.raises(OSError):
        pull_account(env.app, PEMPROV)
    assert mirror.complaint_count(env.app.db, PEMPROV) == 20
    assert (
        env.app.db.execute("SELECT count(*) FROM events WHERE kind='pulled_new'").fetchone()[0]
        == 20
    )
    monkeypatch.setattr(mirror, "save_complaint", real_save)
    pull_account(env.app, PEMPROV)
    assert mirrored_ids(env) == visible_ids(env)


def test_the_cursor_never_moves_backwards(make_env: Any) -> None:
    world = SandboxWorld(seed=11)
    seed_world(world, complaints=20)
    env = make_env(world)
    pull_account(env.app, PEMPROV)
    before = mirror.get_cursor(env.app.db, PEMPROV)
    assert before is not None
    mirror.advance_cursor(env.app.db, PEMPROV, before - timedelta(days=3), world.now())
    assert mirror.get_cursor(env.app.db, PEMPROV) == before


def test_a_remote_that_suddenly_lists_nothing_stops_the_run(make_env: Any) -> None:
    world = SandboxWorld(seed=12)
    seed_world(world, complaints=60)
    env = make_env(world)
    pull_account(env.app, PEMPROV)
    held = mirror.complaint_count(env.app.db, PEMPROV)
    # the same credentials, but the server now shows an empty instansi
    empty = SandboxWorld(seed=12)
    with SandboxServer(empty) as server:
        env.app.close()
        settings = settings_for(env.tmp_path, server.base_url)
        env.app = open_app(settings, sleep=env.sleeps.append)
        with pytest.raises(DataSafetyError) as info:
            pull_account(env.app, PEMPROV)
    assert "lists 0 complaints" in str(info.value)
    assert mirror.complaint_count(env.app.db, PEMPROV) == held


def test_logs_carry_no_secret_and_no_personal_data(make_env: Any) -> None:
    world = SandboxWorld(seed=13)
    seed_world(world, complaints=40)
    env = make_env(world, page_size=10)
    world.faults.set("detail", error_rate=0.2)
    world.faults.set("list", garbage={"html": 0.2, "truncated": 0.1})
    out = io.StringIO()
    configure_logging(fmt="json", level="debug", stream=out)
    try:
        for _ in range(3):
            with contextlib.suppress(RetryableRemoteError):
                pull_account(env.app, PEMPROV)
    finally:
        reset_logging()
    text = out.getvalue()
    assert "run_summary" in text
    account = env.settings.account(PEMPROV)
    for secret in (account.api_key.get_secret_value(), account.token.get_secret_value()):
        assert secret not in text
    leaked = [p for p in world.personal_data() if p and p in text]
    assert leaked == []

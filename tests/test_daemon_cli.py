"""``status``, ``backup`` and ``sync --once`` as an admin runs them (click's CliRunner)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lapor_sync.app import pull_account, push_outbox
from lapor_sync.cli import cli
from lapor_sync.cli.daemon_cmds import register_daemon_commands
from lapor_sync.daemon.lock import database_lock
from lapor_sync.local.attachments import add_ticket_with_files, check_bytes, folder_of
from lapor_sync.local.register import TicketInput, add_ticket
from lapor_sync.sandbox import SandboxWorld, seed_world
from tests.attachment_files import JPEG, PDF

register_daemon_commands(cli)  # idempotent; cli/__init__.py registers them as well

PEMPROV = "pemprov-lampung"


def invoke(env: Any, *args: str) -> Any:
    config = str(env.tmp_path / "config.toml")
    return CliRunner().invoke(cli, ["--config", config, "--log-level", "error", *args])


def synced_env(make_env: Any, seed: int) -> Any:
    world = SandboxWorld(seed=seed)
    seed_world(world, complaints=30)
    env = make_env(world)
    ticket = TicketInput(
        channel="telepon",
        title="Banjir di perumahan",
        content="Air masuk rumah warga sejak pagi.",
        received_at=world.now(),
        reporter_name="Warga Contoh",
        reporter_phone="081299990000",
        opd_code="BPBD",
        category_id="31",
    )
    add_ticket(env.app.db, ticket, "LPG-{year}-{seq:06d}", PEMPROV)
    pull_account(env.app, PEMPROV)
    push_outbox(env.app)
    return env


def test_status_shows_runs_cursor_backlog_and_no_personal_data(make_env: Any) -> None:
    env = synced_env(make_env, 81)
    env.app.db.execute(
        "INSERT INTO conflicts (ticket_id, kind, opened_at) VALUES (1, 'status', '2026-03-02')"
    )
    result = invoke(env, "status")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "no lapor-sync holds the database" in out
    assert PEMPROV in out and "kota-bandar-lampung" in out
    assert "cursor:" in out and "fetched=" in out and "never run" in out
    assert "Last push:" in out and "pushed=1" in out
    assert "Outbox backlog:   0" in out and "Dead outbox rows: 0" in out
    assert "Conflicts:        1 waiting" in out
    leaked = [p for p in env.world.personal_data() | {"081299990000"} if p and p in out]
    assert leaked == []


def test_status_names_the_daemon_holding_the_lock(make_env: Any) -> None:
    env = synced_env(make_env, 82)
    with database_lock(env.settings.store.path):
        result = invoke(env, "status")
    assert result.exit_code == 0
    assert f"held by lapor-sync pid {os.getpid()}" in result.output


def test_status_without_a_database_says_so(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=83))
    env.app.close()
    config = env.tmp_path / "config.toml"
    config.write_text(
        config.read_text().replace(str(env.tmp_path / "store.db"), str(env.tmp_path / "no.db"))
    )
    result = invoke(env, "status")
    assert result.exit_code == 2 and "no lapor-sync store at" in result.output
    assert not (env.tmp_path / "no.db").exists()  # status never creates one


def test_backup_is_consistent_checked_private_and_refuses_to_overwrite(make_env: Any) -> None:
    env = synced_env(make_env, 84)
    held = env.app.db.execute("SELECT count(*) FROM remote_complaints").fetchone()[0]
    dest = env.tmp_path / "backups" / "lapor-sync.db"
    dest.parent.mkdir()
    # A writer is in the middle of a transaction: the copy is taken anyway, without it.
    env.app.db.execute("BEGIN IMMEDIATE")
    env.app.db.execute("DELETE FROM remote_complaints")
    try:
        result = invoke(env, "backup", str(dest))
    finally:
        env.app.db.execute("ROLLBACK")
    assert result.exit_code == 0, result.output
    assert "integrity check: ok" in result.output
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    copy = sqlite3.connect(dest)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert copy.execute("SELECT count(*) FROM remote_complaints").fetchone()[0] == held
    finally:
        copy.close()
    again = invoke(env, "backup", str(dest))
    assert again.exit_code == 2 and "--force" in again.output
    forced = invoke(env, "backup", "--force", str(dest))
    assert forced.exit_code == 0
    assert sorted(p.name for p in dest.parent.iterdir()) == ["lapor-sync.db"]  # no leftovers


@pytest.mark.parametrize(
    "how",
    ["the store", "its -wal", "its -shm", "its lock", "a symlink to its -wal", "a hard link"],
)
def test_backup_force_never_overwrites_a_file_of_the_store(make_env: Any, how: str) -> None:
    env = synced_env(make_env, 87)
    store = env.settings.store.path
    wal = store.with_name(store.name + "-wal")
    with database_lock(store):  # the daemon runs: its WAL and lock file exist
        pass
    assert wal.exists()
    targets = {
        "the store": store,
        "its -wal": wal,
        "its -shm": store.with_name(store.name + "-shm"),
        "its lock": store.with_name(store.name + ".lock"),
    }
    if how in targets:
        dest = targets[how]
    elif how == "a symlink to its -wal":
        dest = env.tmp_path / "innocent.db"
        dest.symlink_to(wal)
    else:
        dest = env.tmp_path / "hardlink.db"
        os.link(store, dest)
    before = {p.name: p.read_bytes() for p in (store, wal)}
    result = invoke(env, "backup", "--force", str(dest))
    assert result.exit_code == 1, result.output
    assert "the store's own file" in result.output and "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in (store, wal)} == before
    assert env.app.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_backup_carries_the_attachment_files_its_copy_names(make_env: Any) -> None:
    """A restored backup is whole: DEST and attachments/ beside it hold every file the
    copied register names, owner-only; a second backup copies only what is new; a file
    gone from the store is counted as lost, the database copy still written."""
    env = synced_env(make_env, 88)
    folder = folder_of(env.settings.store.path)
    photo, letter = (check_bytes(n, d, 1 << 20, shown=n)
                     for n, d in (("foto.jpg", JPEG), ("surat.pdf", PDF)))
    ticket = TicketInput(
        channel="whatsapp", title="Lampu jalan mati", content="Sudah seminggu gelap.",
        received_at=env.world.now(), opd_code="BPBD", category_id="31",
    )
    add_ticket_with_files(env.app.db, ticket, "LPG-{year}-{seq:06d}", PEMPROV,
                          [photo, letter], folder)
    dest = env.tmp_path / "backups" / "lapor-sync.db"
    dest.parent.mkdir()
    result = invoke(env, "backup", str(dest))
    assert result.exit_code == 0, result.output
    assert "2 copied, 0 already there" in result.output
    kept = dest.parent / "attachments"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    assert {p.name: p.read_bytes() for p in kept.iterdir()} == {
        hashlib.sha256(JPEG).hexdigest(): JPEG, hashlib.sha256(PDF).hexdigest(): PDF}
    assert {stat.S_IMODE(p.stat().st_mode) for p in kept.iterdir()} == {0o600}
    again = invoke(env, "backup", "--force", str(dest))
    assert "0 copied, 2 already there" in again.output
    (folder / hashlib.sha256(JPEG).hexdigest()).unlink()
    elsewhere = env.tmp_path / "backups" / "second"
    elsewhere.mkdir()
    lost = invoke(env, "backup", str(elsewhere / "lapor-sync.db"))
    assert lost.exit_code == 0, lost.output
    assert "1 copied" in lost.output and "1 attachment file(s) the store names are missing" in (
        lost.output)
    assert [p.name for p in (elsewhere / "attachments").iterdir()] == [
        hashlib.sha256(PDF).hexdigest()]
    assert "foto.jpg" not in lost.output and "surat.pdf" not in lost.output


def test_backup_into_a_missing_folder_fails_cleanly(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=85))
    result = invoke(env, "backup", str(env.tmp_path / "nope" / "x.db"))
    assert result.exit_code == 1 and "does not exist" in result.output
    assert "Traceback" not in result.output


def test_sync_once_prints_a_summary_per_step_in_order(make_env: Any) -> None:
    env = synced_env(make_env, 86)
    env.app.close()
    result = invoke(env, "sync", "--once")
    lines = [
        x
        for x in result.output.splitlines()
        if x.split(":")[0] in ("pull", "reconcile", "push", "deadlines")
    ]
    assert [x.split(":")[0] for x in lines] == ["pull", "reconcile", "push", "deadlines"]
    assert lines[0].startswith("pull: accounts=3, failed=0")
    assert lines[2].startswith("push: pushed=0")
    failed = any("FAILED" in x for x in lines)
    assert result.exit_code == (1 if failed else 0)


def test_sync_without_once_is_a_usage_error(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=87))
    result = invoke(env, "sync")
    assert result.exit_code == 2 and "lapor-sync run" in result.output


def test_sync_once_while_a_daemon_holds_the_database_exits_3(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=88))
    with database_lock(Path(env.settings.store.path)):
        result = invoke(env, "sync", "--once")
    assert result.exit_code == 3 and f"pid {os.getpid()}" in result.output

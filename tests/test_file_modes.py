"""Every file lapor-sync writes is owner-only whatever the umask, and a store that any
user may write is refused (docs/operations.md, "Where things are")."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lapor_sync.cli import cli
from lapor_sync.daemon.backup import backup_database
from lapor_sync.daemon.lock import database_lock
from lapor_sync.daemon.queries import open_reader
from lapor_sync.report.html.generate import generate_report
from lapor_sync.sandbox import SandboxWorld, seed_world
from lapor_sync.store.db import StoreError, open_database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(params=[0o000, 0o022], ids=["umask-000", "umask-022"])
def permissive_umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_a_new_store_its_wal_shm_and_folders_are_owner_only(
    tmp_path: Path, permissive_umask: int
) -> None:
    path = tmp_path / "state" / "deeper" / "lapor-sync.db"
    db = open_database(path)
    db.execute("CREATE TABLE probe (x)")
    try:
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert mode(tmp_path / "state") == 0o700
        assert mode(tmp_path / "state" / "deeper") == 0o700
        with database_lock(path):
            assert mode(path.with_name(path.name + ".lock")) == 0o600
        dest = tmp_path / "backup.db"
        backup_database(path, dest)
        assert mode(dest) == 0o600
    finally:
        db.conn.close()


def test_an_existing_store_readable_by_others_is_narrowed(
    tmp_path: Path, permissive_umask: int
) -> None:
    path = tmp_path / "lapor-sync.db"
    open_database(path).conn.close()
    path.chmod(0o644)
    open_database(path).conn.close()
    assert mode(path) == 0o600


@pytest.mark.parametrize("member", ["", "-wal"])
def test_a_store_that_others_can_write_is_refused(tmp_path: Path, member: str) -> None:
    path = tmp_path / "lapor-sync.db"
    db = open_database(path)
    db.execute("CREATE TABLE probe (x)")
    target = path.with_name(path.name + member)
    target.chmod(0o666)
    try:
        for opener in (lambda: open_database(path), lambda: open_reader(path).__enter__()):
            with pytest.raises(StoreError) as info:
                opener()
            assert "can be written by any user" in str(info.value)
            assert f"chmod 600 {target}" in str(info.value)
        assert mode(target) == 0o666  # refused, not silently "fixed"
    finally:
        db.conn.close()


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_report_folder_and_its_files_are_owner_only(make_env: Any, umask: int) -> None:
    world = SandboxWorld(seed=311)
    seed_world(world, complaints=10)
    env = make_env(world)  # its config.toml is written under the test's normal umask
    out = env.tmp_path / "served" / "report"
    old = os.umask(umask)
    try:
        result = generate_report(env.app, out)
        assert mode(out.parent) == 0o700 and mode(out) == 0o700
        assert result.files and {mode(f) for f in result.files} == {0o600}
        generate_report(env.app, out)  # replacing it keeps the modes
        assert mode(out) == 0o700 and {mode(f) for f in out.iterdir()} == {0o600}
    finally:
        os.umask(old)


def test_status_on_a_store_others_can_write_says_what_to_do(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=312))
    store = env.settings.store.path
    env.app.close()
    store.chmod(0o646)
    config = str(env.tmp_path / "config.toml")
    result = CliRunner().invoke(cli, ["--config", config, "--log-level", "error", "status"])
    assert result.exit_code != 0
    assert "can be written by any user" in result.output and "Traceback" not in result.output

"""One lapor-sync per database: the flock beside the store, and what a holder's death does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lapor_sync.daemon.lock import DatabaseLock, database_lock, lock_holder, lock_path_for
from lapor_sync.errors import LockHeldError, describe

ROOT = Path(__file__).resolve().parent.parent

HOLDER = """
import sys, time
from lapor_sync.daemon.lock import DatabaseLock
DatabaseLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(60)
"""


def _start_holder(db: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_the_lock_file_sits_beside_the_database(tmp_path: Path) -> None:
    assert lock_path_for(tmp_path / "store.db") == tmp_path / "store.db.lock"


def test_a_second_holder_in_another_process_is_refused_with_the_pid(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    proc = _start_holder(db)
    try:
        with pytest.raises(LockHeldError) as caught:
            DatabaseLock(db).acquire()
        message = describe(caught.value)
        assert f"pid {proc.pid}" in message
        assert str(db) in message and "Only one lapor-sync" in message
        assert lock_holder(db) == proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_the_lock_dies_with_a_holder_killed_by_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    proc = _start_holder(db)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert lock_path_for(db).exists()  # the file stays; the lock does not
    assert lock_holder(db) is None
    with database_lock(db) as lock:
        assert lock.held
        assert lock_holder(db) == os.getpid()
    assert lock_holder(db) is None


def test_two_locks_in_one_process_conflict_too(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with database_lock(db), pytest.raises(LockHeldError, match=f"pid {os.getpid()}"):
        DatabaseLock(db).acquire()
    DatabaseLock(db).acquire().release()  # free again after the block


def test_the_lock_is_not_inherited_by_child_processes(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with database_lock(db):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = time.monotonic()
        with database_lock(db):  # the child (still alive) holds nothing
            pass
        assert time.monotonic() - started < 5
    finally:
        child.kill()
        child.wait(timeout=10)


def test_no_lock_when_nobody_ever_ran(tmp_path: Path) -> None:
    assert lock_holder(tmp_path / "store.db") is None

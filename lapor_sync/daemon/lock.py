"""One lapor-sync per database: an OS-held lock on ``<db>.lock``.

The lock is ``fcntl.flock(LOCK_EX | LOCK_NB)`` on a file beside the database. The kernel
holds it for the open file description, so it dies with the process: a ``kill -9``, an
OOM kill or a power cut never leaves a stale lock behind, and no PID-file guessing is
needed. The file also carries the holder's PID, only so the refusal can name it.

Who takes it: ``run``, ``sync --once``, ``pull`` and ``push`` (each of them would fight a
running daemon: push turns rows another process is sending into ``unknown``). Commands
that only add local records (``local …``), read (``status``, ``outbox``) or copy
(``backup``, an online SQLite backup) do not: SQLite's own locking covers them.

Invariants: the lock file is never deleted (deleting a locked file lets a second process
lock a *new* file of the same name); the descriptor is close-on-exec, so a child process
never inherits the lock; an in-memory database has nothing to protect and takes no lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from lapor_sync.errors import LockHeldError
from lapor_sync.fsmodes import make_private_dirs

__all__ = ["DatabaseLock", "database_lock", "lock_holder", "lock_path_for"]


def lock_path_for(db_path: Path | str) -> Path:
    """``/var/lib/lapor-sync/lapor-sync.db`` → ``/var/lib/lapor-sync/lapor-sync.db.lock``."""
    path = Path(db_path)
    return path.with_name(path.name + ".lock")


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _held_message(db_path: Path, pid: int | None) -> str:
    who = f"(pid {pid})" if pid else "(pid unknown)"
    return f"Another lapor-sync {who} is using the database {db_path}."


class DatabaseLock:
    """The exclusive lock of one database. ``acquire()`` raises ``LockHeldError`` at once."""

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(db_path)
        self.path = lock_path_for(self.db_path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> DatabaseLock:
        if self._fd is not None or str(self.db_path) == ":memory:":
            return self
        make_private_dirs(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockHeldError(_held_message(self.db_path, pid)) from None
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass  # the PID is only for the message; the lock is what counts
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> DatabaseLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


@contextlib.contextmanager
def database_lock(db_path: Path | str) -> Iterator[DatabaseLock]:
    """Hold the database's lock for the ``with`` block (``LockHeldError`` if taken)."""
    with DatabaseLock(db_path) as lock:
        yield lock


def lock_holder(db_path: Path | str) -> int | None:
    """The PID of the lapor-sync holding the database, or None if nobody holds it.

    Probes with a shared non-blocking lock, released at once. (A daemon starting in that
    same microsecond would be refused and restarted by systemd; ``status`` accepts that.)
    Returns 0 when the lock is held but the holder's PID is not (yet) written.
    """
    path = lock_path_for(db_path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return _read_pid(fd) or 0
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)

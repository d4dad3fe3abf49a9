"""Owner-only files and folders, whatever the umask.

Everything lapor-sync writes holds personal data or says something about it: the store
(names, NIK, phone numbers) with its ``-wal``/``-shm``, its lock file, backups and the
liaison report. So every file it creates is ``0600`` and every folder ``0700``
(docs/operations.md, "Where things are"), set explicitly rather than left to the umask:
a permissive umask (``0o000``, ``0o022``) must never widen them, and a stricter one must
not make a folder unusable to its owner.

Invariants: these functions only ever create or narrow; an existing folder is never
changed (``/var/lib/lapor-sync`` belongs to the admin); a file is created with
``O_EXCL``/``O_NOFOLLOW`` where it must be new, so a symlink planted in its place is not
followed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = [
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "create_private_file",
    "make_private_dirs",
    "narrow_to_owner",
    "open_private",
    "writable_by_others",
]

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each ``0700``; existing ones are kept."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # created meanwhile by someone else: theirs, left as it is
        os.chmod(path, PRIVATE_DIR)  # mkdir's mode passed through the umask


def open_private(path: Path, flags: int) -> int:
    """``os.open(path, flags | O_CREAT | O_CLOEXEC)`` making a new file ``0600``.

    A file that already exists keeps its mode, unless it is wider than ``0600``: then it
    is narrowed (it is being rewritten by lapor-sync, so it is ours).
    """
    fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & ~PRIVATE_FILE:
            os.fchmod(fd, mode & PRIVATE_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private_file(path: Path) -> bool:
    """Create an empty ``0600`` file at ``path`` unless one exists; True when created."""
    try:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE
        )
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return True


def narrow_to_owner(path: Path) -> None:
    """Take every group and other permission off an existing file of ours (if any)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & 0o700)


def writable_by_others(path: Path) -> int | None:
    """The mode of ``path`` when any user on the machine may write it, else None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    return mode if mode & stat.S_IWOTH else None

"""``lapor-sync backup DEST``: an online, consistent copy of the store.

SQLite's backup API (``sqlite3.Connection.backup``) copies the database as of one read
transaction, while the daemon goes on writing (in WAL mode a reader does not block the
writer). The copy is written to a temporary file beside ``DEST`` (mode 0600: the store
holds personal data), switched out of WAL mode so it is one self-contained file, checked
with ``PRAGMA integrity_check``, flushed to disk and only then renamed to ``DEST``. An
existing ``DEST`` is refused unless ``force`` is given; a failed check leaves ``DEST``
untouched.

``DEST`` may never be one of the store's own files (the database, its ``-wal``, ``-shm``
or ``-journal``, its ``.lock``), whatever name it is reached by: paths are compared after
resolving symlinks, and existing files by device and inode, so a symlink or a hard link to
the running store's WAL is refused too (replacing it would damage the running store).

Attachment files (``attachments/<sha256>`` beside the store, docs/local-records.md) are
copied after the database into ``attachments/`` beside ``DEST`` (folder 0700, files 0600),
so a backup file restored into a folder together with its ``attachments/`` is whole: the
store finds its files beside itself. Only the hashes the *copy* names are copied, so the
files match the snapshot; bytes are content-addressed and never change, so a file already
in the backup's folder under its hash is kept (a second backup into the same folder copies
only what is new), and each copied file is checked against its hash while it is copied. A
named file missing from the store's folder, or whose bytes no longer match their hash, is
counted, not copied, and the database copy still stands: the counts say what is lost.
A ``DEST`` in the store's own folder shares the store's ``attachments/``: nothing to copy.

No lock is taken: a backup is safe next to a running daemon, and must be possible while
one runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from lapor_sync.daemon.queries import open_reader
from lapor_sync.errors import BackupError
from lapor_sync.fsmodes import make_private_dirs, open_private
from lapor_sync.local.attachments import folder_of
from lapor_sync.store.attachments import referenced_hashes

_CHUNK = 1 << 20

__all__ = ["BackupError", "BackupResult", "backup_database"]


@dataclass(frozen=True)
class AttachmentCopy:
    """What the backup did with the attachment files its database copy names."""

    copied: int = 0
    already_there: int = 0
    missing: int = 0
    damaged: int = 0

    @property
    def lost(self) -> int:
        return self.missing + self.damaged


@dataclass(frozen=True)
class BackupResult:
    path: Path
    pages: int
    size: int
    attachments: AttachmentCopy = AttachmentCopy()


def backup_database(source: Path | str, dest: Path | str, *, force: bool = False) -> BackupResult:
    """Copy ``source`` to ``dest`` consistently; see the module docstring."""
    src_path, target = Path(source), Path(dest)
    owned = _store_file_of(src_path, target)
    if owned is not None:
        raise BackupError(
            f"{target} is the store's own file {owned.name}; "
            "write the backup somewhere outside the store's files"
        )
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the backup's file name")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; use --force to replace it")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        os.close(fd)
        with open_reader(src_path) as src:
            copy = sqlite3.connect(str(partial))
            try:
                src.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
                row = copy.execute("PRAGMA integrity_check").fetchone()
                if not row or row[0] != "ok":
                    raise BackupError(
                        "the copy failed its integrity check; the original may be damaged: "
                        "run PRAGMA integrity_check on it"
                    )
                pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
                hashes = referenced_hashes(sqlite_utils.Database(copy))
            finally:
                copy.close()
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
        _fsync_dir(target.parent)
        files = _copy_attachments(folder_of(src_path), folder_of(target), hashes)
    except sqlite3.Error as exc:
        raise BackupError(f"the backup failed: {exc}") from None
    except OSError as exc:
        raise BackupError(f"the backup failed: {exc.strerror or type(exc).__name__}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                partial.with_name(partial.name + suffix).unlink()
    return BackupResult(target, pages, target.stat().st_size, files)


def _copy_attachments(source: Path, dest: Path, hashes: list[str]) -> AttachmentCopy:
    """Copy the files named by ``hashes`` from ``source`` to ``dest``; see the docstring."""
    if not hashes:
        return AttachmentCopy()
    if source.resolve() == dest.resolve():
        return AttachmentCopy(already_there=len(hashes))
    make_private_dirs(dest)
    copied = there = missing = damaged = 0
    for sha in hashes:
        if (dest / sha).is_file() and _hash_of(dest / sha) == sha:
            there += 1
        elif not (source / sha).is_file():
            missing += 1
        elif _copy_checked(source / sha, dest, sha):
            copied += 1
        else:
            damaged += 1
    _fsync_dir(dest)
    return AttachmentCopy(copied, there, missing, damaged)


def _hash_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_checked(path: Path, dest: Path, sha: str) -> bool:
    """Copy ``path`` to ``dest/sha`` (0600, via a temporary name); False if it is not ``sha``."""
    temporary = dest / f".{sha}.{os.getpid()}.partial"
    digest = hashlib.sha256()
    try:
        fd = open_private(temporary, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        with os.fdopen(fd, "wb") as out, open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha:
            return False
        os.replace(temporary, dest / sha)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


STORE_SUFFIXES: tuple[str, ...] = ("", "-wal", "-shm", "-journal", ".lock")
"""The files SQLite and lapor-sync keep beside (or as) the database ``<db>``."""


def _store_file_of(store: Path, target: Path) -> Path | None:
    """The store file ``target`` is (by resolved path or by inode), or None."""
    # Both the name given and the resolved one: SQLite names the -wal after the path it
    # opened, and the lock after the configured path.
    bases = {store, store.resolve()}
    family = [base.with_name(base.name + suffix) for base in bases for suffix in STORE_SUFFIXES]
    resolved_target = target.resolve()
    for member in family:
        if member.resolve() == resolved_target:
            return member
    try:
        target_stat = target.stat()
    except OSError:
        return None  # a new file cannot be a link to an existing one
    for member in family:
        try:
            member_stat = member.stat()
        except OSError:
            continue
        if (member_stat.st_dev, member_stat.st_ino) == (target_stat.st_dev, target_stat.st_ino):
            return member
    return None


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""An in-memory copy of the store, taken without writing a byte of it (for ``sync --dry-run``).

:func:`memory_copy` opens the store read-only and copies one consistent state of it into
an in-memory database with SQLite's online backup. The caller may then run the real sync
code on the copy — pull, adopt, reconcile, push with its network writes stubbed — and
read what it did there; the store itself is never written.

How the store is opened, and why:

- When the store has a ``-wal`` file (a lapor-sync is running, or crashed), it is opened
  with ``mode=ro``: the ``-wal`` and ``-shm`` already exist, so SQLite creates nothing
  and the copy includes what is committed in the write-ahead log.
- When it has none (every connection closed cleanly, so the database file alone is the
  whole store), ``mode=ro`` would *create* an empty ``-wal`` and ``-shm`` that a read-only
  connection cannot remove afterwards. The file is opened ``immutable`` instead, which
  creates nothing; because an immutable reader does not see a writer that starts
  meanwhile, the copy is kept only when the file's size and modification time are the
  same after it as before it and still no ``-wal`` exists; otherwise it is taken again
  (then with ``mode=ro``, since the writer made the ``-wal``).

Invariants: the store's files are never written, created or removed here; the copy holds
personal data like the store and lives in this process's memory only (never a file).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

import sqlite_utils

from lapor_sync.store.db import BUSY_TIMEOUT_MS, StoreError, refuse_if_writable_by_others

__all__ = ["memory_copy"]

_ATTEMPTS = 3


def memory_copy(path: Path | str) -> sqlite_utils.Database:
    """One consistent state of the store at ``path``, copied into memory.

    Raises ``StoreError`` when there is no store at ``path`` or it cannot be read.
    The copy allows use from several threads (the pull fetches in worker threads).
    """
    store = Path(path)
    if not store.is_file():
        raise StoreError(f"no database at {store} (lapor-sync has not run yet?)")
    refuse_if_writable_by_others(store)
    for _ in range(_ATTEMPTS):
        before = _state(store)
        copy = _copy(store, immutable=not before[2])
        if before[2] or _state(store) == before:
            return copy
        copy.close()  # a writer began meanwhile: the immutable read may be torn
    raise StoreError(f"the store at {store} kept changing while it was copied; try again")


def _state(store: Path) -> tuple[int, int, bool]:
    info = store.stat()
    return info.st_size, info.st_mtime_ns, store.with_name(store.name + "-wal").exists()


def _copy(store: Path, *, immutable: bool) -> sqlite_utils.Database:
    mode = "ro&immutable=1" if immutable else "ro"
    uri = f"file:{quote(str(store.resolve()))}?mode={mode}"
    memory = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        source = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            source.backup(memory)
        finally:
            source.close()
    except sqlite3.Error as exc:
        memory.close()
        raise StoreError(f"cannot read the store at {store}: {exc}") from None
    # Explicit BEGIN/COMMIT only, as for the store itself (store/db.py).
    memory.isolation_level = None
    memory.execute("PRAGMA foreign_keys=ON")
    return sqlite_utils.Database(memory)


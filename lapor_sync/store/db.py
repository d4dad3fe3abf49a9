"""Opening the SQLite store, and transactions.

Invariants:
- every connection runs in WAL mode with a busy timeout, foreign keys on, and
  ``synchronous=FULL`` (a committed cursor or outbox row must survive a power cut, since
  the remote cannot be asked what we already sent);
- every write goes through ``transaction()``: ``BEGIN IMMEDIATE`` takes the write lock up
  front, so two writers queue on the busy timeout instead of failing half-way through;
  nested use becomes a savepoint. Writers *in this process* (lanes, accounts pulled in
  parallel, each on its own connection) first queue on one Python lock per store file:
  SQLite's busy handler polls with growing sleeps and can starve one of many writers
  past the busy timeout, a lock hands the store over in turn;
- migrations are applied on open and are safe to re-run;
- the store holds personal data: a new store is created ``0600`` in folders created
  ``0700`` whatever the umask (SQLite gives its ``-wal``/``-shm`` the database's mode), an
  existing one is narrowed to its owner, and a store that any user may write is refused.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from lapor_sync.errors import StoreError as StoreError
from lapor_sync.fsmodes import (
    create_private_file,
    make_private_dirs,
    narrow_to_owner,
    writable_by_others,
)

BUSY_TIMEOUT_MS = 10_000
# Prepared statements a connection keeps (the driver's default is 128). A sync pass runs
# about 170 distinct statements (counted over the model test's examples), so with 128 the
# least recently used were parsed and planned again on every pass.
STATEMENT_CACHE = 512


def open_database(path: Path | str, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the store at ``path``; ``":memory:"`` for tests."""
    memory = str(path) == ":memory:"
    if not memory:
        target = Path(path)
        try:
            make_private_dirs(target.parent)
        except OSError as exc:
            raise StoreError(
                f"cannot create the store's folder {target.parent}: {exc.strerror}"
            ) from None
        refuse_if_writable_by_others(target)
        try:
            # Before SQLite creates it with 0644 (less the umask): its -wal and -shm
            # copy this mode. A zero-length file is a valid empty database.
            create_private_file(target)
        except OSError as exc:
            raise StoreError(f"cannot create the store {target}: {exc.strerror}") from None
        for member in store_files(target):
            with contextlib.suppress(OSError):  # not ours to change: left as it is
                narrow_to_owner(member)
    try:
        conn = sqlite3.connect(
            str(path),
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
            cached_statements=STATEMENT_CACHE,
        )
        # Explicit BEGIN/COMMIT only: the driver must not open transactions on its own.
        conn.isolation_level = None
        if not memory:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store at {path}: {exc}") from None
    db = sqlite_utils.Database(conn)
    if migrate:
        from lapor_sync.store.migrations import apply_migrations

        try:
            apply_migrations(db)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot prepare the store at {path}: {exc}") from None
    return db


STORE_SUFFIXES: tuple[str, ...] = ("", "-wal", "-shm", "-journal")


def store_files(path: Path) -> list[Path]:
    """The database file and the files SQLite keeps beside it."""
    return [path.with_name(path.name + suffix) for suffix in STORE_SUFFIXES]


def refuse_if_writable_by_others(path: Path) -> None:
    """``StoreError`` when any user on this machine may write the store or its journal."""
    for member in store_files(path):
        mode = writable_by_others(member)
        if mode is not None:
            raise StoreError(
                f"refusing to open the store: {member} can be written by any user on this "
                f"machine (mode {mode:04o}); check it was not tampered with, then run: "
                f"chmod 600 {member}"
            )


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One atomic unit of work: all of it is committed, or none of it."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    turn = _writer_lock(db)
    if turn is not None and not turn.acquire(timeout=WRITER_WAIT_S):
        raise StoreError("the store stayed busy with other writes; try again")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            _rollback(conn)
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
    finally:
        if turn is not None:
            turn.release()


WRITER_WAIT_S = 120.0
_writer_locks: dict[str, threading.Lock] = {}
# The file behind each open Database, asked of SQLite once: a connection's main database
# never changes, and asking on every transaction was 13 % of the model test's SQL time.
_store_names: weakref.WeakKeyDictionary[sqlite_utils.Database, str] = weakref.WeakKeyDictionary()
_writer_locks_guard = threading.Lock()


def _writer_lock(db: sqlite_utils.Database) -> threading.Lock | None:
    """The in-process write lock of the connection's store file (None: in-memory)."""
    with _writer_locks_guard:
        name = _store_names.get(db)
    if name is None:
        row = db.conn.execute("PRAGMA database_list").fetchone()
        name = str(row[2]) if row and row[2] else ""
        with _writer_locks_guard:
            _store_names[db] = name
    if not name:
        return None
    with _writer_locks_guard:
        return _writer_locks.setdefault(name, threading.Lock())


def _rollback(conn: sqlite3.Connection) -> None:
    # An error such as SQLITE_FULL may already have rolled the transaction back.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


@contextmanager
def read_snapshot(db: sqlite_utils.Database) -> Iterator[None]:
    """Several reads against one consistent state of the store (a read transaction).

    Inside a transaction already, the reads simply share it.
    """
    conn = db.conn
    owned = not conn.in_transaction
    if owned:
        conn.execute("BEGIN")
    try:
        yield
    finally:
        if owned:
            conn.execute("COMMIT")


def read_rows(
    db: sqlite_utils.Database, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> list[dict[str, Any]]:
    """The rows of the SELECT ``sql``, each a dict by column name, read on the connection.

    For reads only (a write here is not refused, unlike ``db.query``). sqlite-utils'
    ``query`` wraps each statement in a savepoint, two statements more per read and,
    outside a transaction, a transaction of its own: a complaint's page makes ten reads.
    Column names must be distinct (``query`` would rename a repeated one; here the last
    would win).
    """
    cursor = db.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def reopenable_path(db: sqlite_utils.Database) -> str | None:
    """The file behind ``db``, for a second connection; None for an in-memory store."""
    row = db.execute("PRAGMA database_list").fetchone()
    name = str(row[2]) if row and row[2] else ""
    return name or None


def integrity_ok(db: sqlite_utils.Database) -> bool:
    row = db.execute("PRAGMA integrity_check").fetchone()
    return bool(row and row[0] == "ok")

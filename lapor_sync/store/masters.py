"""SP4N-LAPOR!'s master lists as last synced (tables ``remote_masters``,
``remote_masters_synced``): institutions and reply templates, per account.

Owner of both tables. ``replace`` swaps an account's whole set of one kind in the
caller's transaction, so a listing that no longer holds an institution removes it; a
changed name is kept with the name before (``previous_name``) and when it was seen
(``renamed_at``), until the next rename. Public master data only: no personal data.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlite_utils

from lapor_sync.timeutil import to_db

Kind = Literal["institution", "template"]


@dataclass(frozen=True)
class MasterEntry:
    remote_id: str
    name: str
    code: str | None = None
    content: str | None = None


@dataclass(frozen=True)
class SyncedInstitution:
    remote_id: str
    name: str
    previous_name: str | None
    renamed_at: str | None


def replace(
    db: sqlite_utils.Database,
    account: str,
    kind: Kind,
    entries: Iterable[MasterEntry],
    now: datetime,
) -> int:
    """Make ``entries`` the account's set of ``kind``; returns how many names changed."""
    conn = db.conn
    before = {
        row[0]: (row[1], row[2], row[3])
        for row in conn.execute(
            "SELECT remote_id, name, previous_name, renamed_at FROM remote_masters "
            "WHERE account = ? AND kind = ?",
            [account, kind],
        )
    }
    conn.execute("DELETE FROM remote_masters WHERE account = ? AND kind = ?", [account, kind])
    renamed = 0
    count = 0
    stamp = to_db(now)
    for entry in {e.remote_id: e for e in entries}.values():
        count += 1
        previous, renamed_at = None, None
        if entry.remote_id in before:
            old_name, previous, renamed_at = before[entry.remote_id]
            if old_name != entry.name:
                previous, renamed_at = old_name, stamp
                renamed += 1
        conn.execute(
            "INSERT INTO remote_masters (account, kind, remote_id, name, code, content, "
            "previous_name, renamed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                account,
                kind,
                entry.remote_id,
                entry.name,
                entry.code,
                entry.content,
                previous,
                renamed_at,
            ],
        )
    conn.execute(
        "INSERT INTO remote_masters_synced (account, kind, synced_at, entries) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (account, kind) DO UPDATE SET "
        "synced_at = excluded.synced_at, entries = excluded.entries",
        [account, kind, stamp, count],
    )
    return renamed


def synced_at(conn: sqlite3.Connection, account: str, kind: Kind) -> str | None:
    row = conn.execute(
        "SELECT synced_at FROM remote_masters_synced WHERE account = ? AND kind = ?",
        [account, kind],
    ).fetchone()
    return str(row[0]) if row else None


def institutions(conn: sqlite3.Connection, account: str) -> dict[str, SyncedInstitution]:
    """The account's last synced institutions by id (empty when never synced)."""
    return {
        row[0]: SyncedInstitution(row[0], row[1], row[2], row[3])
        for row in conn.execute(
            "SELECT remote_id, name, previous_name, renamed_at FROM remote_masters "
            "WHERE account = ? AND kind = 'institution'",
            [account],
        )
    }


def templates(conn: sqlite3.Connection, account: str) -> list[MasterEntry]:
    return [
        MasterEntry(row[0], row[1], row[2], row[3])
        for row in conn.execute(
            "SELECT remote_id, name, code, content FROM remote_masters "
            "WHERE account = ? AND kind = 'template' ORDER BY code, remote_id",
            [account],
        )
    ]

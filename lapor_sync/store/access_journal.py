"""Owner of ``access_journal``: every portal view or export that showed personal data.

UU 27/2022 (Pelindungan Data Pribadi) expects a controller to know who saw whose data.
Invariants: append-only (nothing here updates or deletes); a row names what was shown
(``identity``, ``content``, ``secret_content``), never the data itself; a row is written
only when the view really showed one of those (the portal decides per request).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from lapor_sync.store.db import transaction
from lapor_sync.timeutil import to_db

SHOWN_KINDS = ("identity", "content", "secret_content")


@dataclass(frozen=True, slots=True)
class Access:
    at: str
    user_name: str
    role: str
    ticket_ref: str
    view: str
    shown: tuple[str, ...]
    address: str | None


def record_access(
    db: sqlite_utils.Database,
    *,
    now: datetime,
    user_name: str,
    role: str,
    ticket_ref: str,
    view: str,
    shown: Iterable[str],
    address: str | None,
) -> None:
    kinds = tuple(shown)
    unknown = [k for k in kinds if k not in SHOWN_KINDS]
    if unknown or not kinds:
        raise ValueError(f"shown must be some of {SHOWN_KINDS}")
    with transaction(db):
        db.execute(
            "INSERT INTO access_journal (at, user_name, role, ticket_ref, view, shown, address) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [to_db(now), user_name, role, ticket_ref, view, ",".join(kinds), address],
        )


def list_access(
    db: sqlite_utils.Database,
    *,
    since: datetime | None = None,
    user_name: str | None = None,
    ticket_ref: str | None = None,
    limit: int = 1000,
) -> list[Access]:
    where, params = ["1 = 1"], []
    if since is not None:
        where.append("at >= ?")
        params.append(to_db(since))
    if user_name:
        where.append("user_name = ?")
        params.append(user_name.strip().lower())
    if ticket_ref:
        where.append("ticket_ref = ?")
        params.append(ticket_ref.strip())
    rows = db.execute(
        "SELECT at, user_name, role, ticket_ref, view, shown, address FROM access_journal "
        f"WHERE {' AND '.join(where)} ORDER BY at DESC, id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [Access(r[0], r[1], r[2], r[3], r[4], tuple(str(r[5]).split(",")), r[6]) for r in rows]

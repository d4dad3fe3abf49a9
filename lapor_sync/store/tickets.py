"""Owner of the OPD register's tables: ``local_tickets``, ``local_followups``,
``local_forwards`` and ``ref_sequences``.

Every write lapor-sync makes to these tables is one of the named functions here; the
rules about *when* to write (validation, which state follows which) live with the callers
(``local/register.py``, ``sync/adopt.py``, ``sync/reconcile.py``, ``sync/outbox.py``).
Other local software may write the same tables directly (docs/local-records.md).

Invariants:
- none of these functions opens a transaction: each is one step of the caller's unit of
  work (the caller holds ``transaction(db)``), so a change and its outbox row, written by
  the schema's triggers, commit together;
- a reference number of a year is issued once: ``next_ref_number`` increments the year's
  counter and reads it inside the caller's transaction;
- a follow-up's remote id is filled in at most once by an echo (``claim_followup_echo``
  only touches a follow-up that has none yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlite_utils

# Columns a caller may give when it creates a ticket (``id`` is SQLite's, ``status`` has a
# default for local tickets); the names are fixed here so no caller's text reaches the SQL.
TICKET_COLUMNS: frozenset[str] = frozenset(
    {
        "ref",
        "origin",
        "account",
        "channel",
        "reporter_name",
        "reporter_phone",
        "reporter_email",
        "is_anonymous",
        "is_secret",
        "title",
        "content",
        "category_id",
        "opd_code",
        "location_id",
        "date_of_incident",
        "received_at",
        "import_key",
        "classification_id",
        "disposition_id",
        "status",
        "created_at",
        "updated_at",
    }
)

# What may still be corrected on a ticket that is not on SP4N-LAPOR! yet.
EDITABLE_COLUMNS: tuple[str, ...] = (
    "channel",
    "title",
    "content",
    "reporter_name",
    "reporter_phone",
    "reporter_email",
    "is_anonymous",
    "is_secret",
    "category_id",
    "opd_code",
    "location_id",
    "date_of_incident",
    "classification_id",
    "disposition_id",
)

# States an OPD's follow-up turns into 'answered' (later states stay as they are).
_ANSWERABLE = ("received", "awaiting_verification", "dispositioned", "in_progress", "postponed")


def _checked(columns: Mapping[str, object], allowed: frozenset[str] | tuple[str, ...]) -> None:
    unknown = sorted(set(columns) - set(allowed))
    if unknown:
        raise ValueError(f"not a column a caller may write: {', '.join(unknown)}")


# --- ref_sequences ----------------------------------------------------------------------------


def next_ref_number(db: sqlite_utils.Database, year: int) -> int:
    """Advance ``year``'s reference counter and return the new number (1 for a new year)."""
    db.execute(
        "INSERT INTO ref_sequences (year, last) VALUES (?, 1) "
        "ON CONFLICT (year) DO UPDATE SET last = last + 1",
        [year],
    )
    row = db.execute("SELECT last FROM ref_sequences WHERE year = ?", [year]).fetchone()
    return int(row[0])


# --- local_tickets ----------------------------------------------------------------------------


def create_ticket(db: sqlite_utils.Database, columns: Mapping[str, object]) -> int:
    """Insert one ticket with the given column values; returns its id."""
    _checked(columns, TICKET_COLUMNS)
    names = list(columns)
    marks = ", ".join("?" for _ in names)
    cursor = db.execute(
        f"INSERT INTO local_tickets ({', '.join(names)}) VALUES ({marks})",
        [columns[name] for name in names],
    )
    return int(cursor.lastrowid or 0)


def ticket_by_ref(db: sqlite_utils.Database, ref: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM local_tickets WHERE ref = ?", [ref]))
    return rows[0] if rows else None


def ticket_by_id(db: sqlite_utils.Database, ticket_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM local_tickets WHERE id = ?", [ticket_id]))
    return rows[0] if rows else None


def set_ticket_status(db: sqlite_utils.Database, ticket_id: int, state: str, stamp: str) -> None:
    db.execute(
        "UPDATE local_tickets SET status = ?, updated_at = ? WHERE id = ?",
        [state, stamp, ticket_id],
    )


def mark_answered(db: sqlite_utils.Database, ticket_id: int, stamp: str) -> None:
    """An OPD's follow-up answers the ticket, unless it is past that already."""
    marks = ", ".join("?" for _ in _ANSWERABLE)
    db.execute(
        "UPDATE local_tickets SET status = 'answered', updated_at = ? "
        f"WHERE id = ? AND status IN ({marks})",
        [stamp, ticket_id, *_ANSWERABLE],
    )


def mark_awaiting_verification(db: sqlite_utils.Database, ticket_id: int, stamp: str) -> None:
    """A ticket SP4N-LAPOR! accepted waits for verification, if nothing moved it since."""
    db.execute(
        "UPDATE local_tickets SET status = 'awaiting_verification', updated_at = ? "
        "WHERE id = ? AND status = 'received'",
        [stamp, ticket_id],
    )


def tickets_without_ref(db: sqlite_utils.Database) -> list[tuple[int, str]]:
    """(id, received_at) of tickets other software inserted without a reference."""
    rows = db.execute(
        "SELECT id, received_at FROM local_tickets WHERE ref IS NULL ORDER BY id"
    ).fetchall()
    return [(int(ticket_id), str(received_at)) for ticket_id, received_at in rows]


def set_ticket_ref(db: sqlite_utils.Database, ticket_id: int, ref: str) -> None:
    db.execute("UPDATE local_tickets SET ref = ? WHERE id = ?", [ref, ticket_id])


def correct_ticket(
    db: sqlite_utils.Database, ticket_id: int, values: Mapping[str, object], stamp: str
) -> None:
    """Overwrite the editable columns given in ``values`` (see ``EDITABLE_COLUMNS``)."""
    _checked(values, EDITABLE_COLUMNS)
    assignments = ", ".join(f"{name} = ?" for name in values)
    db.execute(
        f"UPDATE local_tickets SET {assignments}, updated_at = ? WHERE id = ?",
        [*values.values(), stamp, ticket_id],
    )


# --- local_followups --------------------------------------------------------------------------


def create_followup(
    db: sqlite_utils.Database,
    *,
    ticket_id: int,
    origin: str,
    author: str,
    opd_code: str | None,
    content: str,
    is_secret: int,
    created_at: str,
    remote_account: str | None = None,
    remote_id: str | None = None,
) -> int:
    """Insert one follow-up; returns its id."""
    cursor = db.execute(
        "INSERT INTO local_followups (ticket_id, origin, author, opd_code, content, "
        "is_secret, remote_account, remote_id, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            ticket_id,
            origin,
            author,
            opd_code,
            content,
            is_secret,
            remote_account,
            remote_id,
            created_at,
        ],
    )
    return int(cursor.lastrowid or 0)


def followup_by_id(db: sqlite_utils.Database, followup_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM local_followups WHERE id = ?", [followup_id]))
    return rows[0] if rows else None


def set_followup_remote(
    db: sqlite_utils.Database, followup_id: int, account: str, remote_id: str
) -> None:
    """Where a pushed follow-up landed on SP4N-LAPOR!."""
    db.execute(
        "UPDATE local_followups SET remote_account = ?, remote_id = ? WHERE id = ?",
        [account, remote_id, followup_id],
    )


def claim_followup_echo(
    db: sqlite_utils.Database, followup_id: int, ticket_id: int, account: str, remote_id: str
) -> bool:
    """Complete our own follow-up from its pulled echo; False when it is not that ticket's
    or already has a remote id."""
    cursor = db.execute(
        "UPDATE local_followups SET remote_account = ?, remote_id = ? "
        "WHERE id = ? AND ticket_id = ? AND remote_id IS NULL",
        [account, remote_id, followup_id, ticket_id],
    )
    return bool(cursor.rowcount)


# --- local_forwards ---------------------------------------------------------------------------


def create_forward(
    db: sqlite_utils.Database,
    ticket_id: int,
    target_institution_id: str,
    reason: str,
    created_at: str,
) -> int:
    """Insert one forward (bukan wewenang); returns its id."""
    cursor = db.execute(
        "INSERT INTO local_forwards (ticket_id, target_institution_id, reason, created_at) "
        "VALUES (?,?,?,?)",
        [ticket_id, target_institution_id, reason, created_at],
    )
    return int(cursor.lastrowid or 0)


def forward_by_id(db: sqlite_utils.Database, forward_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM local_forwards WHERE id = ?", [forward_id]))
    return rows[0] if rows else None

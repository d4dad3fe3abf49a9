"""What adoption reads: pulled complaints not linked yet and pulled follow-ups not in the
register yet, in keyset pages, with what the echo rules need to know about each.

Only reads (the tables belong to ``store.mirror``, ``store.links`` and ``store.tickets``).
Pages are in the order adoption issues references: complaints by
``(created_at, remote_id, account)``, follow-ups by ``(created_at, remote_id, account)``;
a page holds at most ``limit`` rows after the key ``after``, so no caller holds the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

PageKey = tuple[str, str, str]  # (created_at, remote_id, account)

_COMPLAINT_COLUMNS = (
    "rc.account, rc.remote_id, rc.tracking_id, rc.status_name, rc.created_at, "
    "rc.disposition_id, rc.tags, rc.title, rc.content, rc.reporter_name, rc.reporter_phone, "
    "rc.reporter_email, rc.is_anonymous, rc.is_secret, rc.category_id, rc.location_id, "
    "rc.date_of_incident"
)


@dataclass(frozen=True, slots=True)
class PulledComplaint:
    """A pulled complaint with no link. ``record`` holds its columns, personal data among
    them (reporter, title, content): never log or print it."""

    account: str
    remote_id: str
    tracking_id: str | None
    status_name: str
    created_at: str
    disposition_id: str | None
    tags: str
    record: dict[str, Any] = field(repr=False)

    @property
    def key(self) -> PageKey:
        return (self.created_at, self.remote_id, self.account)


def unlinked_complaints_page(
    db: sqlite_utils.Database, *, after: PageKey | None, limit: int
) -> list[PulledComplaint]:
    """Up to ``limit`` pulled complaints without a link, after ``after`` in page order."""
    where = "l.ticket_id IS NULL"
    params: list[object] = []
    if after is not None:
        where += " AND (rc.created_at, rc.remote_id, rc.account) > (?, ?, ?)"
        params.extend(after)
    params.append(limit)
    rows = db.query(
        f"SELECT {_COMPLAINT_COLUMNS} FROM remote_complaints rc LEFT JOIN links l "
        "ON l.account = rc.account AND l.remote_id = rc.remote_id "
        f"WHERE {where} ORDER BY rc.created_at, rc.remote_id, rc.account LIMIT ?",
        params,
    )
    return [
        PulledComplaint(
            account=row["account"],
            remote_id=row["remote_id"],
            tracking_id=row["tracking_id"],
            status_name=row["status_name"],
            created_at=row["created_at"],
            disposition_id=row["disposition_id"],
            tags=row["tags"],
            record=row,
        )
        for row in rows
    ]


def local_ticket_by_ref(db: sqlite_utils.Database, ref: str) -> tuple[int, bool] | None:
    """(id, already linked) of the local-origin ticket with reference ``ref``, or None."""
    row = db.execute(
        "SELECT t.id, l.ticket_id IS NOT NULL FROM local_tickets t "
        "LEFT JOIN links l ON l.ticket_id = t.id WHERE t.ref = ? AND t.origin = 'local'",
        [ref],
    ).fetchone()
    return None if row is None else (int(row[0]), bool(row[1]))


@dataclass(frozen=True, slots=True)
class PulledFollowup:
    """A pulled follow-up of a linked complaint that no local follow-up stands for yet.
    ``content`` is personal data: never log or print it."""

    account: str
    remote_id: str
    ticket_id: int
    ticket_ref: str | None
    author_type: str | None
    is_secret: int
    created_at: str
    content: str | None = field(repr=False)

    @property
    def key(self) -> PageKey:
        return (self.created_at, self.remote_id, self.account)


def unadopted_followups_page(
    db: sqlite_utils.Database, *, after: PageKey | None, limit: int
) -> list[PulledFollowup]:
    """Up to ``limit`` pulled follow-ups of linked complaints without a local follow-up,
    after ``after`` in page order."""
    where = "lf.id IS NULL"
    params: list[object] = []
    if after is not None:
        where += " AND (rf.created_at, rf.remote_id, rf.account) > (?, ?, ?)"
        params.extend(after)
    params.append(limit)
    rows = db.execute(
        "SELECT rf.account, rf.remote_id, l.ticket_id, t.ref, rf.author_type, rf.is_secret, "
        "rf.created_at, rf.content FROM remote_followups rf "
        "JOIN links l ON l.account = rf.account AND l.remote_id = rf.complaint_id "
        "JOIN local_tickets t ON t.id = l.ticket_id "
        "LEFT JOIN local_followups lf "
        "ON lf.remote_account = rf.account AND lf.remote_id = rf.remote_id "
        f"WHERE {where} ORDER BY rf.created_at, rf.remote_id, rf.account LIMIT ?",
        params,
    ).fetchall()
    return [
        PulledFollowup(
            str(account),
            str(remote_id),
            int(ticket_id),
            ref,
            author,
            int(secret),
            str(created),
            content,
        )
        for account, remote_id, ticket_id, ref, author, secret, created, content in rows
    ]


@dataclass(frozen=True, slots=True)
class LocalFollowupState:
    """What the echo rule needs of a local follow-up a marker names."""

    followup_id: int
    ticket_id: int
    has_remote_id: bool


def local_followup_state(db: sqlite_utils.Database, followup_id: int) -> LocalFollowupState | None:
    row = db.execute(
        "SELECT ticket_id, remote_id IS NOT NULL FROM local_followups WHERE id = ?",
        [followup_id],
    ).fetchone()
    return None if row is None else LocalFollowupState(followup_id, int(row[0]), bool(row[1]))

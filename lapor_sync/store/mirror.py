"""The LAPOR! mirror: what SP4N-LAPOR! said last, with append-only histories.

Callers wrap writes in ``store.db.transaction``; these functions never commit. Invariants:
- a complaint row is replaced only by a version whose ``updated_at`` is not older than the
  stored one (a late, stale read never overwrites a newer one);
- status history, dispositions and follow-ups are only ever added to;
- the cursor only moves forward.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.domain import ComplaintDetail, DispositionEntry, FollowUp, StatusEntry
from lapor_sync.store import attachments as attachment_rows
from lapor_sync.timeutil import from_db, to_db


@dataclass(frozen=True)
class StoredVersion:
    updated_at: str
    status_name: str


@dataclass(frozen=True)
class SaveResult:
    outcome: str  # "new" | "changed" | "same" (same version re-read) | "stale"
    old_status: str | None
    new_status: str
    new_followups: tuple[FollowUp, ...]


def _fingerprint(*parts: object) -> str:
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def known_versions(
    db: sqlite_utils.Database, account: str, remote_ids: Sequence[str]
) -> dict[str, StoredVersion]:
    if not remote_ids:
        return {}
    marks = ",".join("?" for _ in remote_ids)
    rows = db.execute(
        f"SELECT remote_id, updated_at, status_name FROM remote_complaints "
        f"WHERE account = ? AND remote_id IN ({marks})",
        [account, *remote_ids],
    ).fetchall()
    return {r[0]: StoredVersion(r[1], r[2]) for r in rows}


def save_complaint(
    db: sqlite_utils.Database,
    account: str,
    detail: ComplaintDetail,
    followups: Iterable[FollowUp],
    pulled_at: datetime,
) -> SaveResult:
    """Upsert one complaint with its histories and the attachments it and its follow-ups
    list (metadata; store/attachments.py). Returns what changed."""
    followups = list(followups)
    s = detail.summary
    now = to_db(pulled_at)
    previous = db.execute(
        "SELECT updated_at, status_name FROM remote_complaints WHERE account=? AND remote_id=?",
        [account, s.remote_id],
    ).fetchone()
    if previous is not None and from_db(previous[0]) > s.updated_at:
        return SaveResult("stale", previous[1], previous[1], ())
    reporter = detail.reporter
    row: dict[str, Any] = {
        "account": account,
        "remote_id": s.remote_id,
        "tracking_id": s.tracking_id,
        "title": s.title,
        "content": detail.content,
        "status_code": s.status_code,
        "status_name": s.status_name,
        "disposition_id": s.disposition_id,
        "disposition_name": s.disposition_name,
        "category_id": s.category_id,
        "classification_id": s.classification_id,
        "channel": s.channel,
        "is_secret": int(s.is_secret),
        "is_anonymous": int(s.is_anonymous),
        "tags": json.dumps(list(s.tags), ensure_ascii=False),
        "location_id": detail.location_id,
        "date_of_incident": detail.date_of_incident.isoformat()
        if detail.date_of_incident
        else None,
        "reporter_name": reporter.name if reporter else None,
        "reporter_phone": reporter.phone if reporter else None,
        "reporter_email": reporter.email if reporter else None,
        "created_at": to_db(s.created_at),
        "updated_at": to_db(s.updated_at),
        "last_pulled_at": now,
    }
    columns = list(row)
    db.execute(
        f"INSERT INTO remote_complaints ({', '.join(columns)}, first_pulled_at) "
        f"VALUES ({', '.join('?' for _ in columns)}, ?) "
        f"ON CONFLICT (account, remote_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in columns[2:]),
        [*row.values(), now],
    )
    _append_status_history(db, account, s.remote_id, detail.status_history, now)
    _append_dispositions(db, account, s.remote_id, detail.dispositions)
    added = _add_followups(db, account, followups, now)
    attachment_rows.replace_remote(db, account, s.remote_id, None, detail.attachments, now)
    for f in followups:
        attachment_rows.replace_remote(
            db, account, f.complaint_id, f.remote_id, f.attachments, now
        )
    if previous is None:
        outcome = "new"
    elif previous[0] == row["updated_at"] and previous[1] == s.status_name:
        outcome = "same"
    else:
        outcome = "changed"
    return SaveResult(
        outcome,
        previous[1] if previous else None,
        s.status_name,
        tuple(added),
    )


def _append_status_history(
    db: sqlite_utils.Database,
    account: str,
    complaint_id: str,
    entries: Iterable[StatusEntry],
    recorded_at: str,
) -> None:
    rows = [
        (
            account,
            complaint_id,
            e.status_code,
            e.status_name,
            e.note,
            to_db(e.at),
            recorded_at,
            _fingerprint(e.status_code, e.status_name, to_db(e.at), e.note),
        )
        for e in entries
    ]
    db.conn.executemany(
        "INSERT OR IGNORE INTO remote_status_history (account, complaint_id, status_code, "
        "status_name, note, at, recorded_at, fingerprint) VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )


def _append_dispositions(
    db: sqlite_utils.Database,
    account: str,
    complaint_id: str,
    entries: Iterable[DispositionEntry],
) -> None:
    rows = [
        (
            account,
            complaint_id,
            d.from_id,
            d.from_name,
            d.to_id,
            d.to_name,
            d.template_code,
            d.content,
            to_db(d.at),
            _fingerprint(d.from_id, d.to_id, d.template_code, to_db(d.at)),
        )
        for d in entries
    ]
    db.conn.executemany(
        "INSERT OR IGNORE INTO remote_dispositions (account, complaint_id, from_id, from_name, "
        "to_id, to_name, template_code, content, at, fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )


def _add_followups(
    db: sqlite_utils.Database, account: str, followups: Iterable[FollowUp], now: str
) -> list[FollowUp]:
    added = []
    for f in followups:
        cursor = db.execute(
            "INSERT OR IGNORE INTO remote_followups (account, remote_id, complaint_id, "
            "author_type, from_id, from_name, to_id, to_name, content, template_code, "
            "is_secret, rating, attachment_count, created_at, first_pulled_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                account,
                f.remote_id,
                f.complaint_id,
                f.author_type.value,
                f.from_id,
                f.from_name,
                f.to_id,
                f.to_name,
                f.content,
                f.template_code,
                int(f.is_secret),
                f.rating,
                f.attachment_count,
                to_db(f.created_at),
                now,
            ],
        )
        if cursor.rowcount:
            added.append(f)
    return added


# --- cursor --------------------------------------------------------------------------------


def get_cursor(db: sqlite_utils.Database, account: str) -> datetime | None:
    row = db.execute("SELECT updated_from FROM cursors WHERE account = ?", [account]).fetchone()
    return from_db(row[0]) if row else None


def advance_cursor(
    db: sqlite_utils.Database, account: str, position: datetime, now: datetime
) -> None:
    """Move the cursor to ``position`` unless it is already further (never backwards)."""
    db.execute(
        "INSERT INTO cursors (account, updated_from, advanced_at) VALUES (?, ?, ?) "
        "ON CONFLICT (account) DO UPDATE SET "
        "updated_from = max(updated_from, excluded.updated_from), "
        "advanced_at = CASE WHEN excluded.updated_from > updated_from "
        "THEN excluded.advanced_at ELSE advanced_at END, "
        # A new position has not been read in full after its second closed (yet).
        "settled_at = CASE WHEN excluded.updated_from > updated_from "
        "THEN NULL ELSE settled_at END",
        [account, to_db(position), to_db(now)],
    )


def cursor_settled_at(db: sqlite_utils.Database, account: str) -> datetime | None:
    """The server time just before the cursor's second was last read in full, if known."""
    row = db.execute("SELECT settled_at FROM cursors WHERE account = ?", [account]).fetchone()
    return from_db(row[0]) if row and row[0] else None


def mark_cursor_settled(
    db: sqlite_utils.Database, account: str, position: datetime, server_time: datetime
) -> None:
    """Record that every complaint at ``position`` was read after ``server_time``.

    Only while the cursor is still at ``position`` (it may have moved meanwhile)."""
    db.execute(
        "UPDATE cursors SET settled_at = max(coalesce(settled_at, ''), ?) "
        "WHERE account = ? AND updated_from = ?",
        [to_db(server_time), account, to_db(position)],
    )


def probed_at(db: sqlite_utils.Database, account: str) -> datetime | None:
    """When the last safety probe of ``account`` passed (local clock), if ever."""
    row = db.execute("SELECT probed_at FROM cursors WHERE account = ?", [account]).fetchone()
    return from_db(row[0]) if row and row[0] else None


def note_probe(db: sqlite_utils.Database, account: str, at: datetime) -> None:
    db.execute("UPDATE cursors SET probed_at = ? WHERE account = ?", [to_db(at), account])


def complaint_count_since(db: sqlite_utils.Database, account: str, since: datetime) -> int:
    """Complaints held for ``account`` whose remote ``updated_at`` is at or after ``since``."""
    row = db.execute(
        "SELECT count(*) FROM remote_complaints WHERE account = ? AND updated_at >= ?",
        [account, to_db(since)],
    ).fetchone()
    return int(row[0]) if row else 0


def complaint_count(db: sqlite_utils.Database, account: str) -> int:
    row = db.execute(
        "SELECT count(*) FROM remote_complaints WHERE account = ?", [account]
    ).fetchone()
    return int(row[0])


# --- quarantine ------------------------------------------------------------------------------


def quarantine(
    db: sqlite_utils.Database,
    account: str,
    kind: str,
    remote_id: str | None,
    reason: str,
    raw: Any,
    now: datetime,
) -> str:
    """Set a record aside. Returns the key it is kept under (the id, or a hash of the raw)."""
    raw_text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    key = remote_id or f"sha:{_fingerprint(raw_text)}"
    stamp = to_db(now)
    db.execute(
        "INSERT INTO quarantine (account, kind, remote_id, reason, raw, first_seen, last_seen) "
        "VALUES (?,?,?,?,?,?,?) ON CONFLICT (account, kind, remote_id) DO UPDATE SET "
        "reason = excluded.reason, raw = excluded.raw, last_seen = excluded.last_seen, "
        "occurrences = occurrences + 1, resolved_at = NULL",
        [account, kind, key, reason, raw_text, stamp, stamp],
    )
    return key


def resolve_quarantine(
    db: sqlite_utils.Database, account: str, remote_id: str, now: datetime
) -> None:
    """A record that was set aside has now been read successfully."""
    db.execute(
        "UPDATE quarantine SET resolved_at = ? WHERE account = ? AND remote_id = ? "
        "AND kind IN ('summary', 'detail') AND resolved_at IS NULL",
        [to_db(now), account, remote_id],
    )


def unresolved_quarantined_complaints(
    db: sqlite_utils.Database, account: str, limit: int
) -> list[str]:
    rows = db.execute(
        "SELECT remote_id FROM quarantine WHERE account = ? AND kind IN ('summary', 'detail') "
        "AND resolved_at IS NULL AND remote_id NOT LIKE 'sha:%' ORDER BY last_seen LIMIT ?",
        [account, limit],
    ).fetchall()
    return [r[0] for r in rows]


@dataclass(frozen=True)
class Holder:
    """Where the mirror last saw a complaint, for one account (``sync/disposition_gate``)."""

    mirrored: bool  # the account has pulled the complaint at least once
    disposition_id: str | None
    disposition_name: str | None


def holder_of(db: sqlite_utils.Database, account: str, remote_id: str) -> Holder:
    """The complaint's current disposition as last pulled by ``account`` (reads only)."""
    row = db.execute(
        "SELECT disposition_id, disposition_name FROM remote_complaints "
        "WHERE account = ? AND remote_id = ?",
        [account, remote_id],
    ).fetchone()
    if row is None:
        return Holder(False, None, None)
    return Holder(True, row[0], row[1])

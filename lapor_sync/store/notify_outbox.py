"""The notification outbox: the one writer of ``notify_outbox``.

Row life, as for the push outbox (docs/operations.md, "Notifications"):
``pending → sending → sent``; ``sending`` is committed before a byte goes out, so a crash
mid-send leaves ``sending``, which :func:`recover_interrupted` turns into ``unknown``
(the message may have arrived: it is not resent by itself); a temporary failure puts the
row back to ``pending`` with a later ``next_attempt_at``; a permanent one, or a spent retry
budget, makes it ``dead`` with the reason. ``unknown`` and ``dead`` rows go again only
when an admin says so (:func:`retry`).

Invariant: a message is inserted whole (recipients, subject, both parts) in the caller's
transaction together with the conditions it announces; ``dedupe_key`` is unique, so
deciding the same message twice inserts nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.store.db import transaction
from lapor_sync.timeutil import to_db

STATES = ("pending", "sending", "sent", "unknown", "dead")
KINDS = ("opd_batch", "opd_digest", "admin_alert", "monitoring_weekly", "test")


@dataclass(frozen=True)
class NewNotification:
    """A decided message for one channel, before it has an id."""

    dedupe_key: str
    kind: str
    channel: str  # "email" | "webhook"
    subject: str
    body_text: str
    body_html: str
    recipients: tuple[str, ...] = ()
    payload: str = "{}"
    opd_code: str | None = None


@dataclass(frozen=True)
class NotificationRow:
    """One stored notification."""

    id: int
    dedupe_key: str
    kind: str
    opd_code: str | None
    channel: str
    recipients: tuple[str, ...]
    subject: str
    body_text: str
    body_html: str
    payload: str
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    updated_at: str
    sent_at: str | None


def _row(raw: dict[str, Any]) -> NotificationRow:
    raw = dict(raw)
    raw["recipients"] = tuple(json.loads(raw["recipients"]))
    return NotificationRow(**raw)


def enqueue(
    db: sqlite_utils.Database, messages: Iterable[NewNotification], now: datetime
) -> list[int]:
    """Insert the messages not already decided; returns the new rows' ids.

    Call it inside the transaction that records what the messages announce.
    """
    ids = []
    stamp = to_db(now)
    with transaction(db):
        for m in messages:
            if m.kind not in KINDS or m.channel not in ("email", "webhook"):
                raise ValueError(f"unknown notification kind/channel {m.kind}/{m.channel}")
            cursor = db.execute(
                "INSERT OR IGNORE INTO notify_outbox (dedupe_key, kind, opd_code, channel, "
                "recipients, subject, body_text, body_html, payload, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    m.dedupe_key,
                    m.kind,
                    m.opd_code,
                    m.channel,
                    json.dumps(list(m.recipients)),
                    m.subject,
                    m.body_text,
                    m.body_html,
                    m.payload,
                    stamp,
                    stamp,
                ],
            )
            if cursor.rowcount:
                ids.append(int(cursor.lastrowid or 0))
    return ids


def already_decided(db: sqlite_utils.Database, dedupe_key: str) -> bool:
    found = db.execute(
        "SELECT 1 FROM notify_outbox WHERE dedupe_key = ? LIMIT 1", [dedupe_key]
    ).fetchone()
    return found is not None


def last_created(db: sqlite_utils.Database, kind: str, opd_code: str | None) -> str | None:
    """When the newest row of this kind (for this OPD) was decided, or None."""
    found = db.execute(
        "SELECT max(created_at) FROM notify_outbox WHERE kind = ? AND opd_code IS ?",
        [kind, opd_code],
    ).fetchone()
    return str(found[0]) if found and found[0] else None


def recover_interrupted(db: sqlite_utils.Database, now: datetime) -> int:
    """Rows a crash left in ``sending`` may have been delivered: mark them ``unknown``."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE notify_outbox SET state = 'unknown', updated_at = ?, "
            "last_error = 'interrupted while sending; it may have arrived, so it is not "
            "resent by itself (notify outbox --retry ID sends it again)' "
            "WHERE state = 'sending'",
            [to_db(now)],
        )
    return cursor.rowcount


def due(db: sqlite_utils.Database, now: datetime, limit: int = 100) -> list[NotificationRow]:
    """Pending rows whose time has come, oldest first."""
    rows = db.query(
        "SELECT * FROM notify_outbox WHERE state = 'pending' AND next_attempt_at <= ? "
        "ORDER BY id LIMIT ?",
        [to_db(now), limit],
    )
    return [_row(r) for r in rows]


def claim(db: sqlite_utils.Database, row_id: int, now: datetime) -> bool:
    """``pending → sending``, committed before sending. False if someone else took it."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE notify_outbox SET state = 'sending', attempts = attempts + 1, "
            "updated_at = ? WHERE id = ? AND state = 'pending'",
            [to_db(now), row_id],
        )
    return cursor.rowcount == 1


def mark_sent(db: sqlite_utils.Database, row_id: int, now: datetime, note: str | None) -> None:
    with transaction(db):
        db.execute(
            "UPDATE notify_outbox SET state = 'sent', sent_at = ?, updated_at = ?, "
            "last_error = ? WHERE id = ?",
            [to_db(now), to_db(now), note, row_id],
        )


def mark_retry(
    db: sqlite_utils.Database, row_id: int, now: datetime, at: datetime, reason: str
) -> None:
    with transaction(db):
        db.execute(
            "UPDATE notify_outbox SET state = 'pending', next_attempt_at = ?, last_error = ?, "
            "updated_at = ? WHERE id = ?",
            [to_db(at), reason, to_db(now), row_id],
        )


def mark_final(
    db: sqlite_utils.Database, row_id: int, now: datetime, state: str, reason: str
) -> None:
    """``dead`` (refused for good) or ``unknown`` (may have arrived), with the reason."""
    if state not in ("dead", "unknown"):
        raise ValueError(f"not a final state: {state}")
    with transaction(db):
        db.execute(
            "UPDATE notify_outbox SET state = ?, last_error = ?, updated_at = ? WHERE id = ?",
            [state, reason, to_db(now), row_id],
        )


def retry(db: sqlite_utils.Database, row_ids: Sequence[int], now: datetime) -> int:
    """An admin's decision: send ``unknown``/``dead`` rows again, from now."""
    with transaction(db):
        changed = 0
        for row_id in row_ids:
            cursor = db.execute(
                "UPDATE notify_outbox SET state = 'pending', attempts = 0, next_attempt_at = '', "
                "updated_at = ? WHERE id = ? AND state IN ('unknown', 'dead')",
                [to_db(now), row_id],
            )
            changed += cursor.rowcount
    return changed


def listing(
    db: sqlite_utils.Database, *, state: str | None = None, limit: int = 200
) -> list[NotificationRow]:
    """Newest first; ``state`` filters (one of ``STATES``)."""
    if state is not None and state not in STATES:
        raise ValueError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
    where = "WHERE state = ?" if state else ""
    params: list[object] = [state] if state else []
    rows = db.query(
        f"SELECT * FROM notify_outbox {where} ORDER BY id DESC LIMIT ?", [*params, limit]
    )
    return [_row(r) for r in rows]


def get(db: sqlite_utils.Database, row_id: int) -> NotificationRow | None:
    found = list(db.query("SELECT * FROM notify_outbox WHERE id = ?", [row_id]))
    return _row(found[0]) if found else None


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Rows per state (every state present, 0 when none)."""
    found = dict(db.execute("SELECT state, count(*) FROM notify_outbox GROUP BY state").fetchall())
    return {s: int(found.get(s, 0)) for s in STATES}

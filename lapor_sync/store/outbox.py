"""Owner of ``outbox``: the rows of what must reach SP4N-LAPOR!, database side.

Rows are born by the schema's triggers in the same transaction as the local change that
causes them (``store/migrations.py``); this module is the only code that changes them
afterwards. What to send and when is decided by ``sync/outbox.py`` and ``sync/push.py``.

Row life: ``pending → sending → done``; ``unknown`` when a write was sent and its answer
lost; ``dead`` after the retry budget or a refusal. Invariants: ``ambiguous`` is sticky —
set when a row is claimed for sending and never cleared, so a row that may have reached
the remote is looked up before every later attempt; a row put back by hand with
``ambiguous`` set goes back as ``unknown``, never ``pending``; a ``done`` row is final.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils


def restamp(db: sqlite_utils.Database, kind: str, subject_id: int, stamp: str) -> None:
    """Give the row a trigger just made the caller's clock instead of SQLite's.

    The triggers stamp with the machine's clock because other writers of the local
    tables have no other; lapor-sync's own writes know the clock of the run.
    """
    db.execute(
        "UPDATE outbox SET created_at = ?, updated_at = ? WHERE kind = ? AND subject_id = ?",
        [stamp, stamp, kind, subject_id],
    )


def due_rows(db: sqlite_utils.Database, now: str, limit: int) -> list[dict[str, Any]]:
    """Rows to try at ``now``, with their ticket's ref and account, grouped by ticket and
    in order within each ticket."""
    return list(
        db.query(
            "SELECT o.*, t.ref, t.account AS ticket_account FROM outbox o "
            "JOIN local_tickets t ON t.id = o.ticket_id "
            "WHERE o.state IN ('pending', 'unknown') AND o.next_attempt_at <= ? "
            "ORDER BY o.ticket_id, o.id LIMIT ?",
            [now, limit],
        )
    )


def first_unfinished_before(
    db: sqlite_utils.Database, ticket_id: int, row_id: int
) -> tuple[int, str] | None:
    """(id, state) of the ticket's earliest row before ``row_id`` that is not done."""
    found = db.execute(
        "SELECT id, state FROM outbox WHERE ticket_id = ? AND id < ? AND state != 'done' "
        "ORDER BY id LIMIT 1",
        [ticket_id, row_id],
    ).fetchone()
    return (int(found[0]), str(found[1])) if found else None


def complaint_push_started(db: sqlite_utils.Database, ticket_id: int) -> bool:
    """True once the ticket's complaint is being sent or was sent."""
    row = db.execute(
        "SELECT 1 FROM outbox WHERE ticket_id = ? AND kind = 'create_complaint' "
        "AND state IN ('sending', 'done')",
        [ticket_id],
    ).fetchone()
    return row is not None


def create_may_have_gone(db: sqlite_utils.Database, ticket_id: int) -> bool:
    """True once the ticket's complaint may be on SP4N-LAPOR!: its create is being sent,
    was sent, may have been (``unknown`` or ever ambiguous), or the ticket is linked."""
    row = db.execute(
        "SELECT 1 FROM outbox WHERE ticket_id = ? AND kind = 'create_complaint' "
        "AND (state IN ('sending', 'done', 'unknown') OR ambiguous = 1) "
        "UNION ALL SELECT 1 FROM links WHERE ticket_id = ? LIMIT 1",
        [ticket_id, ticket_id],
    ).fetchone()
    return row is not None


def mark_interrupted_unknown(db: sqlite_utils.Database) -> int:
    """Rows a crash left in ``sending`` may have reached the remote: ``unknown``."""
    cursor = db.execute(
        "UPDATE outbox SET state = 'unknown', "
        "last_error = 'interrupted while sending; will look up before resending' "
        "WHERE state = 'sending'"
    )
    return int(cursor.rowcount)


def reason_of(db: sqlite_utils.Database, row_id: int) -> str | None:
    found = db.execute("SELECT last_error FROM outbox WHERE id = ?", [row_id]).fetchone()
    return None if found is None or found[0] is None else str(found[0])


def note_reason(db: sqlite_utils.Database, row_id: int, reason: str) -> None:
    """Say why the row waits (written only when the reason changed)."""
    db.execute(
        "UPDATE outbox SET last_error = ? WHERE id = ? AND last_error IS NOT ?",
        [reason, row_id, reason],
    )


def mark_sending(db: sqlite_utils.Database, row_id: int, stamp: str) -> None:
    """Claim the row for one attempt; from now on it may have reached the remote."""
    db.execute(
        "UPDATE outbox SET state = 'sending', ambiguous = 1, attempts = attempts + 1, "
        "updated_at = ? WHERE id = ?",
        [stamp, row_id],
    )


def mark_done(db: sqlite_utils.Database, row_id: int, remote_id: str, stamp: str) -> None:
    db.execute(
        "UPDATE outbox SET state = 'done', result_remote_id = ?, last_error = NULL, "
        "updated_at = ? WHERE id = ?",
        [remote_id, stamp, row_id],
    )


def schedule_retry(
    db: sqlite_utils.Database,
    row_id: int,
    *,
    state: str,
    ambiguous: bool,
    reason: str,
    next_attempt_at: str,
    attempts: int,
    stamp: str,
) -> None:
    db.execute(
        "UPDATE outbox SET state = ?, ambiguous = ?, last_error = ?, next_attempt_at = ?, "
        "attempts = ?, updated_at = ? WHERE id = ?",
        [state, int(ambiguous), reason, next_attempt_at, attempts, stamp, row_id],
    )


def mark_dead(
    db: sqlite_utils.Database,
    row_id: int,
    reason: str,
    stamp: str,
    *,
    ambiguous: bool | None = None,
) -> None:
    """``ambiguous`` given: the attempt proved nothing was sent (set it back to that)."""
    db.execute(
        "UPDATE outbox SET state = 'dead', last_error = ?, updated_at = ?, "
        "ambiguous = coalesce(?, ambiguous) WHERE id = ?",
        [reason, stamp, None if ambiguous is None else int(ambiguous), row_id],
    )


def retry_all_dead(db: sqlite_utils.Database) -> int:
    """Every dead row back with a fresh budget; returns rows changed."""
    cursor = db.execute(
        "UPDATE outbox SET state = CASE WHEN ambiguous THEN 'unknown' ELSE 'pending' END, "
        "attempts = 0, next_attempt_at = '' WHERE state = 'dead'"
    )
    return int(cursor.rowcount)


def retry_chosen(db: sqlite_utils.Database, ids: list[int]) -> int:
    """The chosen rows (not done) back with a fresh budget, due now; returns rows changed."""
    marks = ",".join("?" for _ in ids)
    cursor = db.execute(
        "UPDATE outbox SET state = CASE WHEN state != 'dead' THEN state "
        "WHEN ambiguous THEN 'unknown' ELSE 'pending' END, "
        f"attempts = 0, next_attempt_at = '' WHERE id IN ({marks}) AND state != 'done'",
        ids,
    )
    return int(cursor.rowcount)

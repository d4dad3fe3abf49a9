"""The reconciliation log (``events``) and the run log (``runs``).

Both are append-only records of what lapor-sync did. Invariant: nothing written here
holds personal data — ``detail`` carries ids, status names, counts and reasons that name
fields, never names, phone numbers, NIK, e-mail or complaint text. Callers pass only such
values; ``record_event`` refuses keys outside ``ALLOWED_DETAIL_KEYS`` so a careless caller
fails loudly in tests instead of leaking quietly in production.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.store import pull_gaps
from lapor_sync.timeutil import to_db


class EventKind(enum.StrEnum):
    PULLED_NEW = "pulled_new"
    PULLED_CHANGED = "pulled_changed"
    STATUS_CHANGED = "status_changed"
    FOLLOWUP_PULLED = "followup_pulled"
    REPORTER_REPLY = "reporter_reply"
    QUARANTINED = "quarantined"
    PUSHED = "pushed"
    PUSH_FAILED = "push_failed"
    PUSH_DEAD = "push_dead"
    LOCAL_CHANGED = "local_changed"
    CONFLICT = "conflict"
    RESOLVED = "resolved"
    OVERDUE = "overdue"
    NEAR_DUE = "near_due"
    RUN_FAILED = "run_failed"


ALLOWED_DETAIL_KEYS = frozenset(
    {
        "from_status",
        "to_status",
        "from_state",
        "to_state",
        "status_code",
        "author",
        "followup_id",
        "kind",
        "reason",
        "attempts",
        "outbox_id",
        "stage",
        "due",
        "days_late",
        "conflict_id",
        "take",
        "lapor_value",
        "local_value",
        "field",
        "target",
        "count",
        "job",
        "error_type",
    }
)


def record_event(
    db: sqlite_utils.Database,
    kind: EventKind,
    at: datetime,
    *,
    account: str | None = None,
    opd: str | None = None,
    complaint_id: str | None = None,
    tracking_id: str | None = None,
    ticket_ref: str | None = None,
    side: str | None = None,
    detail: Mapping[str, Any] | None = None,
    run_id: int | None = None,
) -> None:
    detail = dict(detail or {})
    unknown = set(detail) - ALLOWED_DETAIL_KEYS
    if unknown:
        raise ValueError(f"event detail keys not allowed: {sorted(unknown)}")
    db.execute(
        "INSERT INTO events (at, kind, account, opd, complaint_id, tracking_id, ticket_ref, "
        "side, detail, run_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            to_db(at),
            kind.value,
            account,
            opd,
            complaint_id,
            tracking_id,
            ticket_ref,
            side,
            json.dumps(detail, ensure_ascii=False, sort_keys=True),
            run_id,
        ],
    )


def start_run(db: sqlite_utils.Database, job: str, account: str | None, now: datetime) -> int:
    """Record that a job started. Autocommitted on its own, so a crash leaves a trace."""
    cursor = db.execute(
        "INSERT INTO runs (job, account, started_at) VALUES (?, ?, ?)", [job, account, to_db(now)]
    )
    return int(cursor.lastrowid or 0)


def finish_run(
    db: sqlite_utils.Database,
    run_id: int,
    now: datetime,
    *,
    ok: bool,
    summary: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> None:
    db.execute(
        "UPDATE runs SET finished_at = ?, outcome = ?, summary = ?, error = ? WHERE id = ?",
        [
            to_db(now),
            "ok" if ok else "failed",
            json.dumps(dict(summary or {}), sort_keys=True),
            error,
            run_id,
        ],
    )


def close_interrupted_runs(db: sqlite_utils.Database, now: datetime, reason: str) -> int:
    """Mark every run still ``running`` as failed with ``reason``; how many there were.

    Only called under the database lock, so no run of a live process is still running.
    An interrupted pull (SIGKILL, power loss) never reached its own failure handler, so
    it leaves its trace here: a ``pull_gaps`` row for its account from the committed
    cursor on (a pull commits pages in order, so everything before the cursor is
    stored), shown by ``status`` and ``/healthz`` until a later pull covers it.
    """
    pulls = db.execute(
        "SELECT id, account FROM runs WHERE outcome = 'running' AND job = 'pull' "
        "AND account IS NOT NULL ORDER BY id"
    ).fetchall()
    for run_id, account in pulls:
        pull_gaps.record_failed_pull(
            db, str(account), run_id=int(run_id), now=now, listed_to=None, reason=reason
        )
    return int(
        db.execute(
            "UPDATE runs SET outcome = 'failed', finished_at = ?, error = ? "
            "WHERE outcome = 'running'",
            [to_db(now), reason],
        ).rowcount
    )


def last_successful_run(
    db: sqlite_utils.Database, job: str, account: str | None = None
) -> str | None:
    row = db.execute(
        "SELECT max(finished_at) FROM runs WHERE job = ? AND outcome = 'ok' "
        "AND (account IS ? OR ? IS NULL)",
        [job, account, account],
    ).fetchone()
    return row[0] if row else None

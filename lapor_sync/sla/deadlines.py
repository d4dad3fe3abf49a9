"""Stored due dates per ticket and stage, and the overdue / near-due scan.

The stages (verification, followup, reply, closure, settlement), their rules and how
their due dates are computed are described and implemented in ``sla.stages``; which open
deadlines are overdue or near due, and which of them are announced, in
``sla.open_deadlines``; the table itself is owned by ``store.deadlines``.

The work is split in a pure plan and an apply step. ``plan_deadline_rows``
(``sla.deadline_rows``) turns a page of timelines and the rows stored for them into the
rows to write and delete, and into the open deadlines the result would hold;
``preview_scan`` (``sla.deadline_preview``) runs the whole scan on plans only ("what would
be flagged", for ``sync --dry-run``) and writes nothing; ``recompute_deadlines`` and
``scan`` apply the plans. Which tickets a scan covers is ``sla.scan_pass``. This module
holds the scan and names the public parts of all of them.

Invariants:
- ``recompute_deadlines`` is a pure function of the store, the rules and the calendar:
  run twice, it changes nothing the second time. Every row carries the fingerprint of the
  calendar and the rules it was computed with, so a change to either rewrites every
  affected row even when no new fact arrived.
- Memory is bounded by the page, not the store: tickets are read in keyset pages of
  ``PAGE`` ids, each page written in its own transaction; the scan records in
  ``sync_state`` how far its recompute got, so an interrupted first scan resumes there.
- ``scan`` logs each ``overdue`` / ``near_due`` once per (ticket, stage, due date) and
  round; the ``flagged`` column remembers what was logged, in the same transaction as
  the event (each page of open rows is read under the write lock: two scans never both
  log the same state).
- Nothing here writes personal data: events carry ids, the stage, the due date and days.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from lapor_sync.sla.deadline_preview import preview_scan
from lapor_sync.sla.deadline_rows import (
    RecomputeSummary,
    RowPlan,
    plan_deadline_rows,
    recompute_deadlines,
    recompute_rows,
)
from lapor_sync.sla.open_deadlines import (
    NEAR_DUE,
    OVERDUE,
    PAGE,
    Classifier,
    OpenDeadline,
    events_to_log,
    iter_open_pages,
    open_deadlines,
)
from lapor_sync.sla.scan_pass import NO_OPD, OpdCounts, ScanSummary, changed_tickets, this_pass
from lapor_sync.sla.stages import (
    STAGES,
    DeadlineRules,
    DueDates,
    Stage,
    StageDeadline,
    as_rules,
    compute_stages,
)
from lapor_sync.store.db import transaction
from lapor_sync.store.deadlines import mark_flagged, open_counts, rebuild_ticket_due
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.store.sync_state import (
    DEADLINES_FINGERPRINT,
    DEADLINES_JOURNAL_ID,
    DEADLINES_RESUME,
    clear_state,
    write_state,
)
from lapor_sync.timeutil import to_db
from lapor_sync.working_days import WorkingCalendar

if TYPE_CHECKING:
    from lapor_sync.config import Settings

__all__ = [
    "NEAR_DUE",
    "NO_OPD",
    "OVERDUE",
    "STAGES",
    "DeadlineRules",
    "DueDates",
    "OpdCounts",
    "OpenDeadline",
    "RecomputeSummary",
    "RowPlan",
    "ScanSummary",
    "Stage",
    "StageDeadline",
    "as_rules",
    "compute_stages",
    "events_to_log",
    "open_deadlines",
    "plan_deadline_rows",
    "preview_scan",
    "recompute_deadlines",
    "scan",
]


def scan(
    db: sqlite_utils.Database,
    rules: DeadlineRules | Settings,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    run_id: int | None = None,
    page: int = PAGE,
) -> ScanSummary:
    """Recompute, then log ``overdue`` / ``near_due`` events for what was not logged yet.

    Returns, per OPD code (``NO_OPD`` for tickets without one), how many complaints are
    overdue and near due now, and how many deadline events this scan logged.
    """
    rules = as_rules(rules)
    work = this_pass(db, rules.fingerprint(calendar))
    only = None if work.since is None else changed_tickets(db, work.since, work.journal_end)
    progress: dict[str, object] = {
        "fingerprint": work.fingerprint,
        "journal_end": work.journal_end,
        "since": work.since,
    }
    summary = ScanSummary(
        recompute_rows(
            db, rules, calendar, now, only=only, page=page, after=work.after, progress=progress
        )
    )
    if only is None:  # every ticket was recomputed: derive the home's counts anew too
        with transaction(db):
            rebuild_ticket_due(db)
    classifier = Classifier(calendar, now, rules.near_due_days)
    pages = iter_open_pages(db, classifier, only_unflagged=True, page=page)
    while True:
        with transaction(db):  # read and flag under the write lock: two scans never both log
            found = next(pages, None)
            if found is None:
                break
            flags = []
            for item in events_to_log(found):
                _log(db, item, now, run_id)
                flags.append((item.flag, item.ticket_id, item.stage))
                summary.count_event(item)
            mark_flagged(db, flags)
    summary.count_open(
        open_counts(db, classifier.now_text, classifier.horizon, NO_OPD), classifier.near
    )
    with transaction(db):
        write_state(
            db,
            {DEADLINES_FINGERPRINT: work.fingerprint, DEADLINES_JOURNAL_ID: str(work.journal_end)},
        )
        clear_state(db, [DEADLINES_RESUME])
    return summary


def _log(db: sqlite_utils.Database, item: OpenDeadline, now: datetime, run_id: int | None) -> None:
    record_event(
        db,
        EventKind.OVERDUE if item.kind == OVERDUE else EventKind.NEAR_DUE,
        now,
        account=item.account,
        opd=item.opd_code,
        complaint_id=item.remote_id,
        tracking_id=item.tracking_id,
        ticket_ref=item.ref,
        side="lapor" if item.stage == "verification" else "local",
        detail={"stage": item.stage, "due": to_db(item.due_at), "days_late": item.days_late},
        run_id=run_id,
    )

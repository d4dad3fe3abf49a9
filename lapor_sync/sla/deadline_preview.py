"""``preview_scan``: what a deadline scan would do now, writing nothing (``sync --dry-run``).

The tickets the scan would recompute are planned in memory with the scan's own pure
``plan_deadline_rows``, page by page; the others are read from the table as it is. The
summary has the scan's shape (``ScanSummary``), plus examples of the events it would log.
Nothing is written: no row, no flag, no event, no resume state.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from lapor_sync.sla.deadline_rows import RecomputeSummary, RowPlan, plan_deadline_rows, ticket_pages
from lapor_sync.sla.open_deadlines import PAGE, Classifier, events_to_log, iter_open_pages
from lapor_sync.sla.scan_pass import NO_OPD, OpdCounts, ScanSummary, changed_tickets, this_pass
from lapor_sync.sla.stages import DeadlineRules, DueDates, as_rules
from lapor_sync.store.db import read_snapshot
from lapor_sync.store.deadlines import open_counts
from lapor_sync.timeutil import to_db
from lapor_sync.working_days import WorkingCalendar

if TYPE_CHECKING:
    from lapor_sync.config import Settings


def preview_scan(
    db: sqlite_utils.Database,
    rules: DeadlineRules | Settings,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    examples: int = 20,
    page: int = PAGE,
) -> ScanSummary:
    """What ``scan`` would do now, without writing anything: the same summary (rows it
    would insert, update and delete; complaints overdue and near due per OPD; events it
    would log per OPD) and up to ``examples`` of the events, in (ticket, stage) order.

    Tickets the scan would recompute are planned in memory, page by page; the others are
    read from the table as it is.
    """
    rules = as_rules(rules)
    work = this_pass(db, rules.fingerprint(calendar))
    only = None if work.since is None else changed_tickets(db, work.since, work.journal_end)
    classifier = Classifier(calendar, now, rules.near_due_days)
    due = DueDates(rules, calendar)
    summary = ScanSummary(RecomputeSummary())
    planned: set[int] = set()  # recomputed tickets: counted from their plans, not the table
    for part in ticket_pages(db, rules, only, work.after, page):
        plan = plan_deadline_rows(
            part.timelines, part.stored, due, work.fingerprint, to_db(now), invalid=part.invalid
        )
        summary.recompute.add(plan.summary)
        planned.update(tl.ticket_id for tl in part.timelines)
        _preview_page(plan, classifier, summary, examples)
    # The rest (not recomputed, or unreadable and so left as stored) as the table has it.
    with read_snapshot(db):
        for found in iter_open_pages(db, classifier, only_unflagged=True, page=page):
            for item in events_to_log(found):
                if item.ticket_id in planned:
                    continue
                summary.count_event(item)
                if len(summary.examples) < examples:
                    summary.examples.append(item)
        rows = open_counts(
            db, classifier.now_text, classifier.horizon, NO_OPD, excluding=sorted(planned)
        )
        summary.count_open(rows, classifier.near)
    return summary


def _preview_page(
    plan: RowPlan, classifier: Classifier, summary: ScanSummary, examples: int
) -> None:
    late: dict[int, bool] = {}
    opd_of: dict[int, str] = {}
    for tl, row, flagged in plan.results:
        if row.met_at is not None or row.due_at > classifier.horizon:
            continue
        opd_of[tl.ticket_id] = tl.opd_code or NO_OPD
        late[tl.ticket_id] = late.get(tl.ticket_id, False) or row.due_at < classifier.now_text
        item = classifier.classify(
            (
                tl.ticket_id,
                row.stage,
                row.started_at,
                row.due_at,
                flagged,
                tl.ref,
                tl.opd_code,
                tl.account,
                tl.remote_id,
                tl.tracking_id,
            )
        )
        if item is None or not events_to_log([item]):
            continue
        summary.count_event(item)
        if len(summary.examples) < examples:
            summary.examples.append(item)
    for ticket_id, is_late in late.items():
        counts = summary.per_opd.setdefault(opd_of[ticket_id], OpdCounts())
        if is_late:
            counts.overdue += 1
        elif classifier.near:
            counts.near_due += 1

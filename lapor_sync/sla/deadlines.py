"""Stored due dates per ticket and stage, and the overdue / near-due scan.

The stages (verification, followup, reply, closure, settlement), their rules and how
their due dates are computed are described and implemented in ``sla.stages``; which open
deadlines are overdue or near due, and which of them are announced, in
``sla.open_deadlines``; the table itself is owned by ``store.deadlines``.

The work is split in a pure plan and an apply step. ``plan_deadline_rows`` turns a page of
timelines and the rows stored for them into the rows to write and delete, and into the
open deadlines the result would hold; ``preview_scan`` runs the whole scan on plans only
("what would be flagged", for ``sync --dry-run``) and writes nothing; ``recompute_deadlines``
and ``scan`` apply the plans.

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

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

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
from lapor_sync.sla.stages import (
    STAGES,
    DeadlineRules,
    DueDates,
    Stage,
    StageDeadline,
    as_rules,
    compute_stages,
)
from lapor_sync.sla.timeline import Timeline, load_timelines
from lapor_sync.store.change_journal import last_change_id
from lapor_sync.store.db import read_snapshot, transaction
from lapor_sync.store.deadlines import (
    DeadlineRow,
    Key,
    StoredDeadline,
    delete_deadlines,
    mark_flagged,
    open_counts,
    stored_between,
    stored_of,
    upsert_deadlines,
)
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.store.sync_state import (
    DEADLINES_FINGERPRINT,
    DEADLINES_JOURNAL_ID,
    DEADLINES_RESUME,
    clear_state,
    read_state,
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

NO_OPD = "unassigned"  # per-OPD key for tickets without an OPD (as the daemon metrics)


@dataclass
class RecomputeSummary:
    tickets: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    invalid: int = 0  # tickets with an unreadable timestamp: their rows are left as they were

    def figures(self) -> dict[str, int]:
        return dict(vars(self))

    def add(self, other: RecomputeSummary) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class RowPlan:
    """What one page of tickets needs: rows to write and delete, and the resulting rows
    (each with the ``flagged`` value it will have) of the tickets it recomputed."""

    upserts: list[DeadlineRow]
    stale: list[Key]
    results: list[tuple[Timeline, DeadlineRow, str | None]]
    summary: RecomputeSummary


def plan_deadline_rows(
    timelines: Sequence[Timeline],
    stored: dict[Key, StoredDeadline],
    due: DueDates,
    fingerprint: str,
    computed_at: str,
    *,
    invalid: Collection[int] = (),
) -> RowPlan:
    """Pure: the rows a page of tickets should have against the rows stored for them.

    ``stored`` holds the stored rows of the page's tickets (and of tickets gone from the
    store within its id range): a stored row that no computed stage matches is stale,
    unless its ticket is ``invalid`` (unreadable facts: its rows stay as they were). A row
    differing in start, due date, met time or fingerprint is rewritten; its ``flagged``
    survives only when the start did not move.
    """
    summary = RecomputeSummary(tickets=len(timelines), invalid=len(invalid))
    upserts: list[DeadlineRow] = []
    results: list[tuple[Timeline, DeadlineRow, str | None]] = []
    seen: set[Key] = set()
    for tl in timelines:
        for stage, started_at, due_at, met_at in compute_stages(tl, due):
            key = (tl.ticket_id, stage)
            seen.add(key)
            row = DeadlineRow(
                tl.ticket_id, stage, started_at, due_at, met_at, fingerprint, computed_at
            )
            previous = stored.get(key)
            if previous is not None and previous.same_as(row):
                summary.unchanged += 1
                results.append((tl, row, previous.flagged))
                continue
            if previous is None:
                summary.inserted += 1
            else:
                summary.updated += 1
            upserts.append(row)
            kept = previous.flagged if previous and previous.started_at == started_at else None
            results.append((tl, row, kept))
    skipped = set(invalid)
    stale = [key for key in stored if key not in seen and key[0] not in skipped]
    summary.deleted = len(stale)
    return RowPlan(upserts, stale, results, summary)


@dataclass
class _Page:
    timelines: list[Timeline]
    stored: dict[Key, StoredDeadline]
    invalid: list[int]
    last_id: int  # the page covers ticket ids up to here (inclusive)


def _pages(
    db: sqlite_utils.Database,
    rules: DeadlineRules,
    only: Collection[int] | None,
    after: int,
    page: int,
) -> Iterator[_Page]:
    """Keyset pages of tickets with an id above ``after``; every page read in one snapshot.

    Without ``only`` the pages tile the whole id range, the last one open-ended, so rows
    of tickets no longer in the store are found (and dropped) too.
    """
    if only is not None:
        ids = sorted(i for i in only if i > after)
        for start in range(0, len(ids), page):
            chunk = ids[start : start + page]
            invalid: list[int] = []
            with read_snapshot(db):
                timelines = load_timelines(db, rules.state_for, invalid, only=chunk)
                stored = stored_of(db, chunk)
            yield _Page(timelines, stored, invalid, chunk[-1])
        return
    while True:
        invalid = []
        with read_snapshot(db):
            timelines = load_timelines(db, rules.state_for, invalid, after=after, limit=page)
            read = [tl.ticket_id for tl in timelines] + invalid
            last = max(read) if len(read) == page else None
            stored = stored_between(db, after, last)
        yield _Page(timelines, stored, invalid, last if last is not None else after)
        if last is None:
            return
        after = last


def _apply(db: sqlite_utils.Database, plan: RowPlan) -> None:
    if plan.upserts:
        upsert_deadlines(db, plan.upserts)
    if plan.stale:
        delete_deadlines(db, plan.stale)


def recompute_deadlines(
    db: sqlite_utils.Database,
    rules: DeadlineRules | Settings,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    only: Collection[int] | None = None,
    page: int = PAGE,
) -> RecomputeSummary:
    """Bring the ``deadlines`` table in line with the store's facts, rules and calendar.

    Reads the tickets (all, or those in ``only``) in pages, computes their stages, and
    writes only rows that differ; rows of stages that no longer apply are deleted. Each
    page is its own transaction.
    """
    return _recompute(db, as_rules(rules), calendar, now, only=only, page=page)


def _recompute(
    db: sqlite_utils.Database,
    rules: DeadlineRules,
    calendar: WorkingCalendar,
    now: datetime,
    *,
    only: Collection[int] | None,
    page: int,
    after: int = 0,
    progress: dict[str, object] | None = None,
) -> RecomputeSummary:
    fingerprint = rules.fingerprint(calendar)
    due = DueDates(rules, calendar)
    computed_at = to_db(now)
    total = RecomputeSummary()
    for part in _pages(db, rules, only, after, page):
        plan = plan_deadline_rows(
            part.timelines, part.stored, due, fingerprint, computed_at, invalid=part.invalid
        )
        total.add(plan.summary)
        if plan.upserts or plan.stale or progress is not None:
            with transaction(db):
                _apply(db, plan)
                if progress is not None:
                    progress["after"] = part.last_id
                    write_state(db, {DEADLINES_RESUME: json.dumps(progress, sort_keys=True)})
    return total


# --- the scan -------------------------------------------------------------------------------


@dataclass
class OpdCounts:
    overdue: int = 0
    near_due: int = 0
    new_overdue: int = 0
    new_near_due: int = 0


@dataclass
class ScanSummary:
    recompute: RecomputeSummary
    per_opd: dict[str, OpdCounts] = field(default_factory=dict)
    examples: list[OpenDeadline] = field(default_factory=list)  # preview_scan only

    @property
    def overdue(self) -> int:
        return sum(c.overdue for c in self.per_opd.values())

    @property
    def near_due(self) -> int:
        return sum(c.near_due for c in self.per_opd.values())

    @property
    def events(self) -> int:
        return sum(c.new_overdue + c.new_near_due for c in self.per_opd.values())

    def figures(self) -> dict[str, int]:
        return {
            **self.recompute.figures(),
            "overdue": self.overdue,
            "near_due": self.near_due,
            "events": self.events,
        }

    def count_event(self, item: OpenDeadline) -> None:
        counts = self.per_opd.setdefault(item.opd_code or NO_OPD, OpdCounts())
        if item.kind == OVERDUE:
            counts.new_overdue += 1
        else:
            counts.new_near_due += 1

    def count_open(self, rows: Sequence[tuple[str, int, int]], near: bool) -> None:
        for opd, late, soon in rows:
            counts = self.per_opd.setdefault(opd, OpdCounts())
            counts.overdue += late
            counts.near_due += soon if near else 0


@dataclass(frozen=True)
class _Pass:
    """Which tickets this scan recomputes: ``since`` None = all of them."""

    fingerprint: str
    journal_end: int
    since: int | None
    after: int


def _this_pass(db: sqlite_utils.Database, fingerprint: str) -> _Pass:
    """Resume the recompute an interrupted scan left (same rules and calendar), else start
    one: everything on the first scan or after a change of rules or calendar, else the
    tickets journalled since the last scan."""
    state = read_state(db, [DEADLINES_FINGERPRINT, DEADLINES_JOURNAL_ID, DEADLINES_RESUME])
    if DEADLINES_RESUME in state:
        left = json.loads(state[DEADLINES_RESUME])
        if left.get("fingerprint") == fingerprint:
            return _Pass(fingerprint, int(left["journal_end"]), left["since"], int(left["after"]))
    since = None
    if state.get(DEADLINES_FINGERPRINT) == fingerprint and DEADLINES_JOURNAL_ID in state:
        since = int(state[DEADLINES_JOURNAL_ID])
    return _Pass(fingerprint, last_change_id(db), since, 0)


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
    work = _this_pass(db, rules.fingerprint(calendar))
    only = None if work.since is None else _changed_tickets(db, work.since, work.journal_end)
    progress: dict[str, object] = {
        "fingerprint": work.fingerprint,
        "journal_end": work.journal_end,
        "since": work.since,
    }
    summary = ScanSummary(
        _recompute(
            db, rules, calendar, now, only=only, page=page, after=work.after, progress=progress
        )
    )
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
    work = _this_pass(db, rules.fingerprint(calendar))
    only = None if work.since is None else _changed_tickets(db, work.since, work.journal_end)
    classifier = Classifier(calendar, now, rules.near_due_days)
    due = DueDates(rules, calendar)
    summary = ScanSummary(RecomputeSummary())
    planned: set[int] = set()  # recomputed tickets: counted from their plans, not the table
    for part in _pages(db, rules, only, work.after, page):
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


def _changed_tickets(db: sqlite_utils.Database, since: int, journal_end: int) -> set[int]:
    """Tickets whose facts changed in the journal entries ``since < id <= journal_end``."""
    rows = db.execute(
        "SELECT row_id FROM local_changes WHERE id > ?1 AND id <= ?2 "
        "AND table_name IN ('local_tickets', 'links', 'ticket_facts') "
        "UNION SELECT f.ticket_id FROM local_changes j JOIN local_followups f ON f.id = j.row_id "
        "WHERE j.id > ?1 AND j.id <= ?2 AND j.table_name = 'local_followups' "
        "UNION SELECT w.ticket_id FROM local_changes j JOIN local_forwards w ON w.id = j.row_id "
        "WHERE j.id > ?1 AND j.id <= ?2 AND j.table_name = 'local_forwards' "
        "UNION SELECT l.ticket_id FROM local_changes j "
        "JOIN remote_complaints r ON r.rowid = j.row_id "
        "JOIN links l ON l.account = r.account AND l.remote_id = r.remote_id "
        "WHERE j.id > ?1 AND j.id <= ?2 AND j.table_name = 'remote_complaints'",
        [since, journal_end],
    ).fetchall()
    return {int(r[0]) for r in rows}

"""The rows of the ``deadlines`` table a ticket should have, planned then applied.

``plan_deadline_rows`` is pure: a page of timelines and the rows stored for them in, the
rows to write and delete (and the rows the page will hold) out. ``ticket_pages`` reads
the tickets in keyset pages, each in one snapshot; ``recompute_deadlines`` applies the
plans, one transaction per page. The scan (``sla.deadlines``) and its preview
(``sla.deadline_preview``) build on these.

Invariants: a recompute is a pure function of the store, the rules and the calendar (run
twice, the second changes nothing); every row carries the fingerprint of the rules and
calendar it was computed with; memory is bounded by the page, not the store.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from lapor_sync.sla.open_deadlines import PAGE
from lapor_sync.sla.stages import DeadlineRules, DueDates, as_rules, compute_stages
from lapor_sync.sla.timeline import Timeline, load_timelines
from lapor_sync.store.db import read_snapshot, transaction
from lapor_sync.store.deadlines import (
    DeadlineRow,
    Key,
    StoredDeadline,
    delete_deadlines,
    stored_between,
    stored_of,
    upsert_deadlines,
)
from lapor_sync.store.sync_state import DEADLINES_RESUME, write_state
from lapor_sync.timeutil import to_db
from lapor_sync.working_days import WorkingCalendar

if TYPE_CHECKING:
    from lapor_sync.config import Settings


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
class TicketPage:
    timelines: list[Timeline]
    stored: dict[Key, StoredDeadline]
    invalid: list[int]
    last_id: int  # the page covers ticket ids up to here (inclusive)


def ticket_pages(
    db: sqlite_utils.Database,
    rules: DeadlineRules,
    only: Collection[int] | None,
    after: int,
    page: int,
) -> Iterator[TicketPage]:
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
            yield TicketPage(timelines, stored, invalid, chunk[-1])
        return
    while True:
        invalid = []
        with read_snapshot(db):
            timelines = load_timelines(db, rules.state_for, invalid, after=after, limit=page)
            read = [tl.ticket_id for tl in timelines] + invalid
            last = max(read) if len(read) == page else None
            stored = stored_between(db, after, last)
        yield TicketPage(timelines, stored, invalid, last if last is not None else after)
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
    return recompute_rows(db, as_rules(rules), calendar, now, only=only, page=page)


def recompute_rows(
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
    for part in ticket_pages(db, rules, only, after, page):
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

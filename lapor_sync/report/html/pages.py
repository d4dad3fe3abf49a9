"""What an OPD page lists besides the figures: the work list, open conflicts, recent events.

Every list is read for all OPDs at once (one statement each, or one call of the existing
views) and grouped in Python; nothing loops over tickets with queries of its own.

Privacy: the work list shows a ticket's title only when neither the register nor the
LAPOR! mirror marks it rahasia, and masks anything in it that looks like a NIK, a phone
number or an e-mail address (``redact.redact_text``). No reporter field is ever read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.glossary import conflict_label
from lapor_sync.report.figures import opd_key
from lapor_sync.report.log_view import LogFilter, StateFor, conflict_value_label, log_rows
from lapor_sync.report.overdue import (
    LateComplaint,
    OverdueRow,
    iter_overdue_rows,
    row_order,
    titles_of,
)
from lapor_sync.report.period import Period
from lapor_sync.sla.deadlines import NO_OPD
from lapor_sync.timeutil import to_db
from lapor_sync.working_days import WorkingCalendar

EVENT_DAYS = 30  # events shown for ``--period all``
ITEM_LIMIT = 300  # late and near-due complaints on an OPD page (the rest are counted)
EVENTS_SHOWN = 100  # per OPD page
# Asked of ``log_rows`` for a period that has ended: later events come first and are
# dropped, so ask for more than are shown.
EVENTS_FETCHED_PAST = 5000


@dataclass(frozen=True)
class WorkItem:
    """One late or near-due complaint: its worst stage (``row``), all its stages, its title.

    One item per complaint, however many of its stages are late (docs/deadlines.md).
    """

    row: OverdueRow  # the worst stage
    title: str  # "(rahasia)", or masked (glossary.shown_title)
    secret: bool
    stages: tuple[OverdueRow, ...] = ()

    @property
    def stages_text(self) -> str:
        return LateComplaint(self.stages or (self.row,), self.title, self.secret).stages_text


@dataclass(frozen=True)
class WorkList:
    """One OPD's work list: the first ``len(shown)`` complaints, most late first, and how
    many complaints it holds in all (``total``; ``late`` of them late, the rest near due)."""

    shown: tuple[WorkItem, ...]
    total: int
    late: int


class _Top:
    """The ``keep`` most late complaints of one OPD seen so far, and counts of all of them.

    Holds at most ``2 * keep`` (trimmed by sorting when it gets there): bounded memory,
    whatever the number of late complaints.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.items: list[tuple[tuple[Any, ...], tuple[OverdueRow, ...]]] = []
        self.total = 0
        self.late = 0

    def add(self, stages: tuple[OverdueRow, ...]) -> None:
        self.total += 1
        self.late += stages[0].overdue
        self.items.append((row_order(stages[0]), stages))
        if len(self.items) >= 2 * self.keep:
            self.trim()

    def trim(self) -> None:
        self.items.sort(key=lambda pair: pair[0])
        del self.items[self.keep :]


def work_items(
    db: sqlite_utils.Database,
    settings: Settings,
    now: datetime,
    calendar: WorkingCalendar,
    *,
    opd: str | None = None,
    keep: int = ITEM_LIMIT,
) -> dict[str, WorkList]:
    """Late and near-due complaints per OPD key, most late first (as ``late_complaints``
    orders them), the first ``keep`` of each with every stage, and the count of all.

    Streams the open deadlines in (ticket, stage) order and keeps ``keep`` complaints per
    OPD: memory does not grow with the backlog (issue #16.3). The titles are read for the
    kept complaints only.
    """
    tops: dict[str, _Top] = {}
    current: int | None = None
    stages: list[OverdueRow] = []

    def flush() -> None:
        if stages:
            ordered = tuple(sorted(stages, key=row_order))
            key = opd_key(ordered[0].opd_code)
            tops.setdefault(key, _Top(keep)).add(ordered)
            stages.clear()

    for ticket_id, row in iter_overdue_rows(db, settings, now, opd=opd, calendar=calendar):
        if ticket_id != current:
            flush()
            current = ticket_id
        stages.append(row)
    flush()
    for top in tops.values():
        top.trim()
    titles = titles_of(db, [s[0].ref for top in tops.values() for _, s in top.items if s[0].ref])
    found = {}
    for key, top in tops.items():
        shown = []
        for _, kept in top.items:
            title, secret = titles.get(kept[0].ref or "", ("-", False))
            shown.append(WorkItem(kept[0], title, secret, kept))
        found[key] = WorkList(tuple(shown), top.total, top.late)
    return found


def open_conflicts(db: sqlite_utils.Database) -> dict[str, list[dict[str, Any]]]:
    """Conflicts waiting for a decision, per OPD key, oldest first. Status labels only."""
    rows = db.query(
        "SELECT c.id, c.kind, c.lapor_value, c.local_value, c.opened_at, t.ref, t.opd_code, "
        "coalesce(l.tracking_id, rc.tracking_id) AS tracking_id FROM conflicts c "
        "JOIN local_tickets t ON t.id = c.ticket_id "
        "LEFT JOIN links l ON l.ticket_id = t.id "
        "LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
        "WHERE c.resolved_at IS NULL ORDER BY c.opened_at, c.id"
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault(opd_key(r["opd_code"]), []).append(
            {
                "id": r["id"],
                "tiket": r["ref"] or "-",
                "tracking_id": r["tracking_id"] or "(belum ada)",
                "jenis": conflict_label(r["kind"]),
                "lapor": conflict_value_label(r["lapor_value"]),
                "lokal": conflict_value_label(r["local_value"]),
                "sejak": r["opened_at"][:16].replace("T", " "),
            }
        )
    return grouped


@dataclass(frozen=True)
class EventWindow:
    since: datetime
    until: datetime | None  # exclusive; None = up to now
    label: str


def event_window(period: Period, now: datetime) -> EventWindow:
    """The period's events (up to now), or the last ``EVENT_DAYS`` days for ``all``."""
    if period.start is None or period.end is None:
        return EventWindow(now - timedelta(days=EVENT_DAYS), None, f"{EVENT_DAYS} hari terakhir")
    since = datetime.combine(period.start, datetime.min.time(), now.tzinfo)
    until = datetime.combine(period.end, datetime.min.time(), now.tzinfo)
    return EventWindow(since, until if until <= now else None, f"periode {period.label}")


@dataclass(frozen=True)
class EventList:
    rows: list[dict[str, Any]]
    truncated: bool  # more events in the window than shown
    unreadable: bool  # the window ended long ago and later events filled the fetch


def recent_events(
    db: sqlite_utils.Database,
    window: EventWindow,
    keys: Sequence[str],
    state_for: StateFor,
) -> dict[str, EventList]:
    """The reconciliation log (``log_rows``) of each OPD key in the window, newest first.

    ``state_for`` is the configured status map (``Settings.state_for_status``), so a
    SP4N-LAPOR! status name reads as the same state here as in ``lapor-sync log``.
    """
    fetch = EVENTS_SHOWN + 1 if window.until is None else EVENTS_FETCHED_PAST
    until = to_db(window.until)[:19].replace("T", " ") if window.until else None
    found: dict[str, EventList] = {}
    for key in keys:
        if key == NO_OPD:
            # log_rows has no "without OPD" filter: read every OPD's and keep those.
            rows = log_rows(db, LogFilter(since=window.since, limit=fetch * 4, state_for=state_for))
            rows = [r for r in rows if r["opd"] == "-"]
            full = False
        else:
            rows = log_rows(
                db, LogFilter(since=window.since, opd=key, limit=fetch, state_for=state_for)
            )
            full = len(rows) >= fetch
        if until is not None:
            kept = [r for r in rows if r["waktu"] < until]
            unreadable = full and not kept
            rows = kept
        else:
            unreadable = False
        found[key] = EventList(
            rows[:EVENTS_SHOWN], truncated=len(rows) > EVENTS_SHOWN, unreadable=unreadable
        )
    return found

"""Open deadlines: which unmet stages are overdue or near due at an instant, and which of
them a scan would announce.

Everything here but ``iter_open_deadlines`` is pure: the same rows, calendar and instant
give the same answer, so ``sync --dry-run`` and the scan share one definition.

Invariants:
- overdue: the due instant is before ``now``; days late = working days after the due date
  up to today, at least 1 (a deadline missed on Friday is 1 day late at the weekend);
- near due: due at or after ``now`` and at most ``near_due_days`` working days after today
  (0 = due today); ``near_due_days`` = 0 turns near-due off;
- a state is announced once per (ticket, stage, due date): ``flagged`` remembers it, and a
  due date once announced as overdue is never announced as near due again;
- no personal data: ids, the stage, the due date and days.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlite_utils

from lapor_sync.sla.stages import Stage
from lapor_sync.store.deadlines import OpenRow, open_rows_page
from lapor_sync.timeutil import WIB, from_db, to_db, wib_date
from lapor_sync.working_days import WorkingCalendar

OVERDUE = "overdue"
NEAR_DUE = "near_due"
PAGE = 2000  # rows per page: bounded memory whatever the size of the store

_END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True, slots=True)
class OpenDeadline:
    """An unmet deadline that is past due or near due. No personal data."""

    ticket_id: int
    stage: Stage
    started_at: datetime
    due_at: datetime
    flagged: str | None
    kind: str  # OVERDUE | NEAR_DUE
    days_late: int  # > 0 overdue; 0 due today; -n due in n working days
    ref: str | None
    opd_code: str | None
    account: str | None
    remote_id: str | None
    tracking_id: str | None

    @property
    def flag(self) -> str:
        """What ``flagged`` holds once this state was logged."""
        return f"{self.kind}:{to_db(self.due_at)}"


def already_logged(item: OpenDeadline) -> bool:
    """True when the scan has announced this state of this deadline before."""
    if item.flagged == item.flag:
        return True
    # Once logged as overdue, the same due date is never announced as near due again.
    return item.kind == NEAR_DUE and item.flagged == f"{OVERDUE}:{to_db(item.due_at)}"


def events_to_log(items: Iterable[OpenDeadline]) -> list[OpenDeadline]:
    """What a scan would log (``overdue`` / ``near_due`` events) among open deadlines."""
    return [item for item in items if not already_logged(item)]


class Classifier:
    """Reads open rows at one instant: ``classify(row)`` is the row's ``OpenDeadline``, or
    None when it is neither overdue nor near due. ``horizon`` (canonical text) bounds the
    due dates worth reading; working-day counts are cached per pair of dates."""

    def __init__(
        self,
        calendar: WorkingCalendar,
        now: datetime,
        near_due_days: int,
        *,
        include_near_due: bool = True,
    ) -> None:
        self.calendar = calendar
        self.now = now
        self.now_text = to_db(now)
        self.today = wib_date(now)
        self.near_due_days = near_due_days
        self.near = include_near_due and near_due_days > 0
        if self.near:
            day = calendar.add_working_days(self.today, near_due_days)
            self.horizon = to_db(datetime.combine(day, _END_OF_DAY, tzinfo=WIB))
        else:
            self.horizon = self.now_text
        self._between: dict[tuple[date, date], int] = {}

    def _days_between(self, a: date, b: date) -> int:
        if (a, b) not in self._between:
            self._between[a, b] = self.calendar.working_days_between(a, b)
        return self._between[a, b]

    def classify(self, row: OpenRow) -> OpenDeadline | None:
        ticket_id, stage, started, due_text, flagged, ref, opd, account, remote, tracking = row
        due_at = from_db(due_text)
        if due_at < self.now:
            kind = OVERDUE
            days = max(1, self._days_between(wib_date(due_at), self.today))
        elif self.near:
            left = self._days_between(self.today, wib_date(due_at))
            if left > self.near_due_days:
                return None
            kind, days = NEAR_DUE, -left
        else:
            return None
        return OpenDeadline(
            ticket_id=ticket_id,
            stage=stage,  # type: ignore[arg-type]
            started_at=from_db(started),
            due_at=due_at,
            flagged=flagged,
            kind=kind,
            days_late=days,
            ref=ref,
            opd_code=opd,
            account=account,
            remote_id=remote,
            tracking_id=tracking,
        )


def iter_open_pages(
    db: sqlite_utils.Database,
    classifier: Classifier,
    *,
    only_unflagged: bool = False,
    page: int = PAGE,
) -> Iterator[list[OpenDeadline]]:
    """The store's open deadlines, a page at a time in (ticket, stage) order."""
    after = None
    while True:
        rows = open_rows_page(
            db,
            classifier.horizon,
            after=after,
            limit=page,
            unflagged_at=classifier.now_text if only_unflagged else None,
        )
        if not rows:
            return
        found = [item for item in map(classifier.classify, rows) if item is not None]
        yield found
        if len(rows) < page:
            return
        after = (rows[-1][0], rows[-1][1])


def iter_open_deadlines(
    db: sqlite_utils.Database,
    calendar: WorkingCalendar,
    now: datetime,
    near_due_days: int,
    *,
    include_near_due: bool = True,
    only_unflagged: bool = False,
) -> Iterator[OpenDeadline]:
    """Unmet deadlines past due, and (unless off) those due within ``near_due_days``,
    streamed in (ticket, stage) order from keyset pages of the store."""
    classifier = Classifier(calendar, now, near_due_days, include_near_due=include_near_due)
    for found in iter_open_pages(db, classifier, only_unflagged=only_unflagged):
        yield from found


def open_deadlines(
    db: sqlite_utils.Database,
    calendar: WorkingCalendar,
    now: datetime,
    near_due_days: int,
    *,
    include_near_due: bool = True,
    only_unflagged: bool = False,
) -> list[OpenDeadline]:
    """``iter_open_deadlines`` as a list (for callers that sort or show them all)."""
    return list(
        iter_open_deadlines(
            db,
            calendar,
            now,
            near_due_days,
            include_near_due=include_near_due,
            only_unflagged=only_unflagged,
        )
    )

"""What one deadline scan covers, and the summary a scan or its preview returns.

A scan recomputes every ticket on its first run and after a change of the rules or the
calendar (their fingerprint differs from the one stored in ``sync_state``), else only the
tickets the change journal names since the last scan; an interrupted recompute is resumed
where it stopped (``deadlines_resume``) when the fingerprint is still the same.
``this_pass`` decides which, and reads nothing else; ``ScanSummary`` counts per OPD.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlite_utils

from lapor_sync.sla.deadline_rows import RecomputeSummary
from lapor_sync.sla.open_deadlines import OVERDUE, OpenDeadline
from lapor_sync.store.change_journal import last_change_id
from lapor_sync.store.sync_state import (
    DEADLINES_FINGERPRINT,
    DEADLINES_JOURNAL_ID,
    DEADLINES_RESUME,
    read_state,
)

NO_OPD = "unassigned"  # per-OPD key for tickets without an OPD (as the daemon metrics)


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
class ScanPass:
    """Which tickets this scan recomputes: ``since`` None = all of them."""

    fingerprint: str
    journal_end: int
    since: int | None
    after: int


def this_pass(db: sqlite_utils.Database, fingerprint: str) -> ScanPass:
    """Resume the recompute an interrupted scan left (same rules and calendar), else start
    one: everything on the first scan or after a change of rules or calendar, else the
    tickets journalled since the last scan."""
    state = read_state(db, [DEADLINES_FINGERPRINT, DEADLINES_JOURNAL_ID, DEADLINES_RESUME])
    if DEADLINES_RESUME in state:
        left = json.loads(state[DEADLINES_RESUME])
        if left.get("fingerprint") == fingerprint:
            journal_end, after = int(left["journal_end"]), int(left["after"])
            return ScanPass(fingerprint, journal_end, left["since"], after)
    since = None
    if state.get(DEADLINES_FINGERPRINT) == fingerprint and DEADLINES_JOURNAL_ID in state:
        since = int(state[DEADLINES_JOURNAL_ID])
    return ScanPass(fingerprint, last_change_id(db), since, 0)


def changed_tickets(db: sqlite_utils.Database, since: int, journal_end: int) -> set[int]:
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

"""The stages of a complaint's handling and their due dates, computed from a timeline.

Stages (numbers from ``[deadlines]``; working days counted as in ``working_days``):

- ``verification``: SP4N-LAPOR! verifies and dispositions, ``verification_days`` from
  submission; met at ``verified_at``.
- ``followup``: the OPD's first tindak lanjut, ``followup_days`` from the disposition; met
  by the first institution follow-up at or after the disposition.
- ``reply``: a reply (reporter or LAPOR! admin) after an institution follow-up is owed an
  answer, ``followup_days`` from the first reply of that round; met by the next institution
  follow-up. One row per ticket: the latest round.
- ``closure``: the report is expected to be closed ``closure_days`` after the last
  institution follow-up, when no reply came after it; met when the ticket is closed. While
  a reply waits for an answer the stage does not apply (no row): the answer restarts it.
- ``settlement``: ``settlement_days`` (working or calendar days, ``settlement_unit``) from
  the disposition; met when the ticket is closed.

A terminal ticket (closed, archived, forwarded) meets every open stage at the time it
ended. A stage that cannot start yet has no row.

Invariant: ``compute_stages`` is a pure function of a ticket's timeline, the rules and
the calendar.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Literal, NamedTuple

from lapor_sync.domain import DEFAULT_STATUS_MAP, ComplaintState, status_key
from lapor_sync.sla.timeline import Stamp, Timeline
from lapor_sync.timeutil import WIB, to_db
from lapor_sync.working_days import WorkingCalendar

if TYPE_CHECKING:
    from lapor_sync.config import Settings

Stage = Literal["verification", "followup", "reply", "closure", "settlement"]
STAGES: tuple[Stage, ...] = ("verification", "followup", "reply", "closure", "settlement")

# Bump when the rules in this module change meaning: every stored row is then recomputed.
RULES_VERSION = "1"

_END_OF_DAY = time(23, 59, 59)


def _default_status_map() -> dict[str, ComplaintState]:
    return {status_key(k): v for k, v in DEFAULT_STATUS_MAP.items()}


@dataclass(frozen=True)
class DeadlineRules:
    """The numbers of ``[deadlines]`` and the status map (to read LAPOR! status history)."""

    verification_days: int = 3
    followup_days: int = 5
    closure_days: int = 10
    settlement_days: int = 60
    settlement_unit: Literal["working", "calendar"] = "working"
    near_due_days: int = 1
    status_map: Mapping[str, ComplaintState] = field(default_factory=_default_status_map)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeadlineRules:
        d = settings.deadlines
        return cls(
            verification_days=d.verification_days,
            followup_days=d.followup_days,
            closure_days=d.closure_days,
            settlement_days=d.settlement_days,
            settlement_unit=d.settlement_unit,
            near_due_days=d.near_due_days,
            status_map={status_key(k): v for k, v in settings.status_map.items()},
        )

    def state_for(self, name: str) -> ComplaintState | None:
        """Internal state for a LAPOR! status name (keys are compared case-folded)."""
        return self.status_map.get(status_key(name))

    def fingerprint(self, calendar: WorkingCalendar) -> str:
        """Changes when the calendar overrides, a due-date rule or the status map change."""
        statuses = sorted(f"{k}={v.value}" for k, v in self.status_map.items())
        text = "|".join(
            [
                RULES_VERSION,
                calendar.fingerprint,
                str(self.verification_days),
                str(self.followup_days),
                str(self.closure_days),
                str(self.settlement_days),
                self.settlement_unit,
                *statuses,
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_rules(rules: DeadlineRules | Settings) -> DeadlineRules:
    return rules if isinstance(rules, DeadlineRules) else DeadlineRules.from_settings(rules)


class StageDeadline(NamedTuple):
    """One stage of one ticket. Times are canonical stored text (``timeline.Stamp``)."""

    stage: Stage
    started_at: Stamp
    due_at: Stamp
    met_at: Stamp | None


class DueDates:
    """Due instants for the rules on one calendar, memoised by start date.

    Thousands of tickets share a start date; walking the calendar once per date keeps a
    100,000-ticket recompute fast. The WIB date of a canonical stamp is its first ten
    characters.
    """

    def __init__(self, rules: DeadlineRules, calendar: WorkingCalendar) -> None:
        self.rules = rules
        self.calendar = calendar
        self._cache: dict[tuple[str, int, bool], Stamp] = {}

    def working(self, start: Stamp, days: int) -> Stamp:
        due = self._cache.get((start[:10], days, True))
        return due if due is not None else self._due(start[:10], days, True)

    def settlement(self, start: Stamp) -> Stamp:
        working = self.rules.settlement_unit == "working"
        return self._due(start[:10], self.rules.settlement_days, working)

    def _due(self, day: str, days: int, working: bool) -> Stamp:
        key = (day, days, working)
        due = self._cache.get(key)
        if due is None:
            started = datetime.combine(date.fromisoformat(day), time(12), tzinfo=WIB)
            if working:
                instant = self.calendar.deadline(started, days)
            else:
                instant = self.calendar.calendar_deadline(started, days)
            due = self._cache[key] = to_db(instant)
        return due


def _first_at_or_after(times: tuple[Stamp, ...], start: Stamp) -> Stamp | None:
    return next((t for t in times if t >= start), None)


def _reply_round(tl: Timeline) -> tuple[Stamp, Stamp | None] | None:
    """(first reply of the latest round, the follow-up that answered it or None).

    A round opens with the first reply after an institution follow-up and closes with the
    next institution follow-up. Replies before any institution follow-up open nothing:
    the ``followup`` stage already covers them. At the same instant, a follow-up answers
    the reply.
    """
    if not tl.replies or not tl.institution_followups:
        return None
    events = sorted([(t, 0) for t in tl.replies] + [(t, 1) for t in tl.institution_followups])
    seen_followup = False
    open_since: Stamp | None = None
    last: tuple[Stamp, Stamp | None] | None = None
    for at, kind in events:
        if kind == 1:
            seen_followup = True
            if open_since is not None:
                last, open_since = (open_since, at), None
        elif seen_followup and open_since is None:
            open_since = at
    if open_since is not None:
        return (open_since, None)
    return last


def compute_stages(tl: Timeline, due: DueDates) -> list[StageDeadline]:
    """The stage deadlines of one ticket (stages that have not started are left out)."""
    rules = due.rules
    end = tl.closed_at

    def met(at: Stamp | None) -> Stamp | None:
        if at is None:
            return end
        return at if end is None else min(at, end)

    found = [
        StageDeadline(
            "verification",
            tl.submitted_at,
            due.working(tl.submitted_at, rules.verification_days),
            met(tl.verified_at),
        )
    ]
    disposition = tl.dispositioned_at
    if disposition is not None:
        first = _first_at_or_after(tl.institution_followups, disposition)
        found.append(
            StageDeadline(
                "followup",
                disposition,
                due.working(disposition, rules.followup_days),
                met(first),
            )
        )
    reply = _reply_round(tl)
    if reply is not None:
        opened, answered = reply
        found.append(
            StageDeadline("reply", opened, due.working(opened, rules.followup_days), met(answered))
        )
    if tl.institution_followups and (reply is None or reply[1] is not None):
        last = tl.institution_followups[-1]
        found.append(StageDeadline("closure", last, due.working(last, rules.closure_days), end))
    if disposition is not None:
        found.append(StageDeadline("settlement", disposition, due.settlement(disposition), end))
    return found

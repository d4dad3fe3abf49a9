"""Reconcile: one truth about where each linked complaint stands — planned, then applied.

The rules are ``sync.reconcile_rules.decide``, a pure function of one ticket's facts. This
module reads the candidates in keyset pages of ``PAGE`` tickets (``store.reconcile_reads``),
turns each page into actions, and applies them through the owner modules of the tables
they touch, one transaction per page. ``plan_reconcile`` yields the same actions without
applying them (``sync --dry-run``).

Invariants:
- nothing is overwritten while a conflict is open; every change and every newly opened
  conflict is one reconciliation-log event;
- a page is read and applied inside one write transaction, so its facts cannot change
  between the decision and the write; a crash loses at most the page under way;
- memory is bounded by the page, not the store;
- a full pass (the first one, or after the rules or the status mapping changed) records
  in ``sync_state`` how far it got, so an interrupted pass resumes after the last page
  done; the tickets done before the interruption are looked at again only if the journal
  names them;
- the change journal is consumed only at the end of a pass, with the rules key, so a pass
  that dies leaves every change it had not reconciled for the next one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from lapor_sync.domain import ComplaintState as S
from lapor_sync.errors import ConflictError as ConflictError
from lapor_sync.store import conflicts
from lapor_sync.store.change_journal import consume_changes, last_change_id
from lapor_sync.store.db import read_snapshot, transaction
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.store.reconcile_reads import CandidateRow, candidates_page
from lapor_sync.store.sync_base import save_base
from lapor_sync.store.sync_state import (
    RECONCILE_RESUME,
    RECONCILE_RULES,
    clear_state,
    read_state,
    write_state,
)
from lapor_sync.store.tickets import set_ticket_status
from lapor_sync.sync.reconcile_rules import (
    RANK,
    AcceptLocal,
    Action,
    Agree,
    ApplyRemoteState,
    CloseUnknownStatus,
    KeepBase,
    OpenConflict,
    ReconcileRules,
    TicketFacts,
    TicketRef,
    Waiting,
    decide,
)
from lapor_sync.timeutil import Clock, now_wib, to_db

__all__ = [
    "PAGE",
    "RANK",
    "ConflictError",
    "ReconcileRules",
    "ReconcileSummary",
    "plan_reconcile",
    "reconcile",
    "resolve_conflict",
]

StateResolver = Callable[[str], S | None]

PAGE = 2000  # tickets per page and transaction: bounded memory whatever the size of the store


@dataclass
class ReconcileSummary:
    checked: int = 0
    applied: int = 0
    accepted_local: int = 0
    agreed: int = 0
    opened: int = 0
    waiting: int = 0

    def figures(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "applied": self.applied,
            "accepted_local": self.accepted_local,
            "agreed": self.agreed,
            "opened": self.opened,
            "conflicts": self.waiting,
        }


# --- which tickets a pass looks at -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pass:
    """The selections a pass reads, in order: ``(journal_up_to, after, up_to)`` each."""

    rules_key: str
    journal_end: int
    full: bool
    parts: tuple[tuple[int | None, int, int | None], ...]
    # The store's resume state must be written at the end: the rules changed (a full
    # pass) or an interrupted pass left a resume point. Otherwise it is as the end of the
    # pass would leave it, and a quiet pass writes nothing but the journal marks.
    state_to_write: bool = True


def _this_pass(db: sqlite_utils.Database, rules: ReconcileRules, mapping_key: str) -> _Pass:
    rules_key = f"{rules.fingerprint()}:{mapping_key}"
    journal_end = last_change_id(db)
    state = read_state(db, [RECONCILE_RULES, RECONCILE_RESUME])
    if state.get(RECONCILE_RULES) == rules_key:
        parts = ((journal_end, 0, None),)
        return _Pass(rules_key, journal_end, False, parts, RECONCILE_RESUME in state)
    done = 0
    try:
        resume = json.loads(state.get(RECONCILE_RESUME, "{}"))
        if resume.get("key") == rules_key:
            done = int(resume["after"])
    except (ValueError, KeyError, TypeError):
        done = 0  # an unreadable resume state: start the pass over (it is idempotent)
    if done == 0:
        return _Pass(rules_key, journal_end, True, ((None, 0, None),))
    # Tickets up to ``done`` were reconciled under these rules by the interrupted pass:
    # of those, only what the journal names since; the rest of the pass as it was.
    return _Pass(rules_key, journal_end, True, ((journal_end, 0, done), (None, done, None)))


def _facts(row: CandidateRow, state_for: StateResolver) -> TicketFacts:
    return TicketFacts(
        ticket=TicketRef(
            row.ticket_id, row.ref, row.opd_code, row.account, row.remote_id, row.tracking_id
        ),
        status_name=row.status_name,
        lapor_state=state_for(row.status_name),
        local_state=S(row.local_state),
        base_lapor=None if row.base_lapor is None else S(row.base_lapor),
        base_local=None if row.base_lapor is None else S(row.base_local or ""),
        open_conflicts=row.open_conflicts,
    )


def _pages(
    db: sqlite_utils.Database, work: _Pass, page: int
) -> Iterator[tuple[int, list[CandidateRow]]]:
    """(last ticket id read, rows) per page; the caller holds the snapshot or transaction
    the page is read in (a page is read when the previous one is done)."""
    for journal_up_to, after, up_to in work.parts:
        while True:
            rows = candidates_page(
                db, journal_up_to=journal_up_to, after=after, up_to=up_to, limit=page
            )
            if rows:
                yield rows[-1].ticket_id, rows
            if len(rows) < page:
                break
            after = rows[-1].ticket_id


# --- the plan, read-only ----------------------------------------------------------------------


def plan_reconcile(
    db: sqlite_utils.Database,
    rules: ReconcileRules,
    state_for: StateResolver,
    *,
    mapping_key: str = "",
    page: int = PAGE,
) -> Iterator[Action]:
    """What ``reconcile`` would do now, as actions, without writing anything.

    Contract:
    - reads only (``SELECT``s inside read snapshots, one per page): no row, no resume
      state, no journal mark, no log event is written, so it runs on a read-only
      connection (``mode=ro``) and beside the daemon;
    - yields, per candidate ticket in ticket id order, the actions ``decide`` gives it —
      exactly what ``reconcile`` with the same arguments would apply to the store as it
      is now (the same pass: journal-named tickets, or every linked ticket when the rules
      or the mapping changed, resuming an interrupted full pass where it stopped);
    - it does not see what adoption would do first: complaints not adopted yet are not
      linked tickets, so they are absent (see ``sync.adopt.plan_adopt``);
    - ``OpenConflict`` is only yielded for a conflict not open already (an identical open
      one is ``Waiting``); ``KeepBase`` and ``Waiting`` change nothing a user sees;
    - actions carry ids, states, the status name and the reference — no personal data;
    - memory is one page of ``page`` tickets; the generator may be abandoned at any point.
    """
    work = _this_pass(db, rules, mapping_key)
    pages = _pages(db, work, page)
    while True:
        with read_snapshot(db):
            part = next(pages, None)
        if part is None:
            return
        for row in part[1]:
            yield from decide(_facts(row, state_for), rules)


# --- the pass ---------------------------------------------------------------------------------


def reconcile(
    db: sqlite_utils.Database,
    rules: ReconcileRules,
    state_for: StateResolver,
    *,
    clock: Clock = now_wib,
    run_id: int | None = None,
    mapping_key: str = "",
    page: int = PAGE,
) -> ReconcileSummary:
    """Reconcile every linked ticket the change journal names (or all, when the rules or
    the status mapping — identified by ``mapping_key`` — changed since the last run), a
    page of ``page`` tickets per transaction."""
    summary = ReconcileSummary()
    work = _this_pass(db, rules, mapping_key)
    pages = _pages(db, work, page)
    while True:
        with transaction(db):
            part = next(pages, None)
            if part is None:
                break
            last_id, rows = part
            now = clock()
            apply = _Apply(db, now, run_id, summary)
            for row in rows:
                summary.checked += 1
                for action in decide(_facts(row, state_for), rules):
                    apply(action)
            if work.full:
                progress = {"key": work.rules_key, "after": last_id}
                write_state(db, {RECONCILE_RESUME: json.dumps(progress, sort_keys=True)})
    with transaction(db):
        # What was read is consumed; consumed entries are kept 30 days (for inspection).
        consume_changes(db, work.journal_end, drop_before=clock() - timedelta(days=30))
        if work.state_to_write:
            write_state(db, {RECONCILE_RULES: work.rules_key})
            clear_state(db, [RECONCILE_RESUME])
    summary.waiting = conflicts.open_count(db)
    return summary


class _Apply:
    """Applies actions through the owner modules, inside the caller's transaction."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        now: datetime,
        run_id: int | None,
        summary: ReconcileSummary,
    ) -> None:
        self.db, self.now, self.stamp = db, now, to_db(now)
        self.run_id, self.summary = run_id, summary

    def __call__(self, action: Action) -> None:
        db, t = self.db, action.ticket
        if isinstance(action, KeepBase):
            self._base(t, action.lapor_state, action.local_state, action.status_name)
        elif isinstance(action, Agree):
            self.summary.agreed += 1
            self._base(t, action.state, action.state, action.status_name)
        elif isinstance(action, ApplyRemoteState):
            set_ticket_status(db, t.ticket_id, action.to_state.value, self.stamp)
            self.summary.applied += 1
            self._event(t, EventKind.STATUS_CHANGED, "lapor", action.from_state, action.to_state)
            self._base(t, action.to_state, action.to_state, action.status_name)
        elif isinstance(action, AcceptLocal):
            self.summary.accepted_local += 1
            self._event(t, EventKind.LOCAL_CHANGED, "local", action.from_state, action.to_state)
            self._base(t, action.lapor_state, action.to_state, action.status_name)
        elif isinstance(action, OpenConflict):
            self._conflict(action)
        elif isinstance(action, CloseUnknownStatus):
            conflicts.close_unknown_status(db, t.ticket_id, self.stamp)
        else:
            assert isinstance(action, Waiting)

    def _base(self, t: TicketRef, lapor: S, local: S, status_name: str) -> None:
        save_base(self.db, t.ticket_id, lapor.value, local.value, status_name, self.stamp)

    def _conflict(self, c: OpenConflict) -> None:
        t = c.ticket
        if conflicts.open_conflict(
            self.db, t.ticket_id, c.kind, c.lapor_value, c.local_value, c.base_value, self.stamp
        ):
            self.summary.opened += 1
            record_event(
                self.db,
                EventKind.CONFLICT,
                self.now,
                **_where(t),
                side="both",
                detail={"kind": c.kind, "lapor_value": c.lapor_value, "local_value": c.local_value},
                run_id=self.run_id,
            )

    def _event(self, t: TicketRef, kind: EventKind, side: str, old: S, new: S) -> None:
        record_event(
            self.db,
            kind,
            self.now,
            **_where(t),
            side=side,
            detail={"from_state": old.value, "to_state": new.value},
            run_id=self.run_id,
        )


def _where(t: TicketRef) -> dict[str, Any]:
    return {
        "account": t.account,
        "opd": t.opd_code,
        "complaint_id": t.remote_id,
        "tracking_id": t.tracking_id,
        "ticket_ref": t.ref,
    }


def resolve_conflict(
    db: sqlite_utils.Database,
    conflict_id: int,
    take: str,
    state_for: StateResolver,
    *,
    clock: Clock = now_wib,
    note: str | None = None,
) -> None:
    """A person settles a conflict: ``take`` is "lapor" or "local"."""
    if take not in ("lapor", "local"):
        raise ConflictError("take must be 'lapor' or 'local'")
    now = clock()
    with transaction(db):
        c = conflicts.conflict_to_resolve(db, conflict_id)
        if c is None:
            raise ConflictError(f"no conflict with id {conflict_id}")
        if c["resolved_at"] is not None:
            raise ConflictError(f"conflict {conflict_id} was already resolved")
        remote = state_for(c["status_name"] or "")
        local = S(c["status"])
        if remote is None:
            raise ConflictError(
                f"SP4N-LAPOR! status {c['status_name']!r} is not in [status_map]; add it to "
                "config.toml first, then resolve"
            )
        if take == "lapor":
            set_ticket_status(db, c["ticket_id"], remote.value, to_db(now))
            local = remote
        save_base(db, c["ticket_id"], remote.value, local.value, c["status_name"], to_db(now))
        # Every open conflict of the ticket is settled by this decision.
        conflicts.resolve_open(db, c["ticket_id"], take, note, to_db(now))
        record_event(
            db,
            EventKind.RESOLVED,
            now,
            account=c["account"],
            opd=c["opd_code"],
            complaint_id=c["remote_id"],
            tracking_id=c["tracking_id"],
            ticket_ref=c["ref"],
            side="person",
            detail={"conflict_id": conflict_id, "take": take, "to_state": local.value},
        )

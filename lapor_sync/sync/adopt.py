"""Adopt: bring what was pulled from SP4N-LAPOR! into the OPD register — planned, then
applied.

The rules (new ticket, echo link, follow-up, follow-up echo) are the pure functions of
``sync.adopt_rules``. This module reads pulled complaints without a link, then pulled
follow-ups of linked complaints without a local follow-up, in keyset pages of ``PAGE``
(``store.adopt_reads``), plans each page and applies it through the owner modules
(``store.tickets``, ``store.links``). ``plan_adopt`` yields the plan without applying it.

Invariants: adoption never creates outbox rows (the triggers skip origin 'lapor'); a
remote complaint is linked to at most one ticket and a ticket to at most one complaint
(unique constraints); each page is read and applied in one transaction, so a crash
leaves no half-adopted complaint and loses at most the page under way — what was adopted
is linked and is not read again, so the next run simply continues (no resume state is
needed); memory is bounded by the page; references are issued in the order the complaints
were created on SP4N-LAPOR!.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

import sqlite_utils

from lapor_sync.local.register import issue_ref
from lapor_sync.store import tickets as register_rows
from lapor_sync.store.adopt_reads import (
    PulledComplaint,
    PulledFollowup,
    local_followup_state,
    local_ticket_by_ref,
    unadopted_followups_page,
    unlinked_complaints_page,
)
from lapor_sync.store.db import read_snapshot, transaction
from lapor_sync.store.links import link_ticket
from lapor_sync.sync.adopt_rules import (
    AdoptComplaint,
    AdoptFollowup,
    ClaimFollowupEcho,
    ComplaintAction,
    ComplaintFacts,
    EchoTarget,
    FollowupAction,
    FollowupFacts,
    LinkEcho,
    OpdResolver,
    OwnFollowup,
    SkipEcho,
    SkipFollowupEcho,
    StateResolver,
    decide_complaints,
    decide_followups,
    echo_candidates,
    own_followup_id,
)
from lapor_sync.timeutil import Clock, now_wib, to_db

PAGE = 2000  # records per page and transaction

AdoptAction = ComplaintAction | FollowupAction
A = TypeVar("A", ComplaintAction, FollowupAction)


@dataclass
class AdoptSummary:
    tickets_new: int = 0
    echoes_linked: int = 0
    followups_new: int = 0
    followup_echoes: int = 0


# --- reading a page's facts --------------------------------------------------------------------


def _complaint_facts(db: sqlite_utils.Database, rc: PulledComplaint) -> ComplaintFacts:
    echo = None
    for ref in echo_candidates(str(rc.record["content"] or ""), rc.tags):
        found = local_ticket_by_ref(db, ref)
        if found is not None:
            echo = EchoTarget(*found)
            break
    return ComplaintFacts(
        rc.account,
        rc.remote_id,
        rc.tracking_id,
        rc.status_name,
        rc.created_at,
        rc.disposition_id,
        echo,
        rc.record,
    )


def _followup_facts(db: sqlite_utils.Database, rf: PulledFollowup) -> FollowupFacts:
    own_id = own_followup_id(rf.content, rf.ticket_ref)
    stored = None if own_id is None else local_followup_state(db, own_id)
    own = (
        None
        if stored is None
        else OwnFollowup(stored.followup_id, stored.ticket_id, stored.has_remote_id)
    )
    return FollowupFacts(
        rf.account,
        rf.remote_id,
        rf.ticket_id,
        rf.author_type,
        rf.is_secret,
        rf.created_at,
        own_id,
        own,
        rf.content,
    )


def _complaint_pages(
    db: sqlite_utils.Database, state_for: StateResolver, opd_for: OpdResolver, page: int
) -> Iterator[list[ComplaintAction]]:
    """The plan of each page of unlinked complaints; each page is read when the caller
    asks for it, inside the snapshot or transaction the caller holds."""
    after = None
    while True:
        rows = unlinked_complaints_page(db, after=after, limit=page)
        if rows:
            facts = [_complaint_facts(db, rc) for rc in rows]
            yield decide_complaints(facts, state_for, opd_for)
        if len(rows) < page:
            return
        after = rows[-1].key


def _followup_pages(db: sqlite_utils.Database, page: int) -> Iterator[list[FollowupAction]]:
    """The plan of each page of follow-ups to adopt (see ``_complaint_pages``)."""
    after = None
    while True:
        rows = unadopted_followups_page(db, after=after, limit=page)
        if rows:
            yield decide_followups([_followup_facts(db, rf) for rf in rows])
        if len(rows) < page:
            return
        after = rows[-1].key


# --- the plan, read-only ------------------------------------------------------------------------


def plan_adopt(
    db: sqlite_utils.Database,
    *,
    state_for: StateResolver,
    opd_for: OpdResolver,
    page: int = PAGE,
) -> Iterator[AdoptAction]:
    """What ``adopt`` would do now, as actions, without writing anything.

    Contract:
    - reads only (``SELECT``s inside read snapshots, one per page): runs on a read-only
      connection and beside the daemon;
    - yields one action per unlinked pulled complaint (``AdoptComplaint``, ``LinkEcho``,
      ``SkipEcho``), in the order ``adopt`` applies them, then one per pulled follow-up of
      an already linked complaint that the register lacks (``AdoptFollowup``,
      ``ClaimFollowupEcho``, ``SkipFollowupEcho``);
    - follow-ups of complaints that are adopted or linked by this very pass are not
      listed: ``adopt`` takes them in after the complaints, the plan cannot see them yet;
    - ``AdoptComplaint.columns`` and ``AdoptFollowup.content`` hold personal data (left
      out of ``repr``): a caller that shows the plan shows ids, states and OPDs only;
    - references are not issued: a plan names no reference for a new ticket.
    """
    yield from _in_snapshots(db, _complaint_pages(db, state_for, opd_for, page))
    yield from _in_snapshots(db, _followup_pages(db, page))


def _in_snapshots(db: sqlite_utils.Database, pages: Iterator[list[A]]) -> Iterator[A]:
    """The pages' actions, each page read in a snapshot of its own."""
    while True:
        with read_snapshot(db):
            actions = next(pages, None)
        if actions is None:
            return
        yield from actions


# --- the pass ---------------------------------------------------------------------------------


def adopt(
    db: sqlite_utils.Database,
    *,
    reference_format: str,
    state_for: StateResolver,
    opd_for: OpdResolver,
    clock: Clock = now_wib,
    page: int = PAGE,
) -> AdoptSummary:
    """Adopt every unlinked pulled complaint and every pulled follow-up the register
    lacks, a page of ``page`` records per transaction."""
    summary = AdoptSummary()
    stamp = to_db(clock())
    complaints = _complaint_pages(db, state_for, opd_for, page)
    while True:
        with transaction(db):
            plan = next(complaints, None)
            if plan is None:
                break
            for action in plan:
                _apply_complaint(db, action, reference_format, stamp, summary)
    followups = _followup_pages(db, page)
    while True:
        with transaction(db):
            fplan = next(followups, None)
            if fplan is None:
                break
            for faction in fplan:
                _apply_followup(db, faction, summary)
    return summary


def _apply_complaint(
    db: sqlite_utils.Database,
    action: ComplaintAction,
    reference_format: str,
    stamp: str,
    summary: AdoptSummary,
) -> None:
    if isinstance(action, AdoptComplaint):
        ref = issue_ref(db, reference_format, action.year)
        ticket_id = register_rows.create_ticket(db, {"ref": ref, **action.columns})
        link_ticket(db, ticket_id, action.account, action.remote_id, action.tracking_id, stamp)
        summary.tickets_new += 1
    elif isinstance(action, LinkEcho):
        link_ticket(
            db, action.ticket_id, action.account, action.remote_id, action.tracking_id, stamp
        )
        summary.echoes_linked += 1
    else:
        assert isinstance(action, SkipEcho)  # already ours: never a new ticket


def _apply_followup(
    db: sqlite_utils.Database, action: FollowupAction, summary: AdoptSummary
) -> None:
    if isinstance(action, ClaimFollowupEcho):
        if register_rows.claim_followup_echo(
            db, action.followup_id, action.ticket_id, action.account, action.remote_id
        ):
            summary.followup_echoes += 1
    elif isinstance(action, AdoptFollowup):
        register_rows.create_followup(
            db,
            ticket_id=action.ticket_id,
            origin="lapor",
            author=action.author,
            opd_code=None,
            content=action.content,
            is_secret=action.is_secret,
            created_at=action.created_at,
            remote_account=action.account,
            remote_id=action.remote_id,
        )
        summary.followups_new += 1
    else:
        assert isinstance(action, SkipFollowupEcho)  # never import our own twice

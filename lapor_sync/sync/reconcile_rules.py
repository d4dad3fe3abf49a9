"""The reconciliation rules as a pure function: facts about one linked ticket in, actions out.

Three values per linked ticket: R, the state SP4N-LAPOR! shows (its status name mapped
through ``status_map``); L, the state in the OPD register; and the **base** — the state
each side was last accounted at (``sync_base``). A side whose value differs from its base
changed since the last reconciliation.

Rules, in order (``RANK`` orders states along the process):

1. R unknown (a status name the mapping does not know) → a conflict holding the raw name;
   nothing else happens to that ticket. Never dropped, never guessed.
2. A ticket with an open conflict is left alone until a person resolves it (an
   unknown-status conflict whose name the mapping now knows closes by itself first).
3. Only LAPOR! changed → if R is behind its base, it moved backwards: conflict (unless
   ``allow_backwards``). Else R flows to the register — unless the register is already
   ahead on a state the OPD decides (answered ahead of in_progress): then only the base
   moves, so the register never goes backwards either.
4. Only the register changed → if L is a state SP4N-LAPOR! decides, or L moved
   backwards: conflict. Else accepted; it reaches SP4N-LAPOR! through its outbox rows
   (the follow-up or forward that caused it), not as a status.
5. Both changed → equal: agreed. Else LAPOR! wins when it decides R and R is at least as
   far along as L; the register wins when the OPD decides L and SP4N-LAPOR! does not
   decide R and L is at least as far along. Anything else is a conflict holding both
   values; neither side is overwritten.

A link seen for the first time has no base: the side that is behind counts as the base,
so the side that is ahead is the change and the rules above judge it.

``decide`` reads nothing and writes nothing: the same facts and rules always give the same
actions, so ``sync --dry-run``, the rule tests and the real pass share one definition.
The actions are applied by ``sync.reconcile``. No action carries personal data: ids,
states, SP4N-LAPOR!'s status name and the ticket's reference.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from lapor_sync.domain import ComplaintState as S

RANK: Mapping[S, int] = {
    S.RECEIVED: 0,
    S.AWAITING_VERIFICATION: 1,
    S.DISPOSITIONED: 2,
    S.IN_PROGRESS: 3,
    S.POSTPONED: 3,
    S.ANSWERED: 4,
    S.CLOSED: 5,
    S.ARCHIVED: 5,
    S.FORWARDED: 5,
}

UNKNOWN_STATUS = "unknown_status"

ConflictKey = tuple[str, str | None, str | None]
"""An open conflict as the store's unique index sees it: (kind, lapor_value, local_value)."""


@dataclass(frozen=True)
class ReconcileRules:
    """Who decides each state (``"lapor"`` or ``"opd"``) and whether a side may move back."""

    authority: Mapping[S, str]
    allow_backwards: bool = False

    def decided_by_lapor(self, state: S) -> bool:
        return self.authority.get(state) == "lapor"

    def fingerprint(self) -> str:
        """Changes whenever the rules change."""
        text = repr(sorted((state.value, who) for state, who in self.authority.items()))
        return hashlib.sha256(f"{text}|{self.allow_backwards}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TicketRef:
    """Which ticket and complaint an action is about (what a log event names)."""

    ticket_id: int
    ref: str | None
    opd_code: str | None
    account: str
    remote_id: str
    tracking_id: str | None


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """Everything the rules look at for one linked ticket, read in one snapshot.

    ``lapor_state`` is ``status_name`` mapped through the status map (None: not in it);
    ``base_lapor``/``base_local`` are both None for a link never reconciled;
    ``open_conflicts`` are the ticket's conflicts waiting for a person.
    """

    ticket: TicketRef
    status_name: str
    lapor_state: S | None
    local_state: S
    base_lapor: S | None
    base_local: S | None
    open_conflicts: frozenset[ConflictKey] = frozenset()


# --- actions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeepBase:
    """Nothing to change but the base: both sides as they are now become the base.

    ``reason``: ``"unchanged"`` (neither side moved since the base, or a first sight that
    agrees) or ``"register_ahead"`` (LAPOR! moved, but the register is ahead on the OPD's
    own work).
    """

    ticket: TicketRef
    lapor_state: S
    local_state: S
    status_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Agree:
    """Both sides moved, to the same state: recorded as the base, counted as agreed."""

    ticket: TicketRef
    state: S
    status_name: str


@dataclass(frozen=True, slots=True)
class ApplyRemoteState:
    """SP4N-LAPOR!'s state flows to the register (a ``status_changed`` event)."""

    ticket: TicketRef
    from_state: S
    to_state: S
    status_name: str


@dataclass(frozen=True, slots=True)
class AcceptLocal:
    """The register's change is accepted (a ``local_changed`` event from the base)."""

    ticket: TicketRef
    from_state: S
    to_state: S
    lapor_state: S
    status_name: str


@dataclass(frozen=True, slots=True)
class OpenConflict:
    """A conflict for a person; nothing is overwritten (a ``conflict`` event)."""

    ticket: TicketRef
    kind: str  # unknown_status | backwards_lapor | backwards_local | lapor_decides | both_changed
    lapor_value: str
    local_value: str
    base_value: str | None


@dataclass(frozen=True, slots=True)
class CloseUnknownStatus:
    """The status map now knows the name: the ticket's unknown-status conflicts close."""

    ticket: TicketRef


@dataclass(frozen=True, slots=True)
class Waiting:
    """An open conflict holds the ticket: nothing is written until a person resolves it."""

    ticket: TicketRef


Action = (
    KeepBase | Agree | ApplyRemoteState | AcceptLocal | OpenConflict | CloseUnknownStatus | Waiting
)


# --- the rules -----------------------------------------------------------------------------


def decide(facts: TicketFacts, rules: ReconcileRules) -> list[Action]:
    """The actions that settle one ticket, in the order they are applied."""
    ticket, remote, local = facts.ticket, facts.lapor_state, facts.local_state
    if remote is None:
        return [_conflict(facts, UNKNOWN_STATUS, facts.status_name, local.value, None)]
    actions: list[Action] = []
    if facts.open_conflicts:
        kinds = {kind for kind, _, _ in facts.open_conflicts}
        if UNKNOWN_STATUS in kinds:
            actions.append(CloseUnknownStatus(ticket))
        if kinds - {UNKNOWN_STATUS}:
            actions.append(Waiting(ticket))
            return actions
    if facts.base_lapor is None or facts.base_local is None:
        behind = local if RANK[remote] >= RANK[local] else remote
        base_remote = base_local = behind
    else:
        base_remote, base_local = facts.base_lapor, facts.base_local
    remote_moved, local_moved = remote != base_remote, local != base_local
    if not remote_moved and not local_moved:
        actions.append(KeepBase(ticket, remote, local, facts.status_name, "unchanged"))
    elif remote == local:
        actions.append(Agree(ticket, remote, facts.status_name))
    elif remote_moved and not local_moved:
        actions.append(_remote_changed(facts, rules, base_remote, remote, local))
    elif local_moved and not remote_moved:
        actions.append(_local_changed(facts, rules, base_local, remote, local))
    else:
        actions.append(_both_changed(facts, rules, base_remote, base_local, remote, local))
    return actions


def _backwards(rules: ReconcileRules, before: S, after: S) -> bool:
    return RANK[after] < RANK[before] and not rules.allow_backwards


def _remote_changed(
    facts: TicketFacts, rules: ReconcileRules, base: S, remote: S, local: S
) -> Action:
    if _backwards(rules, base, remote):
        return _conflict(facts, "backwards_lapor", remote.value, local.value, base.value)
    if RANK[local] > RANK[remote] and not rules.decided_by_lapor(local):
        return KeepBase(facts.ticket, remote, local, facts.status_name, "register_ahead")
    return ApplyRemoteState(facts.ticket, local, remote, facts.status_name)


def _local_changed(
    facts: TicketFacts, rules: ReconcileRules, base: S, remote: S, local: S
) -> Action:
    if rules.decided_by_lapor(local):
        return _conflict(facts, "lapor_decides", remote.value, local.value, base.value)
    if _backwards(rules, base, local):
        return _conflict(facts, "backwards_local", remote.value, local.value, base.value)
    return AcceptLocal(facts.ticket, base, local, remote, facts.status_name)


def _both_changed(
    facts: TicketFacts,
    rules: ReconcileRules,
    base_remote: S,
    base_local: S,
    remote: S,
    local: S,
) -> Action:
    if (
        rules.decided_by_lapor(remote)
        and RANK[remote] >= RANK[local]
        and not _backwards(rules, base_remote, remote)
    ):
        return ApplyRemoteState(facts.ticket, local, remote, facts.status_name)
    if (
        not rules.decided_by_lapor(local)
        and not rules.decided_by_lapor(remote)
        and RANK[local] >= RANK[remote]
        and not _backwards(rules, base_local, local)
    ):
        return AcceptLocal(facts.ticket, base_local, local, remote, facts.status_name)
    return _conflict(facts, "both_changed", remote.value, local.value, base_remote.value)


def _conflict(facts: TicketFacts, kind: str, lapor: str, local: str, base: str | None) -> Action:
    """A conflict — or, when the very same one is open already, waiting for it."""
    if (kind, lapor, local) in facts.open_conflicts:
        return Waiting(facts.ticket)
    return OpenConflict(facts.ticket, kind, lapor, local, base)

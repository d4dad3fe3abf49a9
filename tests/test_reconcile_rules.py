"""The reconciliation rules as a table: facts in, actions out — no database, no HTTP.

Authority as shipped in config.toml: SP4N-LAPOR! decides awaiting_verification,
dispositioned, postponed, archived and closed; the OPD decides received, in_progress,
answered and forwarded.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from lapor_sync.domain import ComplaintState as S
from lapor_sync.sync.reconcile_rules import (
    RANK,
    AcceptLocal,
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

LAPOR = {"awaiting_verification", "dispositioned", "postponed", "archived", "closed"}
AUTHORITY = {state: ("lapor" if state.value in LAPOR else "local") for state in S}
RULES = ReconcileRules(authority=AUTHORITY)
BACKWARDS_OK = ReconcileRules(authority=AUTHORITY, allow_backwards=True)
T = TicketRef(7, "LPG-2026-000007", "DINKES", "pemprov-lampung", "4401", "TRK4401")

AV, DI, IP, PP = S.AWAITING_VERIFICATION, S.DISPOSITIONED, S.IN_PROGRESS, S.POSTPONED
AN, CL, AR, RE = S.ANSWERED, S.CLOSED, S.ARCHIVED, S.RECEIVED


def facts(
    remote: S | None,
    local: S,
    base: tuple[S, S] | None = None,
    open_conflicts: frozenset[tuple[str, str | None, str | None]] = frozenset(),
    name: str = "Nama Status",
) -> TicketFacts:
    return TicketFacts(
        ticket=T,
        status_name=name,
        lapor_state=remote,
        local_state=local,
        base_lapor=None if base is None else base[0],
        base_local=None if base is None else base[1],
        open_conflicts=open_conflicts,
    )


N = "Nama Status"
CASES: list[tuple[str, TicketFacts, ReconcileRules, list[Any]]] = [
    # rule 1: a status name the mapping does not know
    (
        "unknown status opens a conflict holding the raw name",
        facts(None, DI, (DI, DI), name="Status Aneh"),
        RULES,
        [OpenConflict(T, "unknown_status", "Status Aneh", "dispositioned", None)],
    ),
    (
        "unknown status already in conflict: waits, opens nothing again",
        facts(
            None,
            DI,
            (DI, DI),
            frozenset({("unknown_status", "Status Aneh", "dispositioned")}),
            name="Status Aneh",
        ),
        RULES,
        [Waiting(T)],
    ),
    (
        "another unknown name than the one in conflict: a second conflict",
        facts(
            None,
            DI,
            (DI, DI),
            frozenset({("unknown_status", "Status Lama", "dispositioned")}),
            name="Status Aneh",
        ),
        RULES,
        [OpenConflict(T, "unknown_status", "Status Aneh", "dispositioned", None)],
    ),
    (
        "unknown status even while another conflict is open",
        facts(None, AN, (DI, DI), frozenset({("both_changed", "closed", "answered")}), name="X"),
        RULES,
        [OpenConflict(T, "unknown_status", "X", "answered", None)],
    ),
    # rule 2: a conflict waits for a person
    (
        "an open conflict holds the ticket",
        facts(CL, AN, (DI, DI), frozenset({("both_changed", "closed", "answered")})),
        RULES,
        [Waiting(T)],
    ),
    (
        "a known-now unknown status closes, then the usual rules run",
        facts(DI, DI, (DI, DI), frozenset({("unknown_status", "Status Aneh", "dispositioned")})),
        RULES,
        [CloseUnknownStatus(T), KeepBase(T, DI, DI, N, "unchanged")],
    ),
    (
        "a known-now unknown status closes, another conflict still holds the ticket",
        facts(
            CL,
            AN,
            (DI, DI),
            frozenset({("unknown_status", "Aneh", "answered"), ("lapor_decides", "x", "y")}),
        ),
        RULES,
        [CloseUnknownStatus(T), Waiting(T)],
    ),
    # first sight of a link: the side behind is the base
    (
        "first sight, both sides agree",
        facts(DI, DI),
        RULES,
        [KeepBase(T, DI, DI, N, "unchanged")],
    ),
    (
        "first sight, LAPOR! ahead flows to the register",
        facts(DI, AV),
        RULES,
        [ApplyRemoteState(T, AV, DI, N)],
    ),
    (
        "first sight, register ahead on the OPD's state is accepted",
        facts(DI, AN),
        RULES,
        [AcceptLocal(T, DI, AN, DI, N)],
    ),
    (
        "first sight, register ahead on a state LAPOR! decides",
        facts(DI, CL),
        RULES,
        [OpenConflict(T, "lapor_decides", "dispositioned", "closed", "dispositioned")],
    ),
    # nothing moved
    (
        "neither side moved since the base",
        facts(IP, IP, (IP, IP)),
        RULES,
        [KeepBase(T, IP, IP, N, "unchanged")],
    ),
    # rule 3: only LAPOR! changed
    (
        "LAPOR! moved forward",
        facts(CL, AN, (AN, AN)),
        RULES,
        [ApplyRemoteState(T, AN, CL, N)],
    ),
    (
        "LAPOR! moved backwards: conflict",
        facts(IP, CL, (CL, CL)),
        RULES,
        [OpenConflict(T, "backwards_lapor", "in_progress", "closed", "closed")],
    ),
    (
        "LAPOR! moved backwards, allowed: it flows",
        facts(IP, CL, (CL, CL)),
        BACKWARDS_OK,
        [ApplyRemoteState(T, CL, IP, N)],
    ),
    (
        "LAPOR! moved, register ahead on the OPD's own work: only the base moves",
        facts(IP, AN, (DI, AN)),
        RULES,
        [KeepBase(T, IP, AN, N, "register_ahead")],
    ),
    (
        "LAPOR! moved forward, register ahead on a state LAPOR! decides: LAPOR! applies",
        facts(DI, PP, (AV, PP)),
        RULES,
        [ApplyRemoteState(T, PP, DI, N)],
    ),
    # rule 4: only the register changed
    (
        "register moved to a state LAPOR! decides: conflict",
        facts(AN, CL, (AN, AN)),
        RULES,
        [OpenConflict(T, "lapor_decides", "answered", "closed", "answered")],
    ),
    (
        "register moved backwards: conflict",
        facts(AN, IP, (AN, AN)),
        RULES,
        [OpenConflict(T, "backwards_local", "answered", "in_progress", "answered")],
    ),
    (
        "register moved backwards, allowed: accepted",
        facts(AN, RE, (AN, AN)),
        BACKWARDS_OK,
        [AcceptLocal(T, AN, RE, AN, N)],
    ),
    (
        "register moved forward on the OPD's state: accepted",
        facts(DI, AN, (DI, IP)),
        RULES,
        [AcceptLocal(T, IP, AN, DI, N)],
    ),
    # rule 5: both changed
    (
        "both moved to the same state: agreed",
        facts(AN, AN, (DI, IP)),
        RULES,
        [Agree(T, AN, N)],
    ),
    (
        "both moved, LAPOR! decides its state and is ahead: LAPOR! wins",
        facts(CL, AN, (DI, IP)),
        RULES,
        [ApplyRemoteState(T, AN, CL, N)],
    ),
    (
        "both moved, the OPD decides both and the register is ahead: the register wins",
        facts(IP, AN, (DI, DI)),
        RULES,
        [AcceptLocal(T, DI, AN, IP, N)],
    ),
    (
        "both moved, LAPOR!'s decided state is behind the register's: conflict",
        facts(PP, AN, (DI, DI)),
        RULES,
        [OpenConflict(T, "both_changed", "postponed", "answered", "dispositioned")],
    ),
    (
        "both moved, LAPOR! decides but moved backwards: conflict",
        facts(PP, RE, (CL, DI)),
        RULES,
        [OpenConflict(T, "both_changed", "postponed", "received", "closed")],
    ),
    (
        "both moved, LAPOR! decides and moved backwards, allowed: LAPOR! wins",
        facts(PP, RE, (CL, DI)),
        BACKWARDS_OK,
        [ApplyRemoteState(T, RE, PP, N)],
    ),
    (
        "both moved back, the register to a state LAPOR! decides: conflict",
        facts(IP, PP, (AN, AN)),
        RULES,
        [OpenConflict(T, "both_changed", "in_progress", "postponed", "answered")],
    ),
    (
        "both moved, the register ahead but on a state LAPOR! decides: conflict",
        facts(IP, AR, (DI, DI)),
        RULES,
        [OpenConflict(T, "both_changed", "in_progress", "archived", "dispositioned")],
    ),
]


@pytest.mark.parametrize(
    ("case", "given", "rules", "expected"), CASES, ids=[case for case, *_ in CASES]
)
def test_decide(case: str, given: TicketFacts, rules: ReconcileRules, expected: list[Any]) -> None:
    assert decide(given, rules) == expected


def test_every_action_kind_is_in_the_table() -> None:
    kinds = {type(action) for *_, expected in CASES for action in expected}
    assert kinds == {
        KeepBase,
        Agree,
        ApplyRemoteState,
        AcceptLocal,
        OpenConflict,
        CloseUnknownStatus,
        Waiting,
    }
    conflict_kinds = {
        action.kind
        for *_, expected in CASES
        for action in expected
        if isinstance(action, OpenConflict)
    }
    assert conflict_kinds == {
        "unknown_status",
        "backwards_lapor",
        "backwards_local",
        "lapor_decides",
        "both_changed",
    }


def test_actions_name_no_personal_data() -> None:
    text = repr([decide(given, rules) for _, given, rules, _ in CASES])
    assert "LPG-2026-000007" in text  # the reference is how a person finds the ticket
    for field in ("reporter", "content", "title", "phone", "email"):
        assert field not in text


BASES: list[tuple[S, S] | None] = [None, *((r, loc) for r in S for loc in S)]


@pytest.mark.parametrize("rules", [RULES, BACKWARDS_OK], ids=["default", "allow-backwards"])
def test_every_state_pair_against_every_base_keeps_the_invariants(
    rules: ReconcileRules,
) -> None:
    """All 9 x 9 pairs of states, against no base and every one of the 81 bases."""
    seen: Counter[str] = Counter()
    for remote in S:
        for local in S:
            for base in BASES:
                given = facts(remote, local, base)
                (action,) = decide(given, rules)  # exactly one action settles a ticket
                seen[type(action).__name__] += 1
                behind = local if RANK[remote] >= RANK[local] else remote  # no base yet
                base_remote, base_local = base or (behind, behind)
                back_ok = rules.allow_backwards
                if isinstance(action, KeepBase):
                    assert (action.lapor_state, action.local_state) == (remote, local)
                elif isinstance(action, Agree):
                    assert action.state == remote == local
                elif isinstance(action, ApplyRemoteState):
                    # the register takes LAPOR!'s state, never one LAPOR! moved back to
                    assert (action.from_state, action.to_state) == (local, remote)
                    assert back_ok or RANK[remote] >= RANK[base_remote]
                elif isinstance(action, AcceptLocal):
                    # the register's own change, never to a state LAPOR! decides
                    assert (action.from_state, action.to_state) == (base_local, local)
                    assert not rules.decided_by_lapor(local)
                    assert back_ok or RANK[local] >= RANK[base_local]
                else:
                    assert isinstance(action, OpenConflict)
                    assert (action.lapor_value, action.local_value) == (remote, local)
                if remote == local:
                    assert isinstance(action, (KeepBase, Agree))
                if base is not None and remote == base[0] and local == base[1]:
                    assert action == KeepBase(T, remote, local, N, "unchanged")
    assert set(seen) == {"KeepBase", "Agree", "ApplyRemoteState", "AcceptLocal", "OpenConflict"}

"""Reconcile and adopt in pages: the plan is what the pass then does, the plan writes
nothing, and a pass killed between pages resumes where it stopped."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlite_utils

from lapor_sync.app import (
    adopt_pulled,
    pull_account,
    reconcile_all,
    reconcile_rules,
    status_map_key,
)
from lapor_sync.local.register import set_status
from lapor_sync.sandbox import SandboxWorld, seed_world
from lapor_sync.store.db import reopenable_path
from lapor_sync.sync.adopt import adopt, plan_adopt
from lapor_sync.sync.adopt_rules import AdoptComplaint
from lapor_sync.sync.reconcile import plan_reconcile, reconcile
from lapor_sync.sync.reconcile_rules import (
    AcceptLocal,
    Agree,
    ApplyRemoteState,
    OpenConflict,
)

PEMPROV = "pemprov-lampung"


def read_only(env: Any) -> sqlite_utils.Database:
    """A connection that cannot write: a plan that tried would fail."""
    path = reopenable_path(env.app.db)
    return sqlite_utils.Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))


def store_text(env: Any) -> list[str]:
    return list(env.app.db.conn.iterdump())


def linked_refs(env: Any) -> list[tuple[str, str]]:
    return env.app.db.execute(
        "SELECT t.ref, l.remote_id FROM links l JOIN local_tickets t ON t.id = l.ticket_id "
        "ORDER BY t.id"
    ).fetchall()


def test_the_reconcile_plan_is_what_the_pass_does_and_writes_nothing(make_env: Any) -> None:
    world = SandboxWorld(seed=51)
    seed_world(world, complaints=60)
    env = make_env(world)
    pull_account(env.app, PEMPROV)
    reconcile_all(env.app)
    refs = linked_refs(env)
    # the register moves some tickets: one to a state SP4N-LAPOR! decides (a conflict),
    # two forward on the OPD's own work; SP4N-LAPOR! closes two complaints
    db = env.app.db
    set_status(db, refs[0][0], "closed")
    set_status(db, refs[1][0], "answered")
    set_status(db, refs[2][0], "answered")
    for _, remote_id in refs[5:7]:
        env.world.close(int(remote_id))
    env.world.advance(timedelta(minutes=5))
    pull_account(env.app, PEMPROV)
    adopt_pulled(env.app)
    before = store_text(env)
    settings = env.app.settings
    ro = read_only(env)
    plan = list(
        plan_reconcile(
            ro,
            reconcile_rules(settings),
            settings.state_for_status,
            mapping_key=status_map_key(settings),
            page=2,
        )
    )
    ro.close()
    assert store_text(env) == before  # not a row, not a journal mark, not a log event
    kinds = Counter(type(action) for action in plan)
    assert kinds[OpenConflict] >= 1 and kinds[ApplyRemoteState] >= 1

    summary = reconcile_all(env.app)
    assert summary.applied == kinds[ApplyRemoteState]
    assert summary.opened == kinds[OpenConflict]
    assert summary.accepted_local == kinds[AcceptLocal]
    assert summary.agreed == kinds[Agree]
    assert summary.checked == len({action.ticket.ticket_id for action in plan})
    opened = db.execute(
        "SELECT t.ref, c.kind FROM conflicts c JOIN local_tickets t ON t.id = c.ticket_id "
        "WHERE c.resolved_at IS NULL ORDER BY t.id"
    ).fetchall()
    planned = [(a.ticket.ref, a.kind) for a in plan if isinstance(a, OpenConflict)]
    assert [tuple(row) for row in opened] == planned
    for action in plan:
        if isinstance(action, ApplyRemoteState):
            status = db.execute(
                "SELECT status FROM local_tickets WHERE id = ?", [action.ticket.ticket_id]
            ).fetchone()[0]
            assert status == action.to_state.value


def test_the_adopt_plan_is_what_adoption_does_and_writes_nothing(make_env: Any) -> None:
    world = SandboxWorld(seed=52)
    seed_world(world, complaints=40)
    env = make_env(world)
    pull_account(env.app, PEMPROV)
    before = store_text(env)
    settings = env.app.settings
    ro = read_only(env)
    plan = list(
        plan_adopt(ro, state_for=settings.state_for_status, opd_for=env.app.opd_for, page=3)
    )
    ro.close()
    assert store_text(env) == before
    summary = adopt_pulled(env.app)
    new = [a for a in plan if isinstance(a, AdoptComplaint)]
    assert summary.tickets_new == len(new) > 10
    adopted = env.app.db.execute(
        "SELECT l.remote_id, t.status, t.opd_code FROM local_tickets t "
        "JOIN links l ON l.ticket_id = t.id ORDER BY t.ref"
    ).fetchall()
    assert [tuple(row) for row in adopted] == [
        (a.remote_id, a.state.value, a.opd_code) for a in new
    ]


@pytest.mark.parametrize("page", [1, 3, 2000])
def test_adoption_in_pages_issues_references_in_creation_order(make_env: Any, page: int) -> None:
    world = SandboxWorld(seed=53)
    seed_world(world, complaints=30)
    env = make_env(world)
    pull_account(env.app, PEMPROV)
    settings = env.app.settings
    summary = adopt(
        env.app.db,
        reference_format=settings.local.reference_format,
        state_for=settings.state_for_status,
        opd_for=env.app.opd_for,
        page=page,
    )
    rows = env.app.db.execute(
        "SELECT t.ref, rc.created_at, rc.remote_id FROM local_tickets t "
        "JOIN links l ON l.ticket_id = t.id "
        "JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
        "ORDER BY t.ref"
    ).fetchall()
    assert summary.tickets_new == len(rows) > 10
    assert [r[1:] for r in rows] == sorted(r[1:] for r in rows)
    followups = env.app.db.execute(
        "SELECT count(*) FROM remote_followups rf JOIN links l "
        "ON l.account = rf.account AND l.remote_id = rf.complaint_id"
    ).fetchone()[0]
    assert summary.followups_new == followups


class Killed(Exception):
    pass


def adopted(make_env: Any, seed: int, complaints: int) -> Any:
    """An env whose App pulled and adopted a seeded world, not reconciled yet."""
    world = SandboxWorld(seed=seed)
    seed_world(world, complaints=complaints)
    env = make_env(world)
    pull_account(env.app, PEMPROV)
    adopt_pulled(env.app)
    return env


def reconcile_pass(env: Any, clock: Any, **page: int) -> Any:
    """One reconcile pass of the env's App, under its rules and status mapping."""
    settings = env.app.settings
    return reconcile(
        env.app.db,
        reconcile_rules(settings),
        settings.state_for_status,
        clock=clock,
        mapping_key=status_map_key(settings),
        **page,
    )


def test_a_first_pass_killed_between_pages_resumes_after_the_last_page_done(
    make_env: Any,
) -> None:
    env = adopted(make_env, seed=54, complaints=40)
    db = env.app.db
    linked = db.execute("SELECT count(*) FROM links").fetchone()[0]
    assert linked > 12
    calls = 0

    def dies_on_the_third_page() -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Killed
        return env.world_clock()

    def run(clock: Any) -> Any:
        return reconcile_pass(env, clock, page=4)

    with pytest.raises(Killed):
        run(dies_on_the_third_page)
    assert db.execute("SELECT count(*) FROM sync_base").fetchone()[0] == 8  # two pages done
    resumed = run(env.world_clock)
    assert resumed.checked == linked - 8  # the pass goes on after the last page done
    mismatched = db.execute(
        "SELECT count(*) FROM local_tickets t JOIN links l ON l.ticket_id = t.id "
        "LEFT JOIN sync_base b ON b.ticket_id = t.id "
        "WHERE b.ticket_id IS NULL OR b.local_state != t.status"
    ).fetchone()[0]
    assert mismatched == 0
    left = db.execute("SELECT count(*) FROM sync_state WHERE key = 'reconcile_resume'")
    assert left.fetchone()[0] == 0  # a finished pass leaves no resume state
    assert run(env.world_clock).checked == 0


def test_a_quiet_pass_writes_nothing_and_a_stale_resume_point_is_still_cleared(
    make_env: Any,
) -> None:
    env = adopted(make_env, seed=55, complaints=12)
    db = env.app.db

    def run() -> Any:
        return reconcile_pass(env, env.world_clock)

    assert run().checked > 0  # the first pass under these rules reads every ticket
    before, changes = store_text(env), db.conn.total_changes
    assert run().checked == 0
    # Nothing to reconcile: not a row written, not even the rules' key rewritten as it was.
    assert db.conn.total_changes == changes and store_text(env) == before
    db.execute("INSERT INTO sync_state (key, value) VALUES ('reconcile_resume', '{}')")
    assert run().checked == 0
    left = db.execute("SELECT count(*) FROM sync_state WHERE key = 'reconcile_resume'")
    assert left.fetchone()[0] == 0

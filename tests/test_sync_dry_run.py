"""``sync --dry-run``: it says what the next pass does, and does none of it.

One store with something pending in every step: complaints changed on SP4N-LAPOR! (a new
one to adopt, a status to apply locally), a conflict to open, local tickets and a
follow-up to push, deadlines to flag. The dry run leaves the store's files byte for byte
as they were and sends the sandbox GET requests only; then a real pass does exactly what
it said.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from lapor_sync.app import (
    dry_run_setup,
    make_client,
    pull_all,
    push_outbox,
    reconcile_all,
    scan_deadlines,
)
from lapor_sync.cli import cli
from lapor_sync.local.register import TicketInput, add_followup, add_ticket, set_status
from lapor_sync.sandbox import SandboxWorld, seed_world
from lapor_sync.store.snapshot import memory_copy
from lapor_sync.sync.dryrun import PassPlan, rehearse

PEMPROV = "pemprov-lampung"
REF_FORMAT = "LPG-{year}-{seq:06d}"
PERSONAL = ("Ibu Contoh", "081311112222", "Warga Baru", "Drainase di depan sekolah")


def _ticket(env: Any, title: str, opd: str = "BMBK") -> str:
    ticket = TicketInput(
        channel="telepon",
        title=title,
        content="Drainase di depan sekolah tersumbat sampah.",
        received_at=env.world.now(),
        reporter_name="Ibu Contoh",
        reporter_phone="081311112222",
        opd_code=opd,
    )
    return add_ticket(env.app.db, ticket, REF_FORMAT, PEMPROV).ref


def pending_everywhere(make_env: Any, seed: int) -> tuple[Any, dict[str, str]]:
    """A synced store, then something for every step of the next pass."""
    world = SandboxWorld(seed=seed)
    seed_world(world, complaints=12)
    env = make_env(world)
    refs = {"a": _ticket(env, "Saluran air tersumbat"), "b": _ticket(env, "Lampu jalan mati")}
    push_outbox(env.app)
    cid = {k: world.find_by_tag(ref)[0] for k, ref in refs.items()}
    world.verify(cid["b"])
    pull_all(env.app)
    reconcile_all(env.app)
    world.advance(timedelta(days=20))  # deadlines pass
    world.verify(cid["a"])  # a status to apply locally
    world.postpone(cid["b"])  # ... while the OPD closes it: a conflict
    set_status(env.app.db, refs["b"], "closed")
    fresh = world.add_complaint("Jalan berlubang", "Warga Baru melapor jalan berlubang.")
    world.verify(fresh)  # a new complaint for an account: to adopt
    refs["c"] = _ticket(env, "Sampah menumpuk", opd="DLH")  # a create to push
    add_followup(env.app.db, refs["b"], "BMBK", "Petugas sudah datang.")  # a follow-up
    world.advance(timedelta(minutes=5))
    env.app.close()
    return env, refs


def dry_run(env: Any, accounts: list[str] | None = None) -> PassPlan:
    settings = env.settings
    names = [a.name for a in settings.enabled_accounts]
    remotes = {
        n: make_client(settings, n, sleep=env.sleeps.append, clock=env.world_clock)
        for n in names
    }
    copy = memory_copy(settings.store.path)
    try:
        setup = dry_run_setup(settings, accounts or names, env.world_clock())
        return rehearse(copy, remotes, setup, env.world_clock)
    finally:
        copy.close()
        for remote in remotes.values():
            remote.close()


def store_files(env: Any) -> dict[str, bytes]:
    store = Path(env.settings.store.path)
    return {p.name: p.read_bytes() for p in store.parent.iterdir() if p.name.startswith("store")}


def test_dry_run_writes_nothing_sends_only_gets_and_predicts_the_next_pass(
    make_env: Any,
) -> None:
    env, refs = pending_everywhere(make_env, 301)
    before = store_files(env)
    assert "store.db-wal" not in before  # closed cleanly: the file alone is the store
    env.world.stats.reset()

    plan = dry_run(env)

    assert store_files(env) == before  # the same files, byte for byte; no -wal, no -shm
    methods = {r.method for r in env.world.stats.log()}
    assert methods == {"GET"}, env.world.stats.requests()
    text = json.dumps(plan.to_json(), ensure_ascii=False)
    assert not [p for p in PERSONAL if p in text]
    # something in every section
    pulled = {c.change for p in plan.pulls for c in p.complaints}
    assert pulled == {"new", "changed"}
    assert [a for a in plan.adoptions if not a.echo]
    assert [(c["ticket_ref"], c["kind"]) for c in plan.conflicts] == [
        (refs["b"], "both_changed")
    ]
    assert {(d["action"], d["ticket_ref"]) for d in plan.reconcile} >= {
        ("apply_remote_state", refs["a"]), ("open_conflict", refs["b"])
    }
    sends = {(p.kind, p.ticket_ref) for p in plan.pushes if p.outcome == "send"}
    assert sends == {("create_complaint", refs["c"]), ("post_followup", refs["b"])}
    create = next(p for p in plan.pushes if p.kind == "create_complaint")
    assert "title" in create.fields and "content" in create.fields
    assert plan.flags and plan.flag_figures["events"] == len(plan.flags)

    # The real pass, on the same store and sandbox: it does what the dry run said.
    app = env.reopen()
    mark = app.db.execute("SELECT max(id) FROM events").fetchone()[0]
    links_before = {r[0] for r in app.db.execute("SELECT ticket_id FROM links").fetchall()}
    versions = dict(app.db.execute("SELECT remote_id, updated_at FROM remote_complaints"))
    pull_all(app)
    changed = {
        str(r[0])
        for r in app.db.execute("SELECT remote_id, updated_at FROM remote_complaints")
        if versions.get(r[0]) != r[1]
    }
    assert changed == {c.complaint_id for p in plan.pulls for c in p.complaints}
    reconcile_all(app)
    adopted = {
        (str(r[1]), str(r[2]))
        for r in app.db.execute("SELECT ticket_id, account, remote_id FROM links")
        if r[0] not in links_before
    }
    assert adopted == {(a.account, a.complaint_id) for a in plan.adoptions}
    conflicts = app.db.execute(
        "SELECT t.ref, c.kind, c.lapor_value, c.local_value FROM conflicts c "
        "JOIN local_tickets t ON t.id = c.ticket_id WHERE c.resolved_at IS NULL"
    ).fetchall()
    assert conflicts == [
        (c["ticket_ref"], c["kind"], c["lapor_value"], c["local_value"]) for c in plan.conflicts
    ]
    outbox_before = dict(app.db.execute("SELECT id, state FROM outbox"))
    push_outbox(app)
    done = {
        int(r[0])
        for r in app.db.execute("SELECT id FROM outbox WHERE state = 'done'")
        if outbox_before[r[0]] != "done"
    }
    assert done == {p.outbox_id for p in plan.pushes if p.outcome in ("send", "found")}
    scan_deadlines(app)
    logged = app.db.execute(
        "SELECT kind, ticket_ref, side, detail FROM events WHERE id > ? ORDER BY id", [mark]
    ).fetchall()
    flagged = sorted(
        (str(r[0]), r[1], json.loads(r[3])["stage"])
        for r in logged
        if r[0] in ("overdue", "near_due")
    )
    assert flagged == sorted((f["kind"], f["ticket_ref"], f["stage"]) for f in plan.flags)
    # each decision that the reconciliation log records, and nothing else
    reconciled = [
        (str(r[0]), r[1]) for r in logged
        if r[0] in ("local_changed", "conflict")
        or (r[0] == "status_changed" and "to_state" in json.loads(r[3]))  # not the pull's
    ]
    logs_as = {"apply_remote_state": "status_changed", "accept_local": "local_changed",
               "open_conflict": "conflict"}
    assert reconciled == [
        (logs_as[d["action"]], d["ticket_ref"]) for d in plan.reconcile if d["action"] in logs_as
    ]


def test_dry_run_beside_a_running_daemon_reads_the_wal_and_changes_nothing(
    make_env: Any,
) -> None:
    env, refs = pending_everywhere(make_env, 302)
    holder = sqlite3.connect(env.settings.store.path)  # as a daemon's open connection
    try:
        holder.execute("SELECT count(*) FROM outbox").fetchone()
        files = store_files(env)
        assert "store.db-wal" in files
        plan = dry_run(env, [PEMPROV])
        after = store_files(env)
    finally:
        holder.close()
    assert after["store.db"] == files["store.db"]
    assert after["store.db-wal"] == files["store.db-wal"]
    assert {p.account for p in plan.pulls} == {PEMPROV}
    assert refs["c"] in {p.ticket_ref for p in plan.pushes}


def invoke(env: Any, *args: str) -> Any:
    config = str(env.tmp_path / "config.toml")
    return CliRunner().invoke(cli, ["--config", config, "--log-level", "error", *args])


def test_the_command_prints_a_table_or_json_and_refuses_unknown_accounts(
    make_env: Any,
) -> None:
    env, refs = pending_everywhere(make_env, 303)
    before = store_files(env)
    table = invoke(env, "sync", "--dry-run")
    assert table.exit_code == 0, table.output
    for heading in ("PULL", "RECONCILE", "PUSH", "FLAG"):
        assert f"\n{heading}" in table.output
    assert f"create_complaint {refs['c']} ({PEMPROV}): send; fields: " in table.output
    assert "conflicts to open: 1" in table.output
    assert not [p for p in PERSONAL if p in table.output]

    as_json = invoke(env, "sync", "--dry-run", "--format", "json", "--account", PEMPROV)
    assert as_json.exit_code == 0, as_json.output
    parsed = json.loads(as_json.output)
    assert parsed["dry_run"] is True and parsed["accounts"] == [PEMPROV]
    assert [p["account"] for p in parsed["pulls"]] == [PEMPROV]
    assert {p["ticket_ref"] for p in parsed["pushes"]} >= {refs["c"]}

    wrong = invoke(env, "sync", "--dry-run", "--account", "nope")
    assert wrong.exit_code == 2
    assert "nope" in wrong.output and PEMPROV in wrong.output and "Traceback" not in wrong.output
    both = invoke(env, "sync", "--dry-run", "--once")
    assert both.exit_code == 2
    assert store_files(env) == before

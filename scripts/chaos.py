"""Chaos run: the daemon against a faulty sandbox, killed with SIGKILL at random moments.

    .venv/bin/python scripts/chaos.py [--kills 20] [--seed 1]

Between kills, the Call Center takes new tickets, OPDs post follow-ups and forward
tickets, and citizens and LAPOR! admins change complaints on the sandbox, whose faults
stay on throughout: 5xx, 429, garbage bodies, page shifts, and writes committed with their
answers dropped, on every request kind. Requests also fail for good (every retry): in the
first half of the rounds the detail or follow-ups of one old complaint (the backfill
meets it with later pages in flight), then per round one or two request kinds — listing,
one complaint's detail, follow-ups or forward, or every create or follow-up post — so
pulls and pushes run out of retries at random places.
After the last kill the faults are cleared and one clean pass runs. It prints the kills
survived, complaints and follow-ups on each side, duplicates, lost items (the mirror
must equal what SP4N-LAPOR! shows each account: ids, versions, statuses, follow-up
counts), failed pulls still open and the database's ``integrity_check``; it exits 1 if
anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lapor_sync.config import load_settings  # noqa: E402
from lapor_sync.local.register import (  # noqa: E402
    MARKER_RE,
    TicketInput,
    add_followup,
    add_forward,
    add_ticket,
)
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world  # noqa: E402
from lapor_sync.sandbox.masters import scope_of  # noqa: E402
from lapor_sync.sandbox.testing import mirror_differences  # noqa: E402
from lapor_sync.store import pull_gaps  # noqa: E402
from lapor_sync.store.db import open_database  # noqa: E402

FAULTS = {
    "list": {"error_rate": 0.08, "garbage": {"html": 0.04, "truncated": 0.03}, "page_shift": True},
    "detail": {"error_rate": 0.08, "rate_429": 0.03, "retry_after_s": 1},
    "followups": {"error_rate": 0.05, "garbage": {"success_false": 0.05}},
    "create": {"drop_after_commit": 0.25, "error_rate": 0.1, "latency_ms": 40},
    "followup_add": {"drop_after_commit": 0.25, "error_rate": 0.1, "latency_ms": 40},
    "reject": {"drop_after_commit": 0.25, "error_rate": 0.1, "latency_ms": 40},
}
# Request kinds a round can make fail for good; the per-complaint ones target one id.
FOR_GOOD = ("list", "detail", "followups", "reject", "create", "followup_add")
PER_COMPLAINT = ("detail", "followups", "reject")
PAGE_SIZE = 10
FAULTED_ACCOUNTS = ("pemprov-lampung",)
FORWARD_TARGET = "1871"  # Pemerintah Kota Bandar Lampung, another account's instansi
SCHEDULE = {
    "pull_every": '"2s"',
    "push_every": '"1s"',
    "reconcile_every": '"2s"',
    "deadlines_every": '"5s"',
    "backoff_initial_seconds": "1",
    "backoff_max_seconds": "2",
    "retry_initial_wait": "0.05",
    "retry_max_wait": "0.2",
    # A round's standing write failure exhausts every request's retries many times over;
    # the outbox's own attempt budget (dead after N) is not what is measured here.
    "max_attempts": "1000",
}


@dataclass
class ChaosResult:
    kills: int = 0
    remote_complaints: int = 0
    mirrored_complaints: int = 0
    remote_followups: int = 0
    mirrored_followups: int = 0
    local_tickets: int = 0
    local_followups: int = 0
    local_forwards: int = 0
    failed_for_good: list[str] = field(default_factory=list)
    open_failed_pulls: int = 0
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Follow-ups and forwards waiting for a disposition SP4N-LAPOR! really gave elsewhere."""
    integrity: str = ""

    @property
    def ok(self) -> bool:
        return (
            not self.duplicates
            and not self.lost
            and self.integrity == "ok"
            and self.open_failed_pulls == 0
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp: Path, base_url: str) -> Path:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace("http://127.0.0.1:8765/api", base_url)
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{tmp}/chaos.db"')
    text = text.replace("health_port = 9108", f"health_port = {_free_port()}")
    # Small pages: every pull walks several, so faults land at every place in the pipeline.
    text = text.replace("page_size = 100", f"page_size = {PAGE_SIZE}")
    for key, value in SCHEDULE.items():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith(f"{key} ="):
                lines[i] = f"{key} = {value}"
                break
        else:
            raise SystemExit(f"config.toml has no {key}")
        text = "\n".join(lines) + "\n"
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _cli(config: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lapor_sync",
        "--config",
        str(config),
        "--log-level",
        "error",
        *args,
    ]


def _local_work(config: Path, world: SandboxWorld, rng: random.Random, n: int) -> None:
    """What people do while the daemon is down: new tickets, follow-ups, remote changes."""
    settings = load_settings(config, env={})
    db = open_database(settings.store.path)
    try:
        refs = [r[0] for r in db.execute("SELECT ref FROM local_tickets WHERE origin='local'")]
        for i in range(n):
            add_ticket(
                db,
                TicketInput(
                    channel=rng.choice(["sms", "whatsapp", "telepon", "walk-in"]),
                    title=f"Keluhan chaos {len(refs) + i}",
                    content="Isi keluhan 😀 '; --",
                    received_at=world.now(),
                    opd_code=rng.choice(["BMBK", "DINKES", "DINSOS"]),
                    reporter_phone="081200000000",
                ),
                settings.local.reference_format,
                "pemprov-lampung",
            )
        linked = [
            r[0]
            for r in db.execute(
                "SELECT t.ref FROM local_tickets t JOIN links l ON l.ticket_id = t.id "
                "WHERE t.origin = 'local'"
            )
        ]
        forwarded = {
            r[0]
            for r in db.execute(
                "SELECT t.ref FROM local_forwards f JOIN local_tickets t ON t.id = f.ticket_id"
            )
        }
        # Forward a ticket SP4N-LAPOR! holds with this instansi (else it would refuse); a
        # forwarded ticket gets no more follow-ups from here.
        holders = [
            ref
            for ref, remote_id in db.execute(
                "SELECT t.ref, l.remote_id FROM local_tickets t JOIN links l "
                "ON l.ticket_id = t.id WHERE t.origin = 'local' AND l.account = ?",
                ["pemprov-lampung"],
            )
            if ref not in forwarded
            and scope_of(world.complaint(int(remote_id)).disposition_id) == "18"
        ]
        # LAPOR!'s admin verifies one of the pushed tickets, so that some can be forwarded.
        waiting = [
            int(remote_id)
            for (remote_id,) in db.execute(
                "SELECT l.remote_id FROM local_tickets t JOIN links l ON l.ticket_id = t.id "
                "WHERE t.origin = 'local' AND l.account = 'pemprov-lampung'"
            )
            if world.complaint(int(remote_id)).status_code == "0"
        ]
        if waiting:
            world.verify(rng.choice(waiting))
        if holders and rng.random() < 0.7:
            ref = rng.choice(holders)
            add_forward(db, ref, FORWARD_TARGET)
            forwarded.add(ref)
        open_refs = [ref for ref in linked if ref not in forwarded]
        for ref in rng.sample(open_refs, min(len(open_refs), n)):
            add_followup(db, ref, "BMBK", f"Tindak lanjut {rng.randrange(10**6)}")
    finally:
        db.close()
    visible = world.visible_ids("18")
    for cid in rng.sample(visible, min(len(visible), n)):
        rng.choice(
            [
                lambda c: world.reply_as_reporter(c, "Mohon kabarnya."),
                world.touch,
                lambda c: (
                    world.verify(c) if world.complaint(c).status_code == "0" else world.touch(c)
                ),
            ]
        )(cid)


def _backfill_fault(world: SandboxWorld, rng: random.Random) -> str:
    """The backfill meets a request that fails for good: the detail or follow-ups of an
    old complaint, so the pages after it are in flight when it fails."""
    kind, order = rng.choice(["detail", "followups"]), world.visible_ids("18")
    target = rng.choice(order[: len(order) // 2])
    world.faults.fail(kind, "503", target=target)
    return f"{kind} of {target}"


def _wait_for_pulls(config: Path, runs: int, timeout: float = 60.0) -> None:
    """Until the daemon has finished ``runs`` pulls (ok or failed), or ``timeout``."""
    path = load_settings(config, env={}).store.path
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                done = conn.execute(
                    "SELECT count(*) FROM runs WHERE job = 'pull' AND finished_at IS NOT NULL"
                ).fetchone()[0]
            if done >= runs:
                return
        except sqlite3.Error:
            pass  # not created yet
        time.sleep(0.2)


def _fail_for_good(world: SandboxWorld, rng: random.Random) -> list[str]:
    """Replace the standing failures: one or two request kinds fail on every retry."""
    world.faults.recover()
    chosen = []
    for kind in rng.sample(FOR_GOOD, rng.choice([1, 2])):
        target = None
        if kind in PER_COMPLAINT:
            target = rng.choice(world.visible_ids("18"))
        world.faults.fail(kind, rng.choice(["500", "503", "refuse", "truncated"]), target=target)
        chosen.append(kind if target is None else f"{kind} of {target}")
    return chosen


def run_chaos(kills: int, seed: int, complaints: int = 150, *, say=print) -> ChaosResult:
    rng = random.Random(seed)
    world = SandboxWorld(seed=seed)
    world.contract.strict = True  # the strict reading of the contract (#10.3)
    seed_world(world, complaints=complaints)
    result = ChaosResult()
    with SandboxServer(world) as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = _config(tmp, server.base_url)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        for kind, options in FAULTS.items():
            world.faults.set(kind, **options)
        for round_no in range(kills):
            _local_work(config, world, rng, n=3)
            # the first half of the rounds keeps the backfill's fault; later ones rotate
            if round_no == 0:
                standing = [_backfill_fault(world, rng)]
            elif round_no >= kills // 2:
                standing = _fail_for_good(world, rng)
            result.failed_for_good += standing
            proc = subprocess.Popen(
                _cli(config, "run"),
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if round_no == 0:  # the kill comes after the backfill met its fault
                _wait_for_pulls(config, len(FAULTED_ACCOUNTS))
            time.sleep(rng.uniform(0.5, 6.0))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            result.kills += 1
            say(
                f"kill {round_no + 1}/{kills} after a random moment; faults stay on, "
                f"failing for good: {', '.join(standing)}"
            )
        world.faults.clear()
        time.sleep(2.5)  # past every (shortened) backoff
        for _ in range(3):  # creates, then follow-ups that waited for their links
            # LAPOR!'s admin verifies what reached it, as it does within days; until then
            # a follow-up waits for the disposition (strict reading, docs/sync.md).
            _verify_pushed(config, world)
            subprocess.run(
                _cli(config, "sync", "--once"),
                cwd=ROOT,
                env=env,
                capture_output=True,
                timeout=300,
                check=False,
            )
        _count(config, world, result)
    return result


def _verify_pushed(config: Path, world: SandboxWorld) -> None:
    """Verify (and so disposition) every pushed local complaint still waiting at LAPOR!."""
    settings = load_settings(config, env={})
    conn = sqlite3.connect(f"file:{settings.store.path}?mode=ro", uri=True)
    try:
        linked = [int(r[0]) for r in conn.execute(
            "SELECT l.remote_id FROM local_tickets t JOIN links l ON l.ticket_id = t.id "
            "WHERE t.origin = 'local'"
        )]
    finally:
        conn.close()
    for remote_id in linked:
        if remote_id in world.complaint_ids() and world.complaint(remote_id).status_code == "0":
            world.verify(remote_id)


def _count(config: Path, world: SandboxWorld, result: ChaosResult) -> None:
    settings = load_settings(config, env={})
    conn = sqlite3.connect(settings.store.path)
    try:
        result.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        for account in settings.accounts:
            visible = world.visible_ids(account.institution_id)
            stored = dict(
                conn.execute(
                    "SELECT remote_id, updated_at FROM remote_complaints WHERE account=?",
                    [account.name],
                ).fetchall()
            )
            fus = {
                r[0]
                for r in conn.execute(
                    "SELECT remote_id FROM remote_followups WHERE account=?", [account.name]
                )
            }
            result.remote_complaints += len(visible)
            result.mirrored_complaints += len(stored)
            differences = mirror_differences(conn, world, account.name, account.institution_id)
            result.lost += [f"{account.name}: {line}" for line in differences]
            result.open_failed_pulls += len(pull_gaps.open_gaps(conn, account.name))
            for cid in visible:
                c = world.complaint(cid)
                result.remote_followups += len(c.followups)
                result.lost += [
                    f"{account.name}: follow-up {f.id}" for f in c.followups if str(f.id) not in fus
                ]
            result.mirrored_followups += len(fus)
        tickets = conn.execute(
            "SELECT t.ref, o.state FROM local_tickets t JOIN outbox o ON o.ticket_id = t.id "
            "AND o.kind = 'create_complaint' WHERE t.origin = 'local'"
        ).fetchall()
        result.local_tickets = len(tickets)
        for ref, state in tickets:
            found = len(world.find_by_tag(ref))
            if found > 1:
                result.duplicates.append(f"ticket {ref} is {found} complaints")
            elif found == 0 or state != "done":
                result.lost.append(f"ticket {ref}: {found} on SP4N-LAPOR!, outbox {state}")
        local_fus = conn.execute(
            "SELECT f.id, t.ref, o.state FROM local_followups f JOIN local_tickets t "
            "ON t.id = f.ticket_id JOIN outbox o ON o.kind = 'post_followup' "
            "AND o.subject_id = f.id WHERE f.origin = 'local'"
        ).fetchall()
        result.local_followups = len(local_fus)
        held = _held_elsewhere(conn, world)
        markers: dict[str, int] = {}
        for cid in world.complaint_ids():
            for f in world.complaint(cid).followups:
                for m in MARKER_RE.finditer(f.content):
                    if m.group("fu"):
                        markers[m.group(0)] = markers.get(m.group(0), 0) + 1
        for fid, ref, state in local_fus:
            count = markers.get(f"[Ref: {ref}/TL-{fid}]", 0)
            if count > 1:
                result.duplicates.append(f"follow-up {ref}/TL-{fid} posted {count} times")
            elif count == 0 and fid in held:
                result.held.append(f"follow-up {ref}/TL-{fid}: its complaint is elsewhere")
            elif count == 0 or state != "done":
                result.lost.append(f"follow-up {ref}/TL-{fid}: {count} posted, outbox {state}")
        _count_forwards(conn, world, result)
    finally:
        conn.close()


def _held_elsewhere(conn: sqlite3.Connection, world: SandboxWorld) -> set[int]:
    """Local follow-ups the gate holds while SP4N-LAPOR! really has their complaint with
    an instansi other than the account's: waiting, not lost (as in tests/test_model.py)."""
    held: set[int] = set()
    for subject_id, remote_id in conn.execute(
        "SELECT o.subject_id, l.remote_id FROM outbox o JOIN links l ON l.ticket_id = o.ticket_id "
        "WHERE o.kind = 'post_followup' AND o.state = 'pending' "
        "AND o.last_error LIKE 'waiting for disposition:%'"
    ):
        if scope_of(world.complaint(int(remote_id)).disposition_id) != "18":
            held.add(int(subject_id))
    return held


def _count_forwards(conn: sqlite3.Connection, world: SandboxWorld, result: ChaosResult) -> None:
    """Each local forward reached SP4N-LAPOR! once: one "bukan wewenang" disposition from
    this instansi to the target, and its outbox row done."""
    rows = conn.execute(
        "SELECT t.ref, l.remote_id, o.state FROM local_forwards f "
        "JOIN local_tickets t ON t.id = f.ticket_id "
        "JOIN links l ON l.ticket_id = t.id AND l.account = 'pemprov-lampung' "
        "JOIN outbox o ON o.kind = 'forward' AND o.subject_id = f.id"
    ).fetchall()
    result.local_forwards = len(rows)
    for ref, remote_id, state in rows:
        logs = world.complaint(int(remote_id)).disposition_logs
        sent = sum(
            1
            for d in logs
            if d.template_code == "reject"
            and d.to_id == FORWARD_TARGET
            and scope_of(d.from_id) == "18"
        )
        if sent > 1:
            result.duplicates.append(f"forward of {ref} applied {sent} times")
        elif sent == 0 or state != "done":
            result.lost.append(f"forward of {ref}: {sent} applied, outbox {state}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--complaints", type=int, default=150)
    args = parser.parse_args()
    started = time.perf_counter()
    r = run_chaos(args.kills, args.seed, args.complaints)
    print(f"\nkills survived            {r.kills}")
    print(f"complaints  SP4N-LAPOR! {r.remote_complaints}  mirrored {r.mirrored_complaints}")
    print(f"follow-ups  SP4N-LAPOR! {r.remote_followups}  mirrored {r.mirrored_followups}")
    print(f"local tickets pushed      {r.local_tickets}, local follow-ups {r.local_followups}")
    print(f"local forwards            {r.local_forwards}")
    print(f"failed for good           {len(r.failed_for_good)} (kind, per round)")
    print(f"failed pulls still open   {r.open_failed_pulls}")
    print(f"duplicates                {len(r.duplicates)}")
    print(f"lost                      {len(r.lost)}")
    print(f"held (complaint elsewhere) {len(r.held)}")
    print(f"integrity_check           {r.integrity}")
    print(f"duration                  {time.perf_counter() - started:.0f} s")
    for line in (r.duplicates + r.lost)[:20]:
        print("  " + line)
    sys.exit(0 if r.ok else 1)


if __name__ == "__main__":
    main()

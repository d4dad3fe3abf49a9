"""A model-based test of the whole sync: Hypothesis mixes remote changes, local changes,
faults and sync passes over the real code and the in-process sandbox, and checks the
invariants of docs/design.md after every clean pass.

Two machines run the same rules: ``SyncMachine`` over HTTP (the LaporClient against a
SandboxServer on loopback) and ``MemorySyncMachine`` over the in-memory remote
(sandbox/memory_remote.py: the same client code and the same sandbox API layer, no
sockets), which runs ``MEMORY_FACTOR`` times the examples. Measured (docs/performance.md):
keeping the examples' stores on tmpfs (``SCRATCH``), out of reach of SQLite's fsyncs,
made both machines several times faster; the in-memory machine, which also logs at
level warning (``warnings_only``), is about 2.5× faster per example than the HTTP one.
Profiles: ``ci`` (default; derandomized, so CI is repeatable) and ``long``
for soak runs: ``HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/test_model.py``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from lapor_sync.app import App, open_app, pull_account, push_outbox, reconcile_all
from lapor_sync.config import Settings
from lapor_sync.errors import RemoteError
from lapor_sync.fsmodes import open_private
from lapor_sync.local.register import (
    MARKER_RE,
    TicketInput,
    add_followup,
    add_forward,
    add_ticket,
    set_status,
)
from lapor_sync.logs import configure_logging
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.sandbox.masters import scope_of
from lapor_sync.sandbox.memory_remote import MemoryRemote
from lapor_sync.sandbox.testing import mirror_differences
from lapor_sync.store import mirror, pull_gaps
from lapor_sync.store.db import integrity_ok, open_database
from tests.conftest import settings_for

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "long",
    max_examples=400,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
MEMORY_FACTOR = 5  # the in-memory machine runs this many times the profile's examples


@contextlib.contextmanager
def warnings_only() -> Iterator[None]:
    """The in-memory machine's App logs at level ``warning``, as an admin may set
    ``[log] level``: every warning and error line still goes through the whole masked
    pipeline, the info lines (a ``run_summary`` per job, ~40 per example) stop at its
    first step. Those lines were a tenth of the examples' time (docs/performance.md);
    what they say is tested in tests/test_logs.py and by every other test, and the HTTP
    machine keeps level ``info``. Afterwards the default set-up (``info``) is back."""
    configure_logging(level="warning")
    try:
        yield
    finally:
        configure_logging()


@contextlib.contextmanager
def collector_spares_the_harness() -> Iterator[None]:
    """Python's cycle collector, on every full pass, walks every object alive: pytest's,
    Hypothesis', every imported module's. The examples make garbage fast, so passes are
    frequent; ``gc.freeze`` moves what exists before the machine starts out of its reach
    (the examples' own objects are collected as always) until the test ends."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.fixture
def _warnings_only() -> Iterator[None]:
    with warnings_only():
        yield


@pytest.fixture(autouse=True)
def _frozen_harness() -> Iterator[None]:
    with collector_spares_the_harness():
        yield


def _tmpfs() -> Path | None:
    """tmpfs for the examples' stores, when the machine has one (None: ``tempfile``'s
    default). Profiled (scripts/bench_model.py): on a disk-backed /tmp, SQLite's fsyncs
    (``synchronous=FULL``, a commit per page, run row and outbox step) were over half of
    each example's time, for both machines, and the remote a few per cent. What the
    machine checks is the sync's logic, not durability (the kill -9 tests use a disk)."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


SCRATCH = _tmpfs()


@functools.cache
def _migrated_store() -> bytes:
    """The bytes of an empty store with every migration applied, made once per process.

    Each example starts from a copy (``_new_store``) instead of migrating a new file:
    that was about 11 ms of every example's setup. What the machine checks starts after
    the store is open; the migrations themselves run for every other test's store."""
    folder = Path(tempfile.mkdtemp(prefix="lapor-model-template-", dir=SCRATCH))
    try:
        open_database(folder / "store.db").close()  # closing checkpoints the WAL into it
        return (folder / "store.db").read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def _scratch_folder() -> Path:
    """This process's folder for the examples (removed when the process ends)."""
    folder = Path(tempfile.mkdtemp(prefix="lapor-model-", dir=SCRATCH))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _example_folder() -> Path:
    """An empty folder for one example, at the same path for every example of this
    process: so the in-memory machine's settings, which name the store by its path, are
    read once (``_memory_settings``) instead of parsing config.toml for every example."""
    folder = _scratch_folder() / "example"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)  # raises if anything of the example before was left
    return folder


@functools.cache
def _memory_settings(folder: Path) -> Settings:
    return settings_for(folder, MEMORY_BASE_URL, page_size=5)


def _new_store(path: Path) -> None:
    """A copy of the migrated empty store at ``path`` (owner-only, as lapor-sync makes it)."""
    fd = open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as out:
        out.write(_migrated_store())
# Never connected: the in-memory remote takes only the API prefix from it.
MEMORY_BASE_URL = "http://127.0.0.1:9/api"

PEMPROV = "pemprov-lampung"
FAULTS = [
    "500",
    "503",
    "429:5",
    "drop_after_commit",
    "refuse",
    "html",
    "truncated",
    "success_false",
    "page_shift",
    "latency:1",
]
KINDS = ["list", "detail", "followups", "create", "followup_add", "reject"]
# The requests that read one complaint (they carry its id, so a fault can target it).
PER_COMPLAINT = ["detail", "followups", "reject"]
EXHAUSTING = ["500", "503", "refuse", "html", "truncated"]
OPDS = ["BMBK", "DINKES", "DINSOS", "DISDIK"]
TEXTS = st.sampled_from(
    ["Jalan berlubang", "Obat kosong 💊", "'; DROP TABLE x; --", "Air PDAM mati", "Bansos"]
)


class SyncMachine(RuleBasedStateMachine):
    complaints = Bundle("complaints")
    tickets = Bundle("tickets")
    in_memory = False  # True: the in-memory remote instead of HTTP to a SandboxServer

    def __init__(self) -> None:
        super().__init__()
        self.tmp = _example_folder()
        self.world = SandboxWorld(seed=99)
        self.world.contract.strict = True  # the strict reading of the contract (#10.3)
        self.server: SandboxServer | None = None
        _new_store(self.tmp / "store.db")  # the path settings_for gives the store
        if self.in_memory:
            self.settings = _memory_settings(self.tmp)
            self.app: App = open_app(
                self.settings,
                sleep=lambda _s: None,
                clock=self.world.now,
                factory=functools.partial(MemoryRemote, self.world),
            )
        else:
            self.server = SandboxServer(self.world)
            self.server.start()
            self.settings = settings_for(self.tmp, self.server.base_url, page_size=5)
            self.app = open_app(self.settings, sleep=lambda _s: None, clock=self.world.now)
        self.cursors: list[datetime] = []
        self.faults_on = False

    def teardown(self) -> None:
        try:
            self.database_is_consistent()
        finally:
            self.app.close()
            if self.server is not None:
                self.server.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)

    @initialize(
        target=complaints,
        kind=st.sampled_from(["list", "detail", "followups"]),
        place=st.integers(0, 40),
        fault=st.sampled_from(EXHAUSTING),
    )
    def seed_history(self, kind: str, place: int, fault: str) -> MultipleResults[int]:
        """Months of older complaints (several pages, one tie group larger than a page),
        older than the look-back, so a page a pull skipped stays lost unless caught. The
        first pull reads all of them, and one of its requests, at any place in the
        pipeline, fails on every retry: the ``place``-th listing, or the detail or
        follow-ups of the ``place``-th complaint (until the faults are cleared)."""
        ids = seed_world(self.world, complaints=30, same_updated_at=7)
        if kind == "list":
            self.retries_run_out(kind, place % 8, fault)
        else:
            order = self.world.visible_ids("18")
            self.fails_for_good(kind, order[place % len(order)], fault)
        return multiple(*ids)

    # --- the SP4N-LAPOR! side ---------------------------------------------------------------

    @initialize(target=complaints)
    def seed_one(self) -> int:
        return self.world.add_complaint("Awal", "Laporan awal", created_by="18")

    @rule(target=complaints, title=TEXTS, same_second=st.booleans())
    def citizen_reports(self, title: str, same_second: bool) -> int:
        if not same_second:
            self.world.advance(timedelta(seconds=1))
        return self.world.add_complaint(title, f"Isi: {title}", created_by="18")

    @rule(cid=complaints)
    def lapor_verifies(self, cid: int) -> None:
        with contextlib.suppress(Exception):  # only from "Belum Terverifikasi"
            self.world.verify(cid)

    @rule(cid=complaints, text=TEXTS)
    def reporter_replies(self, cid: int, text: str) -> None:
        self.world.reply_as_reporter(cid, text)

    @rule(cid=complaints, action=st.sampled_from(["close", "archive", "postpone"]))
    def lapor_decides(self, cid: int, action: str) -> None:
        getattr(self.world, action)(cid)

    @rule(cid=complaints)
    def lapor_shows_an_unknown_status(self, cid: int) -> None:
        self.world.set_status(cid, "8", "Menunggu Klarifikasi")

    @rule(minutes=st.integers(0, 600))
    def time_passes(self, minutes: int) -> None:
        self.world.advance(timedelta(minutes=minutes))

    # --- the OPD register -------------------------------------------------------------------

    @rule(target=tickets, title=TEXTS, opd=st.sampled_from(OPDS), secret=st.booleans())
    def call_center_takes_a_complaint(self, title: str, opd: str, secret: bool) -> str:
        ticket = TicketInput(
            channel="whatsapp",
            title=title,
            content=f"Dari Call Center: {title}",
            received_at=self.world.now(),
            reporter_phone="081299990000",
            opd_code=opd,
            is_secret=secret,
        )
        return add_ticket(self.app.db, ticket, "LPG-{year}-{seq:06d}", PEMPROV).ref

    @rule(ref=tickets, text=TEXTS)
    def opd_follows_up(self, ref: str, text: str) -> None:
        add_followup(self.app.db, ref, "BMBK", f"Tindak lanjut: {text}")

    @rule(ref=tickets)
    def opd_forwards(self, ref: str) -> None:
        add_forward(self.app.db, ref, "1871")

    @rule(ref=tickets, state=st.sampled_from(["in_progress", "closed", "postponed"]))
    def opd_sets_a_state(self, ref: str, state: str) -> None:
        set_status(self.app.db, ref, state)

    # --- faults and sync ----------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(KINDS), steps=st.lists(st.sampled_from(FAULTS), min_size=1, max_size=3)
    )
    def inject_faults(self, kind: str, steps: list[str]) -> None:
        self.world.faults.script(kind, steps)
        self.faults_on = True

    @rule(
        kind=st.sampled_from(KINDS),
        skip=st.integers(0, 12),
        fault=st.sampled_from(EXHAUSTING),
    )
    def retries_run_out(self, kind: str, skip: int, fault: str) -> None:
        """The ``skip+1``-th next request of ``kind`` fails on every retry: depending on
        ``skip`` it lands on any page of a pull and at any place in its pipeline. (For a
        kind sent by several workers at once the steps may spread over several requests,
        each failing fewer times.)"""
        attempts = self.settings.http.retry_attempts
        self.world.faults.script(kind, ["ok"] * skip + [fault] * attempts)
        self.faults_on = True

    @rule(kind=st.sampled_from(PER_COMPLAINT), cid=complaints, fault=st.sampled_from(EXHAUSTING))
    def fails_for_good(self, kind: str, cid: int, fault: str) -> None:
        """Every request of ``kind`` about one complaint fails until the faults are
        cleared: its page can never be committed."""
        self.world.faults.fail(kind, fault, target=cid)
        self.faults_on = True

    @rule(kind=st.sampled_from(KINDS), fault=st.sampled_from(EXHAUSTING))
    def a_kind_fails_for_good(self, kind: str, fault: str) -> None:
        self.world.faults.fail(kind, fault)
        self.faults_on = True

    @rule()
    def sync_pass(self) -> None:
        """A pass as the daemon runs it; faults may make parts of it fail."""
        for step in (
            lambda: pull_account(self.app, PEMPROV),
            lambda: reconcile_all(self.app),
            lambda: push_outbox(self.app),
        ):
            with contextlib.suppress(RemoteError):
                step()
        self._note_cursor()

    @precondition(lambda self: True)
    @rule()
    def clean_sync_and_check(self) -> None:
        """Faults off; sync until quiet; then every invariant must hold."""
        self.world.faults.clear()
        self.faults_on = False
        for _ in range(4):
            self.world.advance(timedelta(hours=2))  # past every backoff
            pull_account(self.app, PEMPROV)
            reconcile_all(self.app)
            push_outbox(self.app)
            self._note_cursor()
        pull_account(self.app, PEMPROV)
        reconcile_all(self.app)
        self._check_everything()

    def _note_cursor(self) -> None:
        cursor = mirror.get_cursor(self.app.db, PEMPROV)
        if cursor is not None:
            self.cursors.append(cursor)

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def cursor_never_moves_backwards(self) -> None:
        assert self.cursors == sorted(self.cursors)

    @invariant()
    def no_duplicate_on_lapor(self) -> None:
        db = self.app.db
        for (ref,) in db.execute("SELECT ref FROM local_tickets WHERE origin='local'"):
            assert len(self.world.find_by_tag(ref)) <= 1, f"{ref} created twice"
        seen: set[str] = set()
        # The records themselves, read under the world's lock between steps (nothing
        # changes them then): a deep copy per complaint per step cost most of the run.
        with self.world.lock:
            followups = [f for c in self.world.iter_records() for f in c.followups]
        for f in followups:
            for match in MARKER_RE.finditer(f.content):
                if match.group("fu"):
                    marker = match.group(0)
                    assert marker not in seen, f"follow-up {marker} posted twice"
                    seen.add(marker)

    def database_is_consistent(self) -> None:
        """``PRAGMA integrity_check`` of the store when the example ends (``teardown``),
        not after every step. It reads the whole file, and a damaged file stays damaged, so
        the end of the example finds whatever a check after each step would have found,
        only later; after every step (when the file had changed) it was a twentieth of the
        examples' time, at every clean check still a thirtieth."""
        assert integrity_ok(self.app.db)

    def _check_everything(self) -> None:
        db, world = self.app.db, self.world
        # the mirror is exactly what SP4N-LAPOR! shows: ids, versions, statuses and the
        # number of follow-ups per complaint; and no failed pull is left open
        assert mirror_differences(db, world, PEMPROV, "18") == []
        assert pull_gaps.open_gaps(db, PEMPROV) == []
        # no loss: every visible complaint and follow-up is mirrored, at its current version
        stored = dict(
            db.execute(
                "SELECT remote_id, updated_at FROM remote_complaints WHERE account = ?", [PEMPROV]
            ).fetchall()
        )
        mirrored_followups = {
            r[0]
            for r in db.execute("SELECT remote_id FROM remote_followups WHERE account=?", [PEMPROV])
        }
        for cid in world.visible_ids("18"):
            c = world.record(cid)  # read only, between steps: no copy needed
            assert stored.get(str(cid)) == c.updated_at.isoformat(), f"complaint {cid} lost"
            for f in c.followups:
                assert str(f.id) in mirrored_followups, f"follow-up {f.id} lost"
        # cursor safety: nothing older than the cursor is missing
        cursor = mirror.get_cursor(db, PEMPROV)
        if cursor is not None:
            for cid in world.visible_ids("18"):
                if world.record(cid).updated_at < cursor:
                    assert str(cid) in stored
        # no duplicate tickets from echoes: each LAPOR! complaint is linked at most once
        assert (
            db.execute(
                "SELECT count(*) FROM (SELECT remote_id FROM links GROUP BY account, remote_id "
                "HAVING count(*) > 1)"
            ).fetchone()[0]
            == 0
        )
        pushed = {r[0] for r in db.execute("SELECT ref FROM local_tickets WHERE origin='local'")}
        for ref in pushed:
            assert len(world.find_by_tag(ref)) == 1, f"{ref} not on SP4N-LAPOR! exactly once"
        # the outbox holds only done or dead rows (with reasons), or rows waiting behind them
        for state, error in db.execute("SELECT o.state, o.last_error FROM outbox o").fetchall():
            assert state in ("done", "dead", "pending"), state
            if state != "done":
                assert error, "an outbox row that is not done must say why"
        # a row waits for its complaint's disposition only while SP4N-LAPOR! really has
        # the complaint elsewhere (or with nobody): the gate never holds back what could go
        held = db.execute(
            "SELECT l.remote_id FROM outbox o JOIN links l ON l.ticket_id = o.ticket_id "
            "WHERE o.state = 'pending' AND o.last_error LIKE 'waiting for disposition:%'"
        ).fetchall()
        for (remote_id,) in held:
            holder = world.record(int(remote_id)).disposition_id
            assert scope_of(holder) != "18", f"complaint {remote_id} is with us, yet held"
        # both sides agree on every linked ticket, or a conflict waits for a person
        unsettled = db.execute(
            "SELECT t.ref FROM links l JOIN local_tickets t ON t.id = l.ticket_id "
            "JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
            "LEFT JOIN sync_base b ON b.ticket_id = t.id "
            "WHERE (b.ticket_id IS NULL OR b.lapor_status_name IS NOT rc.status_name "
            "OR b.local_state IS NOT t.status) AND NOT EXISTS (SELECT 1 FROM conflicts c "
            "WHERE c.ticket_id = t.id AND c.resolved_at IS NULL)"
        ).fetchall()
        assert unsettled == [], f"tickets neither agreed nor in conflict: {unsettled}"


SyncMachine.TestCase.settings = settings()
test_sync_machine = SyncMachine.TestCase


class MemorySyncMachine(SyncMachine):
    """The same machine over the in-memory remote: same rules, faults and invariants."""

    in_memory = True


MemorySyncMachine.TestCase.settings = settings(
    max_examples=MEMORY_FACTOR * settings.default.max_examples
)
test_sync_machine_in_memory = pytest.mark.usefixtures("_warnings_only")(
    MemorySyncMachine.TestCase
)

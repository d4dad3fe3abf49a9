"""The demo: the whole job against the built-in sandbox, narrated for a first-time user.

It never touches the configured store: it works in its own database (default
``var/demo.db``, recreated each time) and on a sandbox started in this process on a free
loopback port, seeded deterministically.

Invariants:

- one clock: every stamp the demo causes — pulled records, Call Center tickets, local
  follow-ups and status changes, deadlines, the report's "as of" — comes from the
  sandbox's clock (``world.now``), never from the machine's, so working-day figures mean
  what they say. The sandbox's clock starts ``days`` days before the machine's (unless
  ``start`` is given) and ends at it, so the commands the demo recommends, which run on
  the machine's clock later, see the same "now";
- the report covers a month with data after ``days`` simulated days of handling (new
  complaints, verification, OPD follow-ups, replies, one sync a day): the current month
  from its 15th day on, the month before until then. It is built exactly as
  ``scripts/screenshot_report.py`` builds the README's screenshot (that script calls
  :func:`run_demo` with a fixed ``start``);
- every command it recommends is printed as the user can run it: the program as it was
  invoked (``.venv/bin/lapor-sync`` or ``lapor-sync``) and ``--config`` naming the demo's
  own configuration file (``demo_config``), so it reads the demo's store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from lapor_sync.app import (
    App,
    adopt_pulled,
    open_app,
    pull_account,
    push_outbox,
    reconcile_all,
    scan_deadlines,
)
from lapor_sync.config import Settings
from lapor_sync.demo_config import write_demo_config
from lapor_sync.glossary import LATE, NEAR_DUE
from lapor_sync.local.register import TicketInput, add_followup, add_ticket, set_status
from lapor_sync.report.html import ReportResult, generate_report
from lapor_sync.report.period import Period, month_period
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.timeutil import now_wib, wib_date

Say = Callable[[str], None]

SIMULATED_DAYS = 16  # two and a half weeks of handling: the month has data to report on
FOLLOWUP_AFTER = timedelta(hours=2)  # step 3: the OPD answers two hours after the Call Center


def call_center_tickets(now: datetime) -> tuple[TicketInput, ...]:
    """Three complaints as the Call Center would take them (fake reporters)."""
    return (
        TicketInput(
            channel="whatsapp",
            title="Jalan berlubang di Jl. Soekarno-Hatta dekat gerbang tol",
            content="Lubang besar di lajur kiri, sudah dua pengendara motor jatuh minggu ini.",
            received_at=now,
            reporter_name="Pelapor Contoh",
            reporter_phone="081200000001",
            opd_code="BMBK",
            category_id="31",
        ),
        TicketInput(
            channel="telepon",
            title="Obat kosong di puskesmas",
            content="Stok obat hipertensi kosong sejak dua minggu di puskesmas kecamatan.",
            received_at=now,
            is_anonymous=True,
            opd_code="DINKES",
            category_id="2",
        ),
        TicketInput(
            channel="sms",
            title="Bantuan sosial belum cair",
            content="Bantuan sosial tahap tiga belum diterima warga desa.",
            received_at=now,
            is_secret=True,
            reporter_phone="081200000003",
            opd_code="DINSOS",
            category_id="61",
        ),
    )


def later_tickets(now: datetime) -> tuple[TicketInput, ...]:
    """Two more taken during the simulated weeks (one rahasia: the report hides its title)."""
    return (
        TicketInput(
            channel="walk-in",
            title="Lampu penerangan jalan mati di Jl. Ryacudu",
            content="Sudah tiga malam gelap total.",
            received_at=now,
            reporter_name="Pelapor Contoh Dua",
            reporter_phone="081200000011",
            opd_code="BMBK",
        ),
        TicketInput(
            channel="whatsapp",
            title="Laporan dugaan pungutan di sekolah",
            content="Isi rahasia.",
            received_at=now,
            is_secret=True,
            opd_code="BMBK",
        ),
    )


@dataclass
class DemoResult:
    accounts_pulled: int
    complaints: int
    followups: int
    tickets_pushed: int
    arrived_in_sandbox: int
    report: ReportResult
    config: Path | None  # the demo's configuration file (None if it could not be written)
    advice: tuple[str, ...]  # the commands printed for the user, as printed
    sandbox_now: datetime  # the sandbox's clock when the demo ended


def run_demo(
    settings: Settings,
    store: Path,
    say: Say,
    *,
    complaints: int = 300,
    days: int = SIMULATED_DAYS,
    source_text: str | None = None,
    prog: str = "lapor-sync",
    start: datetime | None = None,
) -> DemoResult:
    """Run the demo into ``store``; ``source_text`` is the configuration file's text (the
    demo writes it back, pointed at its store, as ``demo-config.toml`` beside the store)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    # Started so that its clock reaches the machine's at the end (see the invariants).
    world = SandboxWorld(
        seed=1, start=start or now_wib() - timedelta(days=days) - FOLLOWUP_AFTER
    )
    world.contract.strict = True  # the demo's creates must pass the strict reading too
    seed_world(world, complaints=complaints)
    report_dir = store.parent / "demo-report"
    config = store.with_name("demo-config.toml")
    if source_text is None or not write_demo_config(source_text, config, store, report_dir):
        config.unlink(missing_ok=True)
        written: Path | None = None
    else:
        written = config
    with SandboxServer(world) as server:
        say(f"Sandbox SP4N-LAPOR! running on {server.base_url} with {world.count()} complaints.")
        demo_settings = _demo_settings(settings, server.base_url, store, report_dir)
        app = open_app(demo_settings, clock=world.now)
        try:
            return _narrate(app, world, say, days, written, prog)
        finally:
            app.close()


def _demo_settings(settings: Settings, base_url: str, store: Path, report_dir: Path) -> Settings:
    moved = settings.with_base_url(base_url)
    return moved.model_copy(
        update={
            "store": moved.store.model_copy(update={"path": store}),
            "report": moved.report.model_copy(update={"out_dir": report_dir}),
        }
    )


def _sync(app: App) -> None:
    for name in app.clients:
        pull_account(app, name)
    adopt_pulled(app)
    reconcile_all(app)
    push_outbox(app)


def _narrate(
    app: App, world: SandboxWorld, say: Say, days: int, config: Path | None, prog: str
) -> DemoResult:
    ref_format = app.settings.local.reference_format
    say("\n1. Pull: every complaint the province's accounts can see, with history.")
    for name in app.clients:
        summary = pull_account(app, name)
        say(
            f"   {name:22} {summary.new:4} complaints, {summary.followups_new:4} follow-ups, "
            f"{summary.requests:4} requests, {summary.duration_s:.2f} s"
        )
    adopted = adopt_pulled(app)
    say(f"   {adopted.tickets_new} complaints entered the OPD register for the liaisons.")

    say("\n2. Call Center: three complaints taken by WhatsApp, telephone and SMS.")
    refs = []
    for ticket in call_center_tickets(world.now()):
        created = add_ticket(app.db, ticket, ref_format, _account(app, ticket), now=app.clock())
        refs.append(created.ref)
        say(f"   {created.ref}  {ticket.channel:9} -> {ticket.opd_code}")
    pushed = push_outbox(app)
    arrived = [ref for ref in refs if world.find_by_tag(ref)]
    say(f"   Pushed {pushed.sent}; found in SP4N-LAPOR! by their reference: {len(arrived)} of 3.")
    links = app.db.execute(
        "SELECT t.ref, l.remote_id, l.tracking_id FROM links l JOIN local_tickets t "
        "ON t.id = l.ticket_id WHERE t.origin = 'local' ORDER BY t.id"
    ).fetchall()
    for ref, remote_id, tracking in links:
        say(f"   {ref} is complaint {remote_id}, Tracking ID {tracking}")

    say("\n3. SP4N-LAPOR! verifies them; Dinas Bina Marga posts a follow-up two hours later.")
    for _ref, remote_id, _tracking in links:
        world.verify(int(remote_id))
    world.advance(FOLLOWUP_AFTER)
    add_followup(
        app.db,
        refs[0],
        "BMBK",
        "Tim UPTD sudah meninjau lokasi; penambalan dijadwalkan pekan ini.",
        now=app.clock(),
    )
    # The pull sees the disposition first: a follow-up goes only while the complaint is
    # with the instansi or one of its units (sync/disposition_gate.py).
    pull_account(app, "pemprov-lampung")
    pushed_followups = push_outbox(app)
    pull_account(app, "pemprov-lampung")
    adopt_pulled(app)
    say(f"   Follow-ups pushed: {pushed_followups.sent}.")
    first = world.complaint(int(links[0][1]))
    local_copies = app.db.execute(
        "SELECT (SELECT count(*) FROM links WHERE remote_id = ?), "
        "(SELECT count(*) FROM local_followups f JOIN local_tickets t ON t.id = f.ticket_id "
        "WHERE t.ref = ?)",
        [links[0][1], refs[0]],
    ).fetchone()
    say(
        f"   On SP4N-LAPOR! {refs[0]} reads '{first.status_name}' with "
        f"{len(first.followups)} follow-up(s). Pulled back, it is {local_copies[0]} ticket with "
        f"{local_copies[1]} follow-up locally: recognised as our own, not imported twice."
    )

    say("\n4. Reconcile statuses between the register and SP4N-LAPOR!.")
    reconciled = reconcile_all(app)
    say(
        f"   {reconciled.checked} tickets compared with SP4N-LAPOR!: {reconciled.applied} updated "
        f"from SP4N-LAPOR!, {reconciled.waiting} conflict(s) waiting for a person."
    )

    start = world.now()
    say(
        f"\n5. {days} days of handling on the sandbox (its clock: {start:%d-%m-%Y} to "
        f"{start + timedelta(days=days):%d-%m-%Y}): new complaints, verification, OPD "
        "follow-ups and replies, one sync and deadline scan a day."
    )
    world.configure(
        arrivals_per_working_day=6,
        auto_verify=True,
        instansi_followup_probability=0.7,
        reply_probability=0.25,
    )
    for day in range(days):
        world.advance(timedelta(days=1))
        if day == 3:
            for ticket in later_tickets(world.now()):
                add_ticket(app.db, ticket, ref_format, _account(app, ticket), now=app.clock())
        _sync(app)
        if day == 8:  # the OPD closes locally what SP4N-LAPOR! still shows open: a conflict
            row = app.db.execute(
                "SELECT ref FROM local_tickets WHERE opd_code = 'BMBK' AND "
                "status = 'dispositioned' ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row:
                set_status(app.db, row[0], "closed", now=app.clock())
        deadlines = scan_deadlines(app)
    if days == 0:
        deadlines = scan_deadlines(app)
    totals = app.db.execute(
        "SELECT (SELECT count(*) FROM remote_complaints), (SELECT count(*) FROM remote_followups)"
    ).fetchone()
    say(f"   Now {totals[0]} complaints and {totals[1]} follow-ups mirrored.")

    say(f"\n6. Working-day deadlines on {world.now():%d-%m-%Y} (sandbox date), per OPD.")
    ranked = sorted(deadlines.per_opd.items(), key=lambda item: (-item[1].overdue, item[0]))
    say(
        f"   Complaints {LATE} (late: at least one stage past its deadline, counted once): "
        + (", ".join(f"{code} {c.overdue}" for code, c in ranked[:6] if c.overdue) or "none")
        + f"; {deadlines.overdue} in all."
    )
    say(
        f"   Complaints {NEAR_DUE} (near due: none late, one due within "
        f"{app.settings.deadlines.near_due_days} working day(s)): {deadlines.near_due} in all."
    )
    period = report_period(world.now())
    report = generate_report(app, app.settings.report.out_dir, period=period)
    month = report.figures.period.label
    say(
        f"   Liaison report for {month} ({report.figures.total.received} complaints received "
        f"in it), HTML, CSV and JSON: {report.out_dir / 'index.html'}"
    )

    advice = _advice(config, prog, period)
    if advice:
        say("\nRead the demo's store yourself (the configuration it wrote points at it):")
        for line in advice:
            say(f"   {line}")
    else:
        store = app.settings.store.path
        say(f"\nThe demo's configuration could not be written; its store: {store}")
    say(
        "\nDone. The demo database is kept for a look with any SQLite browser; "
        f"`{prog} sandbox` runs a long-lived sandbox to try the other commands against."
    )
    return DemoResult(
        accounts_pulled=len(app.clients),
        complaints=int(totals[0]),
        followups=int(totals[1]),
        tickets_pushed=pushed.sent,
        arrived_in_sandbox=len(arrived),
        report=report,
        config=config,
        advice=advice,
        sandbox_now=world.now(),
    )


def _account(app: App, ticket: TicketInput) -> str:
    opd = app.settings.opd_by_code(ticket.opd_code or "")
    return opd.account if opd else app.settings.default_account.name


def report_period(now: datetime) -> Period:
    """The month the demo reports on: this one from its 15th day, else the one before."""
    today = wib_date(now)
    if today.day >= 15:
        return month_period(today.year, today.month)
    last = today.replace(day=1) - timedelta(days=1)
    return month_period(last.year, last.month)


def _advice(config: Path | None, prog: str, period: Period) -> tuple[str, ...]:
    if config is None:
        return ()
    base = f"{prog} --config {_shown(config)}"
    return (
        f"{base} overdue --opd BMBK      # late and near-due complaints of one OPD",
        f"{base} report --period {period.code}   # the liaisons' report again",
        f"{base} log --opd BMBK --since 30d   # its reconciliation log",
        f"{base} conflicts              # what waits for a person's decision",
        f"{base} status                 # the admin's screen",
    )


def _shown(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())

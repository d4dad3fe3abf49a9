"""The demo: the whole job against the built-in sandbox, narrated for a first-time user.

It never touches the configured store: it works in its own database (default
``var/demo.db``, recreated each time) and on a sandbox started in this process on a free
loopback port, seeded deterministically.
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
from lapor_sync.local.register import TicketInput, add_followup, add_ticket
from lapor_sync.report.html import generate_report
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world

Say = Callable[[str], None]


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


@dataclass
class DemoResult:
    accounts_pulled: int
    complaints: int
    followups: int
    tickets_pushed: int
    arrived_in_sandbox: int


def run_demo(settings: Settings, store: Path, say: Say, *, complaints: int = 300) -> DemoResult:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    world = SandboxWorld(seed=1)
    world.contract.strict = True  # the demo's creates must pass the strict reading too
    seed_world(world, complaints=complaints)
    with SandboxServer(world) as server:
        say(f"Sandbox SP4N-LAPOR! running on {server.base_url} with {world.count()} complaints.")
        demo_settings = _demo_settings(settings, server.base_url, store)
        app = open_app(demo_settings, clock=world.now)
        try:
            return _narrate(app, world, say)
        finally:
            app.close()


def _demo_settings(settings: Settings, base_url: str, store: Path) -> Settings:
    moved = settings.with_base_url(base_url)
    return moved.model_copy(update={"store": moved.store.model_copy(update={"path": store})})


def _narrate(app: App, world: SandboxWorld, say: Say) -> DemoResult:
    say("\n1. Pull: every complaint the province's accounts can see, with history.")
    for name in app.clients:
        summary = pull_account(app, name)
        say(
            f"   {name:22} {summary.new:4} complaints, {summary.followups_new:4} follow-ups, "
            f"{summary.requests:4} requests, {summary.duration_s:.2f} s"
        )
    by_status = app.db.execute(
        "SELECT status_name, count(*) FROM remote_complaints WHERE account='pemprov-lampung' "
        "GROUP BY status_name ORDER BY 2 DESC"
    ).fetchall()
    say("   Pemprov Lampung by status: " + ", ".join(f"{n} {c}" for n, c in by_status))

    adopted = adopt_pulled(app)
    say(f"   {adopted.tickets_new} complaints entered the OPD register for the liaisons.")

    say("\n2. Call Center: three complaints taken by WhatsApp, telephone and SMS.")
    refs = []
    for ticket in call_center_tickets(world.now()):
        opd = app.settings.opd_by_code(ticket.opd_code or "")
        account = opd.account if opd else app.settings.default_account.name
        created = add_ticket(app.db, ticket, app.settings.local.reference_format, account)
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

    say("\n3. SP4N-LAPOR! verifies them; Dinas Bina Marga posts a follow-up.")
    for _ref, remote_id, _tracking in links:
        world.verify(int(remote_id))
    world.advance(timedelta(hours=2))
    add_followup(
        app.db,
        refs[0],
        "BMBK",
        "Tim UPTD sudah meninjau lokasi; penambalan dijadwalkan pekan ini.",
    )
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

    say("\n4. Reconcile statuses and check working-day deadlines.")
    reconciled = reconcile_all(app)
    say(
        f"   {reconciled.checked} tickets compared with SP4N-LAPOR!: {reconciled.applied} updated "
        f"from SP4N-LAPOR!, {reconciled.waiting} conflict(s) waiting for a person."
    )
    deadlines = scan_deadlines(app)
    late = sorted(
        ((code, counts.overdue, counts.near_due) for code, counts in deadlines.per_opd.items()),
        key=lambda item: -item[1],
    )
    say(
        "   Late / near-due per OPD (sandbox date "
        + f"{world.now():%d-%m-%Y}): "
        + ", ".join(f"{code} {overdue}/{near}" for code, overdue, near in late[:5])
    )
    say("   Liaisons read them with: lapor-sync overdue --opd BMBK, lapor-sync log --opd BMBK")
    report = generate_report(app, Path(app.settings.store.path).parent / "demo-report")
    say(f"   Liaison report (HTML, CSV, JSON): {report.out_dir / 'index.html'}")

    totals = app.db.execute(
        "SELECT (SELECT count(*) FROM remote_complaints), (SELECT count(*) FROM remote_followups)"
    ).fetchone()
    say(
        f"\nDone: {totals[0]} complaints and {totals[1]} follow-ups mirrored. The demo database "
        "is kept for a look with any SQLite browser; `lapor-sync sandbox` runs a long-lived "
        "sandbox to try the other commands against."
    )
    return DemoResult(
        accounts_pulled=len(app.clients),
        complaints=int(totals[0]),
        followups=int(totals[1]),
        tickets_pushed=pushed.sent,
        arrived_in_sandbox=len(arrived),
    )

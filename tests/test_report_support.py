"""Stores for the report tests: one built by hand with known figures, one from the sandbox.

No tests here; ``test_report.py`` and ``test_report_browser.py`` import these builders.

The hand-built store, on Tue 6 May 2025 09:00 WIB, period April 2025 (holidays: Idul Fitri
31 Mar–1 Apr with cuti bersama 2–4 and 7 Apr, Good Friday 18 Apr, May Day 1 May):

| ticket | OPD | submitted | disposition | first follow-up | end | outcome (days) |
|---|---|---|---|---|---|---|
| T1 | DINKES | Mon 7 Apr | Tue 8 Apr | Thu 10 Apr | closed 15 Apr | on time (2) |
| T2 | DINKES | Mon 14 Apr | Tue 15 Apr | Wed 23 Apr (day 5) | — | on time (5) |
| T3 | DINKES | Mon 14 Apr | Tue 15 Apr | Thu 24 Apr (day 6) | — | late (6) |
| T4 | BMBK | Tue 22 Apr | Tue 22 Apr | none, due Tue 29 Apr | — | missed, overdue |
| T5 | BMBK | Thu 17 Apr | Thu 17 Apr | Sat 19 Apr | closed 25 Apr | on time (1) |
| T6 | BMBK | Fri 25 Apr, local | — | — | — | verification overdue |
| T7 | DISDIK rahasia | Tue 1 Apr | Wed 2 Apr | Thu 3 Apr (cuti) | closed 10 Apr | on time (1) |
| T8 | DISDIK | Mon 28 Apr | Tue 29 Apr | none, due Wed 7 May | — | pending, near due |
| T9 | DISDIK | Mon 10 Mar | Tue 11 Mar | none | — | overdue (backlog only) |
| T10 | DISDIK | Tue 8 Apr | Tue 8 Apr | none | forwarded 9 Apr | ended |

T4 has a reporter's reply (not a follow-up), T8 an open conflict.

Per OPD: DINKES 3 received, 2 of 3 on time (66,7%), median 5; BMBK 3 received, 1 of 2
(50,0%), median 1, 2 late; DISDIK 3 received, 1 of 1 (100,0%), median 1, 1 conflict,
1 late in the backlog. Province: 9 received, 4 of 6 (66,7%), median 2, 2 late, 5 open.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import sqlite_utils

from lapor_sync.app import App, open_app, pull_account, push_outbox, reconcile_all, scan_deadlines
from lapor_sync.config import Settings, load_settings
from lapor_sync.local.register import TicketInput, add_ticket
from lapor_sync.report.html import ReportResult, generate_report
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.timeutil import WIB, to_db
from tests.conftest import settings_for

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "pemprov-lampung"
NOW = datetime(2025, 5, 6, 9, 0, tzinfo=WIB)

NAME = "Siti Rahmawati"
PHONE_08 = "081234567890"
PHONE_62 = "+6281298765432"
NIK = "1871012345678901"
EMAIL = "siti.rahma@example.id"
PERSONAL = (NAME, PHONE_08, PHONE_62, "6281298765432", NIK, EMAIL, "Rahmawati")
CONTENT = f"Saya {NAME}, NIK {NIK}, HP {PHONE_08} / {PHONE_62}, surel {EMAIL}. Isi pengaduan."
SECRET_TITLE = "Dugaan pungutan liar oleh oknum kepala sekolah"
SCRIPT_TITLE = "<script>alert('x')</script> Jalan berlubang & licin"
PHONE_TITLE = "Lampu jalan mati, hubungi 0812-3456-7890"


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def hand_settings(tmp_path: Path) -> Settings:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    store = tmp_path / "store" / "lapor-sync.db"
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{store.as_posix()}"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env={})


class HandStore:
    """Writes tickets, mirror records and follow-ups by SQL, as pull/adopt/push leave them."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.ids: dict[str, int] = {}
        self._remote = 500

    def ticket(
        self,
        name: str,
        opd: str | None,
        submitted: datetime,
        *,
        disposition: datetime | None = None,
        status: str = "dispositioned",
        ended: datetime | None = None,
        secret: bool = False,
        title: str | None = None,
    ) -> int:
        linked = disposition is not None
        number = len(self.ids) + 1
        cursor = self.db.execute(
            "INSERT INTO local_tickets (ref, origin, account, channel, reporter_name, "
            "reporter_phone, reporter_email, is_secret, title, content, opd_code, received_at, "
            "status, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                f"LPG-2025-{number:06d}",
                "lapor" if linked else "local",
                ACCOUNT,
                "lapor" if linked else "telepon",
                NAME,
                PHONE_08,
                EMAIL,
                int(secret),
                title or f"Keluhan layanan nomor {number}",
                CONTENT,
                opd,
                to_db(submitted),
                status,
                to_db(ended or submitted),
            ],
        )
        ticket_id = int(cursor.lastrowid or 0)
        self.ids[name] = ticket_id
        if disposition is not None:
            self._remote += 1
            remote = str(self._remote)
            stamp = to_db(submitted)
            self.db.execute(
                "INSERT INTO remote_complaints (account, remote_id, tracking_id, title, content, "
                "status_code, status_name, is_secret, is_anonymous, tags, reporter_name, "
                "reporter_phone, reporter_email, created_at, updated_at, first_pulled_at, "
                "last_pulled_at) VALUES (?,?,?,?,?,?,?,?,0,'[]',?,?,?,?,?,?,?)",
                [ACCOUNT, remote, f"TRK{remote}", title or "t", CONTENT, "1", "Terverifikasi",
                 int(secret), NAME, PHONE_62, EMAIL, stamp, stamp, stamp, stamp],
            )  # fmt: skip
            self.db.execute(
                "INSERT INTO links (ticket_id, account, remote_id, tracking_id, linked_at) "
                "VALUES (?,?,?,?,?)",
                [ticket_id, ACCOUNT, remote, f"TRK{remote}", stamp],
            )
            self.db.execute(
                "INSERT INTO remote_dispositions (account, complaint_id, from_id, to_id, at, "
                "fingerprint) VALUES (?,?,?,?,?,?)",
                [ACCOUNT, remote, "18", "18002", to_db(disposition), f"d{remote}"],
            )
        return ticket_id

    def remote_followup(self, name: str, when: datetime, author: str = "institution") -> None:
        remote = self.db.execute(
            "SELECT remote_id FROM links WHERE ticket_id = ?", [self.ids[name]]
        ).fetchone()[0]
        self.db.execute(
            "INSERT INTO remote_followups (account, remote_id, complaint_id, author_type, "
            "from_name, content, is_secret, attachment_count, created_at, first_pulled_at) "
            "VALUES (?,?,?,?,?,?,0,0,?,?)",
            [ACCOUNT, f"f{name}", remote, author, NAME, CONTENT, to_db(when), to_db(when)],
        )

    def local_followup(self, name: str, when: datetime) -> None:
        self.db.execute(
            "INSERT INTO local_followups (ticket_id, origin, author, content, created_at) "
            "VALUES (?, 'local', 'opd', ?, ?)",
            [self.ids[name], CONTENT, to_db(when)],
        )

    def forward(self, name: str, when: datetime) -> None:
        self.db.execute(
            "INSERT INTO local_forwards (ticket_id, target_institution_id, created_at) "
            "VALUES (?, '1871', ?)",
            [self.ids[name], to_db(when)],
        )

    def conflict(self, name: str, when: datetime) -> None:
        self.db.execute(
            "INSERT INTO conflicts (ticket_id, kind, lapor_value, local_value, opened_at) "
            "VALUES (?, 'both_changed', 'postponed', 'closed', ?)",
            [self.ids[name], to_db(when)],
        )


def build_hand_store(db: sqlite_utils.Database) -> HandStore:
    s = HandStore(db)
    s.ticket("T1", "DINKES", at(2025, 4, 7, 9), disposition=at(2025, 4, 8), status="closed",
             ended=at(2025, 4, 15))  # fmt: skip
    s.remote_followup("T1", at(2025, 4, 10, 11))
    s.ticket("T2", "DINKES", at(2025, 4, 14, 9), disposition=at(2025, 4, 15), status="answered")
    s.local_followup("T2", at(2025, 4, 23, 16))
    s.ticket("T3", "DINKES", at(2025, 4, 14, 9), disposition=at(2025, 4, 15), status="answered")
    s.remote_followup("T3", at(2025, 4, 24, 8))
    s.ticket("T4", "BMBK", at(2025, 4, 22, 9), disposition=at(2025, 4, 22, 14), title=SCRIPT_TITLE)
    s.remote_followup("T4", at(2025, 4, 24, 8), author="reporter")  # a reply, not a follow-up
    s.ticket("T5", "BMBK", at(2025, 4, 17, 8), disposition=at(2025, 4, 17, 9), status="closed",
             ended=at(2025, 4, 25))  # fmt: skip
    s.remote_followup("T5", at(2025, 4, 19, 10))
    # another writer's lower-case code, and a phone number typed into the title
    s.ticket("T6", "bmbk", at(2025, 4, 25), status="received", title=PHONE_TITLE)
    s.ticket("T7", "DISDIK", at(2025, 4, 1, 9), disposition=at(2025, 4, 2), status="closed",
             ended=at(2025, 4, 10), secret=True, title=SECRET_TITLE)  # fmt: skip
    s.remote_followup("T7", at(2025, 4, 3))
    s.ticket("T8", "DISDIK", at(2025, 4, 28, 9), disposition=at(2025, 4, 29))
    s.conflict("T8", at(2025, 5, 2))
    s.ticket("T9", "DISDIK", at(2025, 3, 10, 9), disposition=at(2025, 3, 11))
    s.ticket("T10", "DISDIK", at(2025, 4, 8, 9), disposition=at(2025, 4, 8, 11),
             status="forwarded", ended=at(2025, 4, 9))  # fmt: skip
    s.forward("T10", at(2025, 4, 9))
    # The reconciliation log: one event in April for BMBK, one after the period.
    overdue = {"stage": "followup", "due": to_db(at(2025, 4, 29, 23, 59)), "days_late": 1}
    record_event(
        db, EventKind.OVERDUE, at(2025, 4, 30, 9), opd="BMBK", ticket_ref="LPG-2025-000004",
        detail=overdue,
    )  # fmt: skip
    record_event(
        db, EventKind.PULLED_NEW, at(2025, 5, 2, 9), opd="BMBK", ticket_ref="LPG-2025-000099",
        detail={"to_status": "Terverifikasi"},
    )  # fmt: skip
    return s


# --- a store built by the sandbox -------------------------------------------------------------

SANDBOX_SECRET_TITLE = "Pungutan liar di SMA negeri tujuh belas"
SANDBOX_REPORTER = ("Bapak Rahasia Sekali", "081399887766", "rahasia.sekali@example.id")


@dataclass
class SandboxReport:
    result: ReportResult
    settings: Settings
    personal: set[str]
    secret_refs: set[str] = field(default_factory=set)


def sandbox_report(base: Path) -> SandboxReport:
    """A seeded sandbox, pulled, reconciled, with Call Center tickets, a few simulated days."""
    world = SandboxWorld(seed=11)
    seed_world(world, complaints=80)
    server = SandboxServer(world)
    server.start()
    settings = settings_for(base, server.base_url)
    app = open_app(settings, clock=world.now)
    try:
        _sync(app)
        name, phone, email = SANDBOX_REPORTER
        ticket = TicketInput(
            channel="telepon",
            title="Antrean obat di puskesmas terlalu lama",
            content=f"{name} {phone} {email}",
            received_at=world.now(),
            reporter_name=name,
            reporter_phone=phone,
            reporter_email=email,
            opd_code="DINKES",
        )
        add_ticket(app.db, ticket, settings.local.reference_format, ACCOUNT)
        push_outbox(app)
        world.configure(auto_verify=True, instansi_followup_probability=0.6)
        for _ in range(4):
            world.advance(timedelta(days=1))
            _sync(app)
        # Taken by the Call Center a week ago and not yet sent: late for verification.
        old = world.now() - timedelta(days=9)
        secret = add_ticket(
            app.db,
            TicketInput(
                channel="whatsapp", title=SANDBOX_SECRET_TITLE, content=f"{name} {phone}",
                received_at=old, reporter_name=name, reporter_phone=phone, is_secret=True,
                opd_code="DINKES",
            ),
            settings.local.reference_format,
            ACCOUNT,
        )  # fmt: skip
        add_ticket(
            app.db,
            TicketInput(
                channel="sms", title=SCRIPT_TITLE, content="isi", received_at=old,
                reporter_phone=phone, opd_code="DINKES",
            ),
            settings.local.reference_format,
            ACCOUNT,
        )  # fmt: skip
        scan_deadlines(app)
        result = generate_report(app, base / "report")
        secret_refs = {
            r[0]
            for r in app.db.execute(
                "SELECT t.ref FROM local_tickets t LEFT JOIN links l ON l.ticket_id = t.id "
                "LEFT JOIN remote_complaints rc ON rc.account = l.account "
                "AND rc.remote_id = l.remote_id WHERE t.is_secret = 1 OR rc.is_secret = 1"
            )
        }
        secret_refs.add(secret.ref)
        personal = world.personal_data() | {name, phone, email}
        return SandboxReport(result, settings, personal, secret_refs)
    finally:
        app.close()
        server.stop()


def _sync(app: App) -> None:
    for account in app.clients:
        pull_account(app, account)
    reconcile_all(app)
    push_outbox(app)


# --- reading HTML -------------------------------------------------------------------------------


class Page(HTMLParser):
    """A parsed page: its text, its elements (tag, attributes, text inside) in order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []
        self._text: list[str] = []
        self.feed(html)
        self.close()

    _VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "rect", "line"})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parents = [e["tag"] for e in self._open]
        element = {"tag": tag, "attrs": dict(attrs), "text": [], "parents": parents}
        self.elements.append(element)
        if tag not in self._VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": [], "parents": []})

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index]["tag"] == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1]["tag"] in ("style", "script"):
            return
        self._text.append(data)
        for element in self._open:
            element["text"].append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._text).split())

    def find(self, tag: str, **attrs: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.elements
            if e["tag"] == tag
            and all(v in (e["attrs"].get(k) or "").split() for k, v in attrs.items())
        ]

    @staticmethod
    def text_of(element: dict[str, Any]) -> str:
        return " ".join(" ".join(element["text"]).split())


def rows_of(page: Page, table_class: str) -> Iterator[list[str]]:
    """The body rows of the first table with ``table_class``, as lists of cell texts."""
    tables = page.find("table", **{"class": table_class})
    assert tables, f"no table.{table_class}"
    start = page.elements.index(tables[0])
    row: list[str] | None = None
    for element in page.elements[start + 1 :]:
        if element["tag"] == "table":
            break
        if element["tag"] == "tr" and "tbody" in element["parents"]:
            if row is not None:
                yield row
            row = []
        elif element["tag"] in ("td", "th") and row is not None and "tbody" in element["parents"]:
            row.append(Page.text_of(element))
    if row is not None:
        yield row

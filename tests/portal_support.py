"""A store for the portal tests: a synced sandbox, Call Center tickets with known personal
data, one account per role, and an open conflict. No tests here.

Accounts (password ``PASSWORD`` for all): ``admin``; ``penghubung.dinkes`` (liaison of
DINKES); ``penghubung.disdik`` (liaison of DISDIK); ``operator``; ``pemantau`` (viewer).

Tickets recorded by the Call Center (all DINKES unless said):
- ``open_ref``: a named reporter, phone, e-mail, NIK in the text;
- ``anon_ref``: anonim (the OPD must not see who);
- ``secret_ref``: rahasia (only admin and DINKES see the text);
- ``disdik_ref``: a DISDIK complaint (DINKES's liaison must get 404).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from lapor_sync.app import App, open_app, pull_account, push_outbox, reconcile_all, scan_deadlines
from lapor_sync.config import Settings
from lapor_sync.local.register import TicketInput, add_ticket
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.store import users as users_mod
from lapor_sync.store.db import open_database
from lapor_sync.store.users import Role, add_user
from lapor_sync.timeutil import to_db
from lapor_sync.web import create_app
from tests.conftest import settings_for

PASSWORD = "kata-sandi-uji-123"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def portal_app(store: PortalStore) -> Flask:
    """The portal over ``store`` in Flask's testing mode, on the store's clock."""
    flask_app = create_app(store.settings, clock=store.now)
    flask_app.testing = True
    return flask_app


def csrf(client: FlaskClient, url: str = "/masuk") -> str:
    """The CSRF token of the form on ``url`` (the page must carry one)."""
    match = TOKEN_RE.search(client.get(url).text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


ACCOUNTS = {
    "admin": (Role.ADMIN, ()),
    "penghubung.dinkes": (Role.LIAISON, ("DINKES",)),
    "penghubung.disdik": (Role.LIAISON, ("DISDIK",)),
    "operator": (Role.OPERATOR, ()),
    "pemantau": (Role.VIEWER, ()),
}
NAME = "Wahyuni Kartikasari"
PHONE = "081377788899"
EMAIL = "wahyuni.k@example.id"
NIK = "1871026508900004"
ANON_NAME = "Bambang Sutrisno"
ANON_PHONE = "085266677788"
SECRET_NAME = "Rina Oktaviani"
SECRET_TEXT = "Kepala puskesmas meminta uang pelicin untuk surat rujukan."
PERSONAL = (NAME, PHONE, EMAIL, NIK, ANON_NAME, ANON_PHONE, SECRET_NAME)


def cheap_hasher() -> PasswordHasher:
    """Argon2id with the smallest cost: the tests sign in often."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclass
class PortalStore:
    settings: Settings
    world: SandboxWorld
    server: SandboxServer
    open_ref: str
    anon_ref: str
    secret_ref: str
    disdik_ref: str
    conflict_id: int
    personal: frozenset[str]

    def now(self) -> datetime:
        return self.world.now()

    def app(self) -> App:
        return open_app(self.settings, clock=self.world.now)


def sync(app: App) -> None:
    for account in app.clients:
        pull_account(app, account)
    reconcile_all(app)
    push_outbox(app)


def build_portal_store(base: Path, *, complaints: int = 70) -> PortalStore:
    """The store described in the module docstring; the sandbox server is left running."""
    users_mod.set_hasher(cheap_hasher())
    world = SandboxWorld(seed=13)
    seed_world(world, complaints=complaints)
    server = SandboxServer(world)
    server.start()
    settings = settings_for(base, server.base_url)
    app = open_app(settings, clock=world.now)
    try:
        sync(app)
        world.configure(auto_verify=True, instansi_followup_probability=0.5)
        for _ in range(2):
            world.advance(timedelta(days=1))
            sync(app)
        fmt, acct = settings.local.reference_format, "pemprov-lampung"
        old = world.now() - timedelta(days=9)

        def ticket(**kw: object) -> str:
            base_fields: dict[str, object] = {
                "channel": "telepon",
                "received_at": old,
                "opd_code": "DINKES",
            }
            return add_ticket(app.db, TicketInput(**{**base_fields, **kw}), fmt, acct).ref  # type: ignore[arg-type]

        open_ref = ticket(
            title="Obat habis di puskesmas",
            content=f"Saya {NAME}, NIK {NIK}, obat habis.",
            reporter_name=NAME,
            reporter_phone=PHONE,
            reporter_email=EMAIL,
        )
        anon_ref = ticket(
            title="Antrean terlalu lama",
            content="Antrean lebih dari empat jam.",
            reporter_name=ANON_NAME,
            reporter_phone=ANON_PHONE,
            is_anonymous=True,
        )
        secret_ref = ticket(
            title="Dugaan pungutan liar",
            content=SECRET_TEXT,
            reporter_name=SECRET_NAME,
            is_secret=True,
        )
        disdik_ref = ticket(
            title="Sekolah rusak",
            content="Atap kelas bocor.",
            opd_code="DISDIK",
            reporter_name=NAME,
            reporter_phone=PHONE,
        )
        scan_deadlines(app)
        ticket_id = app.db.execute(
            "SELECT t.id FROM local_tickets t JOIN links l ON l.ticket_id = t.id "
            "WHERE t.opd_code = 'DINKES' ORDER BY t.id LIMIT 1"
        ).fetchone()[0]
        cursor = app.db.execute(
            "INSERT INTO conflicts (ticket_id, kind, lapor_value, local_value, base_value, "
            "opened_at) VALUES (?, 'both_changed', 'closed', 'in_progress', 'dispositioned', ?)",
            [ticket_id, to_db(world.now())],
        )
        for name, (role, opds) in ACCOUNTS.items():
            add_user(app.db, name, role, opds, PASSWORD, world.now())
        personal = frozenset(PERSONAL) | frozenset(world.personal_data())
        return PortalStore(
            settings, world, server, open_ref, anon_ref, secret_ref, disdik_ref,
            int(cursor.lastrowid or 0), personal,
        )  # fmt: skip
    finally:
        app.close()


# The roles the route tests sign in as. "sekali.pakai": a DINKES liaison still on a
# one-time password (must_change_password), added by ``signed_in_clients``.
ROLES = ("anonymous", "admin", "penghubung.dinkes", "penghubung.disdik", "operator", "pemantau",
         "sekali.pakai")  # fmt: skip
MUST_CHANGE = "sekali.pakai"
INTAKE = {
    "channel": "sms",
    "title": "Jalan rusak di Jl. Pagar Alam",
    "content": "Berlubang besar.",
    "opd": "BMBK",
}


@contextmanager
def module_portal_store(
    factory: pytest.TempPathFactory, name: str, *, complaints: int = 70
) -> Iterator[PortalStore]:
    """A portal store for one test module, with the cheap hasher while it lives."""
    previous = users_mod.set_hasher(cheap_hasher())
    built = build_portal_store(factory.mktemp(name), complaints=complaints)
    try:
        yield built
    finally:
        built.server.stop()
        users_mod.set_hasher(previous)


def login(client: FlaskClient, name: str, password: str = PASSWORD) -> int:
    """Sign ``client`` in; the status of the answer (302 = signed in)."""
    token = csrf(client)
    return client.post(
        "/masuk", data={"csrf_token": token, "name": name, "password": password}
    ).status_code


def signed_in_clients(app: Flask, store: PortalStore) -> dict[str, FlaskClient]:
    """One client per entry of ``ROLES``, signed in (but "anonymous"); adds MUST_CHANGE."""
    db = open_database(store.settings.store.path)
    users_mod.add_user(
        db, MUST_CHANGE, users_mod.Role.LIAISON, ("DINKES",), PASSWORD, store.now(),
        must_change_password=True,
    )  # fmt: skip
    db.close()
    found = {}
    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            assert login(client, role) == 302
        found[role] = client
    return found


def lapor_ref(store: PortalStore) -> str:
    """A DINKES complaint adopted from SP4N-LAPOR! (not recorded by the Call Center)."""
    db = open_database(store.settings.store.path)
    try:
        row = db.execute(
            "SELECT ref FROM local_tickets WHERE origin = 'lapor' AND opd_code = 'DINKES' "
            "ORDER BY id LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    return str(row[0])


def signed_in_portal_fixtures(name: str) -> tuple[Any, Any, Any]:
    """The module fixtures ``store``, ``app`` and ``clients`` of a route-level test module:
    its own portal store (in a temporary folder named ``name``), the test-mode app over
    it, and one signed-in client per role. Assign them at module level:
    ``store, app, clients = signed_in_portal_fixtures("portal")``."""

    @pytest.fixture(scope="module", name="store")
    def store_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStore]:
        with module_portal_store(tmp_path_factory, name) as built:
            yield built

    @pytest.fixture(scope="module", name="app")
    def app_fixture(store: PortalStore) -> Flask:
        return portal_app(store)

    @pytest.fixture(scope="module", name="clients")
    def clients_fixture(app: Flask, store: PortalStore) -> dict[str, FlaskClient]:
        return signed_in_clients(app, store)

    return store_fixture, app_fixture, clients_fixture

"""The portal without a browser: every route x every role, CSRF, sessions, throttling,
security headers, the access journal and the personal-data rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lapor_sync.store import users as users_mod
from lapor_sync.store.access_journal import list_access
from lapor_sync.store.db import open_database
from lapor_sync.web import WebError, create_app
from tests.portal_support import (
    ANON_NAME,
    ANON_PHONE,
    EMAIL,
    NAME,
    NIK,
    PASSWORD,
    PHONE,
    SECRET_TEXT,
    TOKEN_RE,
    PortalStore,
    build_portal_store,
    cheap_hasher,
    csrf,
    portal_app,
)

# "sekali.pakai": a DINKES liaison still on a one-time password (must_change_password).
ROLES = ("anonymous", "admin", "penghubung.dinkes", "penghubung.disdik", "operator", "pemantau",
         "sekali.pakai")  # fmt: skip
MUST_CHANGE = "sekali.pakai"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStore]:
    previous = users_mod.set_hasher(cheap_hasher())
    built = build_portal_store(tmp_path_factory.mktemp("portal"))
    yield built
    built.server.stop()
    users_mod.set_hasher(previous)


@pytest.fixture(scope="module")
def app(store: PortalStore) -> Flask:
    return portal_app(store)


def login(client: FlaskClient, name: str, password: str = PASSWORD) -> int:
    token = csrf(client)
    return client.post(
        "/masuk", data={"csrf_token": token, "name": name, "password": password}
    ).status_code


@pytest.fixture(scope="module")
def clients(app: Flask, store: PortalStore) -> dict[str, FlaskClient]:
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


def outbox_id(store: PortalStore, ref: str) -> int:
    db = open_database(store.settings.store.path)
    try:
        return int(
            db.execute(
                "SELECT o.id FROM outbox o JOIN local_tickets t ON t.id = o.ticket_id "
                "WHERE t.ref = ? AND o.kind = 'create_complaint'",
                [ref],
            ).fetchone()[0]
        )
    finally:
        db.close()


def dead_notification(store: PortalStore) -> int:
    """A fresh notification that went dead (each call: a new row)."""
    from lapor_sync.store import notify_outbox as box

    db = open_database(store.settings.store.path)
    try:
        key = f"route-test:{db.execute('SELECT count(*) FROM notify_outbox').fetchone()[0]}"
        message = box.NewNotification(key, "admin_alert", "email", "s", "t", "h", ("a@b.go.id",))
        (row_id,) = box.enqueue(db, [message], store.now())
        box.claim(db, row_id, store.now())
        box.mark_final(db, row_id, store.now(), "dead", "SMTP server answered 550")
        return row_id
    finally:
        db.close()


@dataclass(frozen=True)
class Route:
    method: str
    url: Callable[[PortalStore], str]
    allowed: dict[str, int]  # role -> expected status; every other signed-in role: 403
    data: Callable[[PortalStore], dict[str, str]] | None = None

    def expected(self, role: str) -> int:
        if role == "anonymous":
            return 302 if self.method == "GET" else 401
        if role == MUST_CHANGE and MUST_CHANGE not in self.allowed:
            return 302  # to the change-password page, whatever was asked
        return self.allowed.get(role, 403)


ALL_OK = {r: 200 for r in ROLES if r not in ("anonymous", MUST_CHANGE)}
INTAKE = {
    "channel": "sms",
    "title": "Jalan rusak di Jl. Pagar Alam",
    "content": "Berlubang besar.",
    "opd": "BMBK",
}
ROUTES = {
    "home": Route("GET", lambda s: "/", ALL_OK),
    "list": Route("GET", lambda s: "/aduan", ALL_OK),
    "list-export": Route("GET", lambda s: "/aduan/ekspor.csv", ALL_OK),
    "page-callcenter": Route("GET", lambda s: f"/aduan/{s.open_ref}",
                             {**ALL_OK, "penghubung.disdik": 404}),
    "export-callcenter": Route("GET", lambda s: f"/aduan/{s.open_ref}/ekspor.csv",
                               {**ALL_OK, "penghubung.disdik": 404}),
    "page-other-opd": Route("GET", lambda s: f"/aduan/{s.disdik_ref}",
                            {**ALL_OK, "penghubung.dinkes": 404}),
    "export-other-opd": Route("GET", lambda s: f"/aduan/{s.disdik_ref}/ekspor.csv",
                              {**ALL_OK, "penghubung.dinkes": 404}),
    "page-from-lapor": Route("GET", lambda s: f"/aduan/{lapor_ref(s)}",
                             {**ALL_OK, "penghubung.disdik": 404, "operator": 404}),
    "page-unknown": Route("GET", lambda s: "/aduan/LPG-1999-999999",
                          {r: 404 for r in ALL_OK}),
    "followup": Route("POST", lambda s: f"/aduan/{s.open_ref}/tindak-lanjut",
                      {"admin": 302, "penghubung.dinkes": 302, "penghubung.disdik": 404},
                      lambda s: {"content": "Sudah kami tindak lanjuti."}),
    "forward": Route("POST", lambda s: f"/aduan/{s.disdik_ref}/teruskan",
                     {"admin": 302, "penghubung.disdik": 302, "penghubung.dinkes": 404},
                     lambda s: {"target": "18002", "reason": "Bukan wewenang kami."}),
    "intake-form": Route("GET", lambda s: "/pengaduan-baru", {"admin": 200, "operator": 200}),
    "intake-post": Route("POST", lambda s: "/pengaduan-baru", {"admin": 302, "operator": 302},
                         lambda s: INTAKE),
    "conflicts": Route("GET", lambda s: "/konflik",
                       {"admin": 200, "penghubung.dinkes": 200, "penghubung.disdik": 200}),
    "resolve": Route("POST", lambda s: f"/konflik/{s.conflict_id}",
                     {"admin": 302, "penghubung.dinkes": 302, "penghubung.disdik": 404},
                     lambda s: {"take": "lapor", "note": "SP4N-LAPOR! sudah menutup."}),
    "log": Route("GET", lambda s: "/log",
                 {"admin": 200, "penghubung.dinkes": 200, "penghubung.disdik": 200}),
    "report": Route("GET", lambda s: "/laporan/",
                    {"admin": 200, "penghubung.dinkes": 200, "penghubung.disdik": 200,
                     "pemantau": 200}),
    "report-other-opd": Route("GET", lambda s: "/laporan/opd-DISDIK.html?opd=DISDIK",
                              {"admin": 200, "penghubung.dinkes": 404,
                               "penghubung.disdik": 200, "pemantau": 200}),
    "outbox": Route("GET", lambda s: "/outbox", {"admin": 200}),
    "outbox-retry": Route("POST", lambda s: f"/outbox/{outbox_id(s, s.open_ref)}/ulang",
                          {"admin": 302}, lambda s: {}),
    "notification-retry": Route(
        "POST", lambda s: f"/outbox/notifikasi/{dead_notification(s)}/ulang", {"admin": 302},
        lambda s: {}),
    "users": Route("GET", lambda s: "/pengguna", {"admin": 200}),
    "password": Route("GET", lambda s: "/kata-sandi", {**ALL_OK, MUST_CHANGE: 200}),
    # Empty: every role reaches the form and gets it back (400); changing it is elsewhere.
    "password-post": Route("POST", lambda s: "/kata-sandi",
                           {r: 400 for r in (*ALL_OK, MUST_CHANGE)}, lambda s: {}),
}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ROUTES))
def test_every_route_for_every_role(
    name: str, role: str, store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    route = ROUTES[name]
    client = clients[role]
    url = route.url(store)
    if route.method == "GET":
        response = client.get(url)
    else:
        token = csrf(client, "/masuk") if role == "anonymous" else csrf(client, "/kata-sandi")
        response = client.post(url, data={"csrf_token": token, **(route.data or dict)(store)})
    assert response.status_code == route.expected(role), response.text[:500]
    if role == "anonymous" and route.method == "GET":
        assert response.headers["Location"].startswith("/masuk?next=")
    if role == MUST_CHANGE and route.expected(role) == 302:
        assert response.headers["Location"] == "/kata-sandi"


def test_every_registered_route_is_in_the_table(app: Flask) -> None:
    """A new route must be added to ROUTES (and so to the role table) to pass."""
    covered = {
        "/", "/aduan", "/aduan/ekspor.csv", "/aduan/<ref>", "/aduan/<ref>/ekspor.csv",
        "/aduan/<ref>/tindak-lanjut", "/aduan/<ref>/teruskan", "/pengaduan-baru", "/konflik",
        "/konflik/<int:conflict_id>", "/log", "/laporan/", "/laporan/<name>", "/outbox",
        "/outbox/<int:row_id>/ulang", "/outbox/notifikasi/<int:row_id>/ulang", "/pengguna",
        "/kata-sandi",
    }  # fmt: skip
    public = {"/masuk", "/keluar", "/static/<path:filename>"}
    assert {r.rule for r in app.url_map.iter_rules()} == covered | public


def test_post_without_csrf_token_is_refused_and_writes_nothing(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    db = open_database(store.settings.store.path)
    before = db.execute("SELECT count(*) FROM local_followups").fetchone()[0]
    response = clients["admin"].post(
        f"/aduan/{store.open_ref}/tindak-lanjut", data={"content": "tanpa token"}
    )
    assert response.status_code == 400 and "Token keamanan" in response.text
    bad = clients["admin"].post(
        f"/aduan/{store.open_ref}/tindak-lanjut", data={"content": "x", "csrf_token": "palsu"}
    )
    assert bad.status_code == 400
    assert db.execute("SELECT count(*) FROM local_followups").fetchone()[0] == before
    db.close()


def test_security_headers_and_cookie_flags(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/masuk")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Cache-Control"] == "no-store"
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "<script" not in page.text and " style=" not in page.text


def test_secure_cookie_when_public_url_is_https(store: PortalStore) -> None:
    web = store.settings.web.model_copy(update={"public_url": "https://portal.example.go.id"})
    settings = store.settings.model_copy(update={"web": web})
    client = create_app(settings, clock=store.now).test_client()
    page = client.get("/masuk", base_url="https://portal.example.go.id")
    assert "Secure" in page.headers["Set-Cookie"]


def test_no_session_secret_no_portal(store: PortalStore) -> None:
    from pydantic import SecretStr

    web = store.settings.web.model_copy(update={"session_secret": SecretStr("")})
    with pytest.raises(WebError, match=r"web\.session_secret is not set"):
        create_app(store.settings.model_copy(update={"web": web}))


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(store: PortalStore) -> tuple[Flask, Clock]:
    clock = Clock(store.now())
    flask_app = create_app(store.settings, clock=clock)
    flask_app.testing = True
    return flask_app, clock


def test_new_session_on_login_and_logout_ends_it(
    clocked: tuple[Flask, Clock], store: PortalStore
) -> None:
    app, _ = clocked
    client = app.test_client()
    csrf(client)
    before = client.get_cookie("lapor_portal")
    assert before is not None
    assert login(client, "operator") == 302
    after = client.get_cookie("lapor_portal")
    assert after is not None and after.value != before.value
    assert client.get("/").status_code == 200
    client.post("/keluar", data={"csrf_token": csrf(client, "/")})
    assert client.get("/").status_code == 302


def test_session_idle_and_absolute_expiry(clocked: tuple[Flask, Clock]) -> None:
    app, clock = clocked
    client = app.test_client()
    assert login(client, "admin") == 302
    clock.now += timedelta(minutes=29)
    assert client.get("/").status_code == 200
    clock.now += timedelta(minutes=31)  # idle 31 minutes > session_idle (30m)
    expired = client.get("/")
    assert expired.status_code == 302 and expired.headers["Location"].startswith("/masuk")
    assert "Sesi Anda telah berakhir" in client.get(expired.headers["Location"]).text
    # Busy all day: a request every 25 minutes still ends at session_max (12h).
    assert login(client, "admin") == 302
    start = clock.now
    while clock.now - start < timedelta(hours=11, minutes=50):
        clock.now += timedelta(minutes=25)
        if clock.now - start < timedelta(hours=12):
            assert client.get("/").status_code == 200
    clock.now = start + timedelta(hours=12, minutes=1)
    assert client.get("/").status_code == 302


def test_login_throttled_per_account_and_per_address(clocked: tuple[Flask, Clock]) -> None:
    app, clock = clocked
    client = app.test_client()
    for _ in range(4):
        assert login(client, "pemantau", "salah-sekali") == 401
    page = client.post(
        "/masuk",
        data={"csrf_token": csrf(client), "name": "pemantau", "password": "salah-lagi"},
    )
    assert page.status_code == 401 and "Terlalu banyak percobaan" in page.text
    # Locked: the right password is refused too, from this address and any other.
    assert login(client, "pemantau") == 401
    other = app.test_client()
    token = csrf(other)
    refused = other.post(
        "/masuk",
        data={"csrf_token": token, "name": "pemantau", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert refused.status_code == 401 and "ditutup sampai" in refused.text
    # The address 127.0.0.1 is locked for other names as well.
    assert login(client, "operator") == 401
    clock.now += timedelta(minutes=16)
    assert login(client, "pemantau") == 302


def test_wrong_name_and_wrong_password_read_the_same(clocked: tuple[Flask, Clock]) -> None:
    app, _ = clocked
    client = app.test_client()
    token = csrf(client)
    a = client.post(
        "/masuk",
        data={"csrf_token": token, "name": "tidak.ada", "password": "x" * 12},
        environ_base={"REMOTE_ADDR": "10.9.0.1"},
    )
    b = client.post(
        "/masuk",
        data={"csrf_token": token, "name": "admin", "password": "x" * 12},
        environ_base={"REMOTE_ADDR": "10.9.0.2"},
    )
    assert a.status_code == b.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in a.text and "salah." in b.text


def test_access_journal_exactly_for_views_that_showed_personal_data(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    db = open_database(store.settings.store.path)

    def journal_after(role: str, url: str) -> list[tuple[str, ...]]:
        before = len(list_access(db, limit=10**6))
        assert clients[role].get(url).status_code == 200
        rows = list_access(db, limit=10**6)  # newest first
        return [(a.user_name, a.ticket_ref, a.view, *a.shown) for a in rows[: len(rows) - before]]

    s = store
    assert journal_after("admin", f"/aduan/{s.open_ref}") == [
        ("admin", s.open_ref, "complaint", "identity", "content")
    ]
    assert journal_after("admin", f"/aduan/{s.open_ref}/ekspor.csv") == [
        ("admin", s.open_ref, "export", "identity", "content")
    ]
    # The OPD's liaison of an anonim complaint sees the text but not who wrote it.
    assert journal_after("penghubung.dinkes", f"/aduan/{s.anon_ref}") == [
        ("penghubung.dinkes", s.anon_ref, "complaint", "content")
    ]
    assert journal_after("penghubung.dinkes", f"/aduan/{s.secret_ref}") == [
        ("penghubung.dinkes", s.secret_ref, "complaint", "identity", "secret_content")
    ]
    # The operator sees who reported a rahasia complaint, but not its text.
    assert journal_after("operator", f"/aduan/{s.secret_ref}") == [
        ("operator", s.secret_ref, "complaint", "identity")
    ]
    # A viewer sees no personal data: nothing is journalled. Lists never are.
    assert journal_after("pemantau", f"/aduan/{s.open_ref}") == []
    assert journal_after("pemantau", f"/aduan/{s.open_ref}/ekspor.csv") == []
    assert journal_after("admin", "/aduan") == []
    assert journal_after("admin", "/aduan/ekspor.csv") == []
    db.close()


def test_who_sees_which_personal_data(store: PortalStore, clients: dict[str, FlaskClient]) -> None:
    s = store

    def text(role: str, url: str) -> str:
        response = clients[role].get(url)
        assert response.status_code == 200
        return response.text

    admin = text("admin", f"/aduan/{s.open_ref}")
    assert NAME in admin and PHONE in admin and EMAIL in admin and NIK in admin
    anon = text("penghubung.dinkes", f"/aduan/{s.anon_ref}")
    assert ANON_NAME not in anon and ANON_PHONE not in anon and "anonim" in anon
    assert ANON_NAME in text("operator", f"/aduan/{s.anon_ref}")
    assert SECRET_TEXT in text("penghubung.dinkes", f"/aduan/{s.secret_ref}")
    assert SECRET_TEXT not in text("operator", f"/aduan/{s.secret_ref}")
    assert SECRET_TEXT not in text("operator", f"/aduan/{s.secret_ref}/ekspor.csv")
    for url in (
        "/",
        "/aduan",
        "/aduan/ekspor.csv",
        "/laporan/",
        f"/aduan/{s.open_ref}",
        f"/aduan/{s.open_ref}/ekspor.csv",
        f"/aduan/{s.secret_ref}",
        f"/aduan/{s.anon_ref}",
        f"/aduan/{s.disdik_ref}",
    ):
        page = text("pemantau", url)
        leaked = [p for p in s.personal if p in page]
        assert leaked == [], (url, leaked)
        assert SECRET_TEXT not in page


def test_intake_comes_back_filled_with_errors_beside_fields(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    client = clients["operator"]
    token = csrf(client, "/pengaduan-baru")
    bad = client.post("/pengaduan-baru", data={
        "csrf_token": token, "channel": "whatsapp", "reporter_name": "Dewi Lestari",
        "phone": "0812-9999-1111", "email": "dewi@@contoh", "title": "",
        "content": "Air PDAM tidak mengalir tiga hari.\nMohon dibantu.", "opd": "DINKES",
    })  # fmt: skip
    assert bad.status_code == 400
    page = bad.text
    assert 'id="email-error"' in page and "Bukan alamat email yang valid" in page
    assert 'id="title-error"' in page and "Judul laporan: Wajib diisi." in page
    assert 'value="Dewi Lestari"' in page and 'value="dewi@@contoh"' in page
    assert "Air PDAM tidak mengalir tiga hari.\nMohon dibantu." in page
    assert '<option selected value="DINKES">' in page or 'value="DINKES" selected' in page


def test_intake_warns_of_a_likely_duplicate_and_never_merges(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    client = clients["operator"]
    data = {
        "channel": "telepon", "reporter_name": "Wahyuni", "phone": "0813-7778-8899",
        "title": "Obat masih habis", "content": "Masih belum ada obat.", "opd": "DINKES",
    }  # fmt: skip
    db = open_database(store.settings.store.path)
    count = db.execute("SELECT count(*) FROM local_tickets").fetchone()[0]
    warned = client.post(
        "/pengaduan-baru", data={"csrf_token": csrf(client, "/pengaduan-baru"), **data}
    )
    assert warned.status_code == 200 and store.open_ref in warned.text
    assert "Tetap catat sebagai laporan baru" in warned.text
    assert db.execute("SELECT count(*) FROM local_tickets").fetchone()[0] == count
    done = client.post("/pengaduan-baru", data={
        "csrf_token": csrf(client, "/pengaduan-baru"), **data, "confirm_duplicate": "y",
    })  # fmt: skip
    assert done.status_code == 302 and done.headers["Location"].startswith("/aduan/LPG-")
    ref = done.headers["Location"].rsplit("/", 1)[1]
    row = db.execute(
        "SELECT t.reporter_phone, o.state FROM local_tickets t JOIN outbox o ON "
        "o.ticket_id = t.id AND o.kind = 'create_complaint' WHERE t.ref = ?",
        [ref],
    ).fetchone()
    assert row == ("0813-7778-8899", "pending")
    assert db.execute("SELECT count(*) FROM local_tickets").fetchone()[0] == count + 1
    db.close()


def test_list_filters_search_and_keyset_pages(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    client = clients["admin"]
    first = client.get("/aduan")
    refs = re.findall(r'class="ref" href="/aduan/([^"]+)"', first.text)
    assert len(refs) == 50 and 'rel="next"' in first.text
    next_url = re.search(r'rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = re.findall(r'class="ref" href="/aduan/([^"]+)"', client.get(next_url).text)
    assert second and not set(second) & set(refs)
    found = re.findall(
        r'class="ref" href="/aduan/([^"]+)"', client.get(f"/aduan?cari={store.open_ref}").text
    )
    assert found == [store.open_ref]
    only_disdik = client.get("/aduan?opd=DISDIK").text
    assert store.disdik_ref in only_disdik and store.open_ref not in only_disdik
    late = re.findall(r'class="ref" href="/aduan/([^"]+)"', client.get("/aduan?terlambat=1").text)
    assert store.open_ref in late  # recorded nine days ago, never sent: verification is late
    assert client.get("/aduan?status=nope").status_code == 400
    assert client.get("/aduan?dari=kemarin").status_code == 400
    mine = clients["penghubung.dinkes"].get("/aduan?opd=DISDIK")
    assert mine.status_code == 400 and "bukan OPD Anda" in mine.text


def test_follow_up_goes_through_register_and_outbox(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    client = clients["penghubung.dinkes"]
    ref = lapor_ref(store)
    page = client.get(f"/aduan/{ref}")
    assert "Kirim tindak lanjut" in page.text
    token = TOKEN_RE.search(page.text).group(1)
    done = client.post(
        f"/aduan/{ref}/tindak-lanjut",
        data={"csrf_token": token, "content": "Obat sudah dikirim ke puskesmas."},
    )
    assert done.status_code == 302
    after = client.get(f"/aduan/{ref}").text
    assert "Obat sudah dikirim ke puskesmas." in after
    assert "tindak lanjut</td><td>menunggu dikirim" in after


def test_intake_create_fields_prefilled_marked_and_stored(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    """The SP4N-LAPOR! create fields: config defaults shown, per-ticket values kept."""
    client = clients["operator"]
    form = client.get("/pengaduan-baru").text
    assert re.search(r'id="classification"[^>]*value="1"', form)  # [local.create]
    assert re.search(r'id="location"[^>]*value="18"', form)
    assert '<option value="2">DINKES</option>' in form  # [[opd]] category_id, suggested
    assert '<option value="18002">' in form  # the OPDs' instansi for the disposition
    assert "Kosongkan untuk kategori OPD tujuan" in form
    assert form.count("(wajib)") == 3  # channel, title, content: the rest have defaults
    bad = client.post("/pengaduan-baru", data={
        "csrf_token": csrf(client, "/pengaduan-baru"), **INTAKE, "classification": "satu",
        "location": "18", "disposition": "18x", "incident_date": "31/02/2026",
    })  # fmt: skip
    assert bad.status_code == 400
    assert 'id="classification-error"' in bad.text and 'id="disposition-error"' in bad.text
    assert "Klasifikasi (id SP4N-LAPOR!): Id SP4N-LAPOR! hanya berisi angka." in bad.text
    assert 'id="incident_date-error"' in bad.text and 'value="satu"' in bad.text
    day = (store.now() - timedelta(days=3)).date()
    done = client.post("/pengaduan-baru", data={
        "csrf_token": csrf(client, "/pengaduan-baru"), **INTAKE, "classification": "2",
        "category": "9", "location": "1871", "disposition": "18004",
        "incident_date": day.strftime("%d/%m/%Y"),
    })  # fmt: skip
    assert done.status_code == 302, done.text
    ref = done.headers["Location"].rsplit("/", 1)[1]
    db = open_database(store.settings.store.path)
    row = db.execute(
        "SELECT classification_id, category_id, location_id, disposition_id, "
        "date_of_incident FROM local_tickets WHERE ref = ?",
        [ref],
    ).fetchone()
    db.close()
    assert tuple(row[:4]) == ("2", "9", "1871", "18004")
    assert str(row[4]).startswith(day.isoformat())


def test_intake_required_create_field_without_default_is_refused_beside_it(
    store: PortalStore,
) -> None:
    create = store.settings.local.create.model_copy(update={"location_id": None})
    local = store.settings.local.model_copy(update={"create": create})
    app = create_app(store.settings.model_copy(update={"local": local}), clock=store.now)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.7.0.1"  # not the address the throttle test locks
    assert login(client, "operator") == 302
    form = client.get("/pengaduan-baru").text
    assert re.search(r'Lokasi \(id SP4N-LAPOR!\) <span class="required">\(wajib\)', form)
    refused = client.post(
        "/pengaduan-baru", data={"csrf_token": csrf(client, "/pengaduan-baru"), **INTAKE}
    )
    assert refused.status_code == 400 and 'id="location-error"' in refused.text
    assert "Wajib untuk SP4N-LAPOR! (location_id)" in refused.text
    assert 'value="Jalan rusak di Jl. Pagar Alam"' in refused.text  # nothing lost


def test_menu_entries_demand_what_their_routes_demand(app: Flask) -> None:
    """The menu is built from ENDPOINT_ACTIONS: each entry's action is its route's guard."""
    from lapor_sync.glossary import MENU_LABELS
    from lapor_sync.web.app import ENDPOINT_ACTIONS

    assert [endpoint for endpoint, _ in MENU_LABELS] == list(ENDPOINT_ACTIONS)
    for endpoint, action in ENDPOINT_ACTIONS.items():
        assert app.view_functions[endpoint].action is action, endpoint


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_menu_shows_only_pages_the_role_may_open(
    role: str, store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    page = clients[role].get("/kata-sandi").text
    menu = re.search(r'<nav class="menu"[^>]*>(.*?)</nav>', page, re.S)
    assert menu, role
    for href in re.findall(r'href="([^"]+)"', menu.group(1)):
        assert clients[role].get(href).status_code == 200, (role, href)
    expected = {
        "admin": ["/", "/aduan", "/pengaduan-baru", "/konflik", "/log", "/laporan/", "/outbox",
                  "/pengguna", "/kata-sandi"],
        "penghubung.dinkes": ["/", "/aduan", "/konflik", "/log", "/laporan/", "/kata-sandi"],
        "penghubung.disdik": ["/", "/aduan", "/konflik", "/log", "/laporan/", "/kata-sandi"],
        "operator": ["/", "/aduan", "/pengaduan-baru", "/kata-sandi"],
        "pemantau": ["/", "/aduan", "/laporan/", "/kata-sandi"],
        MUST_CHANGE: ["/kata-sandi"],
    }  # fmt: skip
    assert re.findall(r'href="([^"]+)"', menu.group(1)) == expected[role]


def test_search_finds_a_tracking_id_known_from_either_side_within_scope(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    """By the link's Tracking ID, by the mirror's alone (link not yet stamped), never
    outside the account's OPDs."""
    ref = lapor_ref(store)
    db = open_database(store.settings.store.path)
    try:
        ticket_id, tracking = db.execute(
            "SELECT t.id, rc.tracking_id FROM local_tickets t JOIN links l ON l.ticket_id = t.id "
            "JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
            "WHERE t.ref = ?",
            [ref],
        ).fetchone()
        assert tracking

        def found(role: str) -> list[str]:
            page = clients[role].get(f"/aduan?cari={tracking}").text
            return re.findall(r'class="ref" href="/aduan/([^"]+)"', page)

        assert found("admin") == [ref] == found("penghubung.dinkes")
        assert found("penghubung.disdik") == []
        db.execute("UPDATE links SET tracking_id = NULL WHERE ticket_id = ?", [ticket_id])
        db.conn.commit()
        assert found("admin") == [ref]
    finally:
        db.execute("UPDATE links SET tracking_id = ? WHERE ticket_id = ?", [tracking, ticket_id])
        db.conn.commit()
        db.close()

"""The portal without a browser: every route x every role, CSRF, sessions, throttling,
security headers, the access journal and the personal-data rules."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lapor_sync.store.db import open_database
from lapor_sync.web import WebError, create_app
from tests.portal_support import (
    INTAKE,
    MUST_CHANGE,
    PASSWORD,
    ROLES,
    PortalStore,
    csrf,
    lapor_ref,
    login,
    signed_in_portal_fixtures,
)

store, app, clients = signed_in_portal_fixtures("portal")


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
    "outbox": Route("GET", lambda s: "/outbox", {"admin": 200, "operator": 200}),
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
        "operator": ["/", "/aduan", "/pengaduan-baru", "/outbox", "/kata-sandi"],
        "pemantau": ["/", "/aduan", "/laporan/", "/kata-sandi"],
        MUST_CHANGE: ["/kata-sandi"],
    }  # fmt: skip
    assert re.findall(r'href="([^"]+)"', menu.group(1)) == expected[role]


def test_csrf_token_of_a_session_passes_and_no_other_does(clocked: tuple[Flask, Clock]) -> None:
    """A session's pages carry one CSRF token (signed once, web/app._known_csrf_token) and
    a POST with it passes; after a new login the old session's token is refused, and two
    sessions never share one."""
    app, _ = clocked
    client, other = app.test_client(), app.test_client()
    for one in (client, other):  # not the address the throttle test locks
        one.environ_base["REMOTE_ADDR"] = "10.7.0.2"
    assert login(client, "admin") == 302 and login(other, "admin") == 302
    first, again = csrf(client, "/"), csrf(client, "/aduan")
    assert first == again != csrf(other, "/")
    assert login(client, "admin") == 302  # a new session, a new raw token
    fresh = csrf(client, "/")
    assert fresh != first
    refused = client.post("/keluar", data={"csrf_token": first})
    assert refused.status_code == 400 and "Token keamanan" in refused.text
    assert client.get("/").status_code == 200  # still signed in
    assert client.post("/keluar", data={"csrf_token": fresh}).status_code == 302
    assert client.get("/").status_code == 302  # signed out


def test_a_remembered_session_cookie_still_ages_out_and_a_forged_one_is_refused(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The portal remembers a cookie it has checked (web/app.KnownCookieSessions): a cookie
    older than the session's life is refused all the same, and a cookie changed by one
    character is never taken for the one remembered."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.7.0.3"  # not the address the throttle test locks
    assert login(client, "admin") == 302
    assert client.get("/").status_code == 200  # checked, then remembered
    assert client.get("/").status_code == 200
    cookie = client.get_cookie("lapor_portal")
    assert cookie is not None
    forged = app.test_client()
    last = cookie.value[-1]
    forged.set_cookie("lapor_portal", cookie.value[:-1] + ("A" if last != "A" else "B"))
    assert forged.get("/").status_code == 302
    life = app.permanent_session_lifetime.total_seconds()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + life + 60)
    page = client.get("/")
    assert page.status_code == 302 and "/masuk" in page.headers["Location"]

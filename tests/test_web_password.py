"""Changing one's own password in the portal, and the one-time password that forces it.

Without a browser (the browser flow is in ``tests/test_web_browser.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lapor_sync.store import users as users_mod
from lapor_sync.store.access_journal import list_access
from lapor_sync.store.db import open_database
from lapor_sync.store.users import MIN_PASSWORD_CHARS, Role, add_user, find_user, set_password
from lapor_sync.web import create_app
from tests.portal_support import (
    PASSWORD,
    PortalStore,
    csrf,
    module_portal_store,
    portal_app,
)

NEW_PASSWORD = "kata-sandi-baru-456"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStore]:
    with module_portal_store(tmp_path_factory, "portal-password", complaints=20) as built:
        yield built


@pytest.fixture(scope="module")
def app(store: PortalStore) -> Flask:
    return portal_app(store)


def login(client: FlaskClient, name: str, password: str, address: str = "127.0.0.1") -> str:
    """Sign in; returns where the portal sends the browser ('' when refused)."""
    response = client.post(
        "/masuk",
        data={"csrf_token": csrf(client, "/masuk"), "name": name, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return str(response.headers.get("Location", "")) if response.status_code == 302 else ""


def change(
    client: FlaskClient, old: str, new: str, confirm: str | None = None, address: str = "127.0.0.1"
) -> tuple[int, str, str]:
    """Post the change-password form: (status, Location, page text)."""
    response = client.post(
        "/kata-sandi",
        data={
            "csrf_token": csrf(client, "/kata-sandi"),
            "old": old,
            "new": new,
            "confirm": new if confirm is None else confirm,
        },
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code, str(response.headers.get("Location", "")), response.text


def account(store: PortalStore, name: str, *, one_time: bool, opds: tuple[str, ...] = ()) -> None:
    db = open_database(store.settings.store.path)
    try:
        role = Role.LIAISON if opds else Role.OPERATOR
        add_user(db, name, role, opds, PASSWORD, store.now(), must_change_password=one_time)
    finally:
        db.close()


def error_beside(page: str, field: str) -> str:
    """The error text shown inside the block of the form field ``field``."""
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    return match.group(1) if match else ""


def test_a_one_time_password_opens_only_the_change_page_until_a_new_one_is_set(
    app: Flask, store: PortalStore
) -> None:
    account(store, "baru.dinkes", one_time=True, opds=("DINKES",))
    client = app.test_client()
    assert login(client, "baru.dinkes", PASSWORD) == "/kata-sandi"
    page = client.get("/kata-sandi").text
    assert "kata sandi sekali pakai dari admin" in page
    # Every other page, read or write, sends the browser back here and shows nothing.
    db = open_database(store.settings.store.path)
    journal = len(list_access(db, limit=10**6))
    followups = db.execute("SELECT count(*) FROM local_followups").fetchone()[0]
    for url in ("/", "/aduan", f"/aduan/{store.open_ref}", f"/aduan/{store.open_ref}/ekspor.csv",
                "/log", "/laporan/", "/konflik"):  # fmt: skip
        response = client.get(url)
        assert (response.status_code, response.headers["Location"]) == (302, "/kata-sandi"), url
    token = csrf(client, "/kata-sandi")
    posted = client.post(
        f"/aduan/{store.open_ref}/tindak-lanjut",
        data={"csrf_token": token, "content": "Belum boleh."},
    )
    assert (posted.status_code, posted.headers["Location"]) == (302, "/kata-sandi")
    assert db.execute("SELECT count(*) FROM local_followups").fetchone()[0] == followups
    assert len(list_access(db, limit=10**6)) == journal  # no personal data was shown

    # The new password is checked beside its field, in Bahasa Indonesia.
    status, _, page = change(client, PASSWORD, "pendek")
    assert status == 400
    too_short = f"Kata sandi baru paling sedikit {MIN_PASSWORD_CHARS} karakter."
    assert error_beside(page, "new") == too_short
    status, _, page = change(client, PASSWORD, NEW_PASSWORD, "kata-sandi-lain-789")
    assert status == 400 and error_beside(page, "confirm").startswith("Kedua isian")
    status, _, page = change(client, PASSWORD, PASSWORD)
    assert status == 400 and error_beside(page, "new").startswith("Kata sandi baru harus berbeda")
    status, _, page = change(client, "bukan-kata-sandinya", NEW_PASSWORD)
    assert status == 400 and error_beside(page, "old") == "Kata sandi saat ini salah."
    assert find_user(db, "baru.dinkes").must_change_password  # type: ignore[union-attr]

    status, location, _ = change(client, PASSWORD, NEW_PASSWORD)
    assert (status, location) == (302, "/")
    home = client.get("/")
    assert home.status_code == 200 and "Kata sandi sudah diganti" in home.text
    user = find_user(db, "baru.dinkes")
    assert user is not None and not user.must_change_password
    stored = db.execute("SELECT password_hash FROM users WHERE name = 'baru.dinkes'").fetchone()[0]
    assert stored.startswith("$argon2id$") and NEW_PASSWORD not in stored
    assert client.get(f"/aduan/{store.open_ref}").status_code == 200
    db.close()
    # The one-time password is spent; the new one signs in and lands on the home page.
    assert login(app.test_client(), "baru.dinkes", PASSWORD) == ""
    assert login(app.test_client(), "baru.dinkes", NEW_PASSWORD) == "/"


def test_any_account_changes_its_own_password_and_its_other_sessions_end(
    app: Flask, store: PortalStore
) -> None:
    account(store, "operator.malam", one_time=False)
    desk, phone = app.test_client(), app.test_client()
    assert login(desk, "operator.malam", PASSWORD) == "/"
    assert login(phone, "operator.malam", PASSWORD) == "/"
    assert "Ganti kata sandi" in desk.get("/kata-sandi").text
    cookie_before = desk.get_cookie("lapor_portal")
    status, location, _ = change(desk, PASSWORD, NEW_PASSWORD)
    assert (status, location) == (302, "/")
    # The browser that changed it gets a new session; the other one is signed out.
    cookie_after = desk.get_cookie("lapor_portal")
    assert cookie_before is not None and cookie_after is not None
    assert cookie_after.value != cookie_before.value
    assert desk.get("/").status_code == 200
    assert phone.get("/").headers["Location"].startswith("/masuk")
    assert login(app.test_client(), "operator.malam", NEW_PASSWORD) == "/"


def test_change_without_csrf_token_is_refused_and_changes_nothing(
    app: Flask, store: PortalStore
) -> None:
    account(store, "tanpa.token", one_time=False)
    client = app.test_client()
    assert login(client, "tanpa.token", PASSWORD) == "/"
    response = client.post(
        "/kata-sandi", data={"old": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 400 and "Token keamanan" in response.text
    assert login(app.test_client(), "tanpa.token", PASSWORD) == "/"
    assert login(app.test_client(), "tanpa.token", NEW_PASSWORD) == ""


def test_guessing_the_current_password_locks_like_a_login(app: Flask, store: PortalStore) -> None:
    account(store, "sesi.terbuka", one_time=False)
    client = app.test_client()
    address = "10.13.0.7"  # its own address: the lock must not touch the other tests
    assert login(client, "sesi.terbuka", PASSWORD, address) == "/"
    max_failures = store.settings.web.login_max_failures
    for _ in range(max_failures - 1):
        status, _, page = change(client, f"tebakan-{_:04d}-x", NEW_PASSWORD, address=address)
        assert status == 400 and error_beside(page, "old") == "Kata sandi saat ini salah."
    status, _, page = change(client, "tebakan-terakhir", NEW_PASSWORD, address=address)
    assert status == 400 and "ditutup sampai" in page
    # Locked: even the right current password does not change it, nor sign in.
    status, _, page = change(client, PASSWORD, NEW_PASSWORD, address=address)
    assert status == 400 and "ditutup sampai" in page
    assert login(app.test_client(), "sesi.terbuka", PASSWORD, "10.13.0.8") == ""


def test_reset_password_again_forces_the_change_page(app: Flask, store: PortalStore) -> None:
    """What ``lapor-sync user reset-password`` (without --password) leaves behind."""
    account(store, "lupa.sandi", one_time=False)
    db = open_database(store.settings.store.path)
    try:
        one_time = users_mod.one_time_password()
        set_password(db, "lupa.sandi", one_time, must_change_password=True)
    finally:
        db.close()
    client = app.test_client()
    assert login(client, "lupa.sandi", one_time) == "/kata-sandi"
    assert client.get("/aduan").headers["Location"] == "/kata-sandi"
    assert change(client, one_time, NEW_PASSWORD)[:2] == (302, "/")
    assert client.get("/aduan").status_code == 200


def test_session_idle_limit_still_applies_on_the_change_page(store: PortalStore) -> None:
    now = [store.now()]
    flask_app = create_app(store.settings, clock=lambda: now[0])
    flask_app.testing = True
    account(store, "lama.diam", one_time=True, opds=("DINKES",))
    client = flask_app.test_client()
    assert login(client, "lama.diam", PASSWORD) == "/kata-sandi"
    now[0] += store.settings.web.session_idle + timedelta(minutes=1)
    assert client.get("/kata-sandi").headers["Location"].startswith("/masuk")

"""Portal accounts, sessions, login throttling and the access journal (store + CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from argon2 import PasswordHasher
from click.testing import CliRunner

from lapor_sync.cli import cli
from lapor_sync.store import users as users_mod
from lapor_sync.store.access_journal import list_access, record_access
from lapor_sync.store.db import open_database
from lapor_sync.store.users import (
    Role,
    UserError,
    add_user,
    disable_user,
    find_user,
    set_password,
    verify_password,
)
from lapor_sync.store.web_sessions import (
    clear_failures,
    create_session,
    locked_until,
    record_failure,
    session_user,
)
from lapor_sync.timeutil import WIB
from tests.conftest import settings_for

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=WIB)
PASSWORD = "kata-sandi-rahasia-1"


@pytest.fixture(autouse=True)
def cheap_hashes() -> Iterator[None]:
    previous = users_mod.set_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    users_mod.set_hasher(previous)


@pytest.fixture
def db() -> Iterator[sqlite_utils.Database]:
    database = open_database(":memory:")
    yield database
    database.close()


def test_password_is_stored_only_as_argon2_hash(db: sqlite_utils.Database) -> None:
    user = add_user(db, "Siti.Disdik", Role.LIAISON, ("disdik",), PASSWORD, T0)
    assert (user.name, user.role, user.opds) == ("siti.disdik", Role.LIAISON, ("DISDIK",))
    stored = db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(db, "SITI.DISDIK", PASSWORD) == user
    assert verify_password(db, "siti.disdik", PASSWORD + "x") is None
    assert verify_password(db, "nobody", PASSWORD) is None


@pytest.mark.parametrize(
    ("name", "role", "opds", "password", "message"),
    [
        ("a", Role.ADMIN, (), PASSWORD, "name: 2-64 characters"),
        ("budi", Role.ADMIN, (), "short", "password: at least 10"),
        ("budi", Role.LIAISON, (), PASSWORD, "a liaison needs at least one OPD"),
        ("budi", Role.VIEWER, ("DISDIK",), PASSWORD, "only liaisons belong to OPDs"),
    ],
)
def test_bad_accounts_are_refused_with_the_field_named(
    db: sqlite_utils.Database,
    name: str,
    role: Role,
    opds: tuple[str, ...],
    password: str,
    message: str,
) -> None:
    with pytest.raises(UserError, match=message):
        add_user(db, name, role, opds, password, T0)
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_names_are_unique_regardless_of_case(db: sqlite_utils.Database) -> None:
    add_user(db, "budi", Role.ADMIN, (), PASSWORD, T0)
    with pytest.raises(UserError, match="already exists"):
        add_user(db, "BUDI", Role.VIEWER, (), PASSWORD, T0)


def test_sessions_expire_idle_and_absolute(db: sqlite_utils.Database) -> None:
    user = add_user(db, "budi", Role.ADMIN, (), PASSWORD, T0)
    idle, absolute = timedelta(minutes=30), timedelta(hours=2)
    token = create_session(db, user.id, T0, "127.0.0.1")
    assert token not in str(list(db.query("SELECT * FROM web_sessions")))
    # Used every 20 minutes: the idle clock restarts each time ...
    for minutes in (20, 40, 60, 80, 100):
        check = session_user(
            db, token, T0 + timedelta(minutes=minutes), idle=idle, absolute=absolute
        )
        assert check.user == user
    # ... but no session outlives the absolute limit.
    late = session_user(db, token, T0 + timedelta(minutes=121), idle=idle, absolute=absolute)
    assert late.user is None and late.expired
    assert db.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 0
    other = create_session(db, user.id, T0, None)
    idle_out = session_user(db, other, T0 + timedelta(minutes=31), idle=idle, absolute=absolute)
    assert idle_out.user is None and idle_out.expired
    unknown = session_user(db, "not-a-token", T0, idle=idle, absolute=absolute)
    assert unknown.user is None and not unknown.expired


def test_disable_and_new_password_end_sessions(db: sqlite_utils.Database) -> None:
    user = add_user(db, "budi", Role.OPERATOR, (), PASSWORD, T0)
    limits = {"idle": timedelta(hours=1), "absolute": timedelta(hours=2)}
    token = create_session(db, user.id, T0, None)
    set_password(db, "budi", "another-password-2")
    assert session_user(db, token, T0, **limits).user is None
    assert verify_password(db, "budi", "another-password-2") is not None
    token = create_session(db, user.id, T0, None)
    assert disable_user(db, "budi", T0).disabled
    assert session_user(db, token, T0, **limits).user is None
    assert verify_password(db, "budi", "another-password-2") is None


def test_login_throttle_locks_name_and_address(db: sqlite_utils.Database) -> None:
    rules = {"max_failures": 3, "lockout": timedelta(minutes=15)}
    for i in range(2):
        assert record_failure(db, "budi", "10.0.0.5", T0 + timedelta(seconds=i), **rules) is None
    until = record_failure(db, "budi", "10.0.0.5", T0 + timedelta(seconds=2), **rules)
    assert until == T0 + timedelta(seconds=2, minutes=15)
    # The name is locked from any address, and the address for any name.
    assert locked_until(db, "budi", "10.9.9.9", T0 + timedelta(minutes=5)) == until
    assert locked_until(db, "siti", "10.0.0.5", T0 + timedelta(minutes=5)) == until
    assert locked_until(db, "siti", "10.9.9.9", T0 + timedelta(minutes=5)) is None
    # After the lockout a new failure counts from one again.
    after = T0 + timedelta(minutes=20)
    assert locked_until(db, "budi", "10.0.0.5", after) is None
    assert record_failure(db, "budi", "10.0.0.5", after, **rules) is None
    clear_failures(db, "budi")
    assert db.execute("SELECT count(*) FROM login_failures WHERE scope='user'").fetchone()[0] == 0


def test_access_journal_names_what_was_shown(db: sqlite_utils.Database) -> None:
    record_access(
        db,
        now=T0,
        user_name="siti",
        role="liaison",
        ticket_ref="LPG-2026-000001",
        view="complaint",
        shown=("identity", "content"),
        address="127.0.0.1",
    )
    with pytest.raises(ValueError, match="shown must be"):
        record_access(
            db,
            now=T0,
            user_name="x",
            role="admin",
            ticket_ref="R",
            view="v",
            shown=(),
            address=None,
        )
    [row] = list_access(db)
    assert (row.user_name, row.ticket_ref, row.shown) == (
        "siti",
        "LPG-2026-000001",
        ("identity", "content"),
    )
    assert list_access(db, user_name="budi") == []


def test_cli_user_add_list_disable_reset_and_audit(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "http://127.0.0.1:9/api")
    config = str(settings.config_path)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--config", config, *args])
        return result.exit_code, result.output

    code, out = run("user", "list")
    assert code == 2 and "no lapor-sync store at" in out and not settings.store.path.exists()
    code, out = run("user", "add", "siti", "--role", "liaison", "--opd", "DISDIK", "--one-time")
    assert code == 0 and "Added liaison siti for DISDIK." in out
    password = out.split("(shown only now): ")[1].strip()
    db = open_database(settings.store.path)
    user = verify_password(db, "siti", password)
    assert user is not None and user.must_change_password
    code, out = run("user", "add", "eko", "--role", "liaison", "--opd", "NOPE", "--one-time")
    assert code == 2 and "unknown OPD NOPE" in out and "DISDIK" in out
    code, out = run("user", "add", "eko", "--role", "admin")
    assert code == 2 and "use --one-time" in out
    code, out = run("user", "list")
    assert code == 0 and "siti" in out and "DISDIK" in out and "$argon2" not in out
    code, out = run("user", "reset-password", "siti", "--one-time")
    assert code == 0 and "sessions are ended" in out
    assert verify_password(db, "siti", password) is None
    code, out = run("user", "disable", "siti")
    assert code == 0 and find_user(db, "siti") is not None
    assert find_user(db, "siti").disabled  # type: ignore[union-attr]
    code, out = run("user", "disable", "nobody")
    assert code == 2 and "no account called nobody" in out
    code, out = run("audit")
    assert code == 0 and "No views of personal data" in out
    record_access(
        db,
        now=datetime.now(WIB),
        user_name="siti",
        role="liaison",
        ticket_ref="LPG-2026-000009",
        view="complaint",
        shown=("identity",),
        address=None,
    )
    code, out = run("audit", "--ticket", "LPG-2026-000009")
    assert code == 0 and "LPG-2026-000009" in out and "identity" in out
    db.close()

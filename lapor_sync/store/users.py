"""Owner of ``users``: the portal's accounts and their roles.

Invariants:
- a password is stored only as an Argon2id hash (argon2-cffi); it is never logged, never
  returned, never stored in clear; a one-time password is shown once by the caller;
- a name is unique regardless of case; a liaison has at least one OPD, the other roles
  none (they see every OPD, or — the operator — what the Call Center recorded);
- a disabled account keeps its row (the access journal names it) but cannot log in, and
  its sessions are ended in the same transaction (``web_sessions`` owner is called).
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lapor_sync.errors import UserError as UserError
from lapor_sync.store.db import transaction
from lapor_sync.timeutil import to_db

MIN_PASSWORD_CHARS = 10
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_HASHER = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong
# password (the answer time does not tell which names exist). Made on first use.
_DUMMY_HASH: str | None = None


class Role(enum.StrEnum):
    ADMIN = "admin"
    LIAISON = "liaison"
    OPERATOR = "operator"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    opds: tuple[str, ...]
    disabled: bool
    must_change_password: bool
    created_at: str
    last_login_at: str | None
    last_seen_home_at: str | None


def set_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Replace the password hasher; returns the previous one.

    Tests use a cheap one; production keeps argon2-cffi's default (Argon2id, RFC 9106
    low-memory profile).
    """
    global _HASHER, _DUMMY_HASH
    previous, _HASHER, _DUMMY_HASH = _HASHER, hasher, None
    return previous


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def check_name(name: str) -> str:
    wanted = name.strip().lower()
    if not _NAME_RE.fullmatch(wanted):
        raise UserError(
            "name: 2-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
        )
    return wanted


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"password: at least {MIN_PASSWORD_CHARS} characters")
    if password.strip() != password or any(ord(c) < 32 for c in password):
        raise UserError("password: no leading/trailing spaces or control characters")


def one_time_password() -> str:
    """A random password to hand over once (the user should change it)."""
    return secrets.token_urlsafe(12)


def user_from_row(row: Mapping[str, object]) -> User:
    """A ``users`` row (every column, by name) as a ``User``."""
    opds = str(row["opds"] or "")
    return User(
        id=int(str(row["id"])),
        name=str(row["name"]),
        role=Role(str(row["role"])),
        opds=tuple(opds.split()) if opds else (),
        disabled=row["disabled_at"] is not None,
        must_change_password=bool(row["must_change_password"]),
        created_at=str(row["created_at"]),
        last_login_at=None if row["last_login_at"] is None else str(row["last_login_at"]),
        last_seen_home_at=(
            None if row["last_seen_home_at"] is None else str(row["last_seen_home_at"])
        ),
    )


def add_user(
    db: sqlite_utils.Database,
    name: str,
    role: Role,
    opds: tuple[str, ...],
    password: str,
    now: datetime,
    *,
    must_change_password: bool = False,
) -> User:
    """Create an account. ``opds`` must already be known OPD codes (the caller checks)."""
    wanted = check_name(name)
    check_password(password)
    codes = tuple(dict.fromkeys(code.strip().upper() for code in opds if code.strip()))
    if role is Role.LIAISON and not codes:
        raise UserError("--opd: a liaison needs at least one OPD")
    if role is not Role.LIAISON and codes:
        raise UserError(f"--opd: only liaisons belong to OPDs; a {role.value} sees every OPD")
    with transaction(db):
        if find_user(db, wanted) is not None:
            raise UserError(f"name: an account called {wanted} already exists")
        db.execute(
            "INSERT INTO users (name, role, opds, password_hash, must_change_password, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                wanted,
                role.value,
                " ".join(codes),
                _HASHER.hash(password),
                int(must_change_password),
                to_db(now),
            ],
        )
    user = find_user(db, wanted)
    assert user is not None
    return user


def find_user(db: sqlite_utils.Database, name: str) -> User | None:
    rows = list(db.query("SELECT * FROM users WHERE name = ?", [name.strip().lower()]))
    return user_from_row(rows[0]) if rows else None


def user_by_id(db: sqlite_utils.Database, user_id: int) -> User | None:
    rows = list(db.query("SELECT * FROM users WHERE id = ?", [user_id]))
    return user_from_row(rows[0]) if rows else None


def list_users(db: sqlite_utils.Database) -> list[User]:
    return [user_from_row(r) for r in db.query("SELECT * FROM users ORDER BY role, name")]


def verify_password(db: sqlite_utils.Database, name: str, password: str) -> User | None:
    """The enabled account ``name`` if ``password`` is its password, else None.

    Costs one hash verification whether or not the name exists.
    """
    rows = list(db.query("SELECT * FROM users WHERE name = ?", [name.strip().lower()]))
    stored = str(rows[0]["password_hash"]) if rows else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if not rows or rows[0]["disabled_at"] is not None:
        return None
    return user_from_row(rows[0])


def record_login(db: sqlite_utils.Database, user_id: int, now: datetime) -> None:
    with transaction(db):
        db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [to_db(now), user_id])


def record_home_seen(db: sqlite_utils.Database, user_id: int, now: datetime) -> None:
    """Remember when the user last saw the home page ("new since my last visit")."""
    with transaction(db):
        db.execute("UPDATE users SET last_seen_home_at = ? WHERE id = ?", [to_db(now), user_id])


def set_password(
    db: sqlite_utils.Database,
    name: str,
    password: str,
    *,
    must_change_password: bool = False,
) -> User:
    """Replace an account's password; its open sessions end (they were the old password's)."""
    from lapor_sync.store.web_sessions import end_sessions_of

    check_password(password)
    user = find_user(db, name)
    if user is None:
        raise UserError(f"no account called {name.strip().lower()}")
    with transaction(db):
        db.execute(
            "UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?",
            [_HASHER.hash(password), int(must_change_password), user.id],
        )
        end_sessions_of(db, user.id)
    return user


def disable_user(db: sqlite_utils.Database, name: str, now: datetime) -> User:
    """Disable an account and end its sessions. Disabling twice is not an error."""
    from lapor_sync.store.web_sessions import end_sessions_of

    user = find_user(db, name)
    if user is None:
        raise UserError(f"no account called {name.strip().lower()}")
    with transaction(db):
        db.execute(
            "UPDATE users SET disabled_at = coalesce(disabled_at, ?) WHERE id = ?",
            [to_db(now), user.id],
        )
        end_sessions_of(db, user.id)
    found = user_by_id(db, user.id)
    assert found is not None
    return found

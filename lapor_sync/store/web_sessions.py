"""Owner of ``web_sessions`` and ``login_failures``: portal sessions and login throttling.

Invariants:
- a session is a random token held by the browser; the store keeps only its SHA-256, so
  the token cannot be read back from the database;
- a session ends after ``idle`` without a request and after ``absolute`` in any case,
  measured with the caller's clock (tests inject one); an expired session is deleted when
  it is next presented;
- a session belongs to an enabled account: disabling or a new password ends them all;
- failed logins are counted in a row per account name and per client address; after
  ``max_failures`` the name (or address) is locked until ``now + lockout``; while locked,
  even the right password is refused. A success clears the account's count (never the
  address's: one good account must not unlock an address that is guessing others).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from lapor_sync.store.db import read_rows, transaction
from lapor_sync.store.users import User, user_from_row
from lapor_sync.timeutil import from_db, to_db

# last_seen_at is refreshed at most this often: a page view need not be a write.
TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(
    db: sqlite_utils.Database, user_id: int, now: datetime, address: str | None
) -> str:
    """A new session for ``user_id``; returns the token for the cookie (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    stamp = to_db(now)
    with transaction(db):
        db.execute(
            "INSERT INTO web_sessions (token_hash, user_id, created_at, last_seen_at, address) "
            "VALUES (?, ?, ?, ?, ?)",
            [_digest(token), user_id, stamp, stamp, address],
        )
    return token


@dataclass(frozen=True, slots=True)
class SessionCheck:
    user: User | None
    expired: bool  # True when a session existed but ran out (say so on the login page)


def session_user(
    db: sqlite_utils.Database,
    token: str,
    now: datetime,
    *,
    idle: timedelta,
    absolute: timedelta,
) -> SessionCheck:
    """The account of a live session, refreshing its idle clock; ends an expired one."""
    digest = _digest(token)
    # The session and its account in one read (every request makes it).
    rows = read_rows(
        db,
        "SELECT s.created_at AS session_created_at, s.last_seen_at AS session_seen_at, "
        "u.* FROM web_sessions s LEFT JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = ?",
        [digest],
    )
    if not rows:
        return SessionCheck(None, expired=False)
    row = rows[0]
    created, seen = from_db(str(row["session_created_at"])), from_db(str(row["session_seen_at"]))
    if now - seen > idle or now - created > absolute:
        end_session(db, token)
        return SessionCheck(None, expired=True)
    user = None if row["id"] is None else user_from_row(row)
    if user is None or user.disabled:
        end_session(db, token)
        return SessionCheck(None, expired=False)
    if now - seen >= TOUCH_EVERY:
        with transaction(db):
            db.execute(
                "UPDATE web_sessions SET last_seen_at = ? WHERE token_hash = ?",
                [to_db(now), digest],
            )
    return SessionCheck(user, expired=False)


def end_session(db: sqlite_utils.Database, token: str) -> None:
    with transaction(db):
        db.execute("DELETE FROM web_sessions WHERE token_hash = ?", [_digest(token)])


def end_sessions_of(db: sqlite_utils.Database, user_id: int) -> int:
    with transaction(db):
        cursor = db.execute("DELETE FROM web_sessions WHERE user_id = ?", [user_id])
    return int(cursor.rowcount)


# --- login throttling ------------------------------------------------------------------------


def locked_until(
    db: sqlite_utils.Database, name: str, address: str | None, now: datetime
) -> datetime | None:
    """When logins for this name or from this address open again; None if not locked."""
    latest: datetime | None = None
    for scope, key in (("user", name.strip().lower()), ("address", address or "")):
        row = db.execute(
            "SELECT locked_until FROM login_failures WHERE scope = ? AND key = ?", [scope, key]
        ).fetchone()
        if row is not None and row[0] is not None:
            until = from_db(row[0])
            if until > now and (latest is None or until > latest):
                latest = until
    return latest


def record_failure(
    db: sqlite_utils.Database,
    name: str,
    address: str | None,
    now: datetime,
    *,
    max_failures: int,
    lockout: timedelta,
) -> datetime | None:
    """Count one failed login for the name and the address; returns the lock end if locked.

    A count whose lock has run out starts again from one.
    """
    stamp = to_db(now)
    until = to_db(now + lockout)
    with transaction(db):
        for scope, key in (("user", name.strip().lower()), ("address", address or "")):
            db.execute(
                "INSERT INTO login_failures (scope, key, failures, last_failure_at) "
                "VALUES (?, ?, 1, ?) ON CONFLICT (scope, key) DO UPDATE SET "
                "failures = CASE WHEN locked_until IS NOT NULL AND locked_until <= excluded."
                "last_failure_at THEN 1 ELSE failures + 1 END, "
                "locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= "
                "excluded.last_failure_at THEN NULL ELSE locked_until END, "
                "last_failure_at = excluded.last_failure_at",
                [scope, key, stamp],
            )
            db.execute(
                "UPDATE login_failures SET locked_until = ? WHERE scope = ? AND key = ? "
                "AND failures >= ? AND locked_until IS NULL",
                [until, scope, key, max_failures],
            )
    return locked_until(db, name, address, now)


def clear_failures(db: sqlite_utils.Database, name: str) -> None:
    with transaction(db):
        db.execute(
            "DELETE FROM login_failures WHERE scope = 'user' AND key = ?", [name.strip().lower()]
        )

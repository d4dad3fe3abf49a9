"""Signing in and out, the current account, and the guard every route goes through.

Invariants:
- the session cookie (Flask's, signed with ``web.session_secret``) holds only a random
  session token and the CSRF token; who is signed in is looked up in ``web_sessions`` on
  every request, with the idle and absolute limits of ``[web]``;
- signing in always starts a new session (``session.clear()`` and a new token), so a
  session id planted before the login is worthless afterwards;
- a wrong name and a wrong password get the same answer; after
  ``web.login_max_failures`` failures in a row for a name or from an address, logins for
  it are refused until the lockout ends, and the page says until when;
- every route declares its ``Action``; the guard refuses (403) a role the table does not
  allow, and a visitor who is not signed in is sent to the login page;
- an account with ``must_change_password`` is sent to the change-password page from every
  other route, before any of them runs (``web/password.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from lapor_sync.glossary import indonesian_datetime
from lapor_sync.logs import get_logger
from lapor_sync.store.users import User, record_login, verify_password
from lapor_sync.store.web_sessions import (
    clear_failures,
    create_session,
    end_session,
    locked_until,
    record_failure,
    session_user,
)
from lapor_sync.web.access import Action, allowed
from lapor_sync.web.context import db, portal

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])
SESSION_KEY = "sid"
bp = Blueprint("auth", __name__)
log = get_logger("lapor_sync.web")


class LoginForm(FlaskForm):  # type: ignore[misc]
    name = StringField(
        "Nama pengguna", validators=[DataRequired("Isi nama pengguna."), Length(max=64)]
    )
    password = PasswordField(
        "Kata sandi", validators=[DataRequired("Isi kata sandi."), Length(max=1024)]
    )


def current_user() -> User | None:
    return cast("User | None", g.get("user"))


def load_user() -> None:
    """Before each request: find the signed-in account (or none) from the session token."""
    g.user = None
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return
    web = portal().settings.web
    check = session_user(
        db(), token, portal().clock(), idle=web.session_idle, absolute=web.session_max
    )
    if check.user is None:
        session.pop(SESSION_KEY, None)
        if check.expired:
            session["expired"] = True  # the login page says why (once)
        return
    g.user = check.user


def client_address() -> str | None:
    return request.remote_addr


def guard(action: Action) -> Callable[[F], F]:
    """Route decorator: signed in, and the role may do ``action`` (else 403)."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            user = current_user()
            if user is None:
                if request.method == "GET":
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                abort(401)
            if user.must_change_password and action is not Action.PASSWORD:
                # A one-time password opens only the change-password page (GET or POST:
                # nothing is written; the browser is sent to set its own password).
                return redirect(url_for("account.password"))
            if not allowed(user, action):
                abort(403)
            return view(*args, **kwargs)

        inner.action = action  # type: ignore[attr-defined]  # read by the route table test
        return cast(F, inner)

    return wrap


def _safe_next(target: str | None) -> str:
    # Only a path on this portal: never an absolute URL (no open redirect).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("pages.home")


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    message = None
    if session.pop("expired", False):
        message = "Sesi Anda telah berakhir. Silakan masuk kembali."
    if form.validate_on_submit():
        ctx = portal()
        web, now, address = ctx.settings.web, ctx.clock(), client_address()
        name = str(form.name.data).strip().lower()
        until = locked_until(db(), name, address, now)
        if until is None:
            user = verify_password(db(), name, str(form.password.data))
            if user is not None:
                clear_failures(db(), name)
                record_login(db(), user.id, now)
                session.clear()  # a new session on every login
                session[SESSION_KEY] = create_session(db(), user.id, now, address)
                session.permanent = True
                log.info("portal_login", user=user.name, role=user.role.value)
                if user.must_change_password:
                    return redirect(url_for("account.password"))
                return redirect(_safe_next(request.args.get("next")))
            until = record_failure(
                db(),
                name,
                address,
                now,
                max_failures=web.login_max_failures,
                lockout=web.login_lockout,
            )
            log.warning("portal_login_failed", locked=until is not None)
            message = "Nama pengguna atau kata sandi salah."
        if until is not None:
            message = (
                "Terlalu banyak percobaan masuk yang gagal. Demi keamanan, masuk untuk akun "
                f"ini atau dari alamat ini ditutup sampai {indonesian_datetime(until)}. "
                "Hubungi admin bila Anda lupa kata sandi."
            )
        return render_template("login.html", form=form, message=message), 401
    return render_template("login.html", form=form, message=message)


@bp.route("/keluar", methods=["POST"])
def logout() -> ResponseReturnValue:
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        end_session(db(), token)
    session.clear()
    return redirect(url_for("auth.login"))

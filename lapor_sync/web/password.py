"""Changing one's own password (``/kata-sandi``), and the page a one-time password leads to.

Invariants:
- every signed-in account may change its own password, and only its own: the current
  password is required (a session left open on a shared computer is not enough), the new
  one twice, at least ``MIN_PASSWORD_CHARS`` characters, different from the current one;
  the hash is made by ``store/users.py`` (Argon2id) and nothing else sees the password;
- an account with ``must_change_password`` (a one-time password from ``user add
  --one-time`` or ``user reset-password``) can open nothing but this page until it has set
  its own: the route guard (``auth.guard``) sends every other page here;
- a wrong current password counts as a failed login for the account and the address, so
  an open session cannot be used to guess the password; while locked, the page refuses;
- a new password ends every session of the account (``users.set_password``); the browser
  that changed it gets a fresh session, so it stays signed in and the old token is void.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from lapor_sync.glossary import PASSWORD_TEXTS, indonesian_datetime
from lapor_sync.logs import get_logger
from lapor_sync.store.users import MIN_PASSWORD_CHARS, set_password, verify_password
from lapor_sync.store.web_sessions import (
    clear_failures,
    create_session,
    locked_until,
    record_failure,
)
from lapor_sync.web.access import Action
from lapor_sync.web.auth import SESSION_KEY, client_address, current_user, guard
from lapor_sync.web.context import db, portal

bp = Blueprint("account", __name__)
log = get_logger("lapor_sync.web")
MAX_PASSWORD_CHARS = 1024  # the login form's limit: a longer one could never be typed there


class PasswordForm(FlaskForm):  # type: ignore[misc]
    old = PasswordField(
        PASSWORD_TEXTS["old"],
        validators=[
            DataRequired(PASSWORD_TEXTS["old_missing"]),
            Length(max=MAX_PASSWORD_CHARS),
        ],
        render_kw={"autocomplete": "current-password", "autofocus": True},
    )
    new = PasswordField(
        PASSWORD_TEXTS["new"],
        validators=[
            DataRequired(PASSWORD_TEXTS["new_missing"]),
            Length(max=MAX_PASSWORD_CHARS),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        PASSWORD_TEXTS["confirm"],
        validators=[Length(max=MAX_PASSWORD_CHARS)],
        render_kw={"autocomplete": "new-password"},
    )


def new_password_problems(old: str, new: str, confirm: str) -> dict[str, str]:
    """What is wrong with the new password, by field (empty when it may be set).

    The same rules as ``users.check_password`` (which still guards the store), said in
    Bahasa Indonesia beside the field that must change.
    """
    problems: dict[str, str] = {}
    if len(new) < MIN_PASSWORD_CHARS:
        problems["new"] = PASSWORD_TEXTS["too_short"].format(count=MIN_PASSWORD_CHARS)
    elif new.strip() != new or any(ord(c) < 32 for c in new):
        problems["new"] = PASSWORD_TEXTS["spaces"]
    elif new == old:
        problems["new"] = PASSWORD_TEXTS["same"]
    elif confirm != new:
        problems["confirm"] = PASSWORD_TEXTS["mismatch"]
    return problems


@bp.route("/kata-sandi", methods=["GET", "POST"])
@guard(Action.PASSWORD)
def password() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    form = PasswordForm()
    errors: dict[str, str] = {}
    message = None
    status = 200
    if form.validate_on_submit():
        ctx = portal()
        web, now, address = ctx.settings.web, ctx.clock(), client_address()
        old, new, confirm = str(form.old.data), str(form.new.data), str(form.confirm.data or "")
        until = locked_until(db(), user.name, address, now)
        if until is None:
            if verify_password(db(), user.name, old) is None:
                until = record_failure(
                    db(), user.name, address, now,
                    max_failures=web.login_max_failures, lockout=web.login_lockout,
                )  # fmt: skip
                log.warning("portal_password_change_failed", locked=until is not None)
                errors["old"] = PASSWORD_TEXTS["old_wrong"]
            else:
                errors = new_password_problems(old, new, confirm)
                if not errors:
                    clear_failures(db(), user.name)
                    set_password(db(), user.name, new, must_change_password=False)
                    session.clear()  # the old token died with the account's sessions
                    session[SESSION_KEY] = create_session(db(), user.id, now, address)
                    session.permanent = True
                    log.info("portal_password_changed", user=user.name)
                    flash(PASSWORD_TEXTS["changed"])
                    return redirect(url_for("pages.home"))
        if until is not None:
            message = PASSWORD_TEXTS["locked"].format(until=indonesian_datetime(until))
            errors.pop("old", None)
        status = 400
    elif form.is_submitted():
        errors = {name: errs[0] for name, errs in form.errors.items() if errs}
        status = 400
    return render_template(
        "password.html",
        form=form,
        errors=errors,
        message=message,
        texts=PASSWORD_TEXTS,
        min_chars=MIN_PASSWORD_CHARS,
    ), status

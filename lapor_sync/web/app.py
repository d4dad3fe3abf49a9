"""``create_app``: the portal as a Flask application (served by waitress, see ``serve``).

Invariants:
- refuses to start without ``web.session_secret`` (it signs cookies and CSRF tokens);
- every form carries a CSRF token (Flask-WTF's ``CSRFProtect`` checks every POST);
- every answer carries the security headers below: a Content-Security-Policy without
  inline script (no script at all), ``frame-ancestors 'none'``, ``nosniff``, a strict
  Referrer-Policy; pages are not cached (they hold personal data);
- the session cookie is HttpOnly, SameSite=Lax, and Secure when ``web.public_url`` is
  https; requests over 256 KiB are refused, except the intake form with its attachments
  (web/intake.py);
- errors are pages in Bahasa Indonesia, never a traceback; nothing personal is logged;
- a session cookie's signature and age are checked when the process first sees it; its
  content is then remembered while it is young enough (``KnownCookieSessions``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Request, Response, g, render_template, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import BadSignature
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from lapor_sync.config import Settings
from lapor_sync.errors import WebError as WebError
from lapor_sync.glossary import (
    MENU_LABELS,
    PASSWORD_TEXTS,
    ROLE_LABELS,
    channel_label,
    conflict_label,
    outbox_kind_label,
    outbox_state_label,
    stage_label,
    state_label,
    stored_datetime_text,
)
from lapor_sync.store.db import open_database
from lapor_sync.store.users import User
from lapor_sync.timeutil import Clock, now_wib
from lapor_sync.web.access import Action, allowed
from lapor_sync.web.context import EXTENSION, PortalContext

MAX_REQUEST_BYTES = 256 * 1024
CSP = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The liaison report is the same HTML as the static report, whose styles are inline.
REPORT_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
# What each menu entry's page demands (its route's guard says the same; a test holds them equal).
ENDPOINT_ACTIONS: dict[str, Action] = {
    "pages.home": Action.HOME,
    "complaints.complaint_list_page": Action.LIST,
    "intake.intake": Action.INTAKE,
    "actions.conflicts": Action.CONFLICTS,
    "pages.log": Action.LOG,
    "pages.report": Action.REPORT,
    "actions.outbox": Action.SENDING,
    "pages.users": Action.USERS,
}


def create_app(
    settings: Settings, *, clock: Clock = now_wib, db_path: Path | str | None = None
) -> Flask:
    secret = settings.web.session_secret.get_secret_value()
    if not secret:
        origin = settings.web.session_secret_origin
        where = f" ({origin} is missing)" if origin else ""
        raise WebError(
            f"web.session_secret is not set{where}: the portal needs it to sign sessions. "
            "See docs/configuration.md, section [web]."
        )
    ctx = PortalContext(settings=settings, clock=clock, db_path=db_path)
    open_database(ctx.path).close()  # migrate once, before any request thread
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="lapor_portal",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.web.secure_cookies,
        SESSION_COOKIE_PATH=urlsplit(settings.web.public_url).path or "/",
        PERMANENT_SESSION_LIFETIME=settings.web.session_max,
        # The cookie lives ``session_max`` from the login (the absolute limit); the idle
        # limit is kept server-side in ``web_sessions``, so re-signing the cookie on every
        # request would only cost time and push its expiry past the absolute limit.
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=settings.web.secure_cookies,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        TEMPLATES_AUTO_RELOAD=False,
    )
    if settings.web.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)  # type: ignore[method-assign]
    app.session_interface = KnownCookieSessions()
    app.extensions[EXTENSION] = ctx
    from lapor_sync.web.intake import raise_request_limit

    app.before_request(raise_request_limit)  # before the CSRF check reads the form
    CSRFProtect(app)
    _filters(app)
    _hooks(app)
    _errors(app)
    from lapor_sync.web import actions, auth, complaints, intake, pages, password

    for module in (auth, pages, complaints, actions, intake, password):
        app.register_blueprint(module.bp)
    return app


def _hooks(app: Flask) -> None:
    from lapor_sync.web.auth import current_user, load_user

    app.before_request(load_user)

    menus: dict[tuple[str, bool, str], tuple[tuple[str, str], ...]] = {}
    frames: dict[str, dict[str, str]] = {}

    @app.context_processor
    def _globals() -> dict[str, Any]:
        user = current_user()
        menu: tuple[tuple[str, str], ...] = ()
        if user is not None:
            # One menu per role (and mount point), built once: it was a tenth of a page.
            key = (user.role.value, user.must_change_password, request.script_root)
            menu = menus.get(key) or menus.setdefault(key, _menu(user))
        # base.html's fixed links, once per mount point (three url_for a page otherwise).
        frame = frames.get(request.script_root) or frames.setdefault(
            request.script_root,
            {
                "css": url_for("static", filename="portal.css"),
                "home": url_for("pages.home"),
                "logout": url_for("auth.logout"),
            },
        )
        return {
            "user": user,
            "can": (lambda action: user is not None and allowed(user, Action(action))),
            "role_label": ROLE_LABELS,
            "menu": menu,
            "frame": frame,
        }

    # The signed CSRF token of each session's raw token (see _known_csrf_token).
    signed_tokens: dict[str, str] = {}

    @app.before_request
    def _known_csrf_token() -> None:
        """Reuse the CSRF token signed for this session on an earlier page.

        ``generate_csrf`` signs the session's raw token anew on every request that shows a
        form (a serializer and an HMAC: 35 us, a sixth of a page with no row). With no time
        limit (``WTF_CSRF_TIME_LIMIT=None``) a token signed earlier passes the same check,
        and a page reveals nothing by carrying it again: Flask-WTF takes ``g.csrf_token``
        when set (its documented place for the signed token). A new session (every login)
        has a new raw token, so a new entry; with a time limit nothing is reused.
        """
        raw = session.get("csrf_token")
        if isinstance(raw, str) and app.config["WTF_CSRF_TIME_LIMIT"] is None:
            known = signed_tokens.get(raw)
            if known is not None:
                g.csrf_token = known

    @app.after_request
    def _remember_csrf_token(response: Response) -> Response:
        raw, signed = session.get("csrf_token"), g.get("csrf_token")
        if isinstance(raw, str) and isinstance(signed, str) and raw not in signed_tokens:
            remember(signed_tokens, raw, signed)
        return response

    @app.after_request
    def _headers(response: Response) -> Response:
        report = request.endpoint == "pages.report"
        response.headers["Content-Security-Policy"] = REPORT_CSP if report else CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response


SESSION_MEMO_MAX = 4096
_K = TypeVar("_K")
_V = TypeVar("_V")


def remember(memo: dict[_K, _V], key: _K, value: _V) -> None:
    """Keep ``value`` for ``key`` in one of the portal's per-session memos (the signed CSRF
    token, a verified cookie). Bounded: sessions come and go, so a full memo starts over
    (what it held is only recomputed, never wrong)."""
    if len(memo) >= SESSION_MEMO_MAX:
        memo.clear()
    memo[key] = value


class KnownCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with each cookie's verified content remembered.

    Checking a cookie (a serializer, an HMAC, base64 and JSON) was 40 us of every request,
    and a browser sends the same cookie on every page (it is re-signed only when the
    session changes: ``SESSION_REFRESH_EACH_REQUEST=False``). A cookie seen before is
    taken from memory while it is within ``PERMANENT_SESSION_LIFETIME`` of its signing
    (the same age limit the check applies); any other cookie, and one that has grown too
    old, goes through Flask's own check. Only contents of plain values are remembered
    (each request gets its own copy of the dict, so nothing mutable is shared). Who is
    signed in is still looked up in ``web_sessions`` on every request (``auth.load_user``).
    """

    def __init__(self) -> None:
        self._known: dict[str, tuple[dict[str, Any], int]] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self._known.get(cookie)
        if known is not None and 0 <= int(time.time()) - known[1] <= max_age:
            return self.session_class(known[0])
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        try:
            data, signed = signer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(
            isinstance(v, str | int | bool | None) for v in data.values()
        ):
            remember(self._known, cookie, (dict(data), int(signed.timestamp())))
        return self.session_class(data)


def _menu(user: User) -> tuple[tuple[str, str], ...]:
    """The main menu's (link, label) pairs ``user``'s role may open, in the glossary's order.

    An account on a one-time password sees only the change-password entry (every other
    route sends it there anyway, ``web/auth.guard``).
    """
    password = (url_for("account.password"), PASSWORD_TEXTS["menu"])
    if user.must_change_password:
        return (password,)
    entries = [
        (url_for(endpoint), label)
        for endpoint, label in MENU_LABELS
        if allowed(user, ENDPOINT_ACTIONS[endpoint])
    ]
    return (*entries, password)


def _errors(app: Flask) -> None:
    texts = {
        400: ("Permintaan tidak dapat diproses", "Periksa isian Anda lalu coba lagi."),
        401: ("Perlu masuk", "Silakan masuk terlebih dahulu."),
        403: ("Tidak diizinkan", "Akun Anda tidak mempunyai akses ke halaman ini."),
        404: ("Tidak ditemukan", "Halaman atau pengaduan ini tidak ada, atau bukan wewenang Anda."),
        405: ("Tidak diizinkan", "Cara membuka halaman ini tidak didukung."),
        413: ("Isian terlalu besar", "Isian yang dikirim melebihi batas."),
    }

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html",
            title="Formulir kedaluwarsa",
            text="Token keamanan formulir tidak ada atau sudah tidak berlaku. Muat ulang "
            "halaman lalu kirim lagi.",
        ), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        title, text = texts.get(code, ("Terjadi kesalahan", "Coba lagi beberapa saat lagi."))
        return render_template("error.html", title=title, text=text), code

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> tuple[str, int]:
        from lapor_sync.logs import get_logger

        if app.testing:
            raise exc  # tests see the traceback; users never do

        # The type only: a message could quote a form value (personal data).
        get_logger("lapor_sync.web").error("portal_error", error_type=type(exc).__name__)
        return render_template(
            "error.html", title="Terjadi kesalahan", text="Coba lagi beberapa saat lagi."
        ), 500


def _filters(app: Flask) -> None:
    app.add_template_filter(stored_datetime_text, "when")
    app.add_template_filter(state_label, "state")
    app.add_template_filter(lambda s: stage_label(s, None), "stage")
    app.add_template_filter(channel_label, "channel")
    app.add_template_filter(outbox_state_label, "outbox_state")
    app.add_template_filter(outbox_kind_label, "outbox_kind")
    app.add_template_filter(conflict_label, "conflict_kind")

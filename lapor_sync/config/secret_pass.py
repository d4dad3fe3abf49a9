"""Pass 2 of the loader: every secret of the raw document resolved, or its problem.

The API credentials of each account, the portal's session secret and the notification
secrets come from the same sources (``secret_sources``: environment, private file,
systemd credential, or a plain value where the URL is loopback). This pass reads the raw
document, not the validated one, so a mistake elsewhere in a section does not hide a
missing secret; what is malformed is left to pass 1. No problem quotes a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError

from lapor_sync.config.fields import is_loopback_host as _is_loopback
from lapor_sync.config.problem_text import Loc
from lapor_sync.config.secret_sources import (
    SecretOrigin,
    SecretProblem,
    SecretSpec,
    resolve_secret,
)

Resolved = dict[tuple[int, str], tuple[SecretStr, SecretOrigin]]
# Key of the portal's session secret in ``Resolved`` (accounts use their index >= 0).
WEB_SECRET = (-1, "session_secret")
# A session secret shorter than this is refused: it signs every session cookie.
MIN_SESSION_SECRET_CHARS = 32


def resolve_document_secrets(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    context: dict[str, Path],
    resolve: bool,
    resolve_web: bool,
) -> tuple[Resolved, list[tuple[Loc, str]]]:
    resolved: Resolved = {}
    problems: list[tuple[Loc, str]] = []
    for i, account in tables_of(data.get("accounts")):
        enabled = account.get("enabled", True)
        enabled = enabled if isinstance(enabled, bool) else True
        base_url = account.get("base_url")
        host = host_of(base_url) if isinstance(base_url, str) else None
        loopback = _is_loopback(host) if host else None
        auth = account.get("auth")
        auth = auth if isinstance(auth, dict) else {}
        sources: list[tuple[str, Any, Loc]] = [
            (field, account.get(field), ("accounts", i, field)) for field in ("api_key", "token")
        ]
        if auth.get("scheme") == "oauth2":
            sources += [
                (f"auth.{f}", auth.get(f), ("accounts", i, "auth", f))
                for f in ("client_id", "client_secret")
            ]
        for field, raw, loc in sources:
            if raw is None:
                continue  # "is required" comes from pass 1 (or the auth check)
            # a disabled account may lack its secrets
            outcome = _resolve_one(raw, env, context, resolve, loopback, missing_ok=not enabled)
            if isinstance(outcome, SecretProblem):
                problems.append(((*loc, outcome.key), outcome.message))
            elif outcome is not None:
                resolved[(i, field)] = outcome
    _resolve_web_secret(data, env, context, resolve_web, resolved, problems)
    problems += _resolve_notify_secrets(data, env, context, resolve, resolved)
    return resolved, problems


def _resolve_one(
    raw: object,
    env: Mapping[str, str],
    context: dict[str, Path],
    resolve: bool,
    plain_allowed: bool | None,
    *,
    missing_ok: bool,
) -> tuple[SecretStr, SecretOrigin] | SecretProblem | None:
    """One secret source: its value and origin, its problem, or None when pass 1 reports it.

    Without ``resolve`` only a plain value is read (the rest load as empty, with their
    origin); a source that is simply missing loads as empty when ``missing_ok``.
    """
    try:
        spec = SecretSpec.model_validate(raw, context=context)
    except ValidationError:
        return None  # reported by pass 1
    if not resolve and spec.kind != "value":
        return SecretStr(""), spec.origin()
    try:
        secret = resolve_secret(spec, env=env, plain_allowed=plain_allowed)
    except SecretProblem as problem:
        if not (problem.missing and missing_ok):
            return problem
        secret = SecretStr("")
    return secret, spec.origin()


def _resolve_web_secret(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    context: dict[str, Path],
    resolve: bool,
    resolved: Resolved,
    problems: list[tuple[Loc, str]],
) -> None:
    """web.session_secret: same sources as the API credentials.

    A source that is simply missing loads as empty (the daemon reads the same file without
    the portal's credential; ``lapor-sync web`` refuses to start then). A plain value is
    allowed only when web.public_url is loopback; unsafe files are always a problem.
    """
    web = data.get("web")
    raw = web.get("session_secret") if isinstance(web, dict) else None
    if raw is None:
        return
    try:
        spec = SecretSpec.model_validate(raw, context=context)
    except ValidationError:
        return  # reported by pass 1
    if not resolve and spec.kind != "value":
        resolved[WEB_SECRET] = (SecretStr(""), spec.origin())
        return
    public_url = web.get("public_url", "http://127.0.0.1") if isinstance(web, dict) else None
    host = host_of(public_url) if isinstance(public_url, str) else None
    loopback = _is_loopback(host) if host else None
    loc: Loc = ("web", "session_secret", spec.kind)
    if spec.kind == "value" and loopback is False:
        problems.append(
            (
                loc,
                "a plain value is allowed only when web.public_url is a loopback address; "
                "use env, file or credential for a portal others reach",
            )
        )
        return
    try:
        secret = resolve_secret(spec, env=env, plain_allowed=True)
    except SecretProblem as problem:
        if not problem.missing:
            problems.append((loc, problem.message))
            return
        secret = SecretStr("")
    if secret.get_secret_value() and len(secret.get_secret_value()) < MIN_SESSION_SECRET_CHARS:
        problems.append(
            (
                loc,
                f"is shorter than {MIN_SESSION_SECRET_CHARS} characters; make one with: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'",
            )
        )
        return
    resolved[WEB_SECRET] = (secret, spec.origin())


# Keys of the notify secrets in ``Resolved`` (accounts use their index, >= 0).
NOTIFY_SECRETS = {"smtp": (-3, "password"), "webhook": (-4, "secret")}


def _resolve_notify_secrets(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    context: dict[str, Path],
    resolve: bool,
    resolved: Resolved,
) -> list[tuple[Loc, str]]:
    """The SMTP password and the webhook secret, by the accounts' rules."""
    problems: list[tuple[Loc, str]] = []
    notify = data.get("notify")
    if not isinstance(notify, dict):
        return problems
    enabled = notify.get("enabled", False) is True
    for table, (slot, field) in NOTIFY_SECRETS.items():
        section = notify.get(table)
        if not isinstance(section, dict) or section.get(field) is None:
            continue
        host = section.get("host") if table == "smtp" else None
        url = section.get("url") if table == "webhook" else None
        if isinstance(url, str):
            host = host_of(url)
        loopback = _is_loopback(host) if isinstance(host, str) and host else None
        # notifications off: the secret is not needed yet
        outcome = _resolve_one(
            section[field], env, context, resolve, loopback, missing_ok=not enabled
        )
        if isinstance(outcome, SecretProblem):
            problems.append((("notify", table, field, outcome.key), outcome.message))
        elif outcome is not None:
            resolved[(slot, field)] = outcome
    return problems


def host_of(url: str) -> str | None:
    """The host of a URL even when the URL is otherwise invalid (reported in pass 1)."""
    try:
        return urlsplit(url.strip()).hostname
    except ValueError:
        return None


def tables_of(value: object) -> list[tuple[int, dict[str, Any]]]:
    """The tables of a raw ``[[array]]`` (index, table), skipping what is not a table."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]

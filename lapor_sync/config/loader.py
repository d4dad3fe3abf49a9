"""config.toml + environment → ``Settings``, or a ``ConfigError`` listing every problem.

Three passes over the file, whose problems are all collected before anything is raised:

1. pydantic validates the whole document against ``ConfigFile`` (types, ranges, unknown
   keys, checks inside one section);
2. each account's secrets are resolved (environment, private file, systemd credential, or
   a plain value on a loopback URL); this pass reads the raw document, so a mistake
   elsewhere in the account does not hide a missing secret (``config.secret_pass``);
3. cross-section checks run on the raw document too (unique names, references).

Every problem is one string that starts with its TOML key path, e.g.
``accounts[0].api_key.env: environment variable LAPOR_PEMPROV_KEY is not set``.
Invariant: no problem text contains a configured value of a secret; pydantic input values
are never included (``hide_input_in_errors`` and ``errors(include_input=False)``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator

from lapor_sync.config.fields import BASE_DIR, ChannelName, NumericId
from lapor_sync.config.notify_section import NotifyConfig, build_notify
from lapor_sync.config.problem_text import Loc, key_path, pydantic_problem, toml_problem
from lapor_sync.config.secret_pass import (
    NOTIFY_SECRETS,
    WEB_SECRET,
    Resolved,
    resolve_document_secrets,
    tables_of,
)
from lapor_sync.config.sections import (
    DEFAULT_CHANNELS,
    Account,
    AccountConfig,
    CalendarOverrides,
    DaemonSettings,
    DeadlineSettings,
    HttpSettings,
    LocalSettings,
    Opd,
    PullSettings,
    PushSettings,
    ReconcileSettings,
    ReportSettings,
    ScheduleSettings,
    Section,
    StoreSettings,
)
from lapor_sync.config.settings import Settings
from lapor_sync.config.web_section import WebConfig, WebSettings
from lapor_sync.domain import DEFAULT_STATUS_MAP, ComplaintState, status_key
from lapor_sync.errors import ConfigError

ENV_CONFIG_PATH = "LAPOR_SYNC_CONFIG"
DEFAULT_CONFIG_PATH = Path("config.toml")


def _section() -> Any:
    """Default for a section: an empty table, validated (so default paths get resolved)."""
    return Field(default_factory=dict, validate_default=True)


class ConfigFile(Section):
    """The document as written in config.toml (secrets are references, not values)."""

    store: StoreSettings = _section()
    accounts: tuple[AccountConfig, ...]  # at least one: checked in pass 3
    opd: tuple[Opd, ...] = ()
    channels: dict[ChannelName, NumericId] = Field(default_factory=dict)
    status_map: dict[str, ComplaintState] = Field(default_factory=dict)
    http: HttpSettings = _section()
    pull: PullSettings = _section()
    push: PushSettings = _section()
    schedule: ScheduleSettings = _section()
    deadlines: DeadlineSettings = _section()
    calendar: CalendarOverrides = _section()
    local: LocalSettings = _section()
    daemon: DaemonSettings = _section()
    reconcile: ReconcileSettings = _section()
    report: ReportSettings = _section()
    web: WebConfig = _section()
    notify: NotifyConfig = _section()

    @field_validator("status_map")
    @classmethod
    def _status_names(cls, value: dict[str, ComplaintState]) -> dict[str, ComplaintState]:
        seen: dict[str, str] = {}
        for name, state in value.items():
            key = status_key(name)
            if not key:
                raise ValueError("status names must not be empty")
            if key in seen and value[seen[key]] != state:
                raise ValueError(
                    f'"{seen[key]}" and "{name}" are the same status name (case and '
                    "surrounding spaces are ignored) but map to different states"
                )
            seen.setdefault(key, name)
        return value


_SECTION_ORDER = {name: i for i, name in enumerate(ConfigFile.model_fields)}


def load_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    resolve_secrets: bool = True,
    resolve_web_secret: bool | None = None,
) -> Settings:
    """Load and validate the configuration. Raises ``ConfigError`` listing every problem.

    ``path`` defaults to ``$LAPOR_SYNC_CONFIG``, else ``./config.toml``. ``env`` defaults to
    ``os.environ``; secrets named by ``env =`` and ``$CREDENTIALS_DIRECTORY`` come from it.
    ``resolve_secrets=False`` is for commands that never talk to SP4N-LAPOR! (log, overdue,
    status …): they then work from a shell without the service's credentials; secrets stay
    empty, and the rules on plain values still apply. ``resolve_web_secret`` (default: as
    ``resolve_secrets``) reads ``web.session_secret``: the portal needs only that one.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    if path is None:
        path = Path(environ.get(ENV_CONFIG_PATH) or DEFAULT_CONFIG_PATH)
    path = Path(path).expanduser().absolute()
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"cannot read the file: it does not exist (pass a path or set {ENV_CONFIG_PATH})"],
            source=source,
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(["cannot read the file: it is not UTF-8 text"], source=source) from None
    except OSError as exc:
        raise ConfigError(
            [f"cannot read the file: {exc.strerror or type(exc).__name__}"], source=source
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([toml_problem(exc)], source=source) from None
    # Whoever can write the configuration can point lapor-sync and its credentials at any
    # server: refuse a file that anyone on the machine may change. (A group may: an admin
    # group is normal. Secret files have their own, stricter rule.)
    mode = path.stat().st_mode & 0o777
    if mode & 0o002:
        raise ConfigError(
            [
                f"(file): writable by any user on this machine (mode {mode:04o}); run "
                f"chmod o-w {path}"
            ],
            source=source,
        )
    return settings_from_dict(
        data,
        config_path=path,
        env=environ,
        resolve_secrets=resolve_secrets,
        resolve_web_secret=resolve_web_secret,
    )


def settings_from_dict(
    data: Mapping[str, Any],
    *,
    config_path: Path,
    env: Mapping[str, str] | None = None,
    resolve_secrets: bool = True,
    resolve_web_secret: bool | None = None,
) -> Settings:
    """Validate an already parsed document as if read from ``config_path``.

    Relative paths are taken relative to ``config_path``'s directory. For tests and tools;
    programs call ``load_settings``.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    config_path = Path(config_path).absolute()
    context = {BASE_DIR: config_path.parent}
    problems: list[tuple[Loc, str]] = []

    document: ConfigFile | None = None
    try:
        document = ConfigFile.model_validate(dict(data), context=context)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        problems += [pydantic_problem(e, ConfigFile) for e in errors]

    web_secret = resolve_secrets if resolve_web_secret is None else resolve_web_secret
    secrets, secret_problems = resolve_document_secrets(
        data, environ, context, resolve_secrets, web_secret
    )
    problems += secret_problems
    problems += _cross_checks(data)

    if problems or document is None:
        ordered = sorted(problems, key=lambda p: _sort_key(p[0]))
        raise ConfigError([_render(loc, msg) for loc, msg in ordered], source=str(config_path))
    return _build(document, secrets, config_path)


# --- pass 3: cross-section checks --------------------------------------------------------


def _cross_checks(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    accounts = list(tables_of(data.get("accounts")))
    if data.get("accounts") == []:
        # here, not as min_length: pydantic counts only the *valid* items for min_length
        problems.append((("accounts",), "must have at least one [[accounts]] table"))
    names = _unique(accounts, "name", "accounts", "account name", problems)
    _unique(accounts, "institution_id", "accounts", "institution_id", problems)
    known = ", ".join(names) or "none"

    for i, account in accounts:
        auth = account.get("auth")
        oauth2 = isinstance(auth, dict) and auth.get("scheme") == "oauth2"
        if account.get("api_key") is None and not oauth2:
            problems.append(
                (("accounts", i, "api_key"), 'is required (unless auth.scheme = "oauth2")')
            )

    opds = list(tables_of(data.get("opd")))
    _unique(opds, "code", "opd", "OPD code", problems)
    _unique(opds, "institution_id", "opd", "institution_id", problems)
    for i, opd in opds:
        ref = opd.get("account")
        if names and isinstance(ref, str) and ref not in names:
            problems.append((("opd", i, "account"), f'unknown account "{ref}" (known: {known})'))

    enabled = {
        a["name"]: a.get("enabled", True) is not False
        for _, a in accounts
        if isinstance(a.get("name"), str)
    }
    if enabled and not any(enabled.values()):
        problems.append((("accounts",), "every account has enabled = false; enable at least one"))
    local = data.get("local")
    default = local.get("default_account") if isinstance(local, dict) else None
    if names and isinstance(default, str):
        if default not in names:
            problems.append(
                (("local", "default_account"), f'unknown account "{default}" (known: {known})')
            )
        elif not enabled.get(default, True):
            problems.append(
                (("local", "default_account"), f'account "{default}" has enabled = false')
            )
    problems += _notify_checks(data, opds)
    return problems


def _notify_checks(
    data: Mapping[str, Any], opds: Sequence[tuple[int, dict[str, Any]]]
) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    notify = data.get("notify")
    if not isinstance(notify, dict):
        return problems
    codes = [o["code"] for _, o in opds if isinstance(o.get("code"), str)]
    recipients = notify.get("recipients")
    if isinstance(recipients, dict):
        for code in recipients:
            if code not in codes:
                known = ", ".join(codes) or "none"
                problems.append(
                    (("notify", "recipients", code), f'unknown OPD code "{code}" (known: {known})')
                )
    if notify.get("enabled") is True and not (
        isinstance(notify.get("smtp"), dict) or isinstance(notify.get("webhook"), dict)
    ):
        problems.append(
            (("notify", "enabled"), "needs [notify.smtp] or [notify.webhook] to send anything")
        )
    return problems


def _unique(
    items: Sequence[tuple[int, dict[str, Any]]],
    key: str,
    section: str,
    what: str,
    problems: list[tuple[Loc, str]],
) -> list[str]:
    """Report repeated values of ``key``; return the distinct values in order."""
    first: dict[str, int] = {}
    for i, item in items:
        value = item.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            continue
        value = value.strip()
        if value in first:
            problems.append(
                ((section, i, key), f'duplicate {what} "{value}" (also {section}[{first[value]}])')
            )
        else:
            first[value] = i
    return list(first)


# --- building the result -----------------------------------------------------------------


def _build(document: ConfigFile, secrets: Resolved, config_path: Path) -> Settings:
    accounts = []
    for i, cfg in enumerate(document.accounts):
        api_key, api_key_origin = secrets.get((i, "api_key"), (SecretStr(""), None))
        token, token_origin = secrets[(i, "token")]
        client_id, client_id_origin = secrets.get((i, "auth.client_id"), (SecretStr(""), None))
        client_secret, client_secret_origin = secrets.get(
            (i, "auth.client_secret"), (SecretStr(""), None)
        )
        fields = cfg.model_dump(exclude={"api_key", "token", "auth"})
        accounts.append(
            Account(
                **fields,
                auth=cfg.auth,
                api_key=api_key,
                token=token,
                api_key_origin=api_key_origin,
                token_origin=token_origin,
                client_id=client_id,
                client_secret=client_secret,
                client_id_origin=client_id_origin,
                client_secret_origin=client_secret_origin,
            )
        )
    local = document.local
    if local.default_account is None:
        first = next((a for a in accounts if a.enabled), accounts[0])
        local = local.model_copy(update={"default_account": first.name})
    return Settings(
        config_path=config_path,
        store=document.store,
        accounts=tuple(accounts),
        opd=document.opd,
        channels={**DEFAULT_CHANNELS, **document.channels},
        status_map=_merge_status_map(document.status_map),
        http=document.http,
        pull=document.pull,
        push=document.push,
        schedule=document.schedule,
        deadlines=document.deadlines,
        calendar_overrides=document.calendar,
        local=local,
        daemon=document.daemon,
        reconcile=document.reconcile,
        report=document.report,
        web=_web(document.web, secrets),
        notify=build_notify(
            document.notify,
            _secret_at(secrets, NOTIFY_SECRETS["smtp"]),
            _secret_at(secrets, NOTIFY_SECRETS["webhook"]),
        ),
    )


def _web(config: WebConfig, secrets: Resolved) -> WebSettings:
    fields = config.model_dump(exclude={"session_secret"})
    secret, origin = secrets.get(WEB_SECRET, (SecretStr(""), None))
    return WebSettings(**fields, session_secret=secret, session_secret_origin=origin)


def _secret_at(secrets: Resolved, slot: tuple[int, str]) -> SecretStr | None:
    found = secrets.get(slot)
    return found[0] if found is not None else None


def _merge_status_map(configured: Mapping[str, ComplaintState]) -> dict[str, ComplaintState]:
    """Built-in labels, overridden (by normalized name) and extended by the file's."""
    overridden = {status_key(name) for name in configured}
    merged = {k: v for k, v in DEFAULT_STATUS_MAP.items() if status_key(k) not in overridden}
    merged.update({name.strip(): state for name, state in configured.items()})
    return merged


# --- problem order ----------------------------------------------------------------------


def _render(loc: Loc, message: str) -> str:
    return f"{key_path(loc) or '(top level)'}: {message}"


def _sort_key(loc: Loc) -> tuple[int, int]:
    section = _SECTION_ORDER.get(str(loc[0]), len(_SECTION_ORDER)) if loc else -1
    index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1
    return (section, index)

"""``Settings``: the one validated, frozen settings object the program runs with.

Built only by the loader (``load_settings``), which guarantees the cross-section
invariants: account names and OPD codes are unique, every OPD names an existing account,
``local.default_account`` is set and names an enabled account, every enabled account has
both secrets, and plain secret values appear only with loopback base URLs.

Secrets are ``SecretStr``: ``repr`` and ``str`` of the settings never show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr

from lapor_sync.config.fields import ChannelName, check_base_url, is_loopback_host, url_host
from lapor_sync.config.notify_section import NotifySettings
from lapor_sync.config.sections import (
    Account,
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
from lapor_sync.config.web_section import WebSettings
from lapor_sync.domain import ComplaintState, status_key
from lapor_sync.errors import ConfigError
from lapor_sync.working_days import WorkingCalendar


class Settings(Section):
    """Everything in config.toml, validated, with secrets resolved. Immutable."""

    config_path: Path
    store: StoreSettings
    accounts: tuple[Account, ...]
    opd: tuple[Opd, ...]
    channels: Mapping[ChannelName, str]
    status_map: Mapping[str, ComplaintState]
    http: HttpSettings
    pull: PullSettings
    push: PushSettings
    schedule: ScheduleSettings
    deadlines: DeadlineSettings
    calendar_overrides: CalendarOverrides  # the [calendar] section; calendar() builds on it
    local: LocalSettings
    daemon: DaemonSettings
    reconcile: ReconcileSettings
    report: ReportSettings
    web: WebSettings
    notify: NotifySettings = NotifySettings()

    _status_lookup: dict[str, ComplaintState] = PrivateAttr(default_factory=dict)
    _calendar: WorkingCalendar | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        self._status_lookup = {status_key(k): v for k, v in self.status_map.items()}

    # --- lookups -------------------------------------------------------------------------

    def account(self, name: str) -> Account:
        """The account called ``name``. Raises ``KeyError`` for an unknown name."""
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(f"unknown account {name!r}")

    @property
    def enabled_accounts(self) -> tuple[Account, ...]:
        return tuple(a for a in self.accounts if a.enabled)

    @property
    def default_account(self) -> Account:
        """The account used when nothing else decides (``local.default_account``)."""
        assert self.local.default_account is not None  # the loader always fills it in
        return self.account(self.local.default_account)

    def opd_by_code(self, code: str) -> Opd | None:
        """The OPD with this code (case-insensitive), or None."""
        wanted = code.strip().upper()
        return next((o for o in self.opd if o.code == wanted), None)

    def opd_by_institution(self, institution_id: str | int) -> Opd | None:
        """The OPD whose LAPOR! institution id is ``institution_id``, or None."""
        wanted = str(institution_id).strip()
        return next((o for o in self.opd if o.institution_id == wanted), None)

    def opds_of_account(self, name: str) -> tuple[Opd, ...]:
        return tuple(o for o in self.opd if o.account == name)

    def channel_id(self, channel: ChannelName) -> str:
        """The LAPOR! channel id for a local channel name."""
        return self.channels[channel]

    def channel_for_id(self, channel_id: str | int) -> ChannelName | None:
        """The local channel name for a LAPOR! channel id, or None when none maps to it."""
        wanted = str(channel_id).strip()
        return next((name for name, cid in self.channels.items() if cid == wanted), None)

    def state_for_status(self, name: str) -> ComplaintState | None:
        """Internal state for a LAPOR! status name; None when unknown (flag it for a person).

        Names are compared after stripping whitespace and case-folding.
        """
        return self._status_lookup.get(status_key(name))

    def calendar(self) -> WorkingCalendar:
        """The working-day calendar with ``[calendar]`` overrides applied (built once)."""
        if self._calendar is None:
            self._calendar = WorkingCalendar(
                extra_holidays=self.calendar_overrides.extra_holidays,
                extra_working_days=self.calendar_overrides.extra_working_days,
            )
        return self._calendar

    # --- derived copies ------------------------------------------------------------------

    def with_base_url(self, url: str) -> Settings:
        """A copy with every account's base_url replaced by ``url`` (the sandbox demo).

        The same rules apply as at load time: https unless loopback, and accounts with
        plain ``value`` secrets only on a loopback URL. Raises ``ConfigError``.
        """
        source = f"{self.config_path} (base_url override)"
        try:
            new_url = check_base_url(url)
        except ValueError as exc:
            raise ConfigError([f"base_url: {exc}"], source=source) from None
        problems: list[str] = []
        if not is_loopback_host(url_host(new_url)):
            for i, account in enumerate(self.accounts):
                origins = {
                    "api_key": account.api_key_origin,
                    "token": account.token_origin,
                    "auth.client_id": account.client_id_origin,
                    "auth.client_secret": account.client_secret_origin,
                }
                for field, origin in origins.items():
                    if origin is not None and origin.kind == "value":
                        problems.append(
                            f"accounts[{i}].{field}.value: a plain value is allowed only when "
                            "base_url is a loopback sandbox address"
                        )
        if problems:
            raise ConfigError(problems, source=source)
        accounts = tuple(a.model_copy(update={"base_url": new_url}) for a in self.accounts)
        return self.model_copy(update={"accounts": accounts})

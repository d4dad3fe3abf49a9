"""Configuration: config.toml + environment → one validated, frozen ``Settings``.

Use::

    from lapor_sync.config import load_settings, Settings

    settings = load_settings()              # $LAPOR_SYNC_CONFIG, else ./config.toml
    account = settings.default_account
    headers = {"Authorization": f"Bearer {account.api_key.get_secret_value()}"}

``load_settings`` raises ``lapor_sync.errors.ConfigError`` whose ``problems`` lists every
problem at once, each starting with its TOML key path. Secrets are resolved at load time
into ``SecretStr``; neither the settings' repr nor any error message contains them.

Modules: ``fields`` (value types and parsers), ``secret_sources`` (env/file/credential/
value), ``sections`` (one model per TOML section), ``settings`` (``Settings``), ``loader``
(the three validation passes and problem text).
"""

from lapor_sync.config.fields import (
    CHANNEL_NAMES,
    ChannelName,
    is_loopback_host,
    parse_duration,
)
from lapor_sync.config.loader import (
    DEFAULT_CONFIG_PATH,
    ENV_CONFIG_PATH,
    load_settings,
    settings_from_dict,
)
from lapor_sync.config.secret_sources import SecretOrigin
from lapor_sync.config.sections import (
    DEFAULT_CHANNELS,
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
    StoreSettings,
)
from lapor_sync.config.settings import Settings
from lapor_sync.config.web_section import WebSettings
from lapor_sync.domain import DEFAULT_STATUS_MAP

__all__ = [
    "CHANNEL_NAMES",
    "DEFAULT_CHANNELS",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_STATUS_MAP",
    "ENV_CONFIG_PATH",
    "Account",
    "CalendarOverrides",
    "ChannelName",
    "DaemonSettings",
    "DeadlineSettings",
    "HttpSettings",
    "LocalSettings",
    "Opd",
    "PullSettings",
    "PushSettings",
    "ReconcileSettings",
    "ReportSettings",
    "ScheduleSettings",
    "SecretOrigin",
    "Settings",
    "StoreSettings",
    "WebSettings",
    "is_loopback_host",
    "load_settings",
    "parse_duration",
    "settings_from_dict",
]

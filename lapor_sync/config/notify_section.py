"""The ``[notify]`` section: who is told what, and through which channel.

Two shapes of each model, as for accounts: the ``*Config`` models are the file as written
(secrets are references), the plain models carry the secrets read by the loader. The
secrets are the SMTP password and the webhook's header secret; they follow the account
rules (``env``/``file``/``credential``, a plain ``value`` only for a loopback host).

Invariants: TLS is never optional towards a remote host — ``security = "none"`` and an
``http://`` webhook are accepted only for a loopback host (tests, a local relay); the
certificate is always verified (``http.ca_bundle`` adds a CA, nothing turns checks off).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StrictBool, ValidationInfo, field_validator

from lapor_sync.config.fields import (
    Email,
    LocalTime,
    NonEmptyStr,
    OpdCode,
    PositiveDuration,
    PositiveFloat,
    at_least_earlier,
    check_base_url,
    is_loopback_host,
    url_host,
)
from lapor_sync.config.secret_sources import SecretSpec
from lapor_sync.config.sections import Section

Security = Literal["starttls", "tls", "none"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
DEFAULT_PORTS: Mapping[Security, int] = {"starttls": 587, "tls": 465, "none": 25}


class _SmtpBase(Section):
    host: NonEmptyStr
    port: Annotated[int, Field(ge=1, le=65535, strict=True)] | None = None
    security: Security = "starttls"
    sender: Email
    username: NonEmptyStr | None = None
    timeout: Annotated[PositiveFloat, Field(le=600)] = 30.0

    @field_validator("security")
    @classmethod
    def _security(cls, value: Security, info: ValidationInfo) -> Security:
        host = info.data.get("host")
        if value == "none" and isinstance(host, str) and not is_loopback_host(host):
            raise ValueError(
                'security = "none" is allowed only for a loopback host; use "starttls" or "tls"'
            )
        return value

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]


class SmtpConfig(_SmtpBase):
    """``[notify.smtp]`` as written."""

    password: SecretSpec | None = None


class Smtp(_SmtpBase):
    """``[notify.smtp]`` with its password read (None: no login)."""

    password: SecretStr | None = None


class _WebhookBase(Section):
    url: str
    header: NonEmptyStr = "X-Lapor-Sync-Secret"
    timeout: Annotated[PositiveFloat, Field(le=600)] = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_base_url(value)

    @field_validator("header")
    @classmethod
    def _header(cls, value: str) -> str:
        if not all(c.isalnum() or c == "-" for c in value):
            raise ValueError("must be an HTTP header name of letters, digits and '-'")
        return value

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(url_host(self.url))


class WebhookConfig(_WebhookBase):
    """``[notify.webhook]`` as written."""

    secret: SecretSpec


class Webhook(_WebhookBase):
    """``[notify.webhook]`` with its secret read."""

    secret: SecretStr


class _NotifyBase(Section):
    enabled: StrictBool = False
    batch_every: PositiveDuration = timedelta(minutes=15)
    digest_at: LocalTime = time(7, 0)
    weekly_day: Weekday = "monday"
    weekly_at: LocalTime = time(8, 0)
    admins: tuple[Email, ...] = ()
    monitoring: tuple[Email, ...] = ()
    # Per OPD code; an OPD not listed here falls back to its ``[[opd]] email``.
    recipients: Mapping[OpdCode, tuple[Email, ...]] = Field(default_factory=dict)
    alert_after: PositiveDuration = timedelta(hours=1)
    max_attempts: Annotated[int, Field(ge=1, le=1000, strict=True)] = 8
    backoff_initial_seconds: Annotated[PositiveFloat, Field(le=86400)] = 60.0
    backoff_max_seconds: Annotated[PositiveFloat, Field(le=7 * 86400)] = 3600.0

    @field_validator("backoff_max_seconds")
    @classmethod
    def _max_backoff(cls, value: float, info: ValidationInfo) -> float:
        return at_least_earlier(
            value, info, "backoff_initial_seconds", "notify.backoff_initial_seconds"
        )

    @property
    def weekly_weekday(self) -> int:
        """Monday = 0, as ``date.weekday()``."""
        return WEEKDAYS.index(self.weekly_day)


class NotifyConfig(_NotifyBase):
    """``[notify]`` as written in the file."""

    smtp: SmtpConfig | None = None
    webhook: WebhookConfig | None = None


class NotifySettings(_NotifyBase):
    """``[notify]`` with the channel secrets read. ``Settings.notify``."""

    smtp: Smtp | None = None
    webhook: Webhook | None = None


def build_notify(
    config: NotifyConfig, password: SecretStr | None, secret: SecretStr | None
) -> NotifySettings:
    """The written section plus the secrets the loader resolved."""
    fields = config.model_dump(exclude={"smtp", "webhook"})
    smtp = None
    if config.smtp is not None:
        smtp = Smtp(**config.smtp.model_dump(exclude={"password"}), password=password)
    webhook = None
    if config.webhook is not None:
        webhook = Webhook(
            **config.webhook.model_dump(exclude={"secret"}), secret=secret or SecretStr("")
        )
    return NotifySettings(**fields, smtp=smtp, webhook=webhook)

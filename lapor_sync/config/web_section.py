"""The ``[web]`` section of config.toml: the portal (``lapor-sync web``).

Two models share the fields: ``WebConfig`` is the section as written (its session secret
still a reference to a source), ``WebSettings`` the section with the secret read by the
loader's secret pass. Frozen, unknown keys refused, input values hidden in errors, as
every section (``config.sections.Section``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, SecretStr, StrictBool, ValidationInfo, field_validator

from lapor_sync.config.fields import (
    NonEmptyStr,
    PositiveDuration,
    at_least_earlier,
    check_base_url,
    int_between,
    loopback_unless_allowed,
)
from lapor_sync.config.secret_sources import SecretOrigin, SecretSpec
from lapor_sync.config.sections import Section


def _check_public_url(value: str) -> str:
    """The portal's address as users' browsers reach it; no trailing slash.

    https is required unless the host is loopback (a portal used on this machine only).
    A path prefix is allowed (``https://example.go.id/lapor``); query and fragment are not.
    """
    return check_base_url(value)


class _WebBase(Section):
    allow_remote: StrictBool = False
    host: NonEmptyStr = Field(default="127.0.0.1", validate_default=True)
    port: Annotated[int, int_between(1, 65535)] = 8088
    public_url: str = Field(default="http://127.0.0.1:8088", validate_default=True)
    trust_proxy: StrictBool = False
    threads: Annotated[int, int_between(1, 64)] = 4
    session_idle: PositiveDuration = timedelta(minutes=30)
    session_max: PositiveDuration = timedelta(hours=12)
    login_max_failures: Annotated[int, int_between(1, 100)] = 5
    login_lockout: PositiveDuration = timedelta(minutes=15)
    tracking_url: str = "https://www.lapor.go.id/laporan/detil/{tracking_id}"

    @field_validator("tracking_url")
    @classmethod
    def _tracking_url(cls, value: str) -> str:
        try:
            example = value.format(tracking_id="1234567")
        except (KeyError, IndexError, ValueError):
            raise ValueError(
                'must be an https:// address using only {tracking_id}, e.g. '
                '"https://www.lapor.go.id/laporan/detil/{tracking_id}"'
            ) from None
        if "{tracking_id}" not in value or not example.startswith("https://"):
            raise ValueError("must be an https:// address containing {tracking_id}")
        return value

    @field_validator("host")
    @classmethod
    def _loopback_host(cls, value: str, info: ValidationInfo) -> str:
        return loopback_unless_allowed(
            value, info, "allow_remote", "web.allow_remote", "behind nginx keep it loopback"
        )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _check_public_url(value)

    @field_validator("session_max")
    @classmethod
    def _max_after_idle(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        return at_least_earlier(value, info, "session_idle", "web.session_idle")

    @property
    def secure_cookies(self) -> bool:
        """Session cookies carry ``Secure`` exactly when the portal is served over https."""
        return self.public_url.startswith("https://")

    def public_tracking_url(self, tracking_id: str) -> str:
        """The complaint's public page on SP4N-LAPOR! (``tracking_url``)."""
        return self.tracking_url.format(tracking_id=tracking_id)

    def complaint_url(self, ref: str) -> str:
        """The fixed address of a complaint's page: ``{public_url}/aduan/<local ref>``."""
        return f"{self.public_url}/aduan/{ref}"


class WebConfig(_WebBase):
    """[web] as written: the session secret is still only a reference (or absent)."""

    session_secret: SecretSpec | None = None


class WebSettings(_WebBase):
    """[web]: the portal (``lapor-sync web``) with its session secret read.

    ``session_secret`` is empty when no source is configured, or when its source is missing
    at load time (the daemon loads the same file without the portal's credential);
    ``lapor-sync web`` refuses to start then. ``session_secret_origin`` holds no secret.
    """

    session_secret: SecretStr = SecretStr("")
    session_secret_origin: SecretOrigin | None = None

"""The [notify] section: defaults, channel rules, secrets and recipients."""

from __future__ import annotations

import tomllib
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest

from lapor_sync.config.loader import settings_from_dict
from lapor_sync.config.settings import Settings
from lapor_sync.errors import ConfigError
from tests.conftest import SHIPPED_CONFIG


def load(
    tmp_path: Path, notify: dict[str, Any] | None, env: dict[str, str] | None = None
) -> Settings:
    data = tomllib.loads(SHIPPED_CONFIG.read_text(encoding="utf-8"))
    if notify is None:
        data.pop("notify")
    else:
        data["notify"] = notify
    return settings_from_dict(data, config_path=tmp_path / "config.toml", env=env or {})


def problems(
    tmp_path: Path, notify: dict[str, Any], env: dict[str, str] | None = None
) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, notify, env)
    return caught.value.problems


def test_shipped_example_and_defaults(tmp_path: Path) -> None:
    data = tomllib.loads(SHIPPED_CONFIG.read_text(encoding="utf-8"))
    settings = settings_from_dict(data, config_path=tmp_path / "config.toml", env={})
    notify = settings.notify
    assert notify.enabled is False
    assert notify.recipients["DINKES"] == (
        "penghubung-dinkes@lampungprov.go.id",
        "sekretariat-dinkes@lampungprov.go.id",
    )
    assert notify.smtp is not None and notify.smtp.effective_port == 8025
    bare = load(tmp_path, None).notify
    assert bare.batch_every == timedelta(minutes=15)
    assert bare.digest_at == time(7, 0)
    assert bare.smtp is None and bare.webhook is None


def test_tls_is_required_towards_a_remote_host(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "smtp": {"host": "smtp.lampungprov.go.id", "security": "none", "sender": "a@b.go.id"},
            "webhook": {"url": "http://gateway.lampungprov.go.id/x", "secret": {"env": "S"}},
        },
        env={"S": "s3cret"},
    )
    assert any(p.startswith("notify.smtp.security:") and "loopback" in p for p in found)
    assert any(p.startswith("notify.webhook.url:") for p in found)
    default = load(
        tmp_path, {"smtp": {"host": "smtp.lampungprov.go.id", "sender": "a@b.go.id"}}
    ).notify.smtp
    assert default is not None and (default.security, default.effective_port) == ("starttls", 587)


def test_secrets_follow_the_account_rules(tmp_path: Path) -> None:
    remote = {
        "enabled": True,
        "smtp": {
            "host": "smtp.lampungprov.go.id",
            "sender": "a@b.go.id",
            "username": "lapor-sync",
            "password": {"value": "plain-pass"},
        },
        "webhook": {"url": "https://gw.lampungprov.go.id/x", "secret": {"env": "GW_SECRET"}},
    }
    found = problems(tmp_path, remote)
    assert any(p.startswith("notify.smtp.password.value:") for p in found)
    assert any(p.startswith("notify.webhook.secret.env:") and "GW_SECRET" in p for p in found)
    assert not any("plain-pass" in p for p in found)
    remote["smtp"]["password"] = {"env": "SMTP_PASS"}  # type: ignore[index]
    settings = load(tmp_path, remote, env={"SMTP_PASS": "pw-9d2", "GW_SECRET": "gw-77"})
    smtp, hook = settings.notify.smtp, settings.notify.webhook
    assert smtp is not None and smtp.password is not None
    assert smtp.password.get_secret_value() == "pw-9d2"
    assert hook is not None and hook.secret.get_secret_value() == "gw-77"
    assert "pw-9d2" not in repr(settings) and "gw-77" not in repr(settings)


def test_missing_secret_is_tolerated_while_notifications_are_off(tmp_path: Path) -> None:
    hook = {"url": "https://gw.lampungprov.go.id/x", "secret": {"env": "GW_SECRET"}}
    settings = load(tmp_path, {"webhook": hook})
    assert settings.notify.webhook is not None
    assert settings.notify.webhook.secret.get_secret_value() == ""


def test_recipients_name_known_opds_and_valid_addresses(tmp_path: Path) -> None:
    found = problems(
        tmp_path, {"recipients": {"DINAS": ["a@b.go.id"], "DISDIK": ["not-an-address"]}}
    )
    assert any(p.startswith("notify.recipients.DINAS:") and "unknown OPD" in p for p in found)
    assert any(p.startswith("notify.recipients.DISDIK") for p in found)


def test_enabled_needs_a_channel(tmp_path: Path) -> None:
    found = problems(tmp_path, {"enabled": True})
    assert found == ["notify.enabled: needs [notify.smtp] or [notify.webhook] to send anything"]


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    found = problems(tmp_path, {"batch_evry": "5m"})
    assert any(p.startswith("notify.batch_evry") for p in found)

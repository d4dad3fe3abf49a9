"""The [web] section: the portal's address, sessions, throttling and session secret."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lapor_sync.config import Settings, load_settings
from lapor_sync.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = """
[[accounts]]
name = "pemprov-lampung"
institution_id = "18"
base_url = "http://127.0.0.1:8765/api"
api_key = { value = "sandbox-key" }
token = { value = "sandbox-token" }
"""
SECRET = "s" * 40


def load(tmp_path: Path, web: str, env: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(ACCOUNT + "\n[web]\n" + web, encoding="utf-8")
    return load_settings(path, env=env or {})


def problems(tmp_path: Path, web: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, web, env)
    return info.value.problems


def test_defaults_bind_loopback_and_complaint_urls_are_fixed(tmp_path: Path) -> None:
    web = load(tmp_path, "").web
    assert (web.host, web.port, web.public_url) == ("127.0.0.1", 8088, "http://127.0.0.1:8088")
    assert web.session_idle == timedelta(minutes=30) and web.session_max == timedelta(hours=12)
    assert not web.secure_cookies
    assert web.session_secret.get_secret_value() == "" and web.session_secret_origin is None
    assert web.complaint_url("LPG-2026-000123") == "http://127.0.0.1:8088/aduan/LPG-2026-000123"


def test_https_public_url_with_prefix_makes_cookies_secure(tmp_path: Path) -> None:
    web = load(
        tmp_path,
        'public_url = "https://lapor.lampungprov.go.id/portal/"\n'
        'session_secret = { env = "WEB_SECRET" }\n',
        env={"WEB_SECRET": SECRET},
    ).web
    assert web.public_url == "https://lapor.lampungprov.go.id/portal"
    assert web.secure_cookies
    assert web.complaint_url("LPG-2026-000001").endswith("/portal/aduan/LPG-2026-000001")
    assert web.session_secret.get_secret_value() == SECRET
    assert str(web.session_secret_origin) == "environment variable WEB_SECRET"
    assert SECRET not in repr(web)


def test_bad_values_are_each_reported_with_their_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        'host = "0.0.0.0"\npublic_url = "http://portal.example.go.id"\nport = 0\n'
        'session_idle = "2h"\nsession_max = "1h"\n',
    )
    text = "\n".join(found)
    assert "web.host: must be a loopback address" in text and "web.allow_remote" in text
    assert "web.public_url: must use https://" in text
    assert "web.port:" in text
    assert "web.session_max: must be at least web.session_idle" in text


def test_remote_host_needs_allow_remote(tmp_path: Path) -> None:
    web = load(tmp_path, 'allow_remote = true\nhost = "0.0.0.0"\n').web
    assert web.host == "0.0.0.0"


def test_plain_secret_only_with_loopback_public_url(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        f'public_url = "https://portal.example.go.id"\nsession_secret = {{ value = "{SECRET}" }}\n',
    )
    assert found == [
        "web.session_secret.value: a plain value is allowed only when web.public_url is a "
        "loopback address; use env, file or credential for a portal others reach"
    ]
    assert SECRET not in found[0]


def test_short_secret_is_refused_without_showing_it(tmp_path: Path) -> None:
    found = problems(tmp_path, 'session_secret = { value = "tooshort" }\n')
    assert len(found) == 1 and found[0].startswith("web.session_secret.value: is shorter than 32")
    assert "tooshort" not in found[0]


def test_missing_source_loads_empty_so_the_daemon_still_starts(tmp_path: Path) -> None:
    web = load(tmp_path, 'session_secret = { env = "NOT_SET_HERE" }\n').web
    assert web.session_secret.get_secret_value() == ""
    assert str(web.session_secret_origin) == "environment variable NOT_SET_HERE"


def test_unsafe_secret_file_is_always_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "web.secret"
    secret.write_text(SECRET)
    secret.chmod(0o644)
    found = problems(tmp_path, f'session_secret = {{ file = "{secret}" }}\n')
    assert len(found) == 1 and found[0].startswith("web.session_secret.file: ")
    assert "chmod 600" in found[0]
    secret.chmod(0o600)
    web = load(tmp_path, f'session_secret = {{ file = "{secret}" }}\n').web
    assert web.session_secret.get_secret_value() == SECRET


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    found = problems(tmp_path, "prot = 8088\n")
    assert found and found[0].startswith("web.prot:")


def test_shipped_config_has_a_working_web_section() -> None:
    web = load_settings(REPO / "config.toml", env={}).web
    assert web.public_url == "http://127.0.0.1:8088"
    assert len(web.session_secret.get_secret_value()) >= 32

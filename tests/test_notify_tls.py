"""SMTP over TLS: STARTTLS and implicit TLS with the certificate verified, and login.

A self-signed certificate for 127.0.0.1 (openssl): trusted through ``http.ca_bundle``
it works; without it the message is ``dead`` with the reason (retrying cannot fix trust).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from lapor_sync.config.notify_section import Smtp
from lapor_sync.notify.probe import probe_row
from lapor_sync.notify.smtp import SmtpChannel
from lapor_sync.timeutil import WIB
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=WIB)
PASSWORD = "smtp-pass-51c"


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return cert, context


def send(port: int, security: str, ca: Path | None, **login: Any) -> Any:
    smtp = Smtp(
        host="127.0.0.1",
        port=port,
        security=security,  # type: ignore[arg-type]
        sender="lapor-sync@lampungprov.go.id",
        timeout=10.0,
        **login,
    )
    return SmtpChannel(smtp, ca_bundle=ca, clock=lambda: NOW).send(probe_row("x@b.go.id"))


def test_starttls_verified_against_the_ca_bundle(cert: tuple[Path, ssl.SSLContext]) -> None:
    path, context = cert
    options = {"tls_context": context, "require_starttls": True}
    with SmtpServer(controller=options) as smtp:
        assert send(smtp.port, "starttls", path).state == "sent"
        refused = send(smtp.port, "starttls", None)
    assert refused.state == "dead" and "TLS certificate" in (refused.reason or "")
    assert len(smtp.received) == 1


def test_implicit_tls(cert: tuple[Path, ssl.SSLContext]) -> None:
    path, context = cert
    with SmtpServer(controller={"server_kwargs": {}, "ssl_context": context}) as smtp:
        assert send(smtp.port, "tls", path).state == "sent"
        refused = send(smtp.port, "tls", None)
    assert refused.state == "dead" and "TLS certificate" in (refused.reason or "")
    assert len(smtp.received) == 1


def test_starttls_missing_is_dead_not_sent_in_clear() -> None:
    with SmtpServer() as smtp:
        outcome = send(smtp.port, "starttls", None)
    assert outcome.state == "dead" and "does not offer STARTTLS" in (outcome.reason or "")
    assert smtp.received == []


def test_login_after_starttls(cert: tuple[Path, ssl.SSLContext]) -> None:
    path, context = cert

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    options = {
        "tls_context": context,
        "require_starttls": True,
        "authenticator": authenticator,
        "auth_required": True,
    }
    with SmtpServer(controller=options) as smtp:
        good = send(smtp.port, "starttls", path, username="lapor", password=SecretStr(PASSWORD))
        bad = send(smtp.port, "starttls", path, username="lapor", password=SecretStr("wrong"))
    assert good.state == "sent"
    assert bad.state == "dead" and "login refused" in (bad.reason or ""), bad
    assert PASSWORD not in (bad.reason or "")
    assert len(smtp.received) == 1

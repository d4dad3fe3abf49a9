"""TLS: an untrusted certificate is refused with a clear sentence; ``http.ca_bundle`` is
the only way to trust another CA (there is no switch that turns verification off)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests

from lapor_sync.domain import ListQuery
from lapor_sync.errors import FatalRemoteError, describe
from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.timeutil import WIB

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"success": true, "results": {"data": [], "next_page_url": null}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/api", cert
    finally:
        server.shutdown()
        server.server_close()


def _client(base_url: str, ca_bundle: str | None = None) -> LaporClient:
    options = ClientOptions(
        base_url=base_url, api_key="k" * 12, token="t" * 12, ca_bundle=ca_bundle, retry_attempts=2
    )
    return LaporClient(options, sleep=lambda _s: None)


QUERY = ListQuery(updated_from=datetime(2026, 1, 1, tzinfo=WIB))


def test_an_untrusted_certificate_is_refused_without_retrying(
    https_server: tuple[str, Path],
) -> None:
    url, _cert = https_server
    client = _client(url)
    with pytest.raises(FatalRemoteError) as info:
        client.list_complaints(QUERY)
    assert "TLS certificate not trusted" in describe(info.value)
    assert "ca_bundle" in describe(info.value)
    assert client.stats.total == 1  # trust is not fixed by retrying


def test_the_ca_bundle_setting_trusts_the_province_ca(https_server: tuple[str, Path]) -> None:
    url, cert = https_server
    listing = _client(url, ca_bundle=str(cert)).list_complaints(QUERY)
    assert listing.page.items == ()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_in_the_environment_does_not_change_what_is_trusted(
    https_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    url, cert = https_server
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # the machine may set either
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, str(cert))
    with pytest.raises(FatalRemoteError) as info:
        _client(url).list_complaints(QUERY)  # http.ca_bundle unset: the default store only
    assert "TLS certificate not trusted" in describe(info.value)


def test_the_configured_bundle_wins_over_one_in_the_environment(
    https_server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert = https_server
    other = tmp_path / "other-ca.pem"
    other.write_bytes(Path(requests.utils.DEFAULT_CA_BUNDLE_PATH).read_bytes())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    assert _client(url, ca_bundle=str(cert)).list_complaints(QUERY).page.items == ()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    with pytest.raises(FatalRemoteError):
        _client(url, ca_bundle=str(other)).list_complaints(QUERY)

"""``lapor-sync probe``: GET-only checks against the sandbox in each profile, and against a
server that differs on purpose; the table names each difference and the setting to change."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner, Result

from lapor_sync.cli import cli
from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.sandbox.masters import ACCOUNT_BY_ID
from tests.conftest import settings_for

PEMPROV = ACCOUNT_BY_ID["18"]


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    world = SandboxWorld(seed=11)
    seed_world(world, complaints=40)
    return world


@pytest.fixture(autouse=True)
def reset(world: SandboxWorld) -> Iterator[None]:
    yield
    world.contract.configure(None)
    world.gateway.configure(key_header="Authorization")


def config_for(tmp_path: Path, base_url: str, extra: str = "") -> Path:
    settings_for(tmp_path, base_url)  # writes tmp_path/config.toml from the shipped one
    path = tmp_path / "config.toml"
    if extra:
        text = path.read_text(encoding="utf-8")
        marker = 'name = "kota-bandar-lampung"'
        # the first [[accounts]] table (pemprov-lampung) ends where the second begins
        head, tail = text.split("[[accounts]]\n" + marker, 1)
        path.write_text(head + extra + "\n\n[[accounts]]\n" + marker + tail, encoding="utf-8")
    return path


def run_probe(config: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--config", str(config), "--log-level", "error", "probe",
              "--account", "pemprov-lampung", *args]
    )


def assert_nothing_private(text: str, world: SandboxWorld | None = None) -> None:
    assert PEMPROV.api_key not in text and PEMPROV.token not in text
    for value in world.personal_data() if world else ():
        assert value not in text


@pytest.mark.parametrize("profile", ["default", "lmw"])
def test_probe_against_the_sandbox_in_each_profile(
    world: SandboxWorld, server: SandboxServer, tmp_path: Path, profile: str
) -> None:
    world.contract.configure(profile)
    config = config_for(tmp_path, server.base_url, f'profile = "{profile}"')
    world.stats.reset()
    result = run_probe(config)
    assert result.exit_code == 0, result.output
    assert f"profile {profile}" in result.output
    assert "different" not in result.output and "missing" not in result.output
    assert "=> a pull can run" in result.output
    methods = {method for method, _path, _status in world.stats.requests()}
    assert methods == {"GET"} and world.stats.count() <= 8
    assert not (tmp_path / "store.db").exists()  # read-only: no store was created
    assert_nothing_private(result.output, world)


def test_probe_json_has_every_finding_and_nothing_private(
    world: SandboxWorld, server: SandboxServer, tmp_path: Path
) -> None:
    result = run_probe(config_for(tmp_path, server.base_url), "--json")
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.output)
    assert report["blocks_pull"] is False and report["auth_scheme"] == "static"
    checks = {f["check"]: f["outcome"] for f in report["findings"]}
    assert checks["credentials"] == checks["paging"] == checks["templates master"] == "as assumed"
    assert_nothing_private(result.output, world)


def test_probe_finds_the_credential_header_name(
    world: SandboxWorld, server: SandboxServer, tmp_path: Path
) -> None:
    world.gateway.configure(key_header="auth")
    result = run_probe(config_for(tmp_path, server.base_url))
    assert result.exit_code == 1
    assert "accepted in 'auth'" in result.output
    assert 'accounts.auth.key_header = "auth"' in result.output
    fixed = config_for(tmp_path, server.base_url, '[accounts.auth]\nkey_header = "auth"')
    assert run_probe(fixed).exit_code == 0


def test_probe_refuses_an_unknown_account(server: SandboxServer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(config_for(tmp_path, server.base_url)), "probe", "--account", "x"]
    )
    assert result.exit_code == 2 and "unknown or disabled account 'x'" in result.output


# --- a server that differs on purpose ----------------------------------------------------

ITEMS = [
    {
        "id": str(500 + n),  # ids as strings
        "tracking_id": f"TRK{n}",
        "title": "Jalan berlubang",
        "status_code": 9,
        "status_name": "Menunggu Konfirmasi" if n == 0 else "Dalam Proses",  # one unknown
        "disposition_id": "18003",
        "disposition_name": "Dinas",
        "category_id": 5,
        "classification_id": 1,
        "channel": 2,
        "is_secret": 0,
        "is_anonymous": 0,
        "tags": [],
        "created_at": "2025-03-27T09:00:00+07:00",  # ISO 8601, not d-m-Y H:i:s
        "updated_at": f"2025-03-28T14:05:0{n}+07:00",
    }
    for n in range(5)
]


class _Different(BaseHTTPRequestHandler):
    methods: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, results: Any) -> None:
        body = json.dumps({"success": True, "message": "OK", "results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.methods.append("POST")
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.methods.append("GET")
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        path = split.path.removeprefix("/api/")
        if path == "complaints":
            size = int(query.get("page_size", "20"))
            self._reply({"data": ITEMS[:size], "total": len(ITEMS)})  # no next_page_url
        elif path.endswith("/complaint"):
            self._reply({"data": {**ITEMS[0], "content": "x", "status_logs": []},
                         "data_logs": []})
        elif path.endswith("/followups"):
            self._reply({"data": [], "total": 0})
        else:
            self._reply({"data": [{"id": 1, "name": "x"}]})


@pytest.fixture
def different() -> Iterator[str]:
    _Different.methods = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Different)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/api"
    httpd.shutdown()
    httpd.server_close()


def test_probe_names_each_difference_and_the_setting_to_change(
    different: str, tmp_path: Path
) -> None:
    result = run_probe(config_for(tmp_path, different), "--json")
    assert result.exit_code == 1  # without next_page_url the pull would stop after page 1
    [report] = json.loads(result.output)
    found = {f["check"]: f for f in report["findings"]}
    assert found["id type"]["outcome"] == "different"
    assert found["id type"]["seen"] == "ids as numeric string"
    assert found["timestamp format"]["outcome"] == "different"
    assert found["timestamp format"]["seen"] == "ISO 8601 with offset"
    assert found["paging"]["outcome"] == "different"
    assert found["paging"]["setting"] == 'accounts.contract.paging = "total"'
    assert found["paging"]["blocks_pull"] is True
    assert found["status names"]["seen"] == 'unknown to the status map: "Menunggu Konfirmasi"'
    assert found["status names"]["setting"].startswith('[status_map] "Menunggu Konfirmasi"')
    assert _Different.methods and set(_Different.methods) == {"GET"}

    table = run_probe(config_for(tmp_path, different))
    for text in ("ids as numeric string", "ISO 8601 with offset", "no next_page_url",
                 'accounts.contract.paging = "total"', "Menunggu Konfirmasi", "BLOCKS a pull"):
        assert text in table.output
    assert "Jalan berlubang" not in table.output  # no record content

    fixed = config_for(tmp_path, different, '[accounts.contract]\npaging = "total"')
    assert run_probe(fixed).exit_code == 0  # the setting it named is the cure
    assert set(_Different.methods) == {"GET"}


def test_probe_reports_the_time_zones_seen_apart_from_the_format(
    different: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [as_assumed] = json.loads(run_probe(config_for(tmp_path, different), "--json").output)
    zone = {f["check"]: f for f in as_assumed["findings"]}["time zone"]
    assert (zone["outcome"], zone["seen"]) == ("as assumed", "+07:00")

    # The same server answering in UTC and in WITA (+08:00): read correctly, but said.
    other = [
        {**item, "created_at": "2025-03-27T02:00:00Z", "updated_at": "2025-03-28T15:05:00+0800"}
        for item in ITEMS
    ]
    monkeypatch.setattr(sys.modules[__name__], "ITEMS", other)
    result = run_probe(config_for(tmp_path, different), "--json")
    [report] = json.loads(result.output)
    found = {f["check"]: f for f in report["findings"]}
    zone = found["time zone"]
    assert zone["outcome"] == "different"
    assert zone["seen"] == "+00:00 (UTC), +08:00; assumed Asia/Jakarta (+07:00)"
    assert zone["setting"].startswith("accounts.contract.time_zone (now 'Asia/Jakarta')")
    assert zone["blocks_pull"] is False
    assert found["timestamp format"]["seen"] == "ISO 8601 with offset"  # reported apart
    table = run_probe(config_for(tmp_path, different))
    assert "+00:00 (UTC), +08:00" in table.output
    assert set(_Different.methods) == {"GET"}


def test_probe_against_the_sandbox_sees_wib_stamps_without_a_zone(
    world: SandboxWorld, server: SandboxServer, tmp_path: Path
) -> None:
    [report] = json.loads(run_probe(config_for(tmp_path, server.base_url), "--json").output)
    zone = {f["check"]: f for f in report["findings"]}["time zone"]
    assert (zone["outcome"], zone["seen"]) == (
        "as assumed",
        "no zone (read as Asia/Jakarta +07:00)",
    )

"""The /_sandbox control interface, server lifecycle and the ``sandbox`` command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests

from lapor_sync.sandbox import SandboxServer, SandboxWorld
from lapor_sync.sandbox.testing import SandboxClient


@pytest.fixture
def world() -> SandboxWorld:
    return SandboxWorld(seed=31)


def ctl(server: SandboxServer, method: str, path: str, payload: object = None
        ) -> requests.Response:
    return requests.request(method, server.control_url + path, json=payload, timeout=5)


def test_walkthrough_like_a_training_session(world: SandboxWorld, server: SandboxServer
                                             ) -> None:
    assert "clock/advance" in ctl(server, "GET", "/").json()["endpoints"]
    accounts = ctl(server, "GET", "/accounts").json()["accounts"]
    assert [a["institution_id"] for a in accounts] == ["18", "1871", "1801"]
    created = ctl(server, "POST", "/complaints", {
        "title": "Jalan berlubang", "content": "Di Jl. Pramuka", "channel": 8,
        "category_id": 31, "reporter": {"name": "Rina Utami", "phone": "0813-1111-2222"},
        "tags_raw": "#demo",
    })
    assert created.status_code == 201
    cid = created.json()["id"]
    assert ctl(server, "POST", f"/complaints/{cid}/verify",
               {"disposition_id": "18003"}).status_code == 200
    assert ctl(server, "POST", f"/complaints/{cid}/followup",
               {"content": "Ditinjau", "institution_from_id": "18003"}).status_code == 201
    state = ctl(server, "GET", f"/complaints/{cid}").json()
    assert state["data"]["status_name"] == "Dalam Proses"
    assert state["visible_to"] == ["18"] and state["closure_due"]
    advanced = ctl(server, "POST", "/clock/advance", {"working_days": 11}).json()
    assert advanced["ok"] is True
    assert world.complaint(cid).status_name == "Selesai"
    assert ctl(server, "POST", f"/complaints/{cid}/reply",
               {"content": "Belum beres"}).status_code == 201
    assert world.complaint(cid).status_name == "Dalam Proses"
    ctl(server, "POST", f"/complaints/{cid}/admin-reply", {"content": "Mohon dicek"})
    ctl(server, "POST", f"/complaints/{cid}/status", {"code": "7", "name": "Misterius"})
    assert world.complaint(cid).status_name == "Misterius"
    for verb in ("archive", "postpone", "close", "touch"):
        assert ctl(server, "POST", f"/complaints/{cid}/{verb}").status_code == 200
    assert ctl(server, "POST", f"/complaints/{cid}/forward", {"to": "1871"}).status_code == 200
    assert world.status_seen_by(cid, "18")[1] == "Ditolak"
    assert ctl(server, "POST", f"/complaints/{cid}/disposition",
               {"to": "187103"}).status_code == 200
    assert ctl(server, "GET", "/complaints?tag=demo").json()["ids"] == [cid]
    assert ctl(server, "POST", "/clock/set", {"time": "01-06-2026 08:00:00"}).status_code == 200
    assert ctl(server, "GET", "/state").json()["now"] == "01-06-2026 08:00:00"


def test_faults_settings_seed_and_stats(world: SandboxWorld, server: SandboxServer) -> None:
    assert ctl(server, "POST", "/seed", {"complaints": 30}).status_code == 200
    assert world.count() == 30
    assert ctl(server, "POST", "/faults", {"kind": "list", "error_rate": 1,
                                           "error_statuses": [503]}).status_code == 200
    ctl(server, "POST", "/faults/script", {"kind": "masters", "steps": ["500"]})
    described = ctl(server, "GET", "/faults").json()
    assert described["specs"]["list"]["error_rate"] == 1.0
    assert described["scripts"] == {"masters": ["500"]}
    with SandboxClient(server.base_url) as client:
        assert client.get("/complaints").status_code == 503
        assert client.get("/masters/categories").status_code == 500
        ctl(server, "POST", "/faults/clear", {})
        assert client.get("/complaints").status_code == 200
    stats = ctl(server, "GET", "/stats").json()
    assert stats["by_kind_status"] == {"list:503": 1, "masters:500": 1, "list:200": 1}
    ctl(server, "POST", "/stats/reset")
    assert world.stats.count() == 0
    assert ctl(server, "POST", "/settings",
               {"create_response_shape": "top", "auto_verify": True}).status_code == 200
    assert world.create_response_shape == "top" and world.simulation.auto_verify
    assert ctl(server, "DELETE", "/faults").status_code == 200


def test_a_request_kind_can_be_made_to_fail_for_good(world: SandboxWorld,
                                                    server: SandboxServer) -> None:
    assert ctl(server, "POST", "/seed", {"complaints": 30}).status_code == 200
    target = world.visible_ids("18")[0]
    assert ctl(server, "POST", "/faults/fail",
               {"kind": "followups", "step": "502", "target": target}).status_code == 200
    with SandboxClient(server.base_url) as client:
        for _ in range(6):
            assert client.get(f"/complaints/{target}/followups").status_code == 502
        ctl(server, "POST", "/faults/clear", {"kind": "followups"})
        assert client.get(f"/complaints/{target}/followups").status_code == 200
    assert ctl(server, "POST", "/faults/fail", {"kind": "nope"}).status_code == 422


def test_control_errors(server: SandboxServer) -> None:
    assert ctl(server, "GET", "/nope").status_code == 404
    assert ctl(server, "POST", "/complaints/123/verify").status_code == 404
    assert ctl(server, "POST", "/complaints/123/bogus").status_code in (404, 422)
    assert ctl(server, "POST", "/faults", {"kind": "list", "error_rate": 3}).status_code == 422
    assert ctl(server, "POST", "/faults", {"kind": "list", "nonsense": 1}).status_code == 422
    assert ctl(server, "POST", "/settings", {"warp": 9}).status_code == 422
    assert ctl(server, "POST", "/complaints", {"title": "x"}).status_code == 422
    response = requests.post(server.control_url + "/seed", data=b"[1]", timeout=5)
    assert response.status_code == 422


def test_stop_closes_keep_alive_connections(world: SandboxWorld) -> None:
    server = SandboxServer(world).start()
    session = requests.Session()
    url = server.control_url + "/state"
    assert session.get(url, timeout=5).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url, timeout=5)


def test_many_servers_side_by_side() -> None:
    servers = [SandboxServer(SandboxWorld(seed=n)).start() for n in range(6)]
    try:
        assert len({s.port for s in servers}) == 6
        for s in servers:
            assert requests.get(s.control_url + "/state", timeout=5).json()["ok"] is True
    finally:
        for s in servers:
            s.stop()


def test_sandbox_command_serves_until_terminated() -> None:
    code = "from lapor_sync.cli.sandbox_cmd import sandbox_command; sandbox_command()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", "--complaints", "20", "--speed", "3600",
         "--start", "02-03-2026 09:00:00"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("SP4N-LAPOR! sandbox at http://127.0.0.1:")
        base_url = first.split(" at ", 1)[1].strip()
        lines = [proc.stdout.readline() for _ in range(9)]
        assert any("sandbox-key-pemprov" in line for line in lines)
        assert any("5b1f3c2e-0000-4000-8000-000000001801" in line for line in lines)
        with SandboxClient(base_url, "18") as client:
            assert client.get("/complaints").status_code == 200
        state = requests.get(base_url.rsplit("/api", 1)[0] + "/_sandbox/state", timeout=5)
        assert state.json()["complaints"] >= 20
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert proc.stderr is not None and proc.stderr.read() == ""

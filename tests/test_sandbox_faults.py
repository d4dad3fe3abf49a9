"""Every fault the sandbox injects is observable from a plain ``requests`` client."""

from __future__ import annotations

import json
import threading
import time
from email.utils import parsedate_to_datetime

import pytest
import requests

from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.sandbox.faults import FaultInjector
from lapor_sync.sandbox.testing import SandboxClient

# Every field the strict reading requires (the sandbox's default), each a master value.
CREATE = {"title": "Via WA", "content": "Sampah menumpuk", "channel": 7,
          "tags_raw": "#LPG-2026-000900", "classification_id": 1, "category_id": 3,
          "location_id": 1871, "disposition_id": 18008, "date_of_incident": "01-03-2026"}


@pytest.fixture
def world() -> SandboxWorld:
    world = SandboxWorld(seed=21)
    seed_world(world, complaints=60)
    return world


def some_id(world: SandboxWorld) -> int:
    return world.visible_ids("18")[0]


def test_latency_is_per_request_and_concurrent(world: SandboxWorld, server: SandboxServer
                                               ) -> None:
    world.faults.set("detail", latency_ms=150)
    cid, durations = some_id(world), []

    def fetch() -> None:
        with SandboxClient(server.base_url) as own:
            started = time.perf_counter()
            assert own.get(f"/complaints/{cid}/complaint").status_code == 200
            durations.append(time.perf_counter() - started)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(durations) == 8 and min(durations) >= 0.15
    assert time.perf_counter() - started < 0.15 * 4  # in parallel, not one after another
    with SandboxClient(server.base_url) as fast:  # other kinds are not delayed
        started = time.perf_counter()
        fast.get("/masters/categories")
        assert time.perf_counter() - started < 0.14


@pytest.mark.parametrize("status", [500, 503, 504])
def test_5xx_json_envelope(world: SandboxWorld, client: SandboxClient, status: int) -> None:
    world.faults.set("list", error_rate=1.0, error_statuses=(status,))
    response = client.get("/complaints")
    assert response.status_code == status
    assert response.json()["success"] is False


def test_502_is_an_html_gateway_page(world: SandboxWorld, client: SandboxClient) -> None:
    world.faults.set("list", error_rate=1.0, error_statuses=(502,))
    response = client.get("/complaints")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text


def test_error_rate_is_partial_and_deterministic(server: SandboxServer) -> None:
    def statuses(seed: int) -> list[int]:
        world = SandboxWorld(seed=seed)
        world.faults.set("masters", error_rate=0.5)
        with SandboxServer(world) as srv, SandboxClient(srv.base_url) as c:
            return [c.get("/masters/categories").status_code for _ in range(40)]

    first = statuses(3)
    assert first == statuses(3)
    assert 5 < sum(s != 200 for s in first) < 35
    assert {s for s in first if s != 200} <= {500, 502, 503, 504}


def test_429_retry_after_seconds_and_http_date(world: SandboxWorld, client: SandboxClient
                                               ) -> None:
    world.faults.set("list", rate_429=1.0, retry_after_s=7)
    response = client.get("/complaints")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.json()["success"] is False
    world.faults.set("list", rate_429=1.0, retry_after_s=30, retry_after_format="http_date")
    response = client.get("/complaints")
    when = parsedate_to_datetime(response.headers["Retry-After"])
    assert 20 < when.timestamp() - time.time() <= 31


def test_drop_after_commit_applies_the_write(world: SandboxWorld, client: SandboxClient
                                             ) -> None:
    world.faults.set("create", drop_after_commit=1.0)
    with pytest.raises(requests.ConnectionError):
        client.post("/complaints/complaint", CREATE)
    assert len(world.find_by_tag("LPG-2026-000900")) == 1
    assert world.stats.requests("create") == [("POST", "/api/complaints/complaint", 0)]
    world.faults.clear()
    assert client.get("/complaints").status_code == 200  # the session recovers


def test_drop_after_commit_on_followup_add(world: SandboxWorld, client: SandboxClient) -> None:
    cid = world.add_complaint("x", "y")
    world.verify(cid, "18002")
    world.faults.set("followup_add", drop_after_commit=1.0)
    with pytest.raises(requests.ConnectionError):
        client.post("/complaints/followup/add",
                    {"complaint_id": cid, "institution_from_id": 18002, "content": "ok"})
    assert len(world.complaint(cid).followups) == 1


def test_refuse_commits_nothing(world: SandboxWorld, client: SandboxClient) -> None:
    before = world.count()
    world.faults.set("create", refuse=1.0)
    with pytest.raises(requests.ConnectionError):
        client.post("/complaints/complaint", CREATE)
    assert world.count() == before
    assert world.stats.log("create")[0].fault == "refuse"


def test_slow_response_after_commit_times_out_the_client(world: SandboxWorld,
                                                         server: SandboxServer) -> None:
    world.faults.set("create", slow_response_ms=300)
    with SandboxClient(server.base_url, timeout=0.1) as impatient, \
            pytest.raises(requests.Timeout):
        impatient.post("/complaints/complaint", CREATE)
    assert len(world.find_by_tag("LPG-2026-000900")) == 1


def test_garbage_html(world: SandboxWorld, client: SandboxClient) -> None:
    world.faults.set("list", garbage="html")
    response = client.get("/complaints")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_garbage_truncated(world: SandboxWorld, client: SandboxClient) -> None:
    world.faults.set("detail", garbage="truncated")
    response = client.get(f"/complaints/{some_id(world)}/complaint")
    assert response.status_code == 200 and response.text.startswith('{"success": true')
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_garbage_null_wrong_schema_and_content_type(world: SandboxWorld, client: SandboxClient
                                                    ) -> None:
    world.faults.set("list", garbage="null")
    assert client.get("/complaints").json() is None
    world.faults.set("list", garbage="wrong_schema")
    body = client.get("/complaints").json()
    assert body["success"] is True and "results" not in body
    world.faults.set("list", garbage="wrong_content_type")
    response = client.get("/complaints")
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.json()["results"]["total"] > 0


def test_garbage_success_false_commits_nothing(world: SandboxWorld, client: SandboxClient
                                               ) -> None:
    before = world.count()
    world.faults.set("create", garbage="success_false")
    response = client.post("/complaints/complaint", CREATE)
    assert response.status_code == 200 and response.json()["success"] is False
    assert world.count() == before


def test_garbage_on_a_write_keeps_the_commit(world: SandboxWorld, client: SandboxClient) -> None:
    world.faults.set("create", garbage="html")
    assert client.post("/complaints/complaint", CREATE).status_code == 200
    assert len(world.find_by_tag("LPG-2026-000900")) == 1


def test_empty_listing(world: SandboxWorld, client: SandboxClient) -> None:
    world.faults.set("list", garbage="empty")
    results = client.get("/complaints").json()["results"]
    assert (results["data"], results["total"], results["next_page_url"]) == ([], 0, None)


def test_ids_as_strings_and_bools_as_ints(world: SandboxWorld, client: SandboxClient) -> None:
    world.faults.set("*", ids_as_strings=True, bools_as_ints=True)
    item = client.get("/complaints").json()["results"]["data"][0]
    assert isinstance(item["id"], str) and item["id"].isdigit()
    assert item["is_secret"] in (0, 1) and not isinstance(item["is_secret"], bool)
    detail = client.get(f"/complaints/{item['id']}/complaint").json()["results"]
    assert all(isinstance(log["institution_to_id"], str) for log in detail["data_logs"])
    body = client.post("/complaints/complaint", CREATE).json()
    assert isinstance(body["results"]["complaint"]["id"], str)
    world.faults.clear()
    item = client.get("/complaints").json()["results"]["data"][0]
    assert isinstance(item["id"], int) and isinstance(item["is_secret"], bool)


def test_page_shift_makes_a_naive_pager_miss_items(world: SandboxWorld, client: SandboxClient
                                                   ) -> None:
    expected = world.visible_ids("18")
    world.faults.set("list", page_shift=1.0)
    seen: list[int] = []
    page = 1
    while True:
        results = client.get("/complaints", page=page, page_size=10).json()["results"]
        seen.extend(i["id"] for i in results["data"])
        if results["next_page_url"] is None:
            break
        page += 1
    assert set(expected) - set(seen), "an item shifted onto an already-read page"
    assert len(seen) != len(set(seen)), "a touched item came round again at the end"
    assert world.stats.faults_applied()["page_shift"] >= 1


def test_scripted_sequence_then_exactly_one_complaint(world: SandboxWorld,
                                                      client: SandboxClient) -> None:
    world.faults.script("create", ["500", "refuse", "drop_after_commit", "ok"])
    assert client.post("/complaints/complaint", CREATE).status_code == 500
    with pytest.raises(requests.ConnectionError):
        client.post("/complaints/complaint", CREATE)
    assert world.find_by_tag("LPG-2026-000900") == []
    with pytest.raises(requests.ConnectionError):
        client.post("/complaints/complaint", CREATE)
    assert len(world.find_by_tag("LPG-2026-000900")) == 1
    # a careful client reads before writing again, and finds it
    found = client.get("/complaints", search="LPG-2026-000900").json()["results"]["data"]
    assert len(found) == 1
    assert world.faults.pending("create") == ["ok"]
    assert world.stats.count("create") == 3
    assert world.stats.count("create", 500) == 1
    assert world.stats.count("create", 0) == 2
    assert world.stats.requests("create")[0] == ("POST", "/api/complaints/complaint", 500)


def test_script_beats_rates_and_star_is_a_fallback(world: SandboxWorld, client: SandboxClient
                                                   ) -> None:
    world.faults.set("*", error_rate=1.0, error_statuses=(503,))
    world.faults.script("masters", ["ok", "429:2", "latency:10+html"])
    assert client.get("/masters/categories").status_code == 200
    response = client.get("/masters/categories")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "2")
    assert client.get("/masters/categories").headers["Content-Type"].startswith("text/html")
    assert client.get("/masters/categories").status_code == 503
    world.faults.set("list")  # an empty spec for "list" overrides "*"
    assert client.get("/complaints").status_code == 200
    world.faults.clear()
    assert client.get("/masters/categories").status_code == 200


def test_fail_for_good_outlasts_any_number_of_retries_and_can_target_one_complaint(
        world: SandboxWorld, client: SandboxClient) -> None:
    first, second = world.visible_ids("18")[:2]
    world.faults.fail("detail", "503", target=first)
    world.faults.script("detail", ["500"])
    for _ in range(12):
        assert client.get(f"/complaints/{first}/complaint").status_code == 503
    # the standing step leaves the script alone; other complaints are answered
    assert client.get(f"/complaints/{second}/complaint").status_code == 500
    assert client.get(f"/complaints/{second}/complaint").status_code == 200
    world.faults.fail("list", "truncated")
    for _ in range(3):
        with pytest.raises(json.JSONDecodeError):
            json.loads(client.get("/complaints").text)
    assert world.faults.describe()["standing"] == [
        {"kind": "detail", "target": str(first), "step": "503"},
        {"kind": "list", "target": None, "step": "truncated"},
    ]
    world.faults.clear("detail")
    assert client.get(f"/complaints/{first}/complaint").status_code == 200
    world.faults.set("list", latency_ms=1)
    world.faults.recover()  # ends the standing failures only
    assert client.get("/complaints").status_code == 200
    assert world.faults.describe()["specs"]["list"]["latency_ms"] == 1
    world.faults.clear()
    assert client.get("/complaints").status_code == 200
    with pytest.raises(ValueError):
        world.faults.fail("detail", "418")


def test_fault_configuration_is_validated() -> None:
    faults = FaultInjector(1)
    with pytest.raises(ValueError):
        faults.set("bogus", error_rate=0.1)
    with pytest.raises(TypeError):
        faults.set("list", eror_rate=0.1)
    with pytest.raises(ValueError):
        faults.set("list", error_rate=2)
    with pytest.raises(ValueError):
        faults.set("list", garbage="xml")
    with pytest.raises(ValueError):
        faults.script("list", ["418"])
    assert faults.set("list", garbage=("html", "null")).garbage == {"html": 0.5, "null": 0.5}


def test_stats_count_per_kind_and_status(world: SandboxWorld, server: SandboxServer,
                                         client: SandboxClient) -> None:
    client.get("/complaints")
    client.get("/complaints/1/complaint")
    requests.get(server.base_url + "/complaints", timeout=5)
    assert world.stats.by_kind() == {"list": 2, "detail": 1}
    assert world.stats.by_kind_status() == {("list", 200): 1, ("detail", 404): 1,
                                            ("list", 401): 1}
    assert world.stats.count() == 3 and world.stats.count(status=404) == 1
    world.stats.reset()
    assert world.stats.count() == 0

"""The sandbox speaks docs/lapor-api.md to a plain ``requests`` client."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
import requests

from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world
from lapor_sync.sandbox.testing import SandboxClient, auth_headers
from lapor_sync.timeutil import WIB

SUMMARY_KEYS = {
    "id", "tracking_id", "title", "status_code", "status_name", "disposition_id",
    "disposition_name", "category_id", "classification_id", "channel", "is_secret",
    "is_anonymous", "tags", "created_at", "updated_at",
}
DETAIL_KEYS = SUMMARY_KEYS | {
    "content", "location_id", "date_of_incident", "reporter", "status_logs", "attachments",
}
LOG_KEYS = {
    "institution_from_id", "institution_from_name", "institution_to_id",
    "institution_to_name", "template_code", "content", "created_at",
}
FOLLOWUP_KEYS = {
    "id", "complaint_id", "author_type", "institution_from_id", "institution_from_name",
    "institution_to_id", "institution_to_name", "content", "template_code", "is_secret",
    "rating", "attachments", "created_at",
}


def ts(text: str) -> datetime:
    return datetime.strptime(text, "%d-%m-%Y %H:%M:%S").replace(tzinfo=WIB)


@pytest.fixture
def world() -> SandboxWorld:
    world = SandboxWorld(seed=11)
    seed_world(world, complaints=120)
    return world


def collect(client: SandboxClient, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    response = client.get("/complaints", **params)
    while True:
        assert response.status_code == 200
        results = response.json()["results"]
        items.extend(results["data"])
        if results["next_page_url"] is None:
            return items
        response = client.get(results["next_page_url"])


def new_complaint_payload(**overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "title": "Pengaduan via Call Center", "content": "Lampu jalan mati.", "channel": 7,
        "category_id": 3, "classification_id": 1, "disposition_id": 18003,
        "location_id": 1871, "date_of_incident": "01-03-2026", "is_anonymous": 0, "is_secret": 0,
        "tags_raw": "#LPG-2026-000123 #callcenter", "nameUser": "Budi Santoso",
        "phoneUser": "0812-7000-1234", "emailUser": "budi@example.id",
    }
    payload.update(overrides)
    return payload


# ---- transport and auth -------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer sandbox-key-pemprov"},
    {"token": "5b1f3c2e-0000-4000-8000-000000000018"},
    {"Authorization": "Bearer sandbox-key-pemprov",
     "token": "5b1f3c2e-0000-4000-8000-000000001871"},
    {"Authorization": "sandbox-key-pemprov", "token": "5b1f3c2e-0000-4000-8000-000000000018"},
])
def test_bad_credentials_get_401_envelope(server: SandboxServer, headers: dict[str, str]
                                          ) -> None:
    response = requests.get(server.base_url + "/complaints", headers=headers, timeout=5)
    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False and isinstance(body["message"], str)
    assert isinstance(body["errors"], dict)


def test_unknown_path_and_method(server: SandboxServer, client: SandboxClient) -> None:
    assert client.get("/nope").status_code == 404
    assert client.get("/complaints/abc/complaint").status_code == 404
    assert requests.get(server.root_url + "/complaints", timeout=5).status_code == 404
    response = client.session.delete(server.base_url + "/complaints/1/complaint", timeout=5)
    assert response.status_code == 405 and response.json()["success"] is False


def test_keep_alive_requests_do_not_stall(client: SandboxClient) -> None:
    client.get("/masters/categories")
    started = time.perf_counter()
    for _ in range(100):
        assert client.get("/complaints", page_size=5).status_code == 200
    # ~40 ms each with the Nagle/delayed-ACK stall; well under 10 ms without it.
    assert time.perf_counter() - started < 2.0


def test_refuses_non_loopback_bind(world: SandboxWorld) -> None:
    with pytest.raises(ValueError):
        SandboxServer(world, host="0.0.0.0")
    with pytest.raises(ValueError):
        SandboxServer(world, host="example.com")
    with SandboxServer(world, host="localhost", prefix="") as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert not server.base_url.endswith("/")
        response = requests.get(server.base_url + "/masters/categories",
                                headers=auth_headers("1801"), timeout=5)
        assert response.status_code == 200


# ---- listing ------------------------------------------------------------------------------

def test_listing_order_paging_total_and_next_page_url(world: SandboxWorld,
                                                      client: SandboxClient) -> None:
    first = client.get("/complaints", page_size=7).json()
    assert first["success"] is True
    results = first["results"]
    expected = world.visible_ids("18")
    assert results["total"] == len(expected) > 14
    assert (results["page"], results["page_size"], len(results["data"])) == (1, 7, 7)
    assert results["next_page_url"].startswith(client.base_url + "/complaints?")
    assert "page=2" in results["next_page_url"]
    items = collect(client, page_size=7)
    assert [i["id"] for i in items] == expected
    keys = [(ts(str(i["updated_at"])), i["id"]) for i in items]
    assert keys == sorted(keys)  # type: ignore[type-var,unused-ignore]
    assert set(items[0]) == SUMMARY_KEYS
    assert all(isinstance(i["id"], int) and isinstance(i["is_secret"], bool) for i in items)


def test_updated_from_filters_inclusively(world: SandboxWorld, client: SandboxClient) -> None:
    items = collect(client, page_size=100)
    bound = str(items[len(items) // 2]["updated_at"])
    filtered = collect(client, page_size=100, updated_from=bound)
    assert filtered == [i for i in items if ts(str(i["updated_at"])) >= ts(bound)]
    assert filtered[0]["updated_at"] == bound
    later = world.now() + timedelta(days=1)
    empty = client.get("/complaints", updated_from=later.strftime("%d-%m-%Y %H:%M:%S")).json()
    assert empty["results"]["data"] == [] and empty["results"]["total"] == 0
    assert empty["results"]["next_page_url"] is None


def test_page_size_is_clamped_and_bad_params_are_422(client: SandboxClient) -> None:
    assert client.get("/complaints", page_size=500).json()["results"]["page_size"] == 100
    for params in ({"page_size": 0}, {"page": 0}, {"page": "x"},
                   {"updated_from": "2026-03-01T00:00:00"}):
        response = client.get("/complaints", **params)
        assert response.status_code == 422
        body = response.json()
        assert body["success"] is False and set(body["errors"]) <= {
            "page", "page_size", "updated_from"} and body["errors"]


def test_more_equal_updated_at_than_a_page() -> None:
    world = SandboxWorld(seed=12)
    seed_world(world, complaints=600, same_updated_at=250)
    with SandboxServer(world) as server, SandboxClient(server.base_url, "18") as client:
        items = collect(client, page_size=100)
        stamps = [i["updated_at"] for i in items]
        tie = max(set(stamps), key=stamps.count)
        assert stamps.count(tie) > 100
        tied = [i["id"] for i in items if i["updated_at"] == tie]
        assert tied == sorted(tied)  # type: ignore[type-var]
        from_tie = collect(client, page_size=100, updated_from=tie)
        assert [i["id"] for i in from_tie][: len(tied)] == tied
        assert len({i["id"] for i in items}) == len(items)


def test_search_title_content_and_tags(world: SandboxWorld, client: SandboxClient) -> None:
    for field in ("title", "content"):
        payload = new_complaint_payload(**{field: f"Ada KATA-UNIK-{field} di sini"})
        assert client.post("/complaints/complaint", payload).status_code == 201
    payload = new_complaint_payload(tags_raw="#LPG-2026-777777")
    assert client.post("/complaints/complaint", payload).status_code == 201
    for needle in ("kata-unik-title", "KATA-UNIK-CONTENT", "lpg-2026-777777"):
        found = collect(client, search=needle)
        assert len(found) == 1, needle
    assert collect(client, search="tidak-ada-yang-cocok-xyz") == []
    everything = collect(client, page_size=100)
    jalan = collect(client, search="jalan", page_size=3)
    assert 0 < len(jalan) < len(everything)


# ---- detail, follow-ups, masters ----------------------------------------------------------

def test_detail_shape(world: SandboxWorld, client: SandboxClient) -> None:
    cid = next(i for i in world.visible_ids("18") if world.complaint(i).followups)
    body = client.get(f"/complaints/{cid}/complaint").json()
    data, logs = body["results"]["data"], body["results"]["data_logs"]
    assert set(data) == DETAIL_KEYS
    assert data["id"] == cid
    assert set(data["status_logs"][0]) == {"status_code", "status_name", "note", "timestamp"}
    assert data["status_logs"][0]["status_name"] == "Belum Terverifikasi"
    assert logs and set(logs[0]) == LOG_KEYS
    ts(data["created_at"])
    datetime.strptime(data["date_of_incident"], "%d-%m-%Y")


def test_detail_reporter_null_when_anonymous(world: SandboxWorld, client: SandboxClient
                                             ) -> None:
    cid = client.post("/complaints/complaint", new_complaint_payload(is_anonymous=1)).json()
    data = client.get(f"/complaints/{cid['results']['complaint']['id']}/complaint").json()
    assert data["results"]["data"]["reporter"] is None
    assert data["results"]["data"]["is_anonymous"] is True


def test_detail_404_for_unknown_and_invisible(world: SandboxWorld, client: SandboxClient
                                              ) -> None:
    assert client.get("/complaints/999/complaint").status_code == 404
    other = next(i for i in world.visible_ids("1801") if i not in world.visible_ids("18"))
    response = client.get(f"/complaints/{other}/complaint")
    assert response.status_code == 404 and response.json()["success"] is False
    assert client.get(f"/complaints/{other}/followups").status_code == 404


def test_followups_shape_and_paging(world: SandboxWorld, client: SandboxClient) -> None:
    cid = world.visible_ids("18")[0]
    for n in range(23):
        world.add_followup(cid, f"tanggapan {n}", institution_from_id="18004")
    first = client.get(f"/complaints/{cid}/followups").json()["results"]
    assert len(first["data"]) == 10 and set(first["data"][0]) == FOLLOWUP_KEYS
    collected, url = [], f"/complaints/{cid}/followups"
    while url:
        results = client.get(url).json()["results"]
        collected.extend(results["data"])
        url = results["next_page_url"]
    assert len(collected) == len(world.complaint(cid).followups)
    assert collected[-1]["content"] == "tanggapan 22"
    assert [c["id"] for c in collected] == sorted(c["id"] for c in collected)
    assert {c["author_type"] for c in collected} <= {"instansi", "pelapor", "admin"}


def test_masters(client: SandboxClient) -> None:
    institutions = client.get("/masters/institutions/external", page_size=1000).json()
    rows = {str(r["id"]): r["name"] for r in institutions["results"]["data"]}
    assert rows["18"] == "Pemerintah Provinsi Lampung"
    assert rows["18003"] == "Dinas Bina Marga dan Bina Konstruksi"
    assert rows["1801"] == "Pemerintah Kabupaten Lampung Selatan"
    assert rows["18007"] == "Badan Penanggulangan Bencana Daerah"
    assert any("Kementerian" in name for name in rows.values())
    categories = client.get("/masters/categories").json()["results"]["data"]
    by_id = {c["id"]: c for c in categories}
    assert by_id[31]["parent"] == 3 and by_id[3]["parent"] == 0
    assert by_id[3]["name"] == "Infrastruktur"


# ---- writes -------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["results", "data", "top"])
def test_create_in_each_shape_then_listed_unverified(world: SandboxWorld, client: SandboxClient,
                                                     shape: str) -> None:
    world.configure(create_response_shape=shape)
    response = client.post("/complaints/complaint", new_complaint_payload())
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True and "results" in body
    if shape == "results":
        created = body["results"]["complaint"]
        cid, tracking = created["id"], created["tracking_id"]
    elif shape == "data":
        cid, tracking = body["data"]["complaint_id"], body["data"]["tracking_id"]
    else:
        cid, tracking = body["complaint_id"], body["tracking_id"]
    assert isinstance(cid, int) and tracking
    world.advance(timedelta(seconds=1))
    listed = {i["id"]: i for i in collect(client, page_size=100)}
    item = listed[cid]
    assert (item["status_code"], item["status_name"]) == ("0", "Belum Terverifikasi")
    assert item["tags"] == ["LPG-2026-000123", "callcenter"]
    assert item["channel"] == 7 and item["tracking_id"] == tracking
    assert list(listed)[-1] == cid
    detail = client.get(f"/complaints/{cid}/complaint").json()["results"]["data"]
    assert detail["reporter"] == {"name": "Budi Santoso", "phone": "0812-7000-1234",
                                  "email": "budi@example.id"}
    assert world.complaint(cid).created_by == "18"
    assert world.find_by_tag("LPG-2026-000123") == [cid]


def test_create_rotate_cycles_shapes(world: SandboxWorld, client: SandboxClient) -> None:
    world.configure(create_response_shape="rotate")
    bodies = [client.post("/complaints/complaint", new_complaint_payload()).json()
              for _ in range(3)]
    assert "complaint" in bodies[0]["results"]
    assert "complaint_id" in bodies[1]["data"]
    assert "complaint_id" in bodies[2]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"title": None}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 151}, "title"),
    ({"content": ""}, "content"),
    ({"channel": None}, "channel"),
    ({"channel": "satu"}, "channel"),
    ({"disposition_id": 99999}, "disposition_id"),
    ({"category_id": 777}, "category_id"),
    ({"date_of_incident": "2026-03-01"}, "date_of_incident"),
    ({"is_secret": "ya"}, "is_secret"),
    ({"emailUser": "bukan-email"}, "emailUser"),
])
def test_create_422_keyed_by_field(world: SandboxWorld, client: SandboxClient,
                                   overrides: dict[str, object], field: str) -> None:
    before = world.count()
    response = client.post("/complaints/complaint", new_complaint_payload(**overrides))
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False and field in body["errors"]
    assert world.count() == before


def test_create_accepts_150_chars_string_ids_and_any_channel(world: SandboxWorld,
                                                            client: SandboxClient) -> None:
    world.contract.strict = False  # any channel: the lenient reading (strict checks the master)
    payload = new_complaint_payload(title="t" * 150, channel="42", disposition_id="1871",
                                    is_secret=True, tags_raw="")
    body = client.post("/complaints/complaint", payload).json()
    c = world.complaint(body["results"]["complaint"]["id"])
    assert (c.channel, c.is_secret, c.tags, c.requested_disposition_id) == (42, True, [], "1871")


def test_create_rejects_non_json(server: SandboxServer) -> None:
    response = requests.post(server.base_url + "/complaints/complaint", data=b"title=x",
                             headers=auth_headers("18"), timeout=5)
    assert response.status_code == 422 and "body" in response.json()["errors"]


def test_verbatim_round_trip(world: SandboxWorld, client: SandboxClient) -> None:
    texts = [
        "Jalan rusak 😡🙏🏽 — ‘kutip’ ✓ 日本語 العربية",
        "'; DROP TABLE complaints; -- \" OR 1=1 /* */ \\x00 %s {0} <script>",
        "Panjang " + "abcdefghij" * 5_000,
        "baris\r\nbaru\ttab \u200b zero-width",
    ]
    for text in texts:
        body = client.post("/complaints/complaint",
                           new_complaint_payload(title=text[:150], content=text)).json()
        cid = body["results"]["complaint"]["id"]
        data = client.get(f"/complaints/{cid}/complaint").json()["results"]["data"]
        assert data["content"] == text and data["title"] == text[:150]
        world.verify(cid)  # strict: a follow-up only once the complaint is with the province
        fid = client.post("/complaints/followup/add", {
            "complaint_id": cid, "institution_from_id": 18004, "content": text,
        }).json()["results"]["data"]["id"]
        followups = client.get(f"/complaints/{cid}/followups").json()["results"]["data"]
        assert [f["content"] for f in followups if f["id"] == fid] == [text]


def test_followup_add(world: SandboxWorld, client: SandboxClient) -> None:
    cid = world.add_complaint("Sekolah", "Atap bocor", category_id=1)
    world.verify(cid, "18001")
    response = client.post("/complaints/followup/add", {
        "complaint_id": str(cid), "institution_from_id": "18001", "institution_to_id": None,
        "content": "Sudah ditinjau.", "template_code": "followup", "is_secret": 0,
    })
    assert response.status_code == 201
    data = response.json()["results"]["data"]
    assert set(data) == FOLLOWUP_KEYS and isinstance(data["id"], int)
    assert (data["author_type"], data["institution_from_id"]) == ("instansi", 18001)
    assert world.complaint(cid).status_name == "Dalam Proses"
    listed = client.get(f"/complaints/{cid}/followups").json()["results"]["data"]
    assert listed[-1]["id"] == data["id"]


def test_followup_add_errors(world: SandboxWorld, client: SandboxClient) -> None:
    cid = world.add_complaint("Sekolah", "Atap bocor", category_id=1)
    world.verify(cid, "18001")
    foreign = world.add_complaint("Jalan", "Rusak")
    world.verify(foreign, "180103")
    base = {"complaint_id": cid, "institution_from_id": 18001, "content": "isi"}
    cases = [
        ({**base, "content": ""}, 422),
        ({**base, "institution_from_id": None}, 422),
        ({**base, "rating": 9}, 422),
        ({**base, "institution_from_id": 1871}, 403),
        ({**base, "institution_from_id": 187101}, 403),
        ({**base, "complaint_id": foreign}, 404),
        ({**base, "complaint_id": 1}, 404),
    ]
    for payload, status in cases:
        response = client.post("/complaints/followup/add", payload)
        assert response.status_code == status, payload
        assert response.json()["success"] is False
    assert world.complaint(cid).followups == []


def test_forward_shows_ditolak_to_forwarder_and_reaches_target(
        world: SandboxWorld, server: SandboxServer, client: SandboxClient) -> None:
    cid = world.add_complaint("Lampu jalan kota", "Lampu mati", category_id=3)
    world.verify(cid, "18003")
    assert client.post(f"/complaints/process/{cid}/reject",
                       {"is_request": 1, "reason": 1872, "not_authority": 1}).status_code == 200
    # the first forward went to an institution outside the sandbox; bring it back
    world.forward(cid, "18003", from_id="1872")
    assert client.post(f"/complaints/process/{cid}/reject", {"reason": 18001}).status_code == 422
    response = client.post(f"/complaints/process/{cid}/reject", {
        "is_request": 1, "reason": "1871", "not_authority": 1,
        "reason_description": "Diteruskan ke Instansi Tujuan",
    })
    assert response.status_code == 200
    assert response.json()["results"]["data"]["status_name"] == "Ditolak"
    mine = client.get(f"/complaints/{cid}/complaint").json()["results"]
    assert (mine["data"]["status_code"], mine["data"]["status_name"]) == ("5", "Ditolak")
    assert mine["data_logs"][-1]["institution_to_id"] == 1871
    assert mine["data_logs"][-1]["content"] == "Diteruskan ke Instansi Tujuan"
    listed = {i["id"]: i for i in collect(client, page_size=100)}
    assert listed[cid]["status_name"] == "Ditolak"
    with SandboxClient(server.base_url, "1871") as target:
        theirs = {i["id"]: i for i in collect(target, page_size=100)}
        assert theirs[cid]["status_name"] == "Terverifikasi"
        assert theirs[cid]["disposition_id"] == 1871
    again = client.post(f"/complaints/process/{cid}/reject",
                        {"reason": 1801, "is_request": 1, "not_authority": 1})
    assert again.status_code == 403


def test_reject_errors(world: SandboxWorld, client: SandboxClient) -> None:
    cid = world.add_complaint("Lampu", "Mati")
    world.verify(cid, "18003")
    assert client.post(f"/complaints/process/{cid}/reject", {}).status_code == 422
    assert client.post(f"/complaints/process/{cid}/reject",
                       {"reason": 424242}).status_code == 422
    forward = {"reason": 1871, "is_request": 1, "not_authority": 1}
    assert client.post("/complaints/process/1/reject", forward).status_code == 404
    unverified = world.add_complaint("Lampu", "Mati", created_by="18")
    assert client.post(f"/complaints/process/{unverified}/reject", forward).status_code == 403

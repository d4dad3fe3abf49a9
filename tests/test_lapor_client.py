"""The remote adapter against a mocked HTTP layer: envelope variants, retries, errors."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import requests
import responses

from lapor_sync.domain import AuthorType, ListQuery, NewComplaint, NewFollowUp, Reporter
from lapor_sync.errors import (
    AmbiguousWriteError,
    AuthError,
    FatalRemoteError,
    ForbiddenError,
    NotFoundError,
    RejectedError,
    RetryableRemoteError,
    describe,
)
from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.lapor.envelope import parse_retry_after
from lapor_sync.lapor.wire import parse_timestamp
from lapor_sync.timeutil import WIB

BASE = "http://127.0.0.1:9/api"
API_KEY = "test-api-key-5f2b9c"
TOKEN = "aaaaaaaa-1111-4222-8333-bbbbbbbbbbbb"


def summary(id_: object = 1, updated: str = "28-03-2025 14:05:09", **extra: object) -> dict:
    return {
        "id": id_,
        "tracking_id": f"TRK{id_}",
        "title": "Jalan rusak",
        "status_code": 2,
        "status_name": "Dalam Proses",
        "disposition_id": "18003",
        "disposition_name": "Dinas Bina Marga",
        "category_id": 5,
        "classification_id": 1,
        "channel": 2,
        "is_secret": 0,
        "is_anonymous": "1",
        "tags": ["#LPG-2026-000001", "jalan"],
        "created_at": "27-03-2025 09:00:00",
        "updated_at": updated,
        **extra,
    }


def ok(results: object) -> dict:
    return {"success": True, "message": "OK", "results": results}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> LaporClient:
    options = ClientOptions(
        base_url=BASE, api_key=API_KEY, token=TOKEN, retry_attempts=4, retry_after_cap=120
    )
    now = datetime(2026, 11, 28, 10, 0, tzinfo=WIB)
    return LaporClient(options, sleep=sleeps.append, clock=lambda: now)


def list_query() -> ListQuery:
    return ListQuery(updated_from=datetime(2025, 3, 1, tzinfo=WIB), page=1, page_size=100)


@responses.activate
def test_list_parses_summaries_and_sends_both_credentials_in_headers(client: LaporClient) -> None:
    responses.get(
        f"{BASE}/complaints",
        json=ok({"data": [summary(1), summary("2")], "total": 2, "next_page_url": None}),
    )
    listing = client.list_complaints(list_query())
    first, second = listing.page.items
    assert (first.remote_id, second.remote_id) == ("1", "2")
    assert first.status_code == "2" and first.category_id == "5"
    assert first.is_anonymous is True and first.is_secret is False
    assert first.tags == ("LPG-2026-000001", "jalan")
    assert first.updated_at == datetime(2025, 3, 28, 14, 5, 9, tzinfo=WIB)
    assert listing.page.has_next is False and listing.page.total == 2
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["token"] == TOKEN
    assert API_KEY not in sent.url and TOKEN not in sent.url
    assert "updated_from=01-03-2025+00%3A00%3A00" in sent.url


@responses.activate
def test_bad_item_is_set_aside_not_fatal(client: LaporClient) -> None:
    broken = summary(3)
    broken["updated_at"] = "yesterday"
    responses.get(
        f"{BASE}/complaints", json=ok({"data": [summary(1), broken], "next_page_url": None})
    )
    listing = client.list_complaints(list_query())
    assert [i.remote_id for i in listing.page.items] == ["1"]
    (bad,) = listing.invalid
    assert bad.remote_id == "3"
    assert "updated_at" in bad.reason
    assert "yesterday" not in bad.reason  # reasons name fields, never values


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (502, "<html><body>Bad Gateway</body></html>", "text/html"),
        (200, "<html>maintenance</html>", "text/html"),
        (200, '{"success": true, "results": {"data": [', "application/json"),
        (200, "null", "application/json"),
        (200, '{"success": true, "message": "ok"}', "application/json"),
        (200, '{"success": false, "message": "gagal"}', "application/json"),
        (503, '{"success": false}', "application/json"),
    ],
    ids=["502-html", "200-html", "truncated", "null", "no-results", "success-false", "503"],
)
@responses.activate
def test_garbage_is_retried_then_succeeds(
    client: LaporClient, sleeps: list[float], status: int, body: str, content_type: str
) -> None:
    responses.get(f"{BASE}/complaints", body=body, status=status, content_type=content_type)
    good = json.dumps(ok({"data": [summary(7)], "next_page_url": None}))
    # a JSON body served as text/html is still read: Content-Type is not trusted
    responses.get(f"{BASE}/complaints", body=good, status=200, content_type="text/html")
    listing = client.list_complaints(list_query())
    assert [i.remote_id for i in listing.page.items] == ["7"]
    assert len(sleeps) == 1 and client.stats.retries == 1


@responses.activate
def test_retries_run_out_with_a_retryable_error(client: LaporClient, sleeps: list[float]) -> None:
    responses.get(f"{BASE}/complaints", status=500, json={"success": False})
    with pytest.raises(RetryableRemoteError) as info:
        client.list_complaints(list_query())
    assert info.value.status == 500
    assert len(responses.calls) == 4 and len(sleeps) == 3
    # exponential backoff with jitter, bounded
    assert all(0 < s <= 30 for s in sleeps)


@responses.activate
def test_retry_after_seconds_and_http_date_are_honoured(
    client: LaporClient, sleeps: list[float]
) -> None:
    responses.get(f"{BASE}/complaints", status=429, headers={"Retry-After": "7"}, json={})
    responses.get(
        f"{BASE}/complaints",
        status=429,
        headers={"Retry-After": "Sat, 28 Nov 2026 03:00:42 GMT"},  # 42 s after the clock
        json={},
    )
    responses.get(f"{BASE}/complaints", json=ok({"data": [], "next_page_url": None}))
    client.list_complaints(list_query())
    assert sleeps == [7.0, 42.0]


@responses.activate
def test_retry_after_beyond_the_cap_stops_at_once(client: LaporClient, sleeps: list[float]) -> None:
    responses.get(f"{BASE}/complaints", status=429, headers={"Retry-After": "3600"}, json={})
    with pytest.raises(RetryableRemoteError) as info:
        client.list_complaints(list_query())
    assert info.value.retry_after == 3600
    assert sleeps == [] and len(responses.calls) == 1


@responses.activate
def test_401_is_fatal_without_retry(client: LaporClient, sleeps: list[float]) -> None:
    responses.get(f"{BASE}/complaints", status=401, json={"success": False, "message": TOKEN})
    with pytest.raises(AuthError) as info:
        client.list_complaints(list_query())
    assert len(responses.calls) == 1 and sleeps == []
    text = f"{info.value} {info.value!r} {describe(info.value)}"
    assert TOKEN not in text and API_KEY not in text
    assert "credentials" in describe(info.value)


@responses.activate
def test_403_is_a_refusal_of_this_record_not_of_the_credentials(client: LaporClient) -> None:
    responses.get(f"{BASE}/complaints/5/complaint", status=403, json={"success": False})
    with pytest.raises(ForbiddenError) as info:
        client.complaint_detail("5")
    assert not isinstance(info.value, AuthError)
    assert "does not allow this instansi" in describe(info.value)


@responses.activate
def test_connection_errors_on_reads_are_retried(client: LaporClient, sleeps: list[float]) -> None:
    responses.get(f"{BASE}/complaints/5/complaint", body=requests.ConnectionError("reset"))
    responses.get(
        f"{BASE}/complaints/5/complaint",
        json=ok(
            {
                "data": {
                    **summary(5),
                    "content": "Isi laporan 😀 '; DROP TABLE x; --",
                    "reporter": {"name": "Budi", "phone": "081234567890", "email": "b@x.id"},
                    "date_of_incident": "20-03-2025",
                    "status_logs": [
                        {
                            "status_code": 0,
                            "status_name": "Belum Terverifikasi",
                            "timestamp": "27-03-2025 09:00:00",
                        },
                    ],
                },
                "data_logs": [
                    {
                        "institution_from_id": 18,
                        "institution_to_id": "18003",
                        "template_code": "disposition",
                        "created_at": "27-03-2025 10:00:00",
                    }
                ],
            }
        ),
    )
    detail = client.complaint_detail("5")
    assert detail.content == "Isi laporan 😀 '; DROP TABLE x; --"
    assert detail.date_of_incident == date(2025, 3, 20)
    assert detail.dispositions[0].from_id == "18"
    # anonymous complaints never carry the reporter, whatever the server sends
    assert detail.reporter is None
    assert len(sleeps) == 1


@responses.activate
def test_404_detail_is_not_found(client: LaporClient) -> None:
    responses.get(f"{BASE}/complaints/9/complaint", status=404, json={"success": False})
    with pytest.raises(NotFoundError):
        client.complaint_detail("9")


@responses.activate
def test_followups_follow_pages_and_map_author_types(client: LaporClient) -> None:
    def followup(id_: int, author: str) -> dict:
        return {
            "id": id_,
            "complaint_id": "5",
            "author_type": author,
            "content": "isi",
            "is_secret": False,
            "attachments": [{"x": 1}],
            "created_at": "28-03-2025 10:00:00",
        }

    responses.get(
        f"{BASE}/complaints/5/followups",
        match=[responses.matchers.query_param_matcher({"page": "1"})],
        json=ok({"data": [followup(1, "instansi")], "next_page_url": f"{BASE}/x?page=2"}),
    )
    responses.get(
        f"{BASE}/complaints/5/followups",
        match=[responses.matchers.query_param_matcher({"page": "2"})],
        json=ok({"data": [followup(2, "pelapor"), {"id": 3}], "next_page_url": None}),
    )
    good, bad = client.followups_checked("5")
    assert [(f.remote_id, f.author_type) for f in good] == [
        ("1", AuthorType.INSTITUTION),
        ("2", AuthorType.REPORTER),
    ]
    assert good[0].attachment_count == 1
    assert [b.remote_id for b in bad] == ["3"]


NEW = NewComplaint(
    title="Lampu jalan mati",
    content="Isi",
    channel_id="8",
    category_id="5",
    classification_id="1",
    disposition_id="18003",
    location_id=None,
    date_of_incident=date(2026, 11, 20),
    is_anonymous=False,
    is_secret=True,
    tags=("LPG-2026-000123", "callcenter"),
    reporter=Reporter("Siti", "081298765432", None),
)


@pytest.mark.parametrize(
    "answer",
    [
        ok({"complaint": {"id": 77, "tracking_id": "ABC77"}}),
        {"success": True, "data": {"complaint_id": "77", "tracking_id": "ABC77"}},
        {"success": True, "complaint_id": 77, "tracking_id": "ABC77"},
    ],
    ids=["results.complaint.id", "data.complaint_id", "top-level"],
)
@responses.activate
def test_create_reads_all_three_answer_shapes(client: LaporClient, answer: dict) -> None:
    responses.post(f"{BASE}/complaints/complaint", json=answer, status=201)
    created = client.create_complaint(NEW)
    assert (created.remote_id, created.tracking_id) == ("77", "ABC77")
    body = json.loads(responses.calls[0].request.body)
    assert body["tags_raw"] == "#LPG-2026-000123 #callcenter"
    assert body["is_secret"] == 1 and body["is_anonymous"] == 0
    assert body["date_of_incident"] == "20-11-2026"
    assert body["channel"] == 8 and body["phoneUser"] == "081298765432"


@responses.activate
def test_lost_answer_after_write_is_ambiguous_and_not_resent(client: LaporClient) -> None:
    responses.post(f"{BASE}/complaints/complaint", body=requests.ReadTimeout("timed out"))
    with pytest.raises(AmbiguousWriteError):
        client.create_complaint(NEW)
    assert len(responses.calls) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
@responses.activate
def test_5xx_after_write_is_ambiguous(client: LaporClient, status: int) -> None:
    responses.post(f"{BASE}/complaints/followup/add", status=status, body="<html>")
    with pytest.raises(AmbiguousWriteError):
        client.add_followup(
            NewFollowUp(complaint_id="77", from_institution_id="18003", content="x")
        )
    assert len(responses.calls) == 1


def test_connection_refused_before_a_write_is_safe_to_retry() -> None:
    # Port 9 on loopback: nothing listens, the connection is refused before any byte is sent.
    client = LaporClient(ClientOptions(base_url=BASE, api_key=API_KEY, token=TOKEN))
    with pytest.raises(RetryableRemoteError) as info:
        client.create_complaint(NEW)
    assert not isinstance(info.value, AmbiguousWriteError)


@responses.activate
def test_422_carries_field_errors_without_values(client: LaporClient) -> None:
    responses.post(
        f"{BASE}/complaints/complaint",
        status=422,
        json={"success": False, "errors": {"title": ["terlalu panjang"], "channel": ["wajib"]}},
    )
    with pytest.raises(RejectedError) as info:
        client.create_complaint(NEW)
    assert info.value.field_errors == {"title": ["terlalu panjang"], "channel": ["wajib"]}
    assert "channel, title" in describe(info.value)


@responses.activate
def test_429_on_write_is_not_ambiguous(client: LaporClient) -> None:
    responses.post(
        f"{BASE}/complaints/process/77/reject", status=429, headers={"Retry-After": "30"}, json={}
    )
    from lapor_sync.domain import Forward

    with pytest.raises(RetryableRemoteError) as info:
        client.forward(Forward(complaint_id="77", target_institution_id="1871"))
    assert not isinstance(info.value, AmbiguousWriteError)
    assert info.value.retry_after == 30


@responses.activate
def test_other_4xx_is_fatal(client: LaporClient) -> None:
    responses.get(f"{BASE}/masters/categories", status=400, json={"success": False})
    with pytest.raises(FatalRemoteError):
        client.categories()


def test_reprs_hide_secrets() -> None:
    options = ClientOptions(base_url=BASE, api_key=API_KEY, token=TOKEN)
    client = LaporClient(options)
    assert API_KEY not in repr(options) and TOKEN not in repr(options)
    assert API_KEY not in repr(client) and TOKEN not in repr(client)
    assert "Siti" not in repr(NEW) and "0812" not in repr(NEW)


def test_timestamp_formats() -> None:
    assert parse_timestamp("01-01-2026 00:00:00") == datetime(2026, 1, 1, tzinfo=WIB)
    assert parse_timestamp("2026-01-01T00:00:00+00:00") == datetime(2026, 1, 1, 7, tzinfo=WIB)
    with pytest.raises(ValueError):
        parse_timestamp("2026/01/01")


def test_retry_after_parsing() -> None:
    now = datetime(2026, 11, 28, 10, 0, tzinfo=WIB)
    assert parse_retry_after("12", now) == 12.0
    assert parse_retry_after("Sat, 28 Nov 2026 03:01:00 GMT", now) == 60.0
    assert parse_retry_after("Sat, 28 Nov 2026 02:00:00 GMT", now) == 0.0  # in the past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now + timedelta(0)) is None

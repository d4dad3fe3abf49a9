"""One contract, three remotes: what the sync may rely on of any ``Remote``.

Every test runs against:

- ``http``: ``LaporClient`` over HTTP to a ``SandboxServer`` on 127.0.0.1;
- ``memory``: ``MemoryRemote``, the same sandbox world in-process, without HTTP;
- ``responses``: ``LaporClient`` over ``responses`` fixtures, a hand-written
  SP4N-LAPOR! (tests/lapor_fake.py) in the wire shapes docs/lapor-api.md describes.

Same calls, same domain results, same exceptions, same retries: if the sandbox, the
in-memory remote or the fixtures drift apart, one of these fails for one of them. The
contract is written down in docs/design.md, "The remote protocol".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import pytest
import responses

from lapor_sync.domain import Forward, ListQuery, NewComplaint, NewFollowUp
from lapor_sync.errors import (
    AmbiguousWriteError,
    AuthError,
    ForbiddenError,
    NotFoundError,
    RejectedError,
    RetryableRemoteError,
)
from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.sandbox import SandboxServer, SandboxWorld
from lapor_sync.sandbox.masters import ACCOUNT_BY_ID
from lapor_sync.sandbox.memory_remote import MemoryRemote
from lapor_sync.timeutil import WIB
from tests.lapor_fake import FakeLapor

ACCOUNT = ACCOUNT_BY_ID["18"]
UNIT = "18003"  # an OPD of the account: complaints dispositioned here are the account's
OTHER = "1871"  # another account's instansi
NEVER_CONNECTED = "http://127.0.0.1:9/api"
EPOCH = datetime(2000, 1, 1, tzinfo=WIB)
ATTEMPTS = 3


class Backend(Protocol):
    remote: LaporClient
    sleeps: list[float]

    def add(self, title: str, *, visible: bool = True) -> str: ...

    def add_followup(self, complaint_id: str, content: str) -> None: ...

    def script(self, kind: str, steps: list[str]) -> None: ...

    def seen(self, kind: str) -> int: ...

    def with_key(self, api_key: str) -> LaporClient: ...


def _options(base_url: str, api_key: str = ACCOUNT.api_key) -> ClientOptions:
    return ClientOptions(
        base_url=base_url, api_key=api_key, token=ACCOUNT.token, retry_attempts=ATTEMPTS
    )


class WorldBackend:
    """The sandbox world, reached over HTTP or in memory."""

    def __init__(self, in_memory: bool) -> None:
        self.world = SandboxWorld(seed=5)
        self.world.contract.strict = True
        self.sleeps: list[float] = []
        self.server: SandboxServer | None = None
        if not in_memory:
            self.server = SandboxServer(self.world)
            self.server.start()
        self.remote = self.with_key(ACCOUNT.api_key)

    def with_key(self, api_key: str) -> LaporClient:
        kwargs: dict[str, Any] = {"sleep": self.sleeps.append, "clock": self.world.now}
        if self.server is None:
            return MemoryRemote(self.world, _options(NEVER_CONNECTED, api_key), **kwargs)
        return LaporClient(_options(self.server.base_url, api_key), **kwargs)

    def add(self, title: str, *, visible: bool = True) -> str:
        self.world.advance(timedelta(minutes=1))
        cid = self.world.add_complaint(title, f"Isi {title}", category_id=31)
        self.world.verify(cid, disposition_id=UNIT if visible else OTHER)
        return str(cid)

    def add_followup(self, complaint_id: str, content: str) -> None:
        self.world.advance(timedelta(seconds=1))
        self.world.add_followup(int(complaint_id), content, institution_from_id=UNIT)

    def script(self, kind: str, steps: list[str]) -> None:
        self.world.faults.script(kind, ["drop_after_commit" if s == "drop" else s for s in steps])

    def seen(self, kind: str) -> int:
        return self.world.stats.count(kind)

    def close(self) -> None:
        self.remote.close()
        if self.server is not None:
            self.server.stop()
        assert self.world.stats.internal_errors == []


class FixtureBackend:
    """``LaporClient`` over ``responses``: the hand-written fixtures of tests/lapor_fake.py."""

    def __init__(self) -> None:
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.mock.start()
        self.fake = FakeLapor(NEVER_CONNECTED, ACCOUNT.api_key, ACCOUNT.token)
        self.fake.install(self.mock)
        self.sleeps: list[float] = []
        self.remote = self.with_key(ACCOUNT.api_key)

    def with_key(self, api_key: str) -> LaporClient:
        return LaporClient(
            _options(NEVER_CONNECTED, api_key), sleep=self.sleeps.append,
            clock=lambda: self.fake.now,
        )

    def add(self, title: str, *, visible: bool = True) -> str:
        return str(self.fake.add(title, visible=visible))

    def add_followup(self, complaint_id: str, content: str) -> None:
        self.fake.add_followup(int(complaint_id), content)

    def script(self, kind: str, steps: list[str]) -> None:
        self.fake.script(kind, steps)

    def seen(self, kind: str) -> int:
        return self.fake.seen[kind]

    def close(self) -> None:
        self.remote.close()
        self.mock.stop()
        self.mock.reset()


@pytest.fixture(params=["http", "memory", "responses"])
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: Any = FixtureBackend() if request.param == "responses" \
        else WorldBackend(in_memory=request.param == "memory")
    try:
        yield made
    finally:
        made.close()


def listing(remote: LaporClient, page_size: int = 100, search: str | None = None) -> list[Any]:
    """Every page of the list, as the pull walks it: (items, has_next) per page."""
    pages, page = [], 1
    while True:
        got = remote.list_complaints(ListQuery(EPOCH, page, page_size, search))
        pages.append(got.page)
        if not got.page.has_next:
            return pages
        page += 1


def new_complaint(title: str = "Jalan berlubang di Jl. Pagar Alam", **extra: Any) -> NewComplaint:
    fields: dict[str, Any] = {
        "title": title, "content": "Lubang besar di depan sekolah.", "channel_id": "2",
        "category_id": "31", "classification_id": "1", "disposition_id": UNIT,
        "location_id": "18", "date_of_incident": date(2026, 11, 1), "is_anonymous": False,
        "is_secret": False, "tags": ("LPG-2026-000777",),
    }
    return NewComplaint(**{**fields, **extra})


# --- reads ---------------------------------------------------------------------------------


def test_the_list_pages_through_every_visible_complaint_in_update_order(backend: Any) -> None:
    ids = [backend.add(f"Keluhan {n}") for n in range(5)]
    backend.add("Bukan untuk akun ini", visible=False)
    pages = listing(backend.remote, page_size=2)
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert [p.has_next for p in pages] == [True, True, False]
    items = [item for p in pages for item in p.items]
    assert [i.remote_id for i in items] == ids
    assert [i.title for i in items] == [f"Keluhan {n}" for n in range(5)]
    stamps = [i.updated_at for i in items]
    assert stamps == sorted(stamps) and all(s.tzinfo is not None for s in stamps)
    assert all(i.tracking_id and i.status_name == "Terverifikasi" for i in items)


def test_a_detail_is_the_listed_complaint_with_its_content_and_routing(backend: Any) -> None:
    cid = backend.add("Lampu jalan mati")
    (summary,) = listing(backend.remote)[0].items
    detail = backend.remote.complaint_detail(cid)
    assert detail.summary.remote_id == cid
    assert detail.summary.tracking_id == summary.tracking_id
    assert detail.summary.status_name == summary.status_name
    assert detail.content == "Isi Lampu jalan mati"
    assert UNIT in {d.to_id for d in detail.dispositions}


def test_follow_ups_come_from_every_page_oldest_first(backend: Any) -> None:
    cid = backend.add("Sampah menumpuk")
    for n in range(13):  # more than a page of follow-ups (10)
        backend.add_followup(cid, f"Tindak lanjut {n}")
    got, bad = backend.remote.followups_checked(cid)
    assert bad == []
    assert [f.content for f in got] == [f"Tindak lanjut {n}" for n in range(13)]
    assert {f.complaint_id for f in got} == {cid} and len({f.remote_id for f in got}) == 13
    assert backend.seen("followups") == 2


# --- writes --------------------------------------------------------------------------------


def test_a_created_complaint_has_an_id_and_tracking_id_and_is_found_by_its_ref(
    backend: Any,
) -> None:
    created = backend.remote.create_complaint(new_complaint())
    assert created.remote_id and created.tracking_id
    (found,) = [i for p in listing(backend.remote, search="LPG-2026-000777") for i in p.items]
    assert found.remote_id == created.remote_id and "LPG-2026-000777" in found.tags
    assert backend.remote.complaint_detail(created.remote_id).summary.title == (
        "Jalan berlubang di Jl. Pagar Alam"
    )
    assert backend.seen("create") == 1


def test_a_posted_follow_up_has_an_id_and_is_listed(backend: Any) -> None:
    cid = backend.add("Air PDAM mati")
    fid = backend.remote.add_followup(NewFollowUp(cid, UNIT, "Petugas sudah datang."))
    (posted,) = backend.remote.followups(cid)
    assert posted.remote_id == fid and posted.content == "Petugas sudah datang."


def test_a_forward_routes_the_complaint_to_the_other_instansi(backend: Any) -> None:
    cid = backend.add("Jalan provinsi atau kota?")
    assert backend.remote.forward(Forward(cid, OTHER)) is None
    assert OTHER in {d.to_id for d in backend.remote.complaint_detail(cid).dispositions}


# --- errors --------------------------------------------------------------------------------


def test_4xx_answers_raise_the_same_errors_at_once(backend: Any) -> None:
    cid = backend.add("Jembatan retak")
    with pytest.raises(NotFoundError):
        backend.remote.complaint_detail("999999")
    with pytest.raises(ForbiddenError):
        backend.remote.add_followup(NewFollowUp(cid, OTHER, "Bukan unit kami."))
    with pytest.raises(RejectedError):
        backend.remote.create_complaint(new_complaint(title=""))
    with pytest.raises(AuthError):
        backend.with_key("wrong-key").complaint_detail(cid)
    assert backend.sleeps == []  # none of them is retried


def test_a_5xx_read_is_retried_and_a_passing_one_recovers(backend: Any) -> None:
    cid = backend.add("Banjir")
    backend.script("detail", ["503"])
    assert backend.remote.complaint_detail(cid).summary.remote_id == cid
    assert backend.seen("detail") == 2 and backend.remote.stats.retries == 1
    backend.script("detail", ["500"] * ATTEMPTS)
    with pytest.raises(RetryableRemoteError):
        backend.remote.complaint_detail(cid)
    assert backend.seen("detail") == 2 + ATTEMPTS
    assert len(backend.sleeps) == 1 + ATTEMPTS - 1


def test_a_429_read_waits_the_retry_after_then_reads(backend: Any) -> None:
    backend.add("Pohon tumbang")
    backend.script("list", ["429:7"])
    assert len(listing(backend.remote)[0].items) == 1
    assert 7.0 in backend.sleeps and backend.seen("list") == 2


def test_a_refused_read_is_retried(backend: Any) -> None:
    cid = backend.add("Parit tersumbat")
    backend.script("followups", ["refuse"])
    assert backend.remote.followups(cid) == []
    assert backend.seen("followups") == 2


def test_a_5xx_write_is_ambiguous_and_never_resent(backend: Any) -> None:
    backend.script("create", ["500"])
    with pytest.raises(AmbiguousWriteError):
        backend.remote.create_complaint(new_complaint())
    assert backend.seen("create") == 1 and backend.sleeps == []


def test_a_429_write_was_not_applied_and_may_be_sent_again(backend: Any) -> None:
    backend.script("create", ["429:5"])
    with pytest.raises(RetryableRemoteError) as raised:
        backend.remote.create_complaint(new_complaint())
    assert not isinstance(raised.value, AmbiguousWriteError)
    assert raised.value.retry_after == 5
    assert listing(backend.remote)[0].items == ()


def test_a_write_whose_answer_is_lost_is_ambiguous_and_was_applied(backend: Any) -> None:
    cid = backend.add("Lampu taman")
    backend.script("followup_add", ["drop"])
    with pytest.raises(AmbiguousWriteError):
        backend.remote.add_followup(NewFollowUp(cid, UNIT, "Sudah diperbaiki."))
    assert [f.content for f in backend.remote.followups(cid)] == ["Sudah diperbaiki."]
    backend.script("reject", ["refuse"])
    with pytest.raises(AmbiguousWriteError):  # the connection failed mid-request
        backend.remote.forward(Forward(cid, OTHER))
    assert backend.seen("followup_add") == 1

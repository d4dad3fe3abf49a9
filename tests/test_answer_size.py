"""Answers are read with a cap on their DECODED size: gzip bombs and endless bodies are bad
answers (retried for reads, ambiguous for writes), and memory stays near the cap.

Memory is asserted with ``tracemalloc`` (the bytes the process allocated while reading),
never with timing. The loopback server counts what it managed to send.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from lapor_sync.domain import ListQuery, NewFollowUp
from lapor_sync.errors import AmbiguousWriteError, RetryableRemoteError, describe
from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.timeutil import WIB
from tests.hostile_server import HostileServer, serve

CAP = 1024 * 1024  # 1 MiB in these tests
QUERY = ListQuery(updated_from=datetime(2026, 1, 1, tzinfo=WIB))


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with serve() as httpd:
        yield httpd


def client_for(server: HostileServer, route: str, attempts: int = 2) -> LaporClient:
    options = ClientOptions(
        base_url=f"http://127.0.0.1:{server.server_address[1]}/api/{route}",
        api_key="k" * 12,
        token="t" * 12,
        retry_attempts=attempts,
        max_answer_bytes=CAP,
    )
    return LaporClient(options, sleep=lambda _s: None)


def peak_allocated(call: Callable[[], object]) -> tuple[int, BaseException | None]:
    """Run ``call`` under tracemalloc: (peak bytes allocated meanwhile, what it raised)."""
    tracemalloc.start()
    raised: BaseException | None = None
    try:
        call()
    except BaseException as exc:
        raised = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, raised


@pytest.mark.parametrize("route", ["bomb", "endless", "declared"])
def test_an_answer_larger_than_the_cap_is_a_bad_answer_read_within_the_cap(
    server: HostileServer, route: str
) -> None:
    client = client_for(server, route)
    peak, raised = peak_allocated(lambda: client.list_complaints(QUERY))
    assert isinstance(raised, RetryableRemoteError), raised
    assert f"larger than {CAP} bytes" in describe(raised)
    assert "http.max_answer_mib" in describe(raised)
    assert client.stats.total == 2  # retried like any bad answer, then given up
    # The decoded parts never exceed the cap; the rest is one read chunk, one inflate
    # step and the client's own small allocations.
    assert peak < CAP + 1024 * 1024, f"{peak} bytes allocated for a {CAP}-byte cap"


def test_the_endless_body_stops_being_read_near_the_cap(server: HostileServer) -> None:
    client = client_for(server, "endless", attempts=1)
    with pytest.raises(RetryableRemoteError):
        client.list_complaints(QUERY)
    # What the server got into the socket before the client hung up: the cap plus what
    # the kernel buffers on both sides, far from the 500 MB it wanted to send.
    assert server.sent < 64 * 1024 * 1024


def test_an_oversized_answer_to_a_write_is_ambiguous(server: HostileServer) -> None:
    client = client_for(server, "bomb")
    new = NewFollowUp(complaint_id="9", from_institution_id="18", content="Sudah ditangani.")
    with pytest.raises(AmbiguousWriteError) as info:
        client.add_followup(new)
    assert "larger than" in str(info.value)  # the admin log's reason
    assert client.stats.total == 1  # a write is never resent blindly


@pytest.mark.parametrize("route", ["plain", "gzip", "deflate", "rawdeflate", "twomembers"])
def test_answers_within_the_cap_are_decoded_whatever_the_encoding(
    server: HostileServer, route: str
) -> None:
    listing = client_for(server, route).list_complaints(QUERY)
    assert listing.page.items == () and listing.page.total == 0


@pytest.mark.parametrize(
    ("route", "reason"),
    [("corrupt", "corrupt"), ("brotli", "Content-Encoding that was not asked for")],
)
def test_an_undecodable_encoding_is_a_bad_answer(
    server: HostileServer, route: str, reason: str
) -> None:
    client = client_for(server, route)
    with pytest.raises(RetryableRemoteError) as info:
        client.list_complaints(QUERY)
    assert reason in describe(info.value)
    assert client.stats.total == 2

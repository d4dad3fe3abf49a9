"""Every request has a total deadline; a stop abandons requests in flight (issue #11.5).

The server here trickles bytes well below the read timeout, so only a total deadline can
end the request. Times are real but short (a fraction of a second each).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import pytest

from lapor_sync.domain import ListQuery
from lapor_sync.errors import AmbiguousWriteError, RetryableRemoteError, StoppingError, describe
from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.lapor.deadline import POLL_SECONDS, Watchdog
from lapor_sync.timeutil import WIB
from tests.slow_server import SlowServer

QUERY = ListQuery(updated_from=datetime(2026, 1, 1, tzinfo=WIB), page=1, page_size=10)


def client_for(server: SlowServer, **options: Any) -> tuple[LaporClient, list[float]]:
    sleeps: list[float] = []
    settings = {"read_timeout": 2.0, "request_deadline": 0.5, "retry_attempts": 1, **options}
    stop = settings.pop("stop", None)
    client = LaporClient(
        ClientOptions(base_url=server.base_url, api_key="k", token="t", **settings),
        sleep=sleeps.append,
        stop=stop,
    )
    return client, sleeps


@pytest.mark.parametrize("mode", ["body", "headers", "silent"])
def test_a_trickling_server_is_cut_off_at_the_deadline(mode: str) -> None:
    with SlowServer(mode, gap=0.05) as server:
        client, _ = client_for(server)
        began = time.monotonic()
        with pytest.raises(RetryableRemoteError) as caught:
            client.list_complaints(QUERY)
        took = time.monotonic() - began
        client.close()
    # Far below the 2 s read timeout that each trickled byte keeps resetting.
    assert 0.45 <= took < 0.5 + POLL_SECONDS + 0.5
    assert "http.request_deadline" in str(caught.value)
    assert "0.5 s" in describe(caught.value)


def test_a_read_cut_off_is_retried_like_a_timeout() -> None:
    with SlowServer("body", gap=0.05) as server:
        client, sleeps = client_for(server, request_deadline=0.3, retry_attempts=3)
        with pytest.raises(RetryableRemoteError):
            client.list_complaints(QUERY)
        client.close()
        assert server.requests == 3
    assert len(sleeps) == 2  # waits between attempts, injected, not slept


def test_a_write_cut_off_is_ambiguous_and_sent_once() -> None:
    with SlowServer("body", gap=0.05) as server:
        client, _ = client_for(server, request_deadline=0.3, retry_attempts=3)
        with pytest.raises(AmbiguousWriteError):
            client._write("followup_add", "complaints/followup/add", {"x": 1})
        client.close()
        assert server.requests == 1


def test_a_stop_abandons_a_request_in_flight_at_once() -> None:
    stop = threading.Event()
    with SlowServer("body", gap=0.05) as server:
        client, _ = client_for(server, request_deadline=60.0, retry_attempts=5, stop=stop)
        threading.Timer(0.2, stop.set).start()
        began = time.monotonic()
        with pytest.raises(StoppingError):
            client.list_complaints(QUERY)
        took = time.monotonic() - began
        # Not retried, and not sent again once stopping.
        with pytest.raises(StoppingError):
            client.list_complaints(QUERY)
        client.close()
        assert server.requests == 1
    assert took < 0.2 + POLL_SECONDS + 0.5


def test_a_stop_ends_the_wait_between_retries() -> None:
    stop = threading.Event()
    with SlowServer("body", gap=0.05) as server:
        client = LaporClient(
            ClientOptions(
                base_url=server.base_url,
                api_key="k",
                token="t",
                request_deadline=0.2,
                retry_attempts=5,
                retry_initial_wait=30.0,
                retry_max_wait=30.0,
            ),
            stop=stop,  # no injected sleep: the real wait is the stop event's
        )
        threading.Timer(0.4, stop.set).start()
        began = time.monotonic()
        with pytest.raises(StoppingError):
            client.list_complaints(QUERY)
        client.close()
    assert time.monotonic() - began < 2.0  # not 30 s of backoff


def test_one_guard_expiring_does_not_touch_another() -> None:
    dog = Watchdog()
    with dog.guard(0.05) as short, dog.guard(30.0) as long:
        time.sleep(0.3)
        assert short.expired and not short.stopped
        assert not long.tripped

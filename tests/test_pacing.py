"""The rate budget per account and the limit on requests in flight (issue #16.2).

Clocks and sleeps are injected: a fake monotonic clock that the fake sleep advances.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from typing import Any

import pytest
import responses

from lapor_sync.domain import ListQuery
from lapor_sync.errors import StoppingError
from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.lapor.pacing import HEADROOM, RateBudget, RequestSlots
from lapor_sync.timeutil import WIB

BASE = "http://127.0.0.1:9/api"


class FakeTime:
    """A monotonic clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def test_the_budget_spreads_requests_evenly_and_never_exceeds_the_limit() -> None:
    t = FakeTime()
    budget = RateBudget(600, monotonic=t.monotonic, sleep=t.sleep)
    starts = []
    for _ in range(1500):
        budget.take()
        starts.append(t.now)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(starts)}
    # 600 a minute, aimed 2 % under: evenly spaced, no burst
    assert gaps == {round(60 / (600 * HEADROOM), 6)}
    for i, first in enumerate(starts):
        # (a microsecond of slack for float sums of 0.1)
        in_window = sum(1 for s in starts[i:] if s < first + 60 - 1e-6)
        assert in_window <= 600 * HEADROOM + 1
        if first + 60 <= starts[-1]:  # a whole minute of the run: the budget is used
            assert in_window >= 600 * HEADROOM - 1
    assert budget.eta(588) == pytest.approx(60.0)


def test_time_not_used_is_not_saved_up_for_a_burst() -> None:
    t = FakeTime()
    budget = RateBudget(60, monotonic=t.monotonic, sleep=t.sleep)
    budget.take()
    t.now += 3600  # an hour of quiet
    assert budget.take() == 0
    # then one a second again (2 % under), not 3600 at once
    assert budget.take() == pytest.approx(1 / HEADROOM)


def test_no_budget_means_no_waits() -> None:
    t = FakeTime()
    budget = RateBudget(None, monotonic=t.monotonic, sleep=t.sleep)
    for _ in range(100):
        budget.take()
    assert t.sleeps == [] and budget.eta(100) is None


def test_a_retry_after_holds_every_thread_of_the_account() -> None:
    t = FakeTime()
    budget = RateBudget(None, monotonic=t.monotonic, sleep=t.sleep)
    budget.hold(30)
    waited: list[float] = []
    worker = threading.Thread(target=lambda: waited.append(budget.take()))
    worker.start()
    worker.join()
    assert waited == [30.0]


def test_a_stop_ends_a_budget_wait_with_a_stopping_error() -> None:
    stop = threading.Event()
    stop.set()
    t = FakeTime()
    budget = RateBudget(1, monotonic=t.monotonic, sleep=t.sleep, stop=stop)
    budget.take()
    with pytest.raises(StoppingError):
        budget.take()


def test_requests_in_flight_never_exceed_the_slots() -> None:
    slots = RequestSlots(3)
    inside = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def request() -> None:
        nonlocal inside, most
        with slots.slot():
            with lock:
                inside += 1
                most = max(most, inside)
            release.wait(5)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    threading.Timer(0.3, release.set).start()
    for thread in threads:
        thread.join()
    assert most == 3


def test_a_stop_ends_the_wait_for_a_slot() -> None:
    stop = threading.Event()
    slots = RequestSlots(1, stop=stop)
    with slots.slot():
        stop.set()
        with pytest.raises(StoppingError), slots.slot():
            pass


QUERY = ListQuery(updated_from=datetime(2026, 1, 1, tzinfo=WIB), page=1, page_size=10)
EMPTY = {"success": True, "message": "OK", "results": {"data": [], "next_page_url": None}}


@responses.activate
def test_the_client_paces_reads_and_writes_of_one_account_together() -> None:
    t = FakeTime()
    client = LaporClient(
        ClientOptions(base_url=BASE, api_key="k", token="t", max_requests_per_minute=120),
        sleep=t.sleep,
        monotonic=t.monotonic,
    )
    responses.get(f"{BASE}/complaints", json=EMPTY)
    responses.post(f"{BASE}/complaints/followup/add", json={"success": True, "results": {}})
    client.list_complaints(QUERY)
    client._write("followup_add", "complaints/followup/add", {"x": 1})
    client.list_complaints(QUERY)
    # 120 a minute (2 % under), shared by the read and the write
    assert t.sleeps == [pytest.approx(0.5 / HEADROOM)] * 2


@responses.activate
def test_a_429_on_one_request_holds_the_accounts_other_requests() -> None:
    t = FakeTime()
    client = LaporClient(
        ClientOptions(base_url=BASE, api_key="k", token="t", retry_attempts=3),
        sleep=t.sleep,
        monotonic=t.monotonic,
        clock=lambda: datetime(2026, 11, 28, 10, 0, tzinfo=WIB),
    )
    responses.get(f"{BASE}/complaints", status=429, headers={"Retry-After": "20"}, json={})
    responses.get(f"{BASE}/complaints", json=EMPTY)
    responses.post(f"{BASE}/complaints/followup/add", json={"success": True, "results": {}})
    client.list_complaints(QUERY)  # 429, waits 20 s itself (once), then succeeds
    assert t.sleeps == [20.0]
    # Another thread of the same account, sent while the hold lasts, waits for it too.
    t.now -= 15
    done: list[float] = []
    writer = threading.Thread(
        target=lambda: done.append(
            len(client._write("followup_add", "complaints/followup/add", {"x": 1}))
        )
    )
    writer.start()
    writer.join()
    assert t.sleeps == [20.0, 15.0] and done


def test_a_paced_backfill_states_its_eta_from_the_budget(make_env: Any) -> None:
    import io
    import json

    from lapor_sync.app import open_app, pull_account
    from lapor_sync.logs import configure_logging, reset_logging
    from lapor_sync.sandbox import SandboxWorld, seed_world
    from tests.test_daemon_support import edit_config

    world = SandboxWorld(seed=31)
    seed_world(world, complaints=80)
    env = make_env(world, page_size=10)
    settings = edit_config(env.tmp_path / "config.toml", max_requests_per_minute=600)
    env.app.close()
    waits: list[float] = []
    app = open_app(settings, sleep=waits.append, clock=env.world_clock)
    out = io.StringIO()
    configure_logging(fmt="json", level="info", stream=out)
    try:
        summary = pull_account(app, "pemprov-lampung")
    finally:
        reset_logging()
        app.close()
    paced = [
        line
        for line in map(json.loads, filter(None, out.getvalue().splitlines()))
        if line.get("event") == "pull_paced"
    ]
    assert len(paced) == 1
    remaining = paced[0]["remaining"]
    assert 10 < remaining < summary.new  # told early on, with more than a page to come
    pages = -(-remaining // 10)
    assert paced[0]["eta_s"] == round((2 * remaining + pages) * 60 / (600 * HEADROOM))
    # and it paced itself: every request after the first waited for the budget (the
    # waits are injected, not slept)
    assert len([w for w in waits if w > 0]) == summary.requests - 1

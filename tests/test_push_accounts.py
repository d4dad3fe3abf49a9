"""Push runs accounts in parallel (issue #16.2): a slow or failing account never delays
the others. Shown by events, not by time: the slow account's writes are held until every
other account's tickets are done, which can only happen if they did not wait for it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lapor_sync.app import push_policy
from lapor_sync.domain import NewComplaint
from lapor_sync.errors import AuthError
from lapor_sync.lapor.remote import Remote
from lapor_sync.local.register import TicketInput, add_ticket
from lapor_sync.sandbox import SandboxWorld
from lapor_sync.sync.push import Pusher

PEMPROV = "pemprov-lampung"
KOTA = "kota-bandar-lampung"
SAFETY_S = 30  # only so that a broken scheduler fails instead of hanging the suite


def new_ticket(env: Any, account: str, n: int) -> str:
    fields = TicketInput(
        channel="whatsapp",
        title=f"Lampu penerangan jalan mati {n}",
        content="Sudah seminggu lampu di depan pasar mati.",
        received_at=env.world.now(),
        category_id="31",
        opd_code="BMBK" if account == PEMPROV else None,
    )
    return add_ticket(env.app.db, fields, "LPG-{year}-{seq:06d}", account).ref


class Held:
    """An account's client whose creates wait until ``release`` is set (a slow gateway)."""

    def __init__(self, inner: Remote, release: threading.Event) -> None:
        self._inner = inner
        self._release = release
        self.started = 0
        self.most_at_once = 0
        self._in = 0
        self.released_by_others: list[bool] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create_complaint(self, payload: NewComplaint) -> Any:
        with self._lock:
            self.started += 1
            self._in += 1
            self.most_at_once = max(self.most_at_once, self._in)
        try:
            self.released_by_others.append(self._release.wait(SAFETY_S))
            return self._inner.create_complaint(payload)
        finally:
            with self._lock:
                self._in -= 1


class Counted:
    """An account's client that sets ``all_done`` after its ``expected``-th create."""

    def __init__(self, inner: Remote, expected: int, all_done: threading.Event) -> None:
        self._inner = inner
        self._expected = expected
        self._all_done = all_done
        self._done = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create_complaint(self, payload: NewComplaint) -> Any:
        created = self._inner.create_complaint(payload)
        with self._lock:
            self._done += 1
            if self._done == self._expected:
                self._all_done.set()
        return created


def pusher(env: Any, clients: dict[str, Any]) -> Pusher:
    return Pusher(
        env.app.db,
        clients,
        push_policy(env.settings),
        clock=env.world_clock,
        concurrency=env.settings.http.concurrency,
        max_in_flight=env.settings.http.max_in_flight,
    )


def states(env: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for account, state in env.app.db.execute(
        "SELECT t.account, o.state FROM outbox o JOIN local_tickets t ON t.id = o.ticket_id "
        "ORDER BY o.id"
    ):
        out.setdefault(account, []).append(state)
    return out


def test_a_slow_account_does_not_delay_the_others(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=41))
    slow_tickets = env.settings.http.concurrency + 1  # more than its share of the workers
    # the slow account's tickets come first: handed out in ticket order they would take
    # every worker, and the city's tickets would wait for the slow gateway
    for n in range(slow_tickets):
        new_ticket(env, PEMPROV, n)
    for n in range(3):
        new_ticket(env, KOTA, n)
    others_done = threading.Event()
    slow = Held(env.app.clients[PEMPROV], others_done)
    fast = Counted(env.app.clients[KOTA], 3, others_done)
    summary = pusher(env, {PEMPROV: slow, KOTA: fast}).run()

    # every held create was released by the city's tickets all being done, none by the
    # safety timeout: the city never waited for the slow account
    assert slow.released_by_others == [True] * slow_tickets
    # and the slow account had at most its share of the workers at once
    assert slow.started == slow_tickets
    assert slow.most_at_once <= env.settings.http.concurrency
    assert summary.sent == slow_tickets + 3 and summary.dead == 0
    assert states(env) == {PEMPROV: ["done"] * slow_tickets, KOTA: ["done"] * 3}
    assert len(env.world.visible_ids("1871")) >= 3


def test_an_account_whose_credentials_are_refused_does_not_stop_the_others(
    make_env: Any,
) -> None:
    env = make_env(SandboxWorld(seed=42))
    for n in range(3):
        new_ticket(env, PEMPROV, n)
    for n in range(3):
        new_ticket(env, KOTA, n)

    class Refused:
        def __getattr__(self, name: str) -> Any:
            return getattr(env.app.clients[PEMPROV], name)

        def create_complaint(self, payload: NewComplaint) -> Any:
            raise AuthError("HTTP 401", endpoint="create", status=401)

    with pytest.raises(AuthError):
        pusher(env, {PEMPROV: Refused(), KOTA: env.app.clients[KOTA]}).run()
    shown = states(env)
    assert shown[KOTA] == ["done"] * 3  # the city's tickets all went
    assert "done" not in shown[PEMPROV]  # the province's wait for their credentials

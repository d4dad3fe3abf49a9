"""A total deadline for every HTTP request, and a way to abandon them all on stop.

``requests`` only bounds each socket operation (``read_timeout``): a server that sends
one byte a second never trips it, and a request can last for hours. Here every request
runs inside a :class:`Guard`; the connections it uses register their sockets with it,
and one watchdog thread shuts those sockets down (``shutdown(SHUT_RDWR)``, which wakes a
blocked ``recv`` in any thread) when the guard's deadline passes or its stop event is
set. The request then fails at once, and the guard says why (``expired`` / ``stopped``).

Invariants:
- a guarded request never outlives its deadline by more than the watchdog's reaction
  time (``POLL_SECONDS`` at most, usually far less);
- once its stop event is set, every socket of a guard is shut down within
  ``POLL_SECONDS``; a guard entered after the stop is stopped at once;
- the watchdog only ever *shuts down* sockets (never closes them): closing belongs to
  the thread that owns the connection, so a file descriptor is never freed under it;
- no state is shared between guards: one stalled account's request cannot delay or cut
  another's.

How sockets reach the guard: the ``HTTPAdapter`` built by :func:`guarded_adapter` uses
connection classes that attach their socket to the calling thread's current guard when
the connection is made and before each request is sent and each answer is read.
"""

from __future__ import annotations

import contextlib
import heapq
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["POLL_SECONDS", "Guard", "Watchdog", "guarded_adapter", "watchdog"]

POLL_SECONDS = 0.2
"""How often the watchdog looks at stop events while requests are in flight."""

_current = threading.local()


class Guard:
    """One request's deadline (monotonic seconds) and the sockets it has used."""

    def __init__(self, deadline: float, stop: threading.Event | None) -> None:
        self.deadline = deadline
        self.stop = stop
        self.expired = False
        self.stopped = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def tripped(self) -> bool:
        return self.expired or self.stopped

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if sock not in self._sockets:
                self._sockets.append(sock)
            tripped = self.tripped
        if tripped:
            _shut(sock)

    def trip(self, *, expired: bool) -> None:
        with self._lock:
            if expired:
                self.expired = True
            else:
                self.stopped = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter drops the TLS object
    # under the reading thread; the plain one just wakes it with EOF.
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Watchdog:
    """Trips guards whose deadline passed or whose stop event is set (one thread)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Guard]] = []
        self._active: dict[int, Guard] = {}
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def guard(self, seconds: float, stop: threading.Event | None = None) -> Iterator[Guard]:
        """Run the block as one guarded request of at most ``seconds``."""
        guard = Guard(self._monotonic() + seconds, stop)
        if stop is not None and stop.is_set():
            guard.stopped = True
        key = id(guard)
        with self._cond:
            self._active[key] = guard
            heapq.heappush(self._heap, (guard.deadline, key, guard))
            self._ensure_thread()
            self._cond.notify()
        previous = getattr(_current, "guard", None)
        _current.guard = guard
        try:
            yield guard
        finally:
            _current.guard = previous
            with self._cond:
                self._active.pop(key, None)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="lapor-request-watchdog", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            due: list[Guard] = []
            stopped: list[Guard] = []
            with self._cond:
                while not self._active:
                    self._heap.clear()
                    self._cond.wait()
                now = self._monotonic()
                while self._heap and (
                    self._heap[0][0] <= now or self._heap[0][1] not in self._active
                ):
                    _, key, guard = heapq.heappop(self._heap)
                    if key in self._active and not guard.tripped:
                        due.append(guard)
                stopped = [
                    g
                    for g in self._active.values()
                    if g.stop is not None and g.stop.is_set() and not g.stopped
                ]
                wait = POLL_SECONDS
                if self._heap:
                    wait = min(wait, max(0.0, self._heap[0][0] - now))
            for guard in due:
                guard.trip(expired=True)
            for guard in stopped:
                guard.trip(expired=False)
            with self._cond:
                if self._active:
                    self._cond.wait(wait)


watchdog = Watchdog()
"""The process's watchdog; every client uses it."""


def _attach_current(sock: Any) -> None:
    guard = getattr(_current, "guard", None)
    if guard is not None and isinstance(sock, socket.socket):
        guard.attach(sock)


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach_current(sock)
        return sock

    def connect(self) -> None:
        super().connect()
        _attach_current(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self.sock)  # a kept-alive connection is reused without connect()
        super().request(*args, **kwargs)

    def getresponse(self) -> Any:
        _attach_current(self.sock)
        return super().getresponse()


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach_current(sock)
        return sock

    def connect(self) -> None:
        super().connect()
        _attach_current(self.sock)  # the TLS socket that replaced the plain one

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self.sock)
        super().request(*args, **kwargs)

    def getresponse(self) -> Any:
        _attach_current(self.sock)
        return super().getresponse()


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def guarded_adapter(pool_maxsize: int) -> HTTPAdapter:
    """An adapter whose connections report their sockets to the current guard."""
    return _GuardedAdapter(pool_connections=1, pool_maxsize=pool_maxsize, max_retries=0)

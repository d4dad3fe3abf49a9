"""Request pacing: a rate budget per account, and a limit on requests in flight overall.

Government API gateways limit their clients; a client that ignores the limit spends its
budget on 429s. Two mechanisms, both taken around every HTTP attempt (never held across
two attempts, so they cannot deadlock):

- :class:`RateBudget`, one per account (per :class:`~lapor_sync.lapor.client.LaporClient`):
  ``http.max_requests_per_minute`` spread evenly (a GCRA token bucket of depth one: the
  n-th request may start at ``first + (n-1) * 60/(limit * HEADROOM)``), shared by every
  thread of that account — the pull's listing thread, its detail workers and the push's writers. A
  ``Retry-After`` received by any of them holds the whole account until it has passed,
  and the budget then restarts from there without a burst. No limit configured: no
  waits, but ``Retry-After`` is still shared.
- :class:`RequestSlots`, one per process (per App): at most ``http.max_in_flight``
  requests on the wire at once, across all accounts. Accounts are pulled in parallel;
  this keeps their sum polite, and a slot is held only while one attempt is in flight,
  so a slow account holds at most the slots of its own requests and the rest go on.

``HEADROOM``: requests leave evenly spaced, but arrive with the network's jitter; a
gateway counting a sliding minute would see the 601st of 600 a few milliseconds early
and answer 429 (measured: 3 in 2,251 at exactly the limit). Aiming 2 % under the limit
leaves a second and more of jitter before that happens.

Invariants: in any window of 60 s an account starts at most ``limit * HEADROOM``
requests (plus one at the edges); waiting is done with the injected ``sleep`` (a stop event's
``wait`` in production), and a wait ended early by the stop raises ``StoppingError``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from lapor_sync.errors import StoppingError

__all__ = ["HEADROOM", "RateBudget", "RequestSlots"]

HEADROOM = 0.98

Sleep = Callable[[float], object]


class RateBudget:
    """One account's request budget (requests per minute), shared by all its threads."""

    def __init__(
        self,
        per_minute: float | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = time.sleep,
        stop: threading.Event | None = None,
    ) -> None:
        self.per_minute = per_minute
        self._interval = 60.0 / (per_minute * HEADROOM) if per_minute else 0.0
        self._monotonic = monotonic
        self._sleep = sleep
        self._stop = stop
        self._lock = threading.Lock()
        self._next = 0.0  # the earliest start of the next request (monotonic seconds)
        self._held_until = 0.0  # no request before this (a Retry-After), monotonic seconds
        self._own = threading.local()  # the hold this thread is waiting out by itself
        self.waited = 0.0  # seconds spent waiting for the budget, all threads together
        self.held = 0  # Retry-After demands received

    def take(self, endpoint: str = "") -> float:
        """Wait until this account may start a request; returns the seconds waited."""
        with self._lock:
            now = self._monotonic()
            held = self._held_until
            if getattr(self._own, "hold", None) == held:
                held = 0.0  # this thread's retry already slept through it
            self._own.hold = None
            start = max(now, self._next, held)
            self._next = start + self._interval
            wait = start - now
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
            if self._stop is not None and self._stop.is_set():
                raise StoppingError(endpoint)
        return wait

    def hold(self, seconds: float) -> None:
        """The server asked to wait (``Retry-After``): no request of this account before."""
        with self._lock:
            self.held += 1
            self._held_until = max(self._held_until, self._monotonic() + seconds)

    def waiting_out(self) -> None:
        """The calling thread sleeps through the current hold itself (a read's retry wait):
        its next :meth:`take` does not wait for that hold a second time."""
        with self._lock:
            self._own.hold = self._held_until

    def eta(self, requests: int) -> float | None:
        """Seconds ``requests`` more requests take at this budget (None: no budget)."""
        if not self.per_minute:
            return None
        return max(0, requests) * self._interval

    def backfill_eta(self, remaining: int, page_size: int) -> float | None:
        """Seconds a pull needs for ``remaining`` listed-to-come complaints at this budget:
        at least a detail and a follow-ups request each, and one list request a page."""
        pages = -(-max(0, remaining) // max(1, page_size))
        return self.eta(2 * max(0, remaining) + pages)


class RequestSlots:
    """At most ``limit`` requests in flight at once, whichever account sends them."""

    def __init__(self, limit: int, *, stop: threading.Event | None = None) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._stop = stop

    @contextlib.contextmanager
    def slot(self, endpoint: str = "") -> Iterator[None]:
        # Poll the stop event while waiting for a slot: a stop must not wait for others.
        while not self._slots.acquire(timeout=0.1):
            if self._stop is not None and self._stop.is_set():
                raise StoppingError(endpoint)
        try:
            yield
        finally:
            self._slots.release()

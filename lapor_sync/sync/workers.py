"""The pull's download threads, kept from one run of an account to the next.

A pull downloads the details and follow-ups of a page's changed complaints on worker
threads (``Puller._begin_page``). Starting those threads anew for every run cost more
than the downloads of a quiet pass: a new thread must win the GIL from the threads
already busy before ``Thread.start`` returns, a few milliseconds each time
(``scripts/bench_model.py --profile``, docs/performance.md). So the App keeps one pool
per account (``App.pull_workers``) and each run borrows it.

Invariants:
- a run's ``scope`` returns only when every download the run submitted has finished or
  was cancelled, as ``ThreadPoolExecutor``'s own ``with`` block did: no download of a
  finished run is still in flight (it would spend a request, or a fault, of the next);
- at most ``concurrency`` downloads run at once for the account, also when two runs of
  it overlap (they then share the threads);
- ``close`` waits for the threads; a closed pool refuses new runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
START_TIMEOUT_S = 10.0
_T = TypeVar("_T")


class PullWorkers:
    """One account's download threads, started on first use and reused by later runs."""

    def __init__(self, concurrency: int, name: str = "pull") -> None:
        self._size = max(1, concurrency)
        self._pool = ThreadPoolExecutor(max_workers=self._size, thread_name_prefix=name)
        self._started = False
        self._start_lock = threading.Lock()

    @contextmanager
    def scope(self) -> Iterator[Executor]:
        """The threads for one run; leaving waits for every download it submitted."""
        if not self._started:
            self._start_threads()
        run = _RunScope(self._pool)
        try:
            yield run
        finally:
            run.wait()

    def _start_threads(self) -> None:
        """Start every thread of the pool at once, before the first run submits anything.

        The pool would otherwise start one thread per download submitted while the
        others are busy, and each start waits for the new thread to win the GIL from the
        busy ones (up to the interpreter's switch interval, 5 ms). Here each thread blocks
        on a barrier until all have started, so none is busy and every start is quick."""
        with self._start_lock:
            if self._started:
                return
            barrier = threading.Barrier(self._size)
            started = [self._pool.submit(barrier.wait, START_TIMEOUT_S) for _ in range(self._size)]
            wait_all(started)  # a broken barrier only means the threads start lazily
            self._started = True

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _RunScope(Executor):
    """Submits to the shared pool and remembers what it submitted."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._futures: list[Future[Any]] = []
        self._lock = threading.Lock()

    def submit(
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Future[_T]:
        future = self._pool.submit(fn, *args, **kwargs)
        with self._lock:
            self._futures.append(future)
        return future

    def wait(self) -> None:
        with self._lock:
            futures = list(self._futures)
        wait_all(futures)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """The pool outlives the run: only the run's own downloads are waited for."""
        if cancel_futures:
            for future in self._futures:
                future.cancel()
        if wait:
            self.wait()

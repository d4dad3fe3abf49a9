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
_T = TypeVar("_T")


class PullWorkers:
    """One account's download threads, started on first use and reused by later runs."""

    def __init__(self, concurrency: int, name: str = "pull") -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix=name)

    @contextmanager
    def scope(self) -> Iterator[Executor]:
        """The threads for one run; leaving waits for every download it submitted."""
        run = _RunScope(self._pool)
        try:
            yield run
        finally:
            run.wait()

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

"""Request counters of the sandbox, for tests that assert how the connector behaved.

Every request to the LAPOR! API (not the control interface) is recorded once, when the
handler is done with it, as ``(method, path without query, status, kind, fault)``. Status
0 means no response was sent (the connection was refused or dropped). The log keeps the
most recent ``LOG_LIMIT`` entries; the counters count everything since the last reset.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import NamedTuple

LOG_LIMIT = 200_000


class RequestRecord(NamedTuple):
    method: str
    path: str
    status: int
    kind: str
    fault: str | None


class Stats:
    """Thread-safe counters; one instance per world."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_kind: Counter[str] = Counter()
        self._by_kind_status: Counter[tuple[str, int]] = Counter()
        self._faults: Counter[str] = Counter()
        self._log: deque[RequestRecord] = deque(maxlen=LOG_LIMIT)
        self._internal_errors: list[str] = []

    def record(self, method: str, path: str, status: int, kind: str, fault: str | None) -> None:
        with self._lock:
            self._by_kind[kind] += 1
            self._by_kind_status[(kind, status)] += 1
            if fault:
                self._faults[fault] += 1
            self._log.append(RequestRecord(method, path, status, kind, fault))

    def record_internal_error(self, text: str) -> None:
        """A bug in the sandbox itself (answered with 500); tests may assert none happened."""
        with self._lock:
            self._internal_errors.append(text)

    def count(self, kind: str | None = None, status: int | None = None) -> int:
        """Requests of ``kind`` (any when None) that ended with ``status`` (any when None)."""
        with self._lock:
            if kind is None and status is None:
                return sum(self._by_kind.values())
            if status is None:
                return self._by_kind[kind or ""]
            return sum(
                n for (k, s), n in self._by_kind_status.items()
                if s == status and (kind is None or k == kind)
            )

    def by_kind(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_kind)

    def by_kind_status(self) -> dict[tuple[str, int], int]:
        with self._lock:
            return dict(self._by_kind_status)

    def faults_applied(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)

    def log(self, kind: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._log if kind is None or r.kind == kind]

    def requests(self, kind: str | None = None) -> list[tuple[str, str, int]]:
        """The log as ``(method, path, status)`` triples, oldest first."""
        return [(r.method, r.path, r.status) for r in self.log(kind)]

    @property
    def internal_errors(self) -> list[str]:
        with self._lock:
            return list(self._internal_errors)

    def reset(self) -> None:
        with self._lock:
            self._by_kind.clear()
            self._by_kind_status.clear()
            self._faults.clear()
            self._log.clear()
            self._internal_errors.clear()

    def snapshot(self) -> dict[str, object]:
        """JSON-ready view for the control interface."""
        with self._lock:
            return {
                "total": sum(self._by_kind.values()),
                "by_kind": dict(self._by_kind),
                "by_kind_status": {f"{k}:{s}": n for (k, s), n in self._by_kind_status.items()},
                "faults": dict(self._faults),
                "internal_errors": len(self._internal_errors),
                "recent": [list(r) for r in list(self._log)[-50:]],
            }

"""Fault injection: what the sandbox does wrong, per request kind, on request.

Kinds: ``list``, ``detail``, ``followups``, ``masters``, ``create``, ``followup_add``,
``reject``, ``upload``; ``"*"`` is the fallback for a kind without its own spec or script.

For every request the server asks ``decide(kind, arg)`` once and gets a ``Decision``
(``arg`` is the complaint id in the path, when there is one). A standing step
(``fail(kind, step, target=...)``, "fail for good"; ``recover()`` or ``clear`` ends it)
answers every request of that kind — or only those about complaint ``target`` — so a
client's retries run out whatever their number. Otherwise a scripted step
(``script(kind, [...])``) is consumed first, one per request; only when the kind's script
is empty do the random rates of its ``FaultSpec`` apply. Latency and the wire-style
options (``ids_as_strings``, ``bools_as_ints``) come from the spec in all
cases. Random draws come from the injector's own ``random.Random``, seeded from the
world's seed, so a run is reproducible and fault draws never disturb the world's data.

When each fault acts (the server implements this order):

1. ``refuse``: the connection is closed before the body is read; nothing is committed.
2. ``latency_ms`` (+ ``latency_jitter_ms``): sleep in the handler thread.
3. injected status (5xx from ``error_rate``/``error_statuses``, 429 from ``rate_429``,
   garbage ``success_false``): answered instead of processing; nothing is committed.
4. the request is processed (writes commit; ``page_shift`` touches a complaint first).
5. ``slow_response_ms``: sleep after the commit (a client timeout here loses the answer).
6. ``drop_after_commit``: the connection is closed without an answer.
7. other garbage replaces a 2xx answer's body (writes stay committed).

Script step grammar: tokens joined by ``+``, e.g. ``"latency:200+drop_after_commit"``.
Tokens: ``ok``, a 5xx code, ``429``, ``429:<seconds>``, ``429:date``, ``refuse``,
``drop_after_commit`` (or ``drop``), ``page_shift``, a garbage name, ``latency:<ms>``,
``slow:<ms>``, ``ids_as_strings``, ``bools_as_ints``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

REQUEST_KINDS: tuple[str, ...] = (
    "list", "detail", "followups", "masters", "create", "followup_add", "reject", "upload",
)
WRITE_KINDS: frozenset[str] = frozenset({"create", "followup_add", "reject", "upload"})
GARBAGE_KINDS: tuple[str, ...] = (
    "html",                 # HTTP 200 with an HTML page
    "truncated",            # JSON cut in the middle
    "null",                 # the body is ``null``
    "wrong_schema",         # valid JSON envelope without ``results``
    "success_false",        # HTTP 200 with ``success: false`` (not committed)
    "wrong_content_type",   # valid JSON served as text/html
    "empty",                # a listing that suddenly shows nothing (total 0)
)
ERROR_STATUSES: tuple[int, ...] = (500, 502, 503, 504)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Fault rates for one request kind. Rates are probabilities in [0, 1]."""

    latency_ms: int = 0
    latency_jitter_ms: int = 0
    slow_response_ms: int = 0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = ERROR_STATUSES
    rate_429: float = 0.0
    retry_after_s: int = 1
    retry_after_format: str = "seconds"  # "seconds" | "http_date"
    drop_after_commit: float = 0.0
    refuse: float = 0.0
    garbage: Mapping[str, float] = field(default_factory=dict)
    page_shift: float = 0.0
    ids_as_strings: float = 0.0
    bools_as_ints: float = 0.0
    # A gateway's rate limit: beyond this many requests (of every kind together) within
    # any 60 s of real time, answer 429 with the Retry-After that frees a place. 0 = off.
    limit_per_minute: int = 0

    def __post_init__(self) -> None:
        garbage: Any = self.garbage
        if isinstance(garbage, str):  # garbage="html" means always that garbage
            garbage = {garbage: 1.0}
        elif isinstance(garbage, (list, tuple)):
            garbage = {g: 1.0 / len(garbage) for g in garbage}
        garbage = {str(k): float(v) for k, v in dict(garbage).items()}
        unknown = set(garbage) - set(GARBAGE_KINDS)
        if unknown:
            raise ValueError(f"unknown garbage kinds: {sorted(unknown)}")
        object.__setattr__(self, "garbage", garbage)
        object.__setattr__(self, "error_statuses", tuple(int(s) for s in self.error_statuses))
        for name in ("error_rate", "rate_429", "drop_after_commit", "refuse", "page_shift",
                     "ids_as_strings", "bools_as_ints"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
            object.__setattr__(self, name, value)
        if sum(garbage.values()) > 1.0 + 1e-9:
            raise ValueError("garbage probabilities add up to more than 1")
        if self.retry_after_format not in ("seconds", "http_date"):
            raise ValueError("retry_after_format must be 'seconds' or 'http_date'")
        if min(self.latency_ms, self.latency_jitter_ms, self.slow_response_ms) < 0:
            raise ValueError("latencies must not be negative")
        if not self.error_statuses:
            raise ValueError("error_statuses must not be empty")
        if self.limit_per_minute < 0:
            raise ValueError("limit_per_minute must not be negative")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["garbage"] = dict(self.garbage)
        data["error_statuses"] = list(self.error_statuses)
        return data


@dataclass(slots=True)
class Decision:
    """What to do with one request; the default is a clean answer."""

    latency_s: float = 0.0
    slow_response_s: float = 0.0
    refuse: bool = False
    status: int | None = None
    retry_after_s: int = 1
    retry_after_format: str = "seconds"
    garbage: str | None = None
    drop_after_commit: bool = False
    page_shift: bool = False
    ids_as_strings: bool = False
    bools_as_ints: bool = False
    scripted: bool = False

    @property
    def label(self) -> str | None:
        """The name under which stats count this fault (None for a clean answer)."""
        if self.refuse:
            return "refuse"
        if self.status is not None:
            return str(self.status)
        if self.drop_after_commit:
            return "drop_after_commit"
        if self.garbage:
            return self.garbage
        if self.page_shift:
            return "page_shift"
        return None


def _apply_token(decision: Decision, token: str, spec: FaultSpec) -> None:
    name, _, arg = token.partition(":")
    if name == "ok":
        return
    if name == "refuse":
        decision.refuse = True
    elif name in ("drop_after_commit", "drop"):
        decision.drop_after_commit = True
    elif name == "page_shift":
        decision.page_shift = True
    elif name == "ids_as_strings":
        decision.ids_as_strings = True
    elif name == "bools_as_ints":
        decision.bools_as_ints = True
    elif name in GARBAGE_KINDS:
        decision.garbage = name
    elif name == "latency":
        decision.latency_s = int(arg) / 1000
    elif name == "slow":
        decision.slow_response_s = int(arg) / 1000
    elif name == "429":
        decision.status = 429
        decision.retry_after_s = spec.retry_after_s
        decision.retry_after_format = spec.retry_after_format
        if arg == "date":
            decision.retry_after_format = "http_date"
        elif arg:
            decision.retry_after_s = int(arg)
    elif name.isdigit() and 500 <= int(name) <= 599 and not arg:
        decision.status = int(name)
    else:
        raise ValueError(f"unknown fault script token {token!r}")


def _check_step(step: str) -> None:
    probe = Decision()
    for token in step.split("+"):
        _apply_token(probe, token.strip(), FaultSpec())


class FaultInjector:
    """Per-kind fault specs and scripts. Thread-safe."""

    def __init__(self, seed: int) -> None:
        # A separate stream: enabling a fault must not change the world's generated data.
        self._rng = random.Random(seed * 1_000_003 + 7)
        self._lock = threading.Lock()
        self._specs: dict[str, FaultSpec] = {}
        self._scripts: dict[str, deque[str]] = {}
        # (kind, target or None) -> the step every matching request gets until cleared
        self._standing: dict[tuple[str, str | None], str] = {}
        self._let_through: deque[float] = deque()  # real times, for limit_per_minute

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind != "*" and kind not in REQUEST_KINDS:
            raise ValueError(f"unknown request kind {kind!r}; one of {REQUEST_KINDS} or '*'")

    def set(self, kind: str, **options: Any) -> FaultSpec:
        """Replace the spec of ``kind`` with ``FaultSpec(**options)``; returns it."""
        self._check_kind(kind)
        spec = FaultSpec(**options)
        with self._lock:
            self._specs[kind] = spec
        return spec

    def update(self, kind: str, **options: Any) -> FaultSpec:
        """Change some options of ``kind``'s spec, keeping the others."""
        self._check_kind(kind)
        with self._lock:
            spec = replace(self._specs.get(kind, FaultSpec()), **options)
            self._specs[kind] = spec
        return spec

    def script(self, kind: str, steps: Iterable[str]) -> None:
        """Append steps that the next requests of ``kind`` consume, one each."""
        self._check_kind(kind)
        items = [str(s).strip() for s in steps]
        for step in items:
            _check_step(step)
        with self._lock:
            self._scripts.setdefault(kind, deque()).extend(items)

    def fail(self, kind: str, step: str = "503", *, target: str | int | None = None) -> None:
        """Answer every later request of ``kind`` with ``step`` until cleared ("fail for
        good"); with ``target``, only the requests about that complaint id."""
        self._check_kind(kind)
        step = str(step).strip()
        _check_step(step)
        key = (kind, None if target is None else str(target))
        with self._lock:
            self._standing[key] = step

    def recover(self, kind: str | None = None) -> None:
        """End the standing failures (of one kind, or all); specs and scripts stay."""
        with self._lock:
            for key in [k for k in self._standing if kind is None or k[0] == kind]:
                del self._standing[key]

    def pending(self, kind: str) -> list[str]:
        """Script steps not yet consumed for ``kind``."""
        with self._lock:
            return list(self._scripts.get(kind, ()))

    def clear(self, kind: str | None = None) -> None:
        """Remove specs and scripts: of one kind, or all when ``kind`` is None."""
        with self._lock:
            if kind is None:
                self._specs.clear()
                self._scripts.clear()
                self._standing.clear()
            else:
                self._specs.pop(kind, None)
                self._scripts.pop(kind, None)
                for key in [k for k in self._standing if k[0] == kind]:
                    del self._standing[key]

    def spec(self, kind: str) -> FaultSpec | None:
        with self._lock:
            return self._specs.get(kind, self._specs.get("*"))

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "specs": {k: s.to_json() for k, s in self._specs.items()},
                "scripts": {k: list(v) for k, v in self._scripts.items() if v},
                "standing": [
                    {"kind": k, "target": t, "step": s} for (k, t), s in self._standing.items()
                ],
            }

    def decide(self, kind: str, arg: str | None = None) -> Decision:
        with self._lock:
            spec = self._specs.get(kind) or self._specs.get("*")
            step = self._standing.get((kind, arg)) if arg is not None else None
            if step is None:
                step = self._standing.get((kind, None))
            if step is None:
                script = self._scripts.get(kind)
                if not script:
                    script = self._scripts.get("*")
                step = script.popleft() if script else None
            if spec is None and step is None:
                return Decision()
            spec = spec or FaultSpec()
            decision = Decision()
            rng = self._rng
            if spec.latency_ms or spec.latency_jitter_ms:
                jitter = rng.uniform(0, spec.latency_jitter_ms) if spec.latency_jitter_ms else 0
                decision.latency_s = (spec.latency_ms + jitter) / 1000
            decision.slow_response_s = spec.slow_response_ms / 1000
            decision.ids_as_strings = _draw(rng, spec.ids_as_strings)
            decision.bools_as_ints = _draw(rng, spec.bools_as_ints)
            if step is not None:
                decision.scripted = True
                for token in step.split("+"):
                    _apply_token(decision, token.strip(), spec)
                return decision
            limited = self._over_limit(spec.limit_per_minute)
            if limited is not None:
                decision.status = 429
                decision.retry_after_s = limited
                decision.retry_after_format = "seconds"
            elif _draw(rng, spec.refuse):
                decision.refuse = True
            elif _draw(rng, spec.error_rate):
                decision.status = rng.choice(spec.error_statuses)
            elif _draw(rng, spec.rate_429):
                decision.status = 429
                decision.retry_after_s = spec.retry_after_s
                decision.retry_after_format = spec.retry_after_format
            else:
                decision.garbage = _pick_garbage(rng, spec.garbage)
                decision.drop_after_commit = _draw(rng, spec.drop_after_commit)
                decision.page_shift = _draw(rng, spec.page_shift)
            return decision


    def _over_limit(self, limit: int) -> int | None:
        """Seconds until a place is free when the last 60 s hold ``limit`` requests already;
        None (and the request is counted) otherwise. Called under the lock."""
        if limit <= 0:
            return None
        now = time.monotonic()
        window = self._let_through
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= limit:
            return max(1, math.ceil(window[0] + 60.0 - now))
        window.append(now)
        return None


def _draw(rng: random.Random, probability: float) -> bool:
    if probability <= 0.0:
        return False
    if probability >= 1.0:
        return True
    return rng.random() < probability


def _pick_garbage(rng: random.Random, garbage: Mapping[str, float]) -> str | None:
    if not garbage:
        return None
    roll = rng.random()
    for name, probability in garbage.items():
        if roll < probability:
            return name
        roll -= probability
    return None

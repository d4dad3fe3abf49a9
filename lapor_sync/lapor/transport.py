"""One attempt of a request: what a transport returns, how its failures are named, and
the counters every attempt feeds.

:class:`~lapor_sync.lapor.client.LaporClient` keeps the bookkeeping of an attempt in one
method (``_attempt``: count it, time it, report it to the request hook, read the answer's
``Date`` and ``Retry-After``) and hands the exchange itself to one overridable method,
``_exchange``, which returns an :class:`Answer`. Over HTTP that is ``requests`` under the
total deadline; :class:`~lapor_sync.sandbox.memory_remote.MemoryRemote` replaces it with
the sandbox's API layer in-process. So retries, counters and error classes exist once,
whatever carries the request.

A transport reports failure in one of two ways: a ``requests.RequestException`` (the
connection failed or was lost: :func:`transport_error` decides whether a write may have
arrived), or :class:`AttemptFailed` carrying the ``RemoteError`` it already decided on
(an unreadable answer, a request cut off by the deadline or by a stop) and the outcome
label the hook reports.

Invariant: no error built here quotes a body, a header value or a query value.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import urljoin

import requests
from urllib3.exceptions import NewConnectionError

from lapor_sync.errors import (
    AmbiguousWriteError,
    FatalRemoteError,
    RemoteError,
    RetryableRemoteError,
    StoppingError,
)
from lapor_sync.lapor import envelope as answers
from lapor_sync.lapor.auth import TOKEN_ENDPOINT, HeaderNames, OAuth2Options
from lapor_sync.lapor.body import UnreadableBody, read_body
from lapor_sync.lapor.deadline import watchdog
from lapor_sync.lapor.pacing import RateBudget, RequestSlots
from lapor_sync.lapor.profiles import DEFAULT_PROFILE, Profile

__all__ = [
    "Answer",
    "AttemptFailed",
    "ClientOptions",
    "Files",
    "HttpAttempts",
    "RequestHook",
    "RequestStats",
    "cut_off",
    "http_date",
    "is_connect_failure",
    "transport_error",
]

Files = Sequence[tuple[str, tuple[str | None, Any] | tuple[str | None, Any, str]]]
"""Multipart parts as ``requests`` takes them: (field, (filename or None, content[, type]))."""

RequestHook = Callable[[str, str, float], None]
"""Called after every HTTP attempt with (endpoint, outcome, seconds); outcome is a status
code as text or an error class name. Feeds metrics."""


@dataclass(frozen=True)
class ClientOptions:
    """Everything a client needs. ``api_key`` and ``token`` are secrets (repr hides them).

    With ``oauth2`` set, the gateway credential is an access token fetched with those
    client credentials and ``api_key`` is unused.
    """

    base_url: str
    api_key: str = field(repr=False)
    token: str = field(repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retry_attempts: int = 5
    retry_initial_wait: float = 1.0
    retry_max_wait: float = 30.0
    retry_after_cap: float = 300.0
    concurrency: int = 4
    request_deadline: float = 120.0
    max_requests_per_minute: float | None = None
    ca_bundle: str | None = None
    user_agent: str = "lapor-sync"
    header_names: HeaderNames = field(default_factory=HeaderNames)
    oauth2: OAuth2Options | None = None
    profile: Profile = DEFAULT_PROFILE
    max_answer_bytes: int = 16 * 1024 * 1024  # decoded; a larger answer is a bad answer


class Answer(NamedTuple):
    """What the server sent back: status, the decoded body, and two headers as text."""

    status: int
    body: bytes
    retry_after: str | None = None
    date: str | None = None


class AttemptFailed(Exception):
    """A transport's failure it has already classified: raise ``error``; the request
    hook reports ``outcome``."""

    def __init__(self, error: RemoteError, outcome: str) -> None:
        super().__init__(outcome)
        self.error = error
        self.outcome = outcome


class RequestStats:
    """Thread-safe counters of attempts, by endpoint, and of retried reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_endpoint: dict[str, int] = {}
        self.retries = 0

    def count(self, endpoint: str) -> None:
        with self._lock:
            self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1

    def retried(self) -> None:
        with self._lock:
            self.retries += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_endpoint.values())


def cut_off(method: str, endpoint: str, stopped: bool, deadline: float) -> RemoteError:
    """The error for a request the watchdog ended (``deadline`` s passed, or stopping)."""
    if stopped and method == "GET":
        return StoppingError(endpoint)
    if stopped:
        return AmbiguousWriteError(
            "abandoned mid-request: lapor-sync is stopping", endpoint=endpoint
        )
    message = f"no complete answer within {deadline:g} s (http.request_deadline)"
    if method == "GET":
        return RetryableRemoteError(message, endpoint=endpoint)
    return AmbiguousWriteError(message, endpoint=endpoint)


def transport_error(method: str, endpoint: str, exc: requests.RequestException) -> RemoteError:
    """A connection problem as the sync must treat it: a read is retried; a write is
    retried only when it surely never left this machine, and is ambiguous otherwise."""
    kind = type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        # A certificate problem is not transient: retrying cannot fix trust.
        return FatalRemoteError(
            "TLS certificate not trusted; set http.ca_bundle to the right CA", endpoint=endpoint
        )
    never_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or (
        isinstance(exc, requests.exceptions.ConnectionError) and is_connect_failure(exc)
    )
    if method == "GET" or never_sent:
        return RetryableRemoteError(f"connection problem ({kind})", endpoint=endpoint)
    return AmbiguousWriteError(f"answer lost ({kind})", endpoint=endpoint)


def is_connect_failure(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP connection was never made, so no request bytes left this machine."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectionRefusedError):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
            continue
        current = (
            current.__cause__
            or current.__context__
            or (
                current.args[0]
                if current.args and isinstance(current.args[0], BaseException)
                else None
            )
        )
    return False


@functools.lru_cache(maxsize=64)
def http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware datetime; None when absent or unreadable.

    Remembered for the last few values: a server's answers within one second share their
    ``Date``, and parsing it was a few per cent of a read's own time."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


# The same few endpoints are asked again and again (the list, a complaint's detail):
# urljoin's parsing of both halves was more of a read's time than the pacing.
_joined = functools.lru_cache(maxsize=1024)(urljoin)


class HttpAttempts:
    """The attempt half of :class:`~lapor_sync.lapor.client.LaporClient`: one request's
    pacing, bookkeeping and transport. The client sets these attributes in its
    ``__init__``; :meth:`_exchange` and :meth:`_token_exchange` are the only methods a
    transport replaces (MemoryRemote does)."""

    _options: ClientOptions
    _base: str  # base_url with one trailing slash
    _session: requests.Session
    _verify: str
    _stop: threading.Event | None
    _slots: RequestSlots | None
    _on_request: RequestHook | None
    _clock: Callable[[], datetime]
    _answered: threading.local
    stats: RequestStats
    budget: RateBudget

    def _post_token_form(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        """The token request (lapor/auth.py), counted and reported like any attempt."""
        started = time.perf_counter()
        self.stats.count(TOKEN_ENDPOINT)
        outcome = "error"
        try:
            status, content = self._token_exchange(url, form, headers)
            outcome = str(status)
            return status, content
        except requests.RequestException as exc:
            outcome = type(exc).__name__
            raise
        except UnreadableBody as exc:
            outcome = type(exc).__name__
            raise RetryableRemoteError(
                f"token endpoint: {exc.reason}", endpoint=TOKEN_ENDPOINT
            ) from None
        finally:
            if self._on_request is not None:
                self._on_request(TOKEN_ENDPOINT, outcome, time.perf_counter() - started)

    def _token_exchange(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        """The token request's transport: one form POST over HTTP (MemoryRemote replaces it)."""
        with watchdog.guard(self._options.request_deadline, self._stop):
            response = self._session.post(
                url,
                data=dict(form),
                headers=dict(headers),
                timeout=(self._options.connect_timeout, self._options.read_timeout),
                allow_redirects=False,
                verify=self._verify,
                stream=True,  # read_body: never past the size cap
            )
            return response.status_code, read_body(response, self._options.max_answer_bytes)

    def _send_once(
        self,
        method: str,
        endpoint: str,
        path: str,
        headers: Mapping[str, str],
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: dict[str, Any] | None = None,
        files: Files | None = None,
    ) -> tuple[int, bytes, float | None]:
        url = _joined(self._base, path)
        if self._stop is not None and self._stop.is_set():
            raise StoppingError(endpoint)
        self.budget.take(endpoint)
        with self._slots.slot(endpoint) if self._slots else contextlib.nullcontext():
            status, body, retry_after = self._attempt(
                method, endpoint, url, headers, params, json_body, files
            )
        if retry_after is not None and status in (429, 503):
            # Every thread of this account waits it out, not only this one (up to the cap:
            # a longer demand ends the run instead, see _wait).
            self.budget.hold(min(retry_after, self._options.retry_after_cap))
        return status, body, retry_after

    def _attempt(
        self,
        method: str,
        endpoint: str,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, str | int] | None,
        json_body: dict[str, Any] | None,
        files: Files | None = None,
    ) -> tuple[int, bytes, float | None]:
        """One attempt, whatever carries it: counted, timed and reported to the request
        hook once; the answer's ``Date`` remembered for this thread and its
        ``Retry-After`` read. The exchange itself is :meth:`_exchange`."""
        started = time.perf_counter()
        self.stats.count(endpoint)
        outcome = "error"
        try:
            answer = self._exchange(method, endpoint, url, headers, params, json_body, files)
            outcome = str(answer.status)
        except AttemptFailed as failed:
            outcome = failed.outcome
            raise failed.error from None
        except requests.RequestException as exc:
            outcome = type(exc).__name__
            raise transport_error(method, endpoint, exc) from None
        finally:
            if self._on_request is not None:
                self._on_request(endpoint, outcome, time.perf_counter() - started)
        self._answered.at = http_date(answer.date)
        retry_after = answers.parse_retry_after(answer.retry_after, self._clock())
        return answer.status, answer.body, retry_after

    def _exchange(
        self,
        method: str,
        endpoint: str,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, str | int] | None,
        json_body: dict[str, Any] | None,
        files: Files | None,
    ) -> Answer:
        """The transport: one HTTP exchange under the total deadline (lapor/transport.py
        says how a transport fails). MemoryRemote replaces this method, nothing else."""
        failed: AttemptFailed | None = None
        with watchdog.guard(self._options.request_deadline, self._stop) as guard:
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    files=files,
                    headers=dict(headers),
                    timeout=(self._options.connect_timeout, self._options.read_timeout),
                    allow_redirects=False,
                    verify=self._verify,
                    stream=True,  # read_body reads and decodes it, never past the cap
                )
                body = read_body(response, self._options.max_answer_bytes)
            except (requests.RequestException, OSError, UnreadableBody) as exc:
                if not guard.tripped and not isinstance(exc, UnreadableBody):
                    raise
                if guard.tripped:
                    error = cut_off(
                        method, endpoint, guard.stopped, self._options.request_deadline
                    )
                    failed = AttemptFailed(error, "stopped" if guard.stopped else "deadline")
                else:
                    # A bad answer: a read tries again; a write may have been applied.
                    assert isinstance(exc, UnreadableBody)
                    bad = RetryableRemoteError if method == "GET" else AmbiguousWriteError
                    failure = bad(exc.reason, endpoint=endpoint, status=response.status_code)
                    failed = AttemptFailed(failure, type(exc).__name__)
        if failed is not None:
            # Raised outside the handler: the failed read's frames (and the part of the
            # body they hold) are not kept alive by the exception's context.
            raise failed
        return Answer(
            response.status_code,
            body,
            response.headers.get("Retry-After"),
            response.headers.get("Date"),
        )

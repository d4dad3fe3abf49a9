"""HTTP client for one SP4N-LAPOR! instansi account.

Behaviour, by kind of request:

- **Reads** (list, detail, follow-ups, masters) are retried with tenacity on connection
  errors, timeouts, 5xx, 429 and garbage bodies, with exponential backoff and jitter.
  ``Retry-After`` (seconds or HTTP date) is honoured up to ``retry_after_cap``; a longer
  demand stops the retries at once so a run is never held for hours.
- **Writes** (create, follow-up, forward) are never resent blindly. An error that proves
  nothing reached the server (connection refused, connect timeout, 429) raises
  ``RetryableRemoteError``; any failure after the request may have been received (read
  timeout, reset, 5xx, an unreadable answer) raises ``AmbiguousWriteError`` and the caller
  must look the record up before sending again.
- Every attempt has a **total deadline** (``request_deadline``), whatever the server
  trickles: the watchdog of :mod:`lapor_sync.lapor.deadline` cuts it off. Past it, a
  read is retried like a timeout and a write is ambiguous. When the ``stop`` event is
  set, requests in flight are abandoned at once (``StoppingError``, never retried) and
  the waits between retries end early.
- Every attempt is paced (:mod:`lapor_sync.lapor.pacing`): it waits for the account's
  rate budget (``max_requests_per_minute``) and for a free slot of the process-wide
  limit on requests in flight. A ``Retry-After`` on a 429/503 holds every thread of the
  account, not just the one that received it.
- 401 raises ``AuthError``: at once with a static key; with OAuth2 (lapor/auth.py) after
  one more attempt with a renewed token, since an access token may be revoked early.
  403 ``ForbiddenError`` (this record is not ours to touch); 404 ``NotFoundError``;
  422 ``RejectedError``.

Layout: this module holds the requests the sync makes (reads, writes, the probe's GET)
and the retry policy; :mod:`lapor_sync.lapor.transport` holds one attempt — pacing, its
bookkeeping (counters, request hook, ``Date``, ``Retry-After``) and the HTTP exchange,
``_exchange``, the one method an in-process remote (sandbox/memory_remote.py) replaces.

Invariants: credentials travel only in headers (never URLs); the session never has TLS
verification off; no exception or log line carries a credential, a body, or a query value
(``search`` may hold personal text).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import requests
import requests.utils
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
)

from lapor_sync.domain import (
    Category,
    ComplaintDetail,
    ComplaintSummary,
    CreatedComplaint,
    FollowUp,
    Forward,
    Institution,
    ListQuery,
    NewComplaint,
    NewFollowUp,
    NewUpload,
    Page,
    ReplyTemplate,
    Uploaded,
)
from lapor_sync.errors import (
    AmbiguousWriteError,
    InvalidRecordError,
    RetryableRemoteError,
    StoppingError,
)
from lapor_sync.lapor import envelope as answers
from lapor_sync.lapor import files as file_wire
from lapor_sync.lapor import wire
from lapor_sync.lapor.auth import (
    Credentials,
    HeaderNames,
    OAuth2Credentials,
    StaticCredentials,
)
from lapor_sync.lapor.body import ACCEPT_ENCODING
from lapor_sync.lapor.deadline import guarded_adapter
from lapor_sync.lapor.pacing import RateBudget, RequestSlots
from lapor_sync.lapor.profiles import Encoding, Profile, form_fields, has_next
from lapor_sync.lapor.transport import (
    ClientOptions,
    Files,
    HttpAttempts,
    RequestHook,
    RequestStats,
)
from lapor_sync.timeutil import WIB

# ClientOptions, Files and RequestHook live in lapor/transport.py; importable from here too.
__all__ = ["ClientOptions", "Files", "InvalidItem", "LaporClient", "ListPage", "RequestHook"]

_R = TypeVar("_R")


@dataclass(frozen=True)
class InvalidItem:
    """A list item that could not be read: kept for quarantine, never dropped."""

    remote_id: str | None
    reason: str
    raw: Any = field(repr=False)


@dataclass(frozen=True)
class ListPage:
    """A page of the complaint list; unreadable items are set aside in ``invalid``."""

    page: Page[ComplaintSummary]
    invalid: tuple[InvalidItem, ...]
    # The server's clock when it answered (its HTTP Date), if it sent a readable one.
    server_time: datetime | None = None


class LaporClient(HttpAttempts):
    """One account's connection to SP4N-LAPOR!. Safe to share between threads."""

    def __init__(
        self,
        options: ClientOptions,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(WIB),
        on_request: RequestHook | None = None,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
        slots: RequestSlots | None = None,
    ) -> None:
        self._options = options
        self._base = options.base_url.rstrip("/") + "/"
        self._stop = stop
        # A stop ends a wait between retries early (the next attempt then refuses to start).
        self._sleep: Callable[[float], object] = sleep or (
            stop.wait if stop is not None else time.sleep
        )
        self._slots = slots
        self._answered = threading.local()  # the Date of this thread's last answer
        self.budget = RateBudget(
            options.max_requests_per_minute, monotonic=monotonic, sleep=self._sleep, stop=stop
        )
        self._clock = clock
        self._on_request = on_request
        self._rng = rng or random.Random()
        self.stats = RequestStats()
        self._session = session or requests.Session()
        # One connection per worker thread, plus one for the thread that lists pages
        # while the workers download (the pull is pipelined).
        adapter = guarded_adapter(max(options.concurrency, 1) + 1)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        # Credentials go with each request (lapor/auth.py), never into session defaults,
        # so a renewed token replaces the old one for every worker at once.
        self._session.headers.update(
            {
                "Accept": "application/json",
                "User-Agent": options.user_agent,
                # Only what lapor/body.py decodes itself, within http.max_answer_mib.
                "Accept-Encoding": ACCEPT_ENCODING,
            }
        )
        # Passed with every request too, and always as a file: requests replaces
        # ``verify=True`` (and a session-level setting) by REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE from the environment, so the trust store would not be the one the
        # configuration names. Unset http.ca_bundle means requests' own default (certifi).
        # There is no way to turn verification off.
        self._verify: str = options.ca_bundle or requests.utils.DEFAULT_CA_BUNDLE_PATH
        self._session.verify = self._verify
        self.credentials: Credentials = self._make_credentials(options, monotonic)

    def _make_credentials(
        self, options: ClientOptions, monotonic: Callable[[], float]
    ) -> Credentials:
        if options.oauth2 is None:
            return StaticCredentials(options.header_names, options.api_key, options.token)
        return OAuth2Credentials(
            options.header_names,
            options.oauth2,
            options.token,
            self._post_token_form,
            monotonic=monotonic,
        )

    def __repr__(self) -> str:
        return f"LaporClient(base_url={self._options.base_url!r})"

    def close(self) -> None:
        self._session.close()

    # --- reads ---------------------------------------------------------------------------

    def list_complaints(self, query: ListQuery) -> ListPage:
        params: dict[str, str | int] = {
            "updated_from": query.updated_from.astimezone(self._options.profile.zone).strftime(
                wire.WIRE_TIMESTAMP
            ),
            "page": query.page,
            "page_size": min(query.page_size, self._options.profile.max_page_size),
        }
        if query.search:
            params["search"] = query.search
        self._answered.at = None
        results = self._read("list", self._path("list"), params)
        server_time: datetime | None = self._answered.at
        items: list[ComplaintSummary] = []
        invalid: list[InvalidItem] = []
        raw_items = results.get("data")
        if not isinstance(raw_items, list):
            raise RetryableRemoteError("list answer has no 'data' list", endpoint="list")
        for raw in raw_items:
            try:
                items.append(wire.summary_from_wire(raw, self._options.profile.zone))
            except InvalidRecordError as exc:
                invalid.append(InvalidItem(exc.record_id, exc.reason, raw))
        total = results.get("total")
        page = Page(
            items=tuple(items),
            page=query.page,
            page_size=query.page_size,
            total=int(total) if isinstance(total, int | str) and str(total).isdigit() else None,
            has_next=has_next(
                self._options.profile.paging,
                {"page_size": params["page_size"], **results},
                query.page,
                len(raw_items),
            ),
        )
        return ListPage(page=page, invalid=tuple(invalid), server_time=server_time)

    def complaint_detail(self, complaint_id: str) -> ComplaintDetail:
        results = self._read("detail", self._path("detail", complaint_id), {})
        return wire.detail_from_wire(results, self._options.profile.zone)

    def followups(self, complaint_id: str) -> list[FollowUp]:
        """Every readable follow-up of a complaint, all pages, oldest first."""
        return self.followups_checked(complaint_id)[0]

    def followups_checked(self, complaint_id: str) -> tuple[list[FollowUp], list[InvalidItem]]:
        """Every follow-up of a complaint, with unreadable ones set aside for quarantine."""
        good: list[FollowUp] = []
        bad: list[InvalidItem] = []
        for raw in self._paged("followups", self._path("followups", complaint_id)):
            try:
                good.append(wire.followup_from_wire(raw, self._options.profile.zone))
            except InvalidRecordError as exc:
                bad.append(InvalidItem(exc.record_id, exc.reason, raw))
        return good, bad

    def institutions(self) -> list[Institution]:
        results = self._read("institutions", self._path("institutions"), {"page_size": 1000})
        return [wire.institution_from_wire(x) for x in results.get("data") or []]

    def templates(self) -> list[ReplyTemplate]:
        results = self._read("templates", self._path("templates"), {"page_size": 1000})
        return [wire.template_from_wire(x) for x in results.get("data") or []]

    def categories(self) -> list[Category]:
        results = self._read("categories", self._path("categories"), {})
        return [wire.category_from_wire(x) for x in results.get("data") or []]

    def _paged(self, endpoint: str, path: str) -> Iterator[Any]:
        page = 1
        while True:
            results = self._read(endpoint, path, {"page": page})
            data = results.get("data")
            if not isinstance(data, list):
                raise RetryableRemoteError(
                    f"{endpoint} answer has no 'data' list", endpoint=endpoint
                )
            yield from data
            if not has_next(self._options.profile.paging, results, page, len(data)):
                return
            page += 1

    def _read(self, endpoint: str, path: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableRemoteError)
            & retry_if_not_exception_type(StoppingError),
            stop=stop_after_attempt(self._options.retry_attempts),
            wait=self._wait,
            sleep=self._pause,
            before_sleep=lambda _state: self.stats.retried(),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                status, body, retry_after = self._send("GET", endpoint, path, params=params)
                envelope = answers.decode_envelope(endpoint, status, body, retry_after)
                return answers.results_of(endpoint, status, envelope)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _pause(self, seconds: float) -> None:
        self._sleep(seconds)

    def _wait(self, state: RetryCallState) -> float:
        """Backoff with full jitter; a server's Retry-After wins, unless it exceeds the cap."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableRemoteError) and error.retry_after is not None:
            if error.retry_after > self._options.retry_after_cap:
                raise error  # stop now: the next scheduled cycle resumes
            self.budget.waiting_out()
            return error.retry_after
        ceiling = min(
            self._options.retry_max_wait,
            self._options.retry_initial_wait * (2 ** (state.attempt_number - 1)),
        )
        return self._rng.uniform(ceiling / 2, ceiling)

    # --- writes --------------------------------------------------------------------------

    def create_complaint(self, new: NewComplaint) -> CreatedComplaint:
        envelope = self._write(
            "create",
            self._path("create"),
            wire.complaint_to_wire(new),
            self._options.profile.create_encoding,
        )
        complaint_id, tracking_id = self._ambiguous_if_unreadable(
            "create", lambda: wire.created_complaint_id(envelope)
        )
        return CreatedComplaint(remote_id=complaint_id, tracking_id=tracking_id)

    def add_followup(self, new: NewFollowUp) -> str:
        envelope = self._write(
            "followup_add",
            self._path("followup_add"),
            wire.followup_to_wire(new),
            self._options.profile.followup_encoding,
        )
        return self._ambiguous_if_unreadable(
            "followup_add", lambda: wire.created_followup_id(envelope)
        )

    def upload_attachment(self, upload: NewUpload) -> Uploaded:
        """Upload one file (multipart, before the create that refers to it)."""
        envelope = self._write(
            "upload", self._path("upload"), {}, "multipart", file_wire.upload_parts(upload)
        )
        return self._ambiguous_if_unreadable(
            "upload", lambda: file_wire.uploaded_from_wire(envelope)
        )

    def forward(self, forward: Forward) -> None:
        path = self._path("forward", forward.complaint_id)
        self._write("forward", path, wire.forward_to_wire(forward))

    @staticmethod
    def _ambiguous_if_unreadable(endpoint: str, read: Callable[[], _R]) -> _R:
        try:
            return read()
        except RetryableRemoteError:
            raise AmbiguousWriteError(
                "write accepted but its answer carries no id", endpoint=endpoint
            ) from None

    # --- the probe (lapor/probe.py) -------------------------------------------------------

    @property
    def profile(self) -> Profile:
        return self._options.profile

    @property
    def header_names(self) -> HeaderNames:
        return self._options.header_names

    def probe_get(
        self, endpoint: str, record_id: str | None, params: Mapping[str, str | int]
    ) -> tuple[int, bytes]:
        """One GET of a read endpoint, unretried, with the answer as it came (for the probe)."""
        path = self._path(endpoint, record_id)
        status, body, _ = self._send("GET", endpoint, path, params=params)
        return status, body

    def _path(self, endpoint: str, record_id: str | None = None) -> str:
        return self._options.profile.path(endpoint, record_id)

    def _write(
        self,
        endpoint: str,
        path: str,
        body: dict[str, Any],
        encoding: Encoding = "json",
        parts: Files = (),
    ) -> dict[str, Any]:
        """Send once. Raises RetryableRemoteError only when the server surely did not apply it.

        ``parts`` (file parts) go with a multipart body after its fields."""
        if encoding == "multipart":
            status, raw, retry_after = self._send(
                "POST", endpoint, path, files=[*form_fields(body), *parts]
            )
        else:
            status, raw, retry_after = self._send("POST", endpoint, path, json_body=body)
        try:
            return answers.decode_envelope(endpoint, status, raw, retry_after)
        except RetryableRemoteError as exc:
            if status == 429 or "success:false" in str(exc):
                raise  # the server said no: nothing was applied
            raise AmbiguousWriteError(
                f"answer unusable after write ({exc})", endpoint=endpoint, status=status
            ) from None

    # --- transport -----------------------------------------------------------------------

    def _send(  # the attempts themselves: lapor/transport.py (HttpAttempts)
        self,
        method: str,
        endpoint: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: dict[str, Any] | None = None,
        files: Files | None = None,
    ) -> tuple[int, bytes, float | None]:
        """One request; after a 401, ONE more with renewed credentials (lapor/auth.py)."""
        presented = self.credentials.current()
        status, body, retry_after = self._send_once(
            method, endpoint, path, presented.headers, params=params, json_body=json_body,
            files=files,
        )
        if status == 401 and self.credentials.after_unauthorized(presented):
            # A 401 is the gateway's refusal before the service saw the request, so
            # sending a write again here cannot apply it twice.
            presented = self.credentials.current()
            # The same body again, form and files included (``files`` holds bytes, not
            # streams, so it can be sent twice).
            status, body, retry_after = self._send_once(
                method, endpoint, path, presented.headers, params=params, json_body=json_body,
                files=files,
            )
        return status, body, retry_after

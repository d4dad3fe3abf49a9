"""``MemoryRemote``: the sandbox's world as a remote, in-process, without HTTP.

It is a :class:`~lapor_sync.lapor.client.LaporClient` whose transport is replaced: where
the client would send one HTTP exchange, :meth:`MemoryRemote._exchange` (the one
overridable transport method, lapor/transport.py) hands the same request (method, path,
query, body bytes, credential headers) to the sandbox's own API layer (``api.route`` /
``api.handle``, ``render.restyle``) and returns the status, body bytes and headers the
server would have sent; ``_token_exchange`` does the same for the OAuth2 token request.
Everything else is the client's own code — pacing, the attempt's bookkeeping (counters,
request hook, ``Date``, ``Retry-After``), retries, the envelope's errors, the wire
conversion, ambiguous writes, quarantine of unreadable items — so the two cannot drift;
tests/test_remote_contract.py holds both (and ``responses`` fixtures) to one contract.

Fault injection (sandbox/faults.py) is obeyed in the server's order: ``refuse`` and
``drop_after_commit`` lose the answer as a closed connection does (a read is retried, a
write is ambiguous; a dropped write stays committed), an injected status or garbage
replaces the answer, and ``world.stats`` records every request exactly as the server
does. Latencies are not slept: nothing here waits for real.

Invariants: no socket is opened (the session is never used); a bug in the sandbox is
recorded in ``world.stats.internal_errors`` and answered 500, as the server does.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from requests.utils import requote_uri

from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.lapor.transport import Answer, Files
from lapor_sync.sandbox import api, render
from lapor_sync.sandbox.faults import Decision
from lapor_sync.sandbox.server import GATEWAY_502, MAINTENANCE_PAGE, encode_json
from lapor_sync.sandbox.world import SandboxWorld

__all__ = ["MemoryRemote"]

_Answer = tuple[int, bytes]


class _Lost(Exception):
    """The connection closed without an answer (refused, or dropped after the commit)."""


class MemoryRemote(LaporClient):
    """One account of ``world``, reached in-process. ``options.base_url`` only supplies
    the API prefix (its path); credentials and the profile work as over HTTP."""

    def __init__(self, world: SandboxWorld, options: ClientOptions, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.world = world
        self._prefix = urlsplit(options.base_url).path.rstrip("/")

    def __repr__(self) -> str:
        return "MemoryRemote()"

    # --- the transport, replaced ----------------------------------------------------------

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
        if method == "GET" and json_body is None and files is None:
            path, query, raw, header_map = read_request(url, params, headers)
        else:
            path, query, raw, header_map = _prepared_request(
                method, url, params, json_body, files, headers
            )
        try:
            status, answer, retry_after = self._serve(method, path, query, raw, header_map)
        except _Lost:
            # As a closed connection reaches the client (LaporClient._attempt decides).
            raise requests.exceptions.ConnectionError("connection lost") from None
        return Answer(status, answer, retry_after, _date_header(self.world.now()))

    def _token_exchange(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        status, payload = self.world.gateway.token(
            {k.lower(): v for k, v in headers.items()}, urlencode(dict(form)).encode()
        )
        return status, encode_json(payload)

    # --- the server's answer, without the server ------------------------------------------

    def _serve(
        self, method: str, path: str, params: dict[str, str], body: bytes,
        headers: dict[str, str],
    ) -> tuple[int, bytes, str | None]:
        """(status, body, Retry-After header) as SandboxServer would answer; raises
        ``_Lost`` where the server closes the connection without an answer."""
        world, prefix = self.world, self._prefix
        if prefix and path != prefix and not path.startswith(prefix + "/"):
            route = api.Route("unknown", None, 404)
        else:
            route = api.route(method, path[len(prefix):])
            if not world.contract.accepts_path(route.kind, path[len(prefix):]):
                route = api.Route("unknown", None, 404)
        d = world.faults.decide(route.kind, route.arg) if route.kind != "unknown" \
            else Decision()
        status, answer, retry_after = 0, b"", None
        try:
            status, answer, retry_after = self._answer(route, params, body, headers, d)
        except _Lost:
            raise
        except Exception:
            world.stats.record_internal_error(traceback.format_exc())
            status, answer = 500, encode_json(
                {"success": False, "message": "Sandbox error", "errors": {}})
        finally:
            world.stats.record(method, path, status, route.kind, d.label)
        return status, answer, retry_after

    def _answer(
        self, route: api.Route, params: dict[str, str], body: bytes,
        headers: dict[str, str], d: Decision,
    ) -> tuple[int, bytes, str | None]:
        world = self.world
        if d.refuse:
            raise _Lost
        if d.status is not None:
            return _injected(d)
        if route.kind == "unknown":
            message = "Not Found" if route.status == 404 else "Method Not Allowed"
            return route.status, _json({"success": False, "message": message, "errors": {}}), \
                None
        account = world.gateway.authenticate(headers)
        if account is None:
            return 401, _json({"success": False, "message": "Unauthenticated.",
                               "errors": {"auth": ["API key atau token tidak valid."]}}), None
        if d.garbage == "success_false":  # an application failure: nothing committed
            return 200, _json({"success": False, "message": "Terjadi kesalahan pada server.",
                               "errors": {}}), None
        req = api.ApiRequest(
            route, params, body, account, f"http://127.0.0.1{self._prefix}", d.page_shift,
            headers.get("content-type", ""), world.contract,
        )
        resp = api.handle(world, req)
        if d.drop_after_commit:
            raise _Lost  # the write is committed; the answer is lost
        payload = render.restyle(resp.payload, ids_as_strings=d.ids_as_strings,
                                 bools_as_ints=d.bools_as_ints)
        if d.garbage and resp.status < 300:
            return _garbage(d.garbage, route.kind, api.ApiResponse(resp.status, payload))
        return resp.status, _json(payload), None


@functools.lru_cache(maxsize=64)
def _date_header(now: datetime) -> str:
    """The ``Date`` header the server sends at ``now`` (the world's clock stands still
    between steps, so the same few values recur)."""
    return format_datetime(now.astimezone(UTC), usegmt=True)


_Request = tuple[str, dict[str, str], bytes, dict[str, str]]  # path, query, body, headers


def read_request(
    url: str, params: Mapping[str, str | int] | None, headers: Mapping[str, str]
) -> _Request:
    """A GET without a body (the reads) as the server receives it from requests:
    the path as requests quotes it, the query as the server parses it back (``str`` of
    each value; a ``None`` value left out, as requests leaves it out), the headers given.

    Equal to :func:`_prepared_request` for such a request (tests/test_memory_remote.py
    holds the two together), without building a ``PreparedRequest``: that was about half
    of this remote's time per read, which the model test makes by the thousand."""
    split = urlsplit(requote_uri(url))
    query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    if params:
        query.update((str(k), str(v)) for k, v in params.items() if v is not None)
    return split.path, query, b"", {k.lower(): v for k, v in headers.items()}


def _prepared_request(
    method: str,
    url: str,
    params: Mapping[str, str | int] | None,
    json_body: dict[str, Any] | None,
    files: Files | None,
    headers: Mapping[str, str],
) -> _Request:
    """Any request, encoded by requests itself: the same query string and body bytes."""
    prepared = requests.Request(
        method, url, params=params, json=json_body, files=files, headers=dict(headers)
    ).prepare()
    split = urlsplit(prepared.url or "")
    query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    body = prepared.body or b""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return split.path, query, raw, {k.lower(): v for k, v in prepared.headers.items()}


def _json(payload: Any) -> bytes:
    return encode_json(payload)


def _injected(d: Decision) -> tuple[int, bytes, str | None]:
    status = d.status or 500
    if status == 502:
        return 502, GATEWAY_502.encode(), None
    if status == 429:
        retry = (formatdate(time.time() + d.retry_after_s, usegmt=True)
                 if d.retry_after_format == "http_date" else str(d.retry_after_s))
        return 429, _json({"success": False, "message": "Too Many Requests",
                           "errors": {"rate_limit": ["Terlalu banyak permintaan."]}}), retry
    return status, _json({"success": False, "message": HTTPStatus(status).phrase,
                          "errors": {}}), None


def _garbage(garbage: str, kind: str, resp: api.ApiResponse) -> tuple[int, bytes, str | None]:
    """The garbage answers of SandboxServer._garbage (the content type is not trusted by
    the client, so only status and bytes matter)."""
    if garbage == "html":
        return 200, MAINTENANCE_PAGE.encode(), None
    if garbage == "truncated":
        full = _json(resp.payload)
        return resp.status, full[: max(1, len(full) // 2)], None
    if garbage == "null":
        return resp.status, b"null", None
    if garbage == "wrong_schema":
        payload = dict(resp.payload)
        results = payload.pop("results", None)
        payload["data"] = results.get("data", results) if isinstance(results, dict) \
            else results
        return resp.status, _json(payload), None
    if garbage == "wrong_content_type":
        return resp.status, _json(resp.payload), None
    emptied = api.emptied(kind, resp)  # "empty"
    return emptied.status, _json(emptied.payload), None

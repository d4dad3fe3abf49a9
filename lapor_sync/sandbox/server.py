"""``SandboxServer``: the world served over HTTP/1.1 on a loopback address.

Paths under ``prefix`` (default ``/api``) speak docs/lapor-api.md; paths under ``/_sandbox``
are the control interface (``control.py``), never faulted or counted.

Invariants:

- binds to loopback addresses only (it has no authentication worth the name);
- each response (status line, headers, body) goes out in ONE ``sendall`` on a socket
  with Nagle disabled: two writes meet the client's delayed ACK and cost ~40 ms a
  request (docs/design.md, "A measured trap");
- every request to the API is recorded in ``world.stats`` exactly once;
- nothing is logged to stderr; a sandbox bug becomes a 500 and an entry in
  ``world.stats.internal_errors``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import socketserver
import struct
import threading
import time
import traceback
from datetime import UTC
from email.utils import format_datetime, formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from lapor_sync.sandbox import api, render
from lapor_sync.sandbox.control import handle as control_handle
from lapor_sync.sandbox.faults import Decision
from lapor_sync.sandbox.gateway import TOKEN_PATH
from lapor_sync.sandbox.world import SandboxWorld

MAX_BODY = 32 * 1024 * 1024
FILES_PATH = "/lampiran/"  # below the API prefix: uploaded files (sandbox/uploads.py)
GATEWAY_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html lang=\"id\"><head><meta charset=\"utf-8\">"
    "<title>SP4N-LAPOR!</title></head><body><h1>Mohon maaf</h1>"
    "<p>Layanan sedang dalam pemeliharaan. Silakan coba beberapa saat lagi.</p>"
    "</body></html>"
)
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=UTF-8"


def _loopback(host: str) -> tuple[str, socket.AddressFamily]:
    """The literal address to bind and its family; refuses anything but loopback."""
    literal = "127.0.0.1" if host == "localhost" else host
    try:
        address = ipaddress.ip_address(literal)
    except ValueError:
        raise ValueError(f"the sandbox binds to a loopback address only, not {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"the sandbox binds to a loopback address only, not {host!r}")
    return literal, socket.AF_INET6 if address.version == 6 else socket.AF_INET


def encode_json(payload: Any) -> bytes:
    try:
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates survive only as \u escapes
        return json.dumps(payload).encode("ascii")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily,
                 sandbox: SandboxServer) -> None:
        self.address_family = family
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup that can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.sandbox.world.stats.record_internal_error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "lapor-sync-sandbox"
    sys_version = ""
    _unrecorded: tuple[str, str, str | None] | None = None  # the API request being answered

    @property
    def sandbox(self) -> SandboxServer:
        return cast(_HTTPServer, self.server).sandbox

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.sandbox.idle_timeout)  # idle keep-alive ends here
        self.sandbox._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.sandbox._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        return

    # ---- transport ------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str,
              extra: dict[str, str] | None = None) -> None:
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            # The simulated server's own clock, the one its updated_at stamps come from
            # (a real server's Date and its stamps share one clock too).
            f"Date: {format_datetime(self.sandbox.world.now().astimezone(UTC), usegmt=True)}",
            "Server: lapor-sync-sandbox",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        lines.extend(f"{k}: {v}" for k, v in (extra or {}).items())
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._record(status)
        self.wfile.write(head + body)  # one write: see the module docstring

    def _send_json(self, status: int, payload: Any, content_type: str = JSON_TYPE) -> None:
        self._send(status, encode_json(payload), content_type)

    def _reset(self) -> None:
        """Close at once with RST, leaving any request body unread."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()  # the real close happens when rfile is closed
        except OSError:
            pass

    # ---- dispatch -------------------------------------------------------------------------

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        path = split.path
        try:
            if path == "/_sandbox" or path.startswith("/_sandbox/"):
                body = self._read_body()
                status, payload = control_handle(
                    self.sandbox.world, self.command, path[len("/_sandbox"):], params, body)
                self._send_json(status, payload)
            elif self.command == "GET" and path.startswith(self.sandbox.prefix + FILES_PATH):
                self._file(path[len(self.sandbox.prefix + FILES_PATH):])
            elif path == TOKEN_PATH and self.command == "POST":
                status, payload = self.sandbox.world.gateway.token(
                    self._header_map(), self._read_body())
                self._send_json(status, payload)
            else:
                self._api(path, params)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            self.sandbox.world.stats.record_internal_error(traceback.format_exc())
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send_json(500, {"success": False, "message": "Sandbox error",
                                      "errors": {}})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def _file(self, rest: str) -> None:
        """An uploaded file's bytes, as file storage serves them: no credentials needed
        (the URL is the secret), the stored media type (sandbox/uploads.py)."""
        number = rest.split("/", 1)[0]
        with self.sandbox.world.lock:
            upload = self.sandbox.world.uploads.by_id.get(int(number)) if number.isdigit() \
                else None
        if upload is None:
            self._send(404, b"", "text/plain")
            return
        self._send(200, upload.data, upload.media_type)

    def _api(self, path: str, params: dict[str, str]) -> None:
        sandbox = self.sandbox
        world, prefix = sandbox.world, sandbox.prefix
        if prefix and path != prefix and not path.startswith(prefix + "/"):
            route = api.Route("unknown", None, 404)
        else:
            route = api.route(self.command, path[len(prefix):])
            if not world.contract.accepts_path(route.kind, path[len(prefix):]):
                route = api.Route("unknown", None, 404)
        kind = route.kind
        decision = world.faults.decide(kind, route.arg) if kind != "unknown" else Decision()
        self._unrecorded = (path, kind, decision.label)
        self._answer(world, route, params, decision)
        self._record(0)  # no-op unless nothing was sent

    def _record(self, status: int) -> None:
        """Count the request once, BEFORE the client can see the outcome, so a test that
        asserts counts right after a response (or a dropped connection) never races."""
        if self._unrecorded is not None:
            path, kind, label = self._unrecorded
            self._unrecorded = None
            self.sandbox.world.stats.record(self.command, path, status, kind, label)

    def _answer(self, world: SandboxWorld, route: api.Route, params: dict[str, str],
                d: Decision) -> int:
        """Answer one API request; returns the status sent (0 when none was)."""
        if d.refuse:
            self._record(0)
            self._reset()
            return 0
        body = self._read_body()
        if d.latency_s:
            time.sleep(d.latency_s)
        if d.status is not None:
            return self._injected(d)
        if route.kind == "unknown":
            message = "Not Found" if route.status == 404 else "Method Not Allowed"
            self._send_json(route.status, {"success": False, "message": message, "errors": {}})
            return route.status
        account = world.gateway.authenticate(self._header_map())
        if account is None:
            self._send_json(401, {"success": False, "message": "Unauthenticated.",
                                  "errors": {"auth": ["API key atau token tidak valid."]}})
            return 401
        if d.garbage == "success_false":  # an application failure: nothing committed
            self._send_json(200, {"success": False, "message": "Terjadi kesalahan pada server.",
                                  "errors": {}})
            return 200
        req = api.ApiRequest(
            route, params, body, account, self._base_url(), d.page_shift,
            self.headers.get("Content-Type", ""), world.contract,
        )
        resp = api.handle(world, req)
        if d.slow_response_s:
            time.sleep(d.slow_response_s)
        if d.drop_after_commit:
            self._record(0)
            self.close_connection = True  # the write is committed; the answer is lost
            return 0
        payload = render.restyle(resp.payload, ids_as_strings=d.ids_as_strings,
                                 bools_as_ints=d.bools_as_ints)
        if d.garbage and resp.status < 300:
            return self._garbage(d.garbage, route.kind, api.ApiResponse(resp.status, payload))
        self._send_json(resp.status, payload)
        return resp.status

    def _header_map(self) -> dict[str, str]:
        """Request headers by lower-cased name (HTTP field names are case-insensitive)."""
        return {k.lower(): v for k, v in self.headers.items()}

    def _base_url(self) -> str:
        host = self.headers.get("Host") or f"{self.sandbox.host_for_url}:{self.sandbox.port}"
        return f"http://{host}{self.sandbox.prefix}"

    def _injected(self, d: Decision) -> int:
        status = d.status or 500
        if status == 502:
            self._send(502, GATEWAY_502.encode(), HTML_TYPE)
        elif status == 429:
            retry = (formatdate(time.time() + d.retry_after_s, usegmt=True)
                     if d.retry_after_format == "http_date" else str(d.retry_after_s))
            body = encode_json({"success": False, "message": "Too Many Requests",
                                "errors": {"rate_limit": ["Terlalu banyak permintaan."]}})
            self._send(429, body, JSON_TYPE, {"Retry-After": retry})
        else:
            self._send_json(status, {"success": False,
                                     "message": HTTPStatus(status).phrase, "errors": {}})
        return status

    def _garbage(self, garbage: str, kind: str, resp: api.ApiResponse) -> int:
        if garbage == "html":
            self._send(200, MAINTENANCE_PAGE.encode(), HTML_TYPE)
            return 200
        if garbage == "truncated":
            full = encode_json(resp.payload)
            self._send(resp.status, full[: max(1, len(full) // 2)], JSON_TYPE)
            return resp.status
        if garbage == "null":
            self._send(resp.status, b"null", JSON_TYPE)
            return resp.status
        if garbage == "wrong_schema":
            payload = dict(resp.payload)
            results = payload.pop("results", None)
            payload["data"] = results.get("data", results) if isinstance(results, dict) \
                else results
            self._send_json(resp.status, payload)
            return resp.status
        if garbage == "wrong_content_type":
            self._send_json(resp.status, resp.payload, HTML_TYPE)
            return resp.status
        emptied = api.emptied(kind, resp)  # "empty"
        self._send_json(emptied.status, emptied.payload)
        return emptied.status


class SandboxServer:
    """A world on ``http://<loopback>:<port>``; ``port=0`` picks a free port.

    Use as a context manager, or ``start()`` / ``stop()``. ``stop()`` also closes idle
    keep-alive connections, so a stopped server answers nothing more.
    """

    def __init__(
        self,
        world: SandboxWorld,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "/api",
        *,
        idle_timeout: float = 120.0,
    ) -> None:
        literal, family = _loopback(host)
        self.world = world
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.idle_timeout = idle_timeout
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._httpd = _HTTPServer((literal, port), family, self)
        self.host = literal
        self.port: int = self._httpd.server_address[1]

    @property
    def host_for_url(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def root_url(self) -> str:
        return f"http://{self.host_for_url}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:54321/api``."""
        return self.root_url + self.prefix

    @property
    def control_url(self) -> str:
        return self.root_url + "/_sandbox"

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"lapor-sandbox:{self.port}", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
        with self._conn_lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

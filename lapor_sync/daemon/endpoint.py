"""The daemon's small HTTP endpoint: a route table on a ``ThreadingHTTPServer``.

Routes are looked up by exact path first, then by the longest registered prefix, so a
later ``/report/`` (static files from a directory) is one line::

    server.routes.add_prefix("/report/", serve_directory(settings.report.out_dir))

A handler takes a :class:`Request` and returns a :class:`Response`. Only GET and HEAD are
answered (405 otherwise); an unknown path is 404; a handler that raises is a 500 with a
fixed body (the error is logged by class name only).

Every route is loopback-only unless it was added with ``remote=True``: a client whose
address is not a loopback address gets 404 for it, exactly as for a path that does not
exist. Only health and metrics are added that way, so ``daemon.allow_remote_health``
(which binds beyond loopback) never lets the liaison report or anything added later out.

Invariants: each response (status line, headers, body) goes out in ONE write on a socket
with Nagle disabled (docs/design.md, "A measured trap"); the server binds where the
configuration says (loopback unless ``daemon.allow_remote_health``); request lines are
never logged (they could carry anything a client sent).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from lapor_sync.errors import EndpointError
from lapor_sync.logs import get_logger

__all__ = [
    "EndpointError",
    "EndpointServer",
    "Request",
    "Response",
    "RouteTable",
    "is_loopback_peer",
]

log = get_logger("lapor_sync.daemon")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        return cls(status, text.encode("utf-8"))


Handler = Callable[[Request], Response]


def is_loopback_peer(host: str) -> bool:
    """True when a client's address is loopback (127.0.0.0/8, ::1, ::ffff:127.x.x.x)."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class RouteTable:
    """Exact paths, then the longest matching prefix; loopback-only unless ``remote``."""

    def __init__(self) -> None:
        self._exact: dict[str, Handler] = {}
        self._prefixes: dict[str, Handler] = {}
        self._remote: set[str] = set()
        self._lock = threading.Lock()

    def add(self, path: str, handler: Handler, *, remote: bool = False) -> None:
        """``remote=True``: answered to any client, not only to loopback ones."""
        with self._lock:
            self._exact[path] = handler
            self._mark(path, remote)

    def add_prefix(self, prefix: str, handler: Handler, *, remote: bool = False) -> None:
        with self._lock:
            self._prefixes[prefix] = handler
            self._mark(prefix + "*", remote)

    def _mark(self, key: str, remote: bool) -> None:
        if remote:
            self._remote.add(key)
        else:
            self._remote.discard(key)

    def find(self, path: str, *, local: bool = True) -> Handler | None:
        """The handler for ``path``; for a non-loopback client (``local=False``) only a
        route added with ``remote=True``."""
        with self._lock:
            if path in self._exact:
                return self._exact[path] if local or path in self._remote else None
            for prefix in sorted(self._prefixes, key=len, reverse=True):
                if path.startswith(prefix):
                    allowed = local or prefix + "*" in self._remote
                    return self._prefixes[prefix] if allowed else None
        return None

    @property
    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._exact) + sorted(p + "*" for p in self._prefixes)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, routes: RouteTable):
        self.address_family = family
        self.routes = routes
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup that can stall for seconds.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "lapor-sync"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection is closed after this

    def log_message(self, format: str, *args: Any) -> None:
        return  # request lines are not logged

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        if self.command not in ("GET", "HEAD"):
            self._send(Response.text(405, "method not allowed\n"), allow="GET, HEAD")
            return
        routes = cast(_Server, self.server).routes
        local = is_loopback_peer(str(self.client_address[0]))
        handler = routes.find(split.path, local=local)
        if handler is None:
            self._send(Response.text(404, "not found\n"))
            return
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            response = handler(Request(self.command, split.path, query))
        except Exception as exc:
            log.error("endpoint_error", path=split.path, error_type=type(exc).__name__)
            response = Response.text(500, "internal error\n")
        self._send(response)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def _send(self, response: Response, **extra: str) -> None:
        body = b"" if self.command == "HEAD" else response.body
        lines = [
            f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}",
            f"Date: {self.date_time_string()}",
            f"Server: {self.server_version}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            "Cache-Control: no-store",
        ]
        lines += [f"{k}: {v}" for k, v in response.headers.items()]
        lines += [f"{k.capitalize()}: {v}" for k, v in extra.items()]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)  # one write: see the module docstring


def _family(host: str) -> tuple[str, socket.AddressFamily]:
    literal = "127.0.0.1" if host == "localhost" else host
    try:
        infos = socket.getaddrinfo(literal, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise EndpointError(f"cannot resolve daemon.health_host {host!r}") from None
    family = infos[0][0]
    return literal, socket.AddressFamily(family)


class EndpointServer:
    """``start()`` binds and serves in a daemon thread; ``stop()`` ends it."""

    def __init__(self, host: str, port: int, routes: RouteTable | None = None) -> None:
        self.routes = routes or RouteTable()
        literal, family = _family(host)
        try:
            self._httpd = _Server((literal, port), family, self.routes)
        except OSError as exc:
            raise EndpointError(
                f"cannot listen on {host}:{port} for health and metrics "
                f"({exc.strerror or type(exc).__name__}); is another program using the port? "
                "Change daemon.health_port."
            ) from None
        self.host = literal
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> EndpointServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"lapor-sync-endpoint:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with contextlib.suppress(OSError):
            self._httpd.server_close()

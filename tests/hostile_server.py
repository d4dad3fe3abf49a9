"""A loopback HTTP server answering like a hostile SP4N-LAPOR!: under ``/api/<route>/``
every path answers as ``<route>`` says (``deep``, ``bomb``, ``endless``, ``declared``,
encodings ``gzip``/``deflate``/``rawdeflate``/``twomembers``, ``corrupt``, ``brotli``;
anything else is a small valid answer). ``server.sent`` counts the body bytes it got out."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENVELOPE = json.dumps(
    {"success": True, "results": {"data": [], "total": 0, "next_page_url": None}}
).encode()
BOMB_INFLATED = 300 * 1024 * 1024  # 300 MB of JSON whitespace: still a valid answer


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """``ENVELOPE`` followed by 300 MB of spaces, gzip-compressed (about 300 KB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1024 * 1024)
    parts = [packer.compress(ENVELOPE)]
    parts += [packer.compress(block) for _ in range(BOMB_INFLATED // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    sent: int = 0

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client hanging up on a hostile answer is the expected outcome


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _body(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.server.sent += len(data)  # type: ignore[attr-defined]
        except OSError:
            self.close_connection = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_GET(self) -> None:
        route = self.path.split("?")[0].split("/")[2]  # /api/<route>/...
        if route == "deep":  # JSON nested 200,000 levels deep
            body = b'{"success": true, "results": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
            self._head(200, {"Content-Length": str(len(body))})
            self._body(body)
        elif route == "bomb":
            body = gzip_bomb()
            self._head(200, {"Content-Encoding": "gzip", "Content-Length": str(len(body))})
            self._body(body)
        elif route == "endless":  # chunked, no length: the client must count
            self._head(200, {"Transfer-Encoding": "chunked"})
            chunk = b" " * 65536
            frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
            self._body(b"%x\r\n%s\r\n" % (len(ENVELOPE), ENVELOPE))
            for _ in range(500 * 1024 * 1024 // len(chunk)):
                self._body(frame)
                if self.close_connection:
                    return
            self._body(b"0\r\n\r\n")
        elif route == "declared":  # announces 500 MB
            self._head(200, {"Content-Length": str(500 * 1024 * 1024)})
            self._body(ENVELOPE)
            self.close_connection = True
        elif route in ("gzip", "deflate", "rawdeflate", "twomembers"):
            body = {
                "gzip": gzip.compress(ENVELOPE),
                "deflate": zlib.compress(ENVELOPE),
                "rawdeflate": zlib.compress(ENVELOPE, wbits=-15),
                "twomembers": gzip.compress(ENVELOPE[:10]) + gzip.compress(ENVELOPE[10:]),
            }[route]
            encoding = "gzip" if route in ("gzip", "twomembers") else "deflate"
            self._head(200, {"Content-Encoding": encoding, "Content-Length": str(len(body))})
            self._body(body)
        elif route == "corrupt":
            body = gzip.compress(ENVELOPE)[:-12] + b"garbage!"
            self._head(200, {"Content-Encoding": "gzip", "Content-Length": str(len(body))})
            self._body(body)
        elif route == "brotli":
            self._head(200, {"Content-Encoding": "br", "Content-Length": str(len(ENVELOPE))})
            self._body(ENVELOPE)
        else:
            self._head(200, {"Content-Length": str(len(ENVELOPE))})
            self._body(ENVELOPE)


@contextmanager
def serve() -> Iterator[HostileServer]:
    httpd = HostileServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()

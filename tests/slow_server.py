"""A loopback HTTP server that answers as slowly as a hostile network (no tests here).

``mode``:
- ``"body"``: sends the status line and headers at once, then the body one byte every
  ``gap`` seconds (each gap below any sensible read timeout);
- ``"headers"``: trickles the status line itself, one byte every ``gap`` seconds;
- ``"silent"``: reads the request and never answers (until the client goes away).

Every connection is served in its own thread; ``stop()`` closes them all.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

BODY = b'{"success": true, "message": "OK", "results": {"data": [], "total": 0}}'


class SlowServer:
    def __init__(self, mode: str = "body", gap: float = 0.05) -> None:
        self.mode = mode
        self.gap = gap
        self.requests = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/api"
        self._closing = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> SlowServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._closing.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                received += chunk
            with self._lock:
                self.requests += 1
            if self.mode == "silent":
                self._closing.wait()
                return
            # Far more bytes than the client will ever wait for.
            body = BODY + b" " * 100_000
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            )
            trickled = head + body if self.mode == "headers" else body
            if self.mode == "body":
                conn.sendall(head)
            for byte in trickled:
                if self._closing.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.gap)

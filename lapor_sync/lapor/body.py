"""Reading an answer's body: streamed, decoded here, and never more than a cap.

``requests`` would read a whole body into memory and inflate ``gzip``/``deflate`` without
limit: a 300 KB gzip answer that inflates to 300 MB, or a 500 MB plain one, would take the
process with it. :func:`read_body` reads the raw (still encoded) stream in small chunks and
inflates it itself with ``zlib``'s ``max_length``, so it never holds more than ``limit``
decoded bytes (plus one chunk) and stops reading the socket as soon as the answer is known
to be too large. A ``Content-Length`` above the cap is refused before anything is read.

Invariants: memory is bounded by the cap whatever the server sends; an answer that is too
large, uses an encoding we did not ask for, or is corrupt raises :class:`UnreadableBody`
(the caller treats it as a bad answer: a read is retried, a write is ambiguous); a
connection whose body was not read to the end is closed, never reused; no error carries
the body or a header's value.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

__all__ = ["ACCEPT_ENCODING", "CHUNK_SIZE", "UnreadableBody", "read_body"]

ACCEPT_ENCODING = "gzip, deflate"
"""What the client asks for: exactly the encodings :func:`read_body` can decode."""

CHUNK_SIZE = 64 * 1024
"""Raw bytes read from the socket per step."""

INFLATE_STEP = 256 * 1024
"""Decoded bytes asked of zlib per call: one big call would build (and regrow) a buffer
as large as the whole remaining cap."""


class UnreadableBody(Exception):
    """The body cannot be read within the limits (too large, unknown or corrupt encoding)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Sink:
    """The decoded body so far; refuses to grow past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0

    def room(self) -> int:
        """How many more bytes to ask a decoder for: one past the cap, to detect overflow."""
        return self.limit - self.size + 1

    def add(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise UnreadableBody(
                f"answer larger than {self.limit} bytes (decoded); see http.max_answer_mib"
            )
        self.parts.append(data)


class _Decoder(Protocol):
    def feed(self, data: bytes, sink: _Sink) -> None: ...

    def finish(self, sink: _Sink) -> None: ...


class _Identity:
    def feed(self, data: bytes, sink: _Sink) -> None:
        sink.add(data)

    def finish(self, sink: _Sink) -> None:
        return


class _Inflate:
    """gzip (possibly several members) or deflate (zlib-wrapped or raw), bounded output."""

    def __init__(self, gzip: bool) -> None:
        self._wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        self._gzip = gzip
        self._started = False
        self._zlib = zlib.decompressobj(self._wbits)

    def feed(self, data: bytes, sink: _Sink) -> None:
        try:
            self._feed(data, sink)
        except zlib.error:
            raise UnreadableBody("answer's compressed body is corrupt") from None

    def _feed(self, data: bytes, sink: _Sink) -> None:
        if not self._started and data:
            self._started = True
            if not self._gzip:
                # "deflate" is zlib-wrapped by the standard and raw on some servers.
                probe = zlib.decompressobj(self._wbits)
                try:
                    probe.decompress(data[:2])
                except zlib.error:
                    self._wbits = -zlib.MAX_WBITS
                self._zlib = zlib.decompressobj(self._wbits)
        while data:
            if self._zlib.eof:
                # A new gzip member after the last one ended (RFC 1952 allows several).
                if not self._gzip:
                    raise UnreadableBody("answer has data after its compressed body")
                self._zlib = zlib.decompressobj(self._wbits)
            sink.add(self._zlib.decompress(data, min(sink.room(), INFLATE_STEP)))
            data = self._zlib.unconsumed_tail or (self._zlib.unused_data if self._zlib.eof else b"")

    def finish(self, sink: _Sink) -> None:
        if not self._started:
            return  # an empty body
        try:
            sink.add(self._zlib.flush())
        except zlib.error:
            raise UnreadableBody("answer's compressed body is corrupt") from None
        if not self._zlib.eof:
            raise UnreadableBody("answer's compressed body is truncated")


def _decoder_for(content_encoding: str | None) -> _Decoder:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip"):
        return _Inflate(gzip=True)
    if encoding == "deflate":
        return _Inflate(gzip=False)
    raise UnreadableBody("answer uses a Content-Encoding that was not asked for")


def read_body(response: requests.Response, limit: int) -> bytes:
    """The decoded body of a ``stream=True`` response, at most ``limit`` bytes.

    Raises :class:`UnreadableBody` (see the module docstring), or the ``requests``
    exception a broken transfer means (as ``response.content`` would).
    """
    try:
        decoder = _decoder_for(response.headers.get("Content-Encoding"))
        declared = (response.headers.get("Content-Length") or "").strip()
        if isinstance(decoder, _Identity) and declared.isdigit() and int(declared) > limit:
            raise UnreadableBody(
                f"answer larger than {limit} bytes (declared); see http.max_answer_mib"
            )
        sink = _Sink(limit)
        for chunk in response.raw.stream(CHUNK_SIZE, decode_content=False):
            decoder.feed(chunk, sink)
        decoder.finish(sink)
    except BaseException as exc:
        response.close()  # the rest of the body is unread: the connection cannot be reused
        if isinstance(exc, ProtocolError):
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        if isinstance(exc, ReadTimeoutError):
            raise requests.exceptions.ReadTimeout(exc) from None
        if isinstance(exc, SSLError):
            raise requests.exceptions.SSLError(exc) from None
        if isinstance(exc, DecodeError):
            raise requests.exceptions.ContentDecodingError(exc) from None
        raise
    response.raw.release_conn()  # read to the end: back to the pool for the next request
    return b"".join(sink.parts)

"""A real SMTP server on loopback (aiosmtpd) for the notification tests, with faults.

``mode`` decides how the server answers the end of a message:
``ok`` (250), ``451`` (try later), ``550`` (refused), ``drop`` (the message is received,
then the connection is cut before any answer), ``hang`` (received, never answered).
``refuse_rcpt`` lists addresses that get ``550`` at RCPT. Every accepted or dropped
message is kept in ``received`` (envelope and raw bytes) so tests read what arrived.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import Envelope, Session

# aiosmtpd logs every command (addresses included) at INFO: not wanted in test output.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, subtype: str) -> str:
        body = self.message().get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        content = body.get_content()
        assert isinstance(content, str)
        return content


@dataclass
class Handler:
    mode: str = "ok"
    refuse_rcpt: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    data_seen: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: SMTPProtocol, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse_rcpt:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPProtocol, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if self.mode == "451":
            return "451 4.3.0 try again later"
        if self.mode == "550":
            return "550 5.7.1 message refused"
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        self.data_seen.set()
        if self.mode == "drop":
            assert server.transport is not None
            server.transport.abort()
            return "250 OK"
        if self.mode == "hang":
            await asyncio.sleep(3600)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """``with SmtpServer() as smtp:`` — listening on ``smtp.port`` until the block ends."""

    def __init__(
        self, port: int | None = None, *, controller: dict[str, Any] | None = None, **handler: Any
    ) -> None:
        """``controller``: aiosmtpd ``Controller`` options (TLS contexts, authenticator)."""
        self.port = port or free_port()
        self.handler = Handler(**handler)
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            ready_timeout=10,
            **(controller or {}),
        )

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

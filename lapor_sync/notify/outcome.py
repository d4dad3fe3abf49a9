"""What one attempt to deliver a notification came to.

``sent``: the server took it. ``retry``: it certainly did not arrive and may later
(connection refused, 4xx). ``dead``: it never will as it is (5xx, bad address, TLS or
login refused). ``unknown``: it may have arrived (the answer to the final ``.`` or to the
webhook's POST was lost) — recorded, not resent blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from lapor_sync.store.notify_outbox import NotificationRow

State = Literal["sent", "retry", "dead", "unknown"]


@dataclass(frozen=True)
class Outcome:
    state: State
    reason: str | None = None

    @classmethod
    def sent(cls, note: str | None = None) -> Outcome:
        return cls("sent", note)

    @classmethod
    def retry(cls, reason: str) -> Outcome:
        return cls("retry", reason)

    @classmethod
    def dead(cls, reason: str) -> Outcome:
        return cls("dead", reason)

    @classmethod
    def unknown(cls, reason: str) -> Outcome:
        return cls("unknown", reason)


class Channel(Protocol):
    """Delivers one stored message; never raises for the server's behaviour."""

    def send(self, row: NotificationRow) -> Outcome: ...

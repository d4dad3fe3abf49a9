"""Fair hand-out of work over accounts: round robin, a cap per account.

Push sends many tickets of many accounts on one pool of workers. Handed out in ticket order,
one slow account (a congested gateway, a long ``Retry-After``) would occupy every worker
and hold up the other accounts; handed out here, an account has at most ``per_account``
items out at once and the accounts take turns, so the other workers keep serving the
others. The global limit on requests in flight and each account's rate budget stay where
they are, around every HTTP attempt (``lapor/pacing.py``).

Invariants: an item is handed out once; at most ``per_account`` items of one account are
out (taken, not yet ``done``) at any moment; ``take`` returns None only when every queue is
empty, so no item is left behind; ``drop`` removes an account's remaining items (its
credentials were refused) without touching what is out.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable
from typing import Generic, TypeVar

__all__ = ["FairQueue"]

T = TypeVar("T")


class FairQueue(Generic[T]):
    def __init__(self, items: Iterable[tuple[str, T]], per_account: int) -> None:
        self._per_account = max(1, per_account)
        self._queues: dict[str, deque[T]] = {}
        for account, item in items:
            self._queues.setdefault(account, deque()).append(item)
        self._turns = deque(self._queues)  # whose turn it is, in first-seen order
        self._out: Counter[str] = Counter()
        self._changed = threading.Condition()

    @property
    def accounts(self) -> int:
        return len(self._queues)

    def take(self) -> tuple[str, T] | None:
        """The next item of the first account in turn that may have one more out; waits
        while every account with items left is at its cap; None when all is handed out."""
        with self._changed:
            while True:
                for _ in range(len(self._turns)):
                    account = self._turns[0]
                    self._turns.rotate(-1)
                    queue = self._queues[account]
                    if queue and self._out[account] < self._per_account:
                        self._out[account] += 1
                        return account, queue.popleft()
                if not any(self._queues.values()):
                    return None
                self._changed.wait()

    def done(self, account: str) -> None:
        with self._changed:
            self._out[account] -= 1
            self._changed.notify_all()

    def drop(self, account: str) -> int:
        """Hand out nothing more of ``account``; how many items were left."""
        with self._changed:
            left = len(self._queues[account])
            self._queues[account].clear()
            self._changed.notify_all()
            return left

"""What makes a quiet pull cost one request: the settled cursor second and the safety probe.

Used by :class:`lapor_sync.sync.pull.Puller`, one :class:`QuietCycle` per run.

**Settling.** Stamps have one-second resolution, so the complaints at the cursor's second
T are read again by every pull (one may have changed twice within T). That stops once T
cannot change any more: the server's clock (its HTTP ``Date``, the clock its stamps come
from) has passed T by a whole look-back — the same margin the pull already allows for
late commits. A complete run that read every complaint at its final cursor after a
listing answered at D records D (``cursors.settled_at``); a later run whose cursor has
``settled_at >= T + 1 s + lookback`` lists only ``updated_from = T + 1 s`` and re-reads
nothing. The mark is cleared whenever the cursor moves (``mirror.advance_cursor``).

**The safety probe** (a full count against a mass drop) is made, at most once per run,
before the run's first write or download, when the first listing reports fewer
complaints than are held for its window, and otherwise once every ``PROBE_EVERY``
(local clock), so an emptied account is still reported while nothing changes.

Invariants: nothing a run writes comes before its probe; a run without a readable
``Date`` never settles anything (it behaves as the plain look-back pull).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from lapor_sync.domain import ListQuery
from lapor_sync.errors import DataSafetyError
from lapor_sync.lapor.client import ListPage
from lapor_sync.lapor.remote import Remote
from lapor_sync.store import mirror
from lapor_sync.store.db import transaction
from lapor_sync.timeutil import WIB, Clock

__all__ = ["EPOCH", "PROBE_EVERY", "SECOND", "QuietCycle"]

EPOCH = datetime(2000, 1, 1, tzinfo=WIB)
SECOND = timedelta(seconds=1)
PROBE_EVERY = timedelta(hours=1)
PROBE_FROM = 20  # below this many complaints held, a drop is no mass damage


class QuietCycle:
    """One run's start position, resample point, probe and settling mark."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        client: Remote,
        account: str,
        *,
        lookback: timedelta,
        mass_drop_ratio: float,
        clock: Clock,
    ) -> None:
        self._db = db
        self._client = client
        self._account = account
        self._lookback = lookback
        self._ratio = mass_drop_ratio
        self._clock = clock
        self._probe_due = False
        self._held_in_window = 0
        self.first_server_time: datetime | None = None
        self.resample_from: datetime | None = None

    def begin(self, cursor: datetime | None, since: datetime | None) -> datetime:
        """Where this run lists from; sets ``resample_from``; may make the hourly probe."""
        settled = self._settled(cursor)
        self.resample_from = None if settled else cursor
        start = max(cursor, since) if cursor and since else (cursor or since or EPOCH)
        if cursor is not None and settled and start == cursor:
            start = cursor + SECOND  # the cursor's second cannot change any more
        elif cursor is not None:
            start -= self._lookback
        self._probe_due = mirror.complaint_count(self._db, self._account) >= PROBE_FROM
        if self._probe_due:
            self._held_in_window = mirror.complaint_count_since(self._db, self._account, start)
            last = mirror.probed_at(self._db, self._account)
            if last is None or not timedelta(0) <= self._clock() - last < PROBE_EVERY:
                self.probe()
        return start

    def listed(self, listing: ListPage) -> None:
        """Every listing of the run passes here; the first one is looked at."""
        if self.first_server_time is not None:
            return
        self.first_server_time = listing.server_time or EPOCH
        total = listing.page.total
        if total is not None and total < self._held_in_window * self._ratio:
            self.probe()  # fewer than we hold for this window

    def probe(self) -> None:
        """Stop when the remote suddenly shows far fewer complaints than we hold.

        Made at most once per run; call it before anything of the run is written."""
        if not self._probe_due:
            return
        self._probe_due = False
        held = mirror.complaint_count(self._db, self._account)
        probe = self._client.list_complaints(ListQuery(updated_from=EPOCH, page=1, page_size=1))
        total = probe.page.total
        if total is None or total >= held * self._ratio:
            with transaction(self._db):
                mirror.note_probe(self._db, self._account, self._clock())
            return
        raise DataSafetyError(
            f"account {self._account}: SP4N-LAPOR! now lists {total} complaints "
            f"but {held} were pulled before; nothing was changed locally. Check the "
            "account's token and the instansi's status on SP4N-LAPOR!, then run again."
        )

    def finished(self, *, unsure: bool, high: datetime | None) -> None:
        """After a complete run (inside its final transaction): mark the cursor settled
        when this run read every complaint at it, i.e. re-read its second or moved past."""
        cursor = mirror.get_cursor(self._db, self._account)
        served = self.first_server_time
        if unsure or cursor is None or served is None or served == EPOCH:
            return  # no server clock, or a tie group still unsure: re-read next time
        if self.resample_from is None and (high is None or high <= cursor - SECOND):
            return  # a settled run that moved nothing: the mark stands as it is
        mirror.mark_cursor_settled(self._db, self._account, cursor, served)

    def _settled(self, cursor: datetime | None) -> bool:
        if cursor is None:
            return False
        at = mirror.cursor_settled_at(self._db, self._account)
        return at is not None and at >= cursor + SECOND + self._lookback

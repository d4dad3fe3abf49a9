"""Clean up after a process that was stopped mid-run (crash, kill -9, power loss).

Every entry point that takes the database lock and then runs jobs calls
:func:`recover` first — the daemon (``run``), ``sync --once``, and the one-shot ``pull``
and ``push`` commands — so an interrupted run is closed the same way whichever command
comes next: its ``runs`` row is marked failed, an interrupted pull leaves its
``pull_gaps`` trace (``store/journal.py``), and outbox rows left in ``sending`` become
``unknown`` (looked up before any resend).

Invariant: only ever called under the database lock, so no run still marked ``running``
belongs to a live process.
"""

from __future__ import annotations

from lapor_sync.app import App
from lapor_sync.logs import get_logger
from lapor_sync.store.db import transaction
from lapor_sync.store.journal import close_interrupted_runs
from lapor_sync.sync.push import recover_interrupted

__all__ = ["INTERRUPTED", "recover"]

log = get_logger("lapor_sync.daemon")

INTERRUPTED = "interrupted: lapor-sync stopped before this run finished (crash, kill, power loss)"


def recover(app: App) -> int:
    """Close interrupted runs and recover interrupted sends; the outbox rows recovered."""
    with transaction(app.db):
        closed = close_interrupted_runs(app.db, app.clock(), INTERRUPTED)
    if closed:
        log.warning("runs_interrupted", count=closed, reason="left running by a stopped process")
    recovered = recover_interrupted(app.db)
    if recovered:
        log.warning(
            "outbox_recovered",
            count=recovered,
            reason="rows left in 'sending' by a crash are marked 'unknown' and looked up "
            "before any resend",
        )
    else:
        log.info("outbox_recovered", count=0)
    return recovered

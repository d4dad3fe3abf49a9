"""The disposition gate: a follow-up or forward goes only while its complaint is with the
posting instansi or one of its units, as the mirror last saw it.

The contract is silent on whether SP4N-LAPOR! takes a follow-up on a complaint that is
not (or no longer) dispositioned to the posting account; the strict reading — which the
sandbox's strict mode takes — refuses it (HTTP 403), and a forward is refused so in both
readings. A ticket the Call Center has just created is not verified, so not dispositioned
to anyone yet: its follow-ups and forwards must wait for the admin's disposition, which
only a pull can see. Sending them anyway would spend attempts on refusals and, with
the retry budget spent, leave the rows dead although nothing is wrong with them.

Rules (``push.py`` applies them before claiming a row, under the push lock):

- a row waits, in state ``pending`` with a reason starting ``waiting for disposition``,
  while the mirrored complaint's ``disposition_id`` is not the account's institution or
  an ``[[opd]]`` configured under that account (or the complaint is not mirrored yet).
  A waiting row spends no attempt and writes no journal event; it is looked at again on
  every push pass, so it goes on the first pass after a pull saw the disposition;
- a 403 to a follow-up or forward (the server disagrees with the mirror: the complaint
  moved since the last pull) puts the row back to waiting, with backoff; that attempt
  counts, so a server that keeps refusing what the mirror says is ours ends in ``dead``
  after ``push.max_attempts``, not in an endless loop;
- rows that must be looked up first (``unknown`` or once ambiguous) are not held: the
  look-up reads, which the account may do while the complaint is visible to it.

Invariant: reads only (through ``store/mirror.py``); the row's reason is written by the
caller through ``store/outbox.py``.
"""

from __future__ import annotations

from collections.abc import Set

import sqlite_utils

from lapor_sync.store.mirror import holder_of

__all__ = ["GATED_KINDS", "WAITING", "hold_reason", "refused_reason"]

WAITING = "waiting for disposition"
GATED_KINDS = frozenset({"post_followup", "forward"})


def hold_reason(
    db: sqlite_utils.Database, account: str, complaint_id: str, scope: Set[str]
) -> str | None:
    """Why the row must wait, or None when the mirror shows the complaint in ``scope``."""
    holder = holder_of(db, account, complaint_id)
    if holder.disposition_id is not None and holder.disposition_id in scope:
        return None
    if not holder.mirrored:
        where = "not pulled yet"
    elif holder.disposition_id is None:
        where = "SP4N-LAPOR! shows it with nobody yet: not verified"
    else:
        where = f"SP4N-LAPOR! shows it with institution {holder.disposition_id}"
        if holder.disposition_name:
            where += f" ({holder.disposition_name})"
    return (
        f"{WAITING}: complaint {complaint_id} is not with this instansi or one of its "
        f"[[opd]] units ({where}); it is sent once a pull sees it dispositioned here"
    )


def refused_reason(complaint_id: str, error: str) -> str:
    return (
        f"{WAITING}: SP4N-LAPOR! refused it ({error}): complaint {complaint_id} is no longer "
        "with this instansi or its units; tried again after the next pull shows it here"
    )

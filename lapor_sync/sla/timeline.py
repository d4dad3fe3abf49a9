"""Per ticket, the facts its deadlines are computed from, read from the store in bulk.

A ``Timeline`` is what happened to one local ticket, from both sides:

- ``submitted_at``: SP4N-LAPOR!'s ``created_at`` for a linked ticket whose complaint is in
  the mirror, else the local ``received_at``;
- ``verified_at``: the earlier of the first status-history entry whose name maps to a state
  beyond ``awaiting_verification`` and the first disposition entry;
- ``dispositioned_at``: the first disposition entry, else ``verified_at``;
- ``institution_followups`` / ``replies``: follow-up times from the local register UNION the
  mirror's follow-ups of the linked complaint. A mirror follow-up that the register already
  holds (a local follow-up with the same ``remote_account``/``remote_id``: pushed by us or
  adopted from LAPOR!) is counted once. Authors ``opd``/``institution`` post follow-ups;
  ``reporter`` and ``admin`` entries are replies (docs/design.md: closure needs "no reply from
  the reporter or the LAPOR! admin");
- ``closed_at``: set only when the local status is terminal (closed, archived, forwarded):
  for a forward the latest local forward's time, else the start of the final run of
  terminal entries in the LAPOR! status history, else the ticket's ``updated_at``.

Times are kept as stored text in the canonical form of ``timeutil.to_db``
(``2025-03-28T14:05:09+07:00``), which sorts in time order; text in another form (another
offset, no offset, fractions of a second) is normalised on load. Keeping text avoids
parsing and re-serialising about a million timestamps for a large store.

Invariants: the number of queries does not grow with the number of tickets (three
statements per call, whatever the size of the store or the page); every value comes from
stored rows, never from the clock, so the same store gives the same timelines; nothing
here writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from lapor_sync.domain import ComplaintState
from lapor_sync.timeutil import from_db, to_db

StateResolver = Callable[[str], ComplaintState | None]

TERMINAL_STATES = frozenset(
    {ComplaintState.CLOSED, ComplaintState.ARCHIVED, ComplaintState.FORWARDED}
)
_NOT_VERIFIED = frozenset({ComplaintState.RECEIVED, ComplaintState.AWAITING_VERIFICATION})

# local_followups.author / remote_followups.author_type → role in the deadline rules.
INSTITUTION_AUTHORS = frozenset({"opd", "institution"})
REPLY_AUTHORS = frozenset({"reporter", "admin"})


Stamp = str  # a timestamp in the canonical stored form; text order is time order


def canonical(text: str) -> Stamp:
    """Stored timestamp text in the canonical ``to_db`` form (fast path: already is)."""
    if len(text) == 25 and text[10] == "T" and text.endswith("+07:00"):
        return text
    return to_db(from_db(text))


@dataclass(frozen=True, slots=True)
class Timeline:
    """The facts of one ticket. Times are canonical ``Stamp`` text; tuples are sorted."""

    ticket_id: int
    ref: str | None
    opd_code: str | None
    account: str | None
    remote_id: str | None
    tracking_id: str | None
    is_secret: bool
    status: str
    submitted_at: Stamp
    verified_at: Stamp | None
    dispositioned_at: Stamp | None
    institution_followups: tuple[Stamp, ...]
    replies: tuple[Stamp, ...]
    closed_at: Stamp | None

    @property
    def terminal(self) -> bool:
        return self.closed_at is not None


def _earliest(*values: Stamp | None) -> Stamp | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _placeholders(values: Sequence[str]) -> str:
    # ``IN ()`` is valid SQLite and matches nothing.
    return ",".join("?" for _ in values)


# One statement, one row per ticket. The correlated subqueries run inside SQLite on
# indexed columns (history/dispositions by (account, complaint_id), follow-ups by ticket
# and by complaint), so the client never loops over tickets with queries of its own.
_TIMELINE_SQL = """
SELECT t.id, t.ref, t.opd_code, coalesce(l.account, t.account), l.remote_id,
    coalesce(l.tracking_id, rc.tracking_id), t.is_secret, t.status,
    coalesce(rc.created_at, t.received_at), t.updated_at,
    (SELECT min(h.at) FROM remote_status_history h
        WHERE h.account = l.account AND h.complaint_id = l.remote_id
        AND h.status_name IN ({verified})),
    (SELECT min(d.at) FROM remote_dispositions d
        WHERE d.account = l.account AND d.complaint_id = l.remote_id),
    CASE WHEN t.status IN ({terminal_states}) THEN
        (SELECT min(h.at) FROM remote_status_history h
            WHERE h.account = l.account AND h.complaint_id = l.remote_id
            AND h.status_name IN ({terminal})
            AND h.at >= coalesce((SELECT max(o.at) FROM remote_status_history o
                WHERE o.account = l.account AND o.complaint_id = l.remote_id
                AND o.status_name NOT IN ({terminal})), ''))
    END,
    (SELECT group_concat(entry, '|') FROM (
        SELECT f.author || ' ' || f.created_at AS entry FROM local_followups f
            WHERE f.ticket_id = t.id
        UNION ALL
        SELECT rf.author_type || ' ' || rf.created_at FROM remote_followups rf
            WHERE rf.account = l.account AND rf.complaint_id = l.remote_id
            AND NOT EXISTS (SELECT 1 FROM local_followups lf
                WHERE lf.remote_account = rf.account AND lf.remote_id = rf.remote_id)))
FROM local_tickets t
LEFT JOIN links l ON l.ticket_id = t.id
LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id
{only}
ORDER BY t.id
"""


def load_timelines(
    db: sqlite_utils.Database,
    state_for: StateResolver,
    invalid: list[int] | None = None,
    *,
    only: Collection[int] | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[Timeline]:
    """The timeline of every local ticket (or of the tickets in ``only``), by ticket id.

    ``after``/``limit`` read one page in id order: the first ``limit`` tickets with an id
    above ``after`` (a caller pages through a large store with bounded memory).

    ``state_for`` maps a LAPOR! status name to the internal state (``None`` = unknown; an
    unknown name never counts as verification or closure). A ticket with a timestamp that
    cannot be read (another program wrote ``received_at = '05/03/2026'``) is left out and
    its id appended to ``invalid``: one bad row must not stop the deadlines of the others.
    """
    names = [r[0] for r in db.execute("SELECT DISTINCT status_name FROM remote_status_history")]
    states = {name: state_for(name) for name in names}
    verified = [n for n, st in states.items() if st is not None and st not in _NOT_VERIFIED]
    terminal = [n for n, st in states.items() if st in TERMINAL_STATES]
    terminal_states = sorted(s.value for s in TERMINAL_STATES)
    sql = _TIMELINE_SQL.format(
        verified=_placeholders(verified),
        terminal_states=_placeholders(terminal_states),
        terminal=_placeholders(terminal),
        only=_where(only, after),
    )
    params: list[Any] = [*verified, *terminal_states, *terminal, *terminal]
    if only is not None:
        params.append(json.dumps(sorted(only)))
    if after is not None:
        params.append(after)
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    rows = db.execute(sql, params).fetchall()
    forwarded = _forward_times(db, [int(r[0]) for r in rows])
    timelines = []
    for row in rows:
        try:
            timelines.append(_timeline(row, forwarded))
        except ValueError:
            if invalid is not None:
                invalid.append(int(row[0]))
    return timelines


def _timeline(row: tuple[Any, ...], forwarded: dict[int, Stamp]) -> Timeline:
    (
        ticket_id,
        ref,
        opd_code,
        account,
        remote_id,
        tracking_id,
        is_secret,
        status,
        submitted,
        updated,
        first_verified,
        first_disposition,
        terminal_since,
        followups,
    ) = row
    disposition = canonical(first_disposition) if first_disposition else None
    verified_at = _earliest(canonical(first_verified) if first_verified else None, disposition)
    closed_at = None
    if status in TERMINAL_STATES:
        closed_at = forwarded.get(ticket_id) if status == ComplaintState.FORWARDED else None
        closed_at = closed_at or (canonical(terminal_since) if terminal_since else None)
        closed_at = closed_at or canonical(updated)
    institution: list[Stamp] = []
    replies: list[Stamp] = []
    if followups:
        for entry in followups.split("|"):
            author, _, at = entry.partition(" ")
            if author in INSTITUTION_AUTHORS:
                institution.append(canonical(at))
            elif author in REPLY_AUTHORS:
                replies.append(canonical(at))
        institution.sort()
        replies.sort()
    return Timeline(
        ticket_id=ticket_id,
        ref=ref,
        opd_code=opd_code,
        account=account,
        remote_id=remote_id,
        tracking_id=tracking_id,
        is_secret=bool(is_secret),
        status=status,
        submitted_at=canonical(submitted),
        verified_at=verified_at,
        dispositioned_at=disposition or verified_at,
        institution_followups=tuple(institution),
        replies=tuple(replies),
        closed_at=closed_at,
    )


def _where(only: Collection[int] | None, after: int | None) -> str:
    tests = []
    if only is not None:
        tests.append("t.id IN (SELECT value FROM json_each(?))")
    if after is not None:
        tests.append("t.id > ?")
    return f"WHERE {' AND '.join(tests)}" if tests else ""


def _forward_times(db: sqlite_utils.Database, ticket_ids: Sequence[int]) -> dict[int, Stamp]:
    """The latest local forward of each forwarded ticket among ``ticket_ids``."""
    rows = db.execute(
        "SELECT f.ticket_id, max(f.created_at) FROM local_forwards f "
        "JOIN local_tickets t ON t.id = f.ticket_id "
        f"WHERE t.status = '{ComplaintState.FORWARDED.value}' "
        "AND f.ticket_id IN (SELECT value FROM json_each(?)) GROUP BY f.ticket_id",
        [json.dumps(list(ticket_ids))],
    )
    found = {}
    for ticket_id, at in rows:
        try:
            found[ticket_id] = canonical(at)
        except ValueError:
            continue  # unreadable: the ticket falls back to its other closing times
    return found

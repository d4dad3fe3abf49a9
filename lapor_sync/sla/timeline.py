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
  ``reporter`` and ``admin`` entries are replies (domain.md: closure needs "no reply from
  the reporter or the LAPOR! admin");
- ``closed_at``: set only when the local status is terminal (closed, archived, forwarded):
  for a forward the latest local forward's time, else the start of the final run of
  terminal entries in the LAPOR! status history, else the ticket's ``updated_at``.

Times are kept as stored text in the canonical form of ``timeutil.to_db``
(``2025-03-28T14:05:09+07:00``), which sorts in time order; text in another form (another
offset, no offset, fractions of a second) is normalised on load. Keeping text avoids
parsing and re-serialising about a million timestamps for a large store.

Invariants: the number of queries does not grow with the number of tickets (100,000
tickets load in seconds); every value comes from stored rows, never from the clock, so the
same store gives the same timelines; nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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

_TERMINAL_SQL = ", ".join(f"'{s.value}'" for s in sorted(TERMINAL_STATES))


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


def load_timelines(db: sqlite_utils.Database, state_for: StateResolver) -> list[Timeline]:
    """The timeline of every local ticket, ordered by ticket id.

    ``state_for`` maps a LAPOR! status name to the internal state (``None`` = unknown; an
    unknown name never counts as verification or closure).
    """
    verified = _first_verified_status(db, state_for)
    dispositions = _first_dispositions(db)
    institution, replies = _followups(db)
    closed = _closed_times(db, state_for)
    timelines = []
    rows = db.execute(
        "SELECT t.id, t.ref, t.opd_code, coalesce(l.account, t.account), l.remote_id, "
        "coalesce(l.tracking_id, rc.tracking_id), t.is_secret, t.status, "
        "coalesce(rc.created_at, t.received_at), t.updated_at "
        "FROM local_tickets t "
        "LEFT JOIN links l ON l.ticket_id = t.id "
        "LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
        "ORDER BY t.id"
    )
    for (
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
    ) in rows:
        disposition = dispositions.get(ticket_id)
        verified_at = _earliest(verified.get(ticket_id), disposition)
        closed_at = None
        if status in TERMINAL_STATES:
            closed_at = closed.get(ticket_id) or canonical(updated)
        timelines.append(
            Timeline(
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
                institution_followups=tuple(sorted(institution.get(ticket_id, ()))),
                replies=tuple(sorted(replies.get(ticket_id, ()))),
                closed_at=closed_at,
            )
        )
    return timelines


def _state_lookup(names: Iterable[str], state_for: StateResolver) -> dict[str, ComplaintState]:
    """Resolve each distinct status name once (there are a handful, not one per row)."""
    found = {}
    for name in set(names):
        state = state_for(name)
        if state is not None:
            found[name] = state
    return found


def _first_verified_status(db: sqlite_utils.Database, state_for: StateResolver) -> dict[int, Stamp]:
    rows = db.execute(
        "SELECT l.ticket_id, h.status_name, min(h.at) FROM links l "
        "JOIN remote_status_history h ON h.account = l.account AND h.complaint_id = l.remote_id "
        "GROUP BY l.ticket_id, h.status_name"
    ).fetchall()
    states = _state_lookup((r[1] for r in rows), state_for)
    first: dict[int, Stamp] = {}
    for ticket_id, name, at in rows:
        state = states.get(name)
        if state is None or state in _NOT_VERIFIED:
            continue
        when = canonical(at)
        if ticket_id not in first or when < first[ticket_id]:
            first[ticket_id] = when
    return first


def _first_dispositions(db: sqlite_utils.Database) -> dict[int, Stamp]:
    rows = db.execute(
        "SELECT l.ticket_id, min(d.at) FROM links l "
        "JOIN remote_dispositions d ON d.account = l.account AND d.complaint_id = l.remote_id "
        "GROUP BY l.ticket_id"
    )
    return {ticket_id: canonical(at) for ticket_id, at in rows}


def _followups(
    db: sqlite_utils.Database,
) -> tuple[dict[int, list[Stamp]], dict[int, list[Stamp]]]:
    institution: dict[int, list[Stamp]] = defaultdict(list)
    replies: dict[int, list[Stamp]] = defaultdict(list)
    rows = db.execute(
        "SELECT ticket_id, author, created_at FROM local_followups "
        "UNION ALL "
        "SELECT l.ticket_id, rf.author_type, rf.created_at FROM remote_followups rf "
        "JOIN links l ON l.account = rf.account AND l.remote_id = rf.complaint_id "
        "WHERE NOT EXISTS (SELECT 1 FROM local_followups lf "
        "WHERE lf.remote_account = rf.account AND lf.remote_id = rf.remote_id)"
    )
    for ticket_id, author, created_at in rows:
        if author in INSTITUTION_AUTHORS:
            institution[ticket_id].append(canonical(created_at))
        elif author in REPLY_AUTHORS:
            replies[ticket_id].append(canonical(created_at))
    return institution, replies


def _closed_times(db: sqlite_utils.Database, state_for: StateResolver) -> dict[int, Stamp]:
    """When each terminal ticket reached its terminal state (see the module docstring)."""
    closed: dict[int, Stamp] = {}
    rows = db.execute(
        "SELECT l.ticket_id, h.status_name, h.at FROM local_tickets t "
        "JOIN links l ON l.ticket_id = t.id "
        "JOIN remote_status_history h ON h.account = l.account AND h.complaint_id = l.remote_id "
        f"WHERE t.status IN ({_TERMINAL_SQL}) ORDER BY l.ticket_id, h.at, h.id"
    ).fetchall()
    states = _state_lookup((r[1] for r in rows), state_for)
    run_start: dict[int, str | None] = {}
    for ticket_id, name, at in rows:
        if states.get(name) in TERMINAL_STATES:
            if run_start.get(ticket_id) is None:
                run_start[ticket_id] = at
        else:
            run_start[ticket_id] = None
    for ticket_id, at in run_start.items():
        if at is not None:
            closed[ticket_id] = canonical(at)
    forwards = db.execute(
        "SELECT f.ticket_id, max(f.created_at) FROM local_forwards f "
        "JOIN local_tickets t ON t.id = f.ticket_id "
        f"WHERE t.status = '{ComplaintState.FORWARDED.value}' GROUP BY f.ticket_id"
    )
    for ticket_id, at in forwards:
        closed[ticket_id] = canonical(at)  # the local decision is the moment it left us
    return closed

"""Reconcile: one truth about where each linked complaint stands.

Three values per linked ticket: R, the state SP4N-LAPOR! shows (its status name mapped
through ``status_map``); L, the state in the OPD register; and the **base** — the state
each side was last accounted at (``sync_base.lapor_state``/``local_state``). A side whose
value differs from its base changed since the last reconciliation.

Rules, in order (``rank`` orders states along the process; see ``RANK``):

1. R unknown (a status name the mapping does not know) → a conflict holding the raw name;
   nothing else happens to that ticket. Never dropped, never guessed.
2. A ticket with an open conflict is left alone until a person resolves it.
3. Only LAPOR! changed → if R is behind its base, it moved backwards: conflict (unless
   ``allow_backwards``). Else R flows to the register — unless the register is already
   ahead on a state the OPD decides (answered ahead of in_progress): then only the base
   moves, so the register never goes backwards either.
4. Only the register changed → if L is a state SP4N-LAPOR! decides, or L moved
   backwards: conflict. Else accepted; it reaches SP4N-LAPOR! through its outbox rows
   (the follow-up or forward that caused it), not as a status.
5. Both changed → equal: agreed. Else LAPOR! wins when it decides R and R is at least as
   far along as L; the register wins when the OPD decides L and SP4N-LAPOR! does not
   decide R and L is at least as far along. Anything else is a conflict holding both
   values; neither side is overwritten.

Invariants: nothing is overwritten while a conflict is open; every change and conflict
is one reconciliation-log event; each ticket is one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from lapor_sync.domain import ComplaintState as S
from lapor_sync.store import conflicts
from lapor_sync.store.change_journal import consume_changes, last_change_id
from lapor_sync.store.db import transaction
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.store.sync_base import save_base
from lapor_sync.store.sync_state import RECONCILE_RULES, read_state, write_state
from lapor_sync.store.tickets import set_ticket_status
from lapor_sync.timeutil import Clock, now_wib, to_db

StateResolver = Callable[[str], S | None]

RANK: Mapping[S, int] = {
    S.RECEIVED: 0,
    S.AWAITING_VERIFICATION: 1,
    S.DISPOSITIONED: 2,
    S.IN_PROGRESS: 3,
    S.POSTPONED: 3,
    S.ANSWERED: 4,
    S.CLOSED: 5,
    S.ARCHIVED: 5,
    S.FORWARDED: 5,
}


@dataclass(frozen=True)
class ReconcileRules:
    authority: Mapping[S, str]
    allow_backwards: bool = False

    def decided_by_lapor(self, state: S) -> bool:
        return self.authority.get(state) == "lapor"

    def fingerprint(self) -> str:
        """Changes whenever the rules change."""
        text = repr(sorted((state.value, who) for state, who in self.authority.items()))
        return hashlib.sha256(f"{text}|{self.allow_backwards}".encode()).hexdigest()[:16]


@dataclass
class ReconcileSummary:
    checked: int = 0
    applied: int = 0
    accepted_local: int = 0
    agreed: int = 0
    opened: int = 0
    waiting: int = 0

    def figures(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "applied": self.applied,
            "accepted_local": self.accepted_local,
            "agreed": self.agreed,
            "opened": self.opened,
            "conflicts": self.waiting,
        }


class ConflictError(ValueError):
    """A conflict cannot be resolved as asked; the message says why."""


def reconcile(
    db: sqlite_utils.Database,
    rules: ReconcileRules,
    state_for: StateResolver,
    *,
    clock: Clock = now_wib,
    run_id: int | None = None,
    mapping_key: str = "",
) -> ReconcileSummary:
    """Reconcile every linked ticket the change journal names (or all, when the rules or
    the status mapping — identified by ``mapping_key`` — changed since the last run)."""
    summary = ReconcileSummary()
    rules_key = f"{rules.fingerprint()}:{mapping_key}"
    last_change = last_change_id(db)
    stored_key = read_state(db, [RECONCILE_RULES]).get(RECONCILE_RULES)
    full = stored_key != rules_key
    rows = list(db.query(_candidates_sql(full), [] if full else [last_change]))
    for row in rows:
        summary.checked += 1
        with transaction(db):
            _Ticket(db, rules, state_for, clock(), run_id, row, summary).settle()
    with transaction(db):
        # What was read is consumed; consumed entries are kept 30 days (for inspection).
        consume_changes(db, last_change, drop_before=clock() - timedelta(days=30))
        write_state(db, {RECONCILE_RULES: rules_key})
    summary.waiting = conflicts.open_count(db)
    return summary


_TICKET_SQL = (
    "SELECT t.id, t.ref, t.status AS local_state, t.opd_code, l.account, "
    "l.remote_id, l.tracking_id, rc.status_name, b.lapor_state, b.local_state AS "
    "base_local, b.lapor_status_name, "
    "(SELECT count(*) FROM conflicts c WHERE c.ticket_id = t.id "
    " AND c.resolved_at IS NULL) AS open_conflicts "
    "FROM links l JOIN local_tickets t ON t.id = l.ticket_id "
    "JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
    "LEFT JOIN sync_base b ON b.ticket_id = t.id "
)

# Tickets the journal names (local status changes, new links, SP4N-LAPOR! status
# changes), and those with a conflict waiting — read by index, not by scanning every
# linked ticket. ``?`` is the last journal entry this run consumes.
_JOURNAL_SQL = (
    _TICKET_SQL + "WHERE t.id IN ("
    "SELECT row_id FROM local_changes WHERE processed = 0 AND id <= ?1 "
    "AND table_name IN ('local_tickets', 'links') "
    "UNION SELECT l2.ticket_id FROM local_changes j "
    "JOIN remote_complaints r2 ON r2.rowid = j.row_id "
    "JOIN links l2 ON l2.account = r2.account AND l2.remote_id = r2.remote_id "
    "WHERE j.processed = 0 AND j.id <= ?1 AND j.table_name = 'remote_complaints' "
    "UNION SELECT ticket_id FROM conflicts WHERE resolved_at IS NULL) "
    "AND (b.ticket_id IS NULL OR b.lapor_status_name IS NOT rc.status_name "
    "OR b.local_state IS NOT t.status OR EXISTS (SELECT 1 FROM conflicts c "
    "WHERE c.ticket_id = t.id AND c.resolved_at IS NULL))"
)

# Every linked ticket: the first run, and whenever the status mapping or the authority
# rules changed — a changed mapping moves R without any status name changing, so only the
# mapped states (compared in Python) can tell.
_FULL_SQL = _TICKET_SQL


def _candidates_sql(full: bool) -> str:
    return _FULL_SQL if full else _JOURNAL_SQL


class _Ticket:
    """Reconciliation of one ticket, inside its transaction."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        rules: ReconcileRules,
        state_for: StateResolver,
        now: datetime,
        run_id: int | None,
        row: dict[str, Any],
        summary: ReconcileSummary,
    ) -> None:
        self.db, self.rules, self.now, self.run_id = db, rules, now, run_id
        self.row, self.summary = row, summary
        self.status_name: str = row["status_name"]
        self.remote = state_for(self.status_name)
        self.local = S(row["local_state"])

    def settle(self) -> None:
        row = self.row
        if self.remote is None:
            self._conflict("unknown_status", self.status_name, self.local.value, None)
            return
        if row["open_conflicts"] and not self._close_unknown_status_conflicts():
            return
        remote, local = self.remote, self.local
        if row["lapor_state"] is None:
            # First sight of this link: the side that is behind is the base, so the side
            # that is ahead counts as the change and the usual rules judge it.
            behind = local if RANK[remote] >= RANK[local] else remote
            base_remote = base_local = behind
        else:
            base_remote, base_local = S(row["lapor_state"]), S(row["base_local"])
        remote_moved, local_moved = remote != base_remote, local != base_local
        if not remote_moved and not local_moved:
            self._save_base(remote, local)
            return
        if remote == local:
            self.summary.agreed += 1
            self._save_base(remote, local)
        elif remote_moved and not local_moved:
            self._remote_changed(base_remote, remote, local)
        elif local_moved and not remote_moved:
            self._local_changed(base_local, remote, local)
        else:
            self._both_changed(base_remote, base_local, remote, local)

    def _close_unknown_status_conflicts(self) -> bool:
        """An unknown status that the mapping now knows needs no person any more.

        Returns True when no other conflict of the ticket stays open.
        """
        conflicts.close_unknown_status(self.db, self.row["id"], to_db(self.now))
        return conflicts.open_count(self.db, self.row["id"]) == 0

    def _backwards(self, before: S, after: S) -> bool:
        return RANK[after] < RANK[before] and not self.rules.allow_backwards

    def _remote_changed(self, base: S, remote: S, local: S) -> None:
        if self._backwards(base, remote):
            self._conflict("backwards_lapor", remote.value, local.value, base.value)
        elif RANK[local] > RANK[remote] and not self.rules.decided_by_lapor(local):
            self._save_base(remote, local)  # the register is ahead on the OPD's own work
        else:
            self._apply_to_local(local, remote)

    def _local_changed(self, base: S, remote: S, local: S) -> None:
        if self.rules.decided_by_lapor(local):
            self._conflict("lapor_decides", remote.value, local.value, base.value)
        elif self._backwards(base, local):
            self._conflict("backwards_local", remote.value, local.value, base.value)
        else:
            self.summary.accepted_local += 1
            self._event(EventKind.LOCAL_CHANGED, "local", base.value, local.value)
            self._save_base(remote, local)

    def _both_changed(self, base_remote: S, base_local: S, remote: S, local: S) -> None:
        rules = self.rules
        if (
            rules.decided_by_lapor(remote)
            and RANK[remote] >= RANK[local]
            and not self._backwards(base_remote, remote)
        ):
            self._apply_to_local(local, remote)
        elif (
            not rules.decided_by_lapor(local)
            and not rules.decided_by_lapor(remote)
            and RANK[local] >= RANK[remote]
            and not self._backwards(base_local, local)
        ):
            self.summary.accepted_local += 1
            self._event(EventKind.LOCAL_CHANGED, "local", base_local.value, local.value)
            self._save_base(remote, local)
        else:
            self._conflict("both_changed", remote.value, local.value, base_remote.value)

    # --- effects -------------------------------------------------------------------------

    def _apply_to_local(self, old: S, new: S) -> None:
        set_ticket_status(self.db, self.row["id"], new.value, to_db(self.now))
        self.summary.applied += 1
        self._event(EventKind.STATUS_CHANGED, "lapor", old.value, new.value)
        self._save_base(new, new)

    def _save_base(self, remote: S, local: S) -> None:
        save_base(
            self.db, self.row["id"], remote.value, local.value, self.status_name, to_db(self.now)
        )

    def _conflict(self, kind: str, lapor: str, local: str, base: str | None) -> None:
        if conflicts.open_conflict(
            self.db, self.row["id"], kind, lapor, local, base, to_db(self.now)
        ):
            self.summary.opened += 1
            record_event(
                self.db,
                EventKind.CONFLICT,
                self.now,
                **self._where(),
                side="both",
                detail={"kind": kind, "lapor_value": lapor, "local_value": local},
                run_id=self.run_id,
            )

    def _event(self, kind: EventKind, side: str, old: str, new: str) -> None:
        record_event(
            self.db,
            kind,
            self.now,
            **self._where(),
            side=side,
            detail={"from_state": old, "to_state": new},
            run_id=self.run_id,
        )

    def _where(self) -> dict[str, Any]:
        row = self.row
        return {
            "account": row["account"],
            "opd": row["opd_code"],
            "complaint_id": row["remote_id"],
            "tracking_id": row["tracking_id"],
            "ticket_ref": row["ref"],
        }


def resolve_conflict(
    db: sqlite_utils.Database,
    conflict_id: int,
    take: str,
    state_for: StateResolver,
    *,
    clock: Clock = now_wib,
    note: str | None = None,
) -> None:
    """A person settles a conflict: ``take`` is "lapor" or "local"."""
    if take not in ("lapor", "local"):
        raise ConflictError("take must be 'lapor' or 'local'")
    now = clock()
    with transaction(db):
        c = conflicts.conflict_to_resolve(db, conflict_id)
        if c is None:
            raise ConflictError(f"no conflict with id {conflict_id}")
        if c["resolved_at"] is not None:
            raise ConflictError(f"conflict {conflict_id} was already resolved")
        remote = state_for(c["status_name"] or "")
        local = S(c["status"])
        if remote is None:
            raise ConflictError(
                f"SP4N-LAPOR! status {c['status_name']!r} is not in [status_map]; add it to "
                "config.toml first, then resolve"
            )
        if take == "lapor":
            set_ticket_status(db, c["ticket_id"], remote.value, to_db(now))
            local = remote
        save_base(db, c["ticket_id"], remote.value, local.value, c["status_name"], to_db(now))
        # Every open conflict of the ticket is settled by this decision.
        conflicts.resolve_open(db, c["ticket_id"], take, note, to_db(now))
        record_event(
            db,
            EventKind.RESOLVED,
            now,
            account=c["account"],
            opd=c["opd_code"],
            complaint_id=c["remote_id"],
            tracking_id=c["tracking_id"],
            ticket_ref=c["ref"],
            side="person",
            detail={"conflict_id": conflict_id, "take": take, "to_state": local.value},
        )

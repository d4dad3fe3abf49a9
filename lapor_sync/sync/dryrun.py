"""``sync --dry-run``: what one pass would do, found by rehearsing it on a copy of the store.

:func:`rehearse` runs the pass's own code — pull, adopt, reconcile, push, the deadline
preview — in the order of ``sync --once`` on an in-memory copy of the store
(``store/snapshot.py``), with every account's remote wrapped in a
:class:`~lapor_sync.sync.rehearsal.RehearsalRemote`: reads reach SP4N-LAPOR! (GET only),
writes are noted and answered with placeholders. What the pass would do is then read off
the copy: the complaints the pull stored or changed, the cursor it moved, the tickets
adoption created or linked, the outbox rows push settled and the writes it would have
sent. Reconcile's decisions come from its own read-only plan (``plan_reconcile``) on the
copy as the pull and adoption left it, and the deadline events from ``preview_scan``.
Because it is the same code on the same data, the prediction is what the next real pass
does, as long as neither side changes in between.

Invariants: the store is never written (only its in-memory copy is); no write request
reaches SP4N-LAPOR!; nothing in a :class:`PassPlan` is personal data — ids, references,
tracking ids, statuses, OPD codes, field *names* and program-written reasons only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.domain import ComplaintState
from lapor_sync.errors import LaporSyncError, describe
from lapor_sync.lapor.remote import Remote
from lapor_sync.local.register import assign_missing_refs
from lapor_sync.sla.deadlines import ScanSummary, preview_scan
from lapor_sync.sla.stages import DeadlineRules
from lapor_sync.store import mirror
from lapor_sync.sync.adopt import AdoptSummary, adopt
from lapor_sync.sync.outbox import PushPolicy
from lapor_sync.sync.pull import Puller, PullOptions
from lapor_sync.sync.push import Pusher
from lapor_sync.sync.reconcile import ReconcileRules, plan_reconcile, reconcile
from lapor_sync.sync.reconcile_rules import Action, KeepBase, Waiting
from lapor_sync.sync.rehearsal import NotedWrite, RehearsalRemote
from lapor_sync.timeutil import Clock, to_db
from lapor_sync.working_days import WorkingCalendar

__all__ = ["PassPlan", "PassSetup", "rehearse"]


@dataclass(frozen=True)
class PassSetup:
    """What the pass needs from the configuration, as plain values (built in app.py)."""

    pulls: Mapping[str, PullOptions]  # the accounts to pull, in order
    backfill_since: datetime | None
    reference_format: str
    state_for: Callable[[str], ComplaintState | None]
    opd_for: Callable[[str | None], str | None]
    rules: ReconcileRules
    mapping_key: str
    push: PushPolicy
    deadline_rules: DeadlineRules
    calendar: WorkingCalendar
    examples: int = 500  # deadline events listed one by one (all are counted)


@dataclass(frozen=True)
class PulledComplaint:
    complaint_id: str
    tracking_id: str | None
    change: str  # new | changed
    status: str


@dataclass
class AccountPull:
    account: str
    cursor_before: str | None
    cursor_after: str | None = None
    complaints: list[PulledComplaint] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)
    error: str | None = None  # the real pull would fail the same way


@dataclass(frozen=True)
class Adoption:
    ticket_ref: str | None
    account: str
    complaint_id: str
    tracking_id: str | None
    opd: str | None
    echo: bool  # True: linked to a ticket lapor-sync pushed; False: a new local ticket


@dataclass(frozen=True)
class PlannedPush:
    outbox_id: int
    kind: str
    ticket_ref: str | None
    account: str
    outcome: str  # send | found | retry | dead | waits
    look_up_first: bool
    fields: tuple[str, ...] = ()
    reason: str | None = None


@dataclass
class PassPlan:
    at: str
    pulls: list[AccountPull] = field(default_factory=list)
    adoptions: list[Adoption] = field(default_factory=list)
    reconcile: list[dict[str, Any]] = field(default_factory=list)  # decisions, as actions
    reconcile_figures: dict[str, int] = field(default_factory=dict)
    reconcile_error: str | None = None
    pushes: list[PlannedPush] = field(default_factory=list)
    push_figures: dict[str, object] = field(default_factory=dict)
    push_error: str | None = None
    flags: list[dict[str, Any]] = field(default_factory=list)
    flag_figures: dict[str, int] = field(default_factory=dict)
    flags_listed_all: bool = True

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        return [d for d in self.reconcile if d["action"] == "open_conflict"]

    def for_accounts(self, accounts: Iterable[str]) -> PassPlan:
        """Only what concerns these accounts (their pulls, tickets, pushes, deadlines)."""
        keep = set(accounts)
        return PassPlan(
            at=self.at,
            pulls=[p for p in self.pulls if p.account in keep],
            adoptions=[a for a in self.adoptions if a.account in keep],
            reconcile=[r for r in self.reconcile if r["account"] in keep],
            reconcile_figures=self.reconcile_figures,
            reconcile_error=self.reconcile_error,
            pushes=[p for p in self.pushes if p.account in keep],
            push_figures=self.push_figures,
            push_error=self.push_error,
            flags=[f for f in self.flags if f["account"] in keep],
            flag_figures=self.flag_figures,
            flags_listed_all=self.flags_listed_all,
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["conflicts"] = self.conflicts
        return out


def rehearse(
    db: sqlite_utils.Database, remotes: Mapping[str, Remote], setup: PassSetup, clock: Clock
) -> PassPlan:
    """Run one pass on ``db`` — an in-memory copy of the store, which it changes — with
    every remote's writes noted instead of sent, and say what the pass did there."""
    plan = PassPlan(at=to_db(clock()))
    rehearsing = {name: RehearsalRemote(name, remote) for name, remote in remotes.items()}
    for name, options in setup.pulls.items():
        plan.pulls.append(_pull(db, rehearsing[name], options, setup, clock))
    try:
        plan.adoptions = _adopt(db, setup, clock)
        # The decisions, from reconcile's own read-only plan (sync/reconcile.py); then the
        # pass applies them to the copy, so push and the deadlines see their outcome.
        actions = plan_reconcile(
            db, setup.rules, setup.state_for, mapping_key=setup.mapping_key
        )
        plan.reconcile = [_decision(a) for a in actions if not isinstance(a, KeepBase | Waiting)]
        summary = reconcile(
            db, setup.rules, setup.state_for, clock=clock, mapping_key=setup.mapping_key
        )
        plan.reconcile_figures = summary.figures()
    except LaporSyncError as exc:
        plan.reconcile_error = describe(exc)
    _push(db, rehearsing, setup, clock, plan)
    _flags(db, setup, clock(), plan)
    return plan


# --- the steps -------------------------------------------------------------------------------


def _pull(
    db: sqlite_utils.Database,
    remote: RehearsalRemote,
    options: PullOptions,
    setup: PassSetup,
    clock: Clock,
) -> AccountPull:
    account = options.account
    cursor = mirror.get_cursor(db, account)
    result = AccountPull(account, cursor.isoformat() if cursor else None)
    before = _versions(db, account)
    try:
        summary = Puller(db, remote, options, clock=clock, opd_for=setup.opd_for).run(
            since=setup.backfill_since
        )
        result.figures = summary.figures()
    except LaporSyncError as exc:
        result.error = describe(exc)
    after = mirror.get_cursor(db, account)
    result.cursor_after = after.isoformat() if after else None
    for complaint_id, tracking_id, stamp, status in db.execute(
        "SELECT remote_id, tracking_id, updated_at, status_name FROM remote_complaints "
        "WHERE account = ? ORDER BY updated_at, remote_id",
        [account],
    ).fetchall():
        if before.get(str(complaint_id)) != stamp:
            change = "new" if str(complaint_id) not in before else "changed"
            result.complaints.append(
                PulledComplaint(str(complaint_id), tracking_id, change, str(status))
            )
    return result


def _adopt(db: sqlite_utils.Database, setup: PassSetup, clock: Clock) -> list[Adoption]:
    linked = {int(r[0]) for r in db.execute("SELECT ticket_id FROM links").fetchall()}
    last_ticket = int(db.execute("SELECT coalesce(max(id), 0) FROM local_tickets").fetchone()[0])
    summary: AdoptSummary = adopt(
        db,
        reference_format=setup.reference_format,
        state_for=setup.state_for,
        opd_for=setup.opd_for,
        clock=clock,
    )
    del summary  # read off the copy below, one adoption at a time
    rows = db.execute(
        "SELECT t.id, t.ref, l.account, l.remote_id, l.tracking_id, t.opd_code FROM links l "
        "JOIN local_tickets t ON t.id = l.ticket_id ORDER BY t.id"
    ).fetchall()
    return [
        Adoption(ref, account, str(remote_id), tracking_id, opd, echo=ticket_id <= last_ticket)
        for ticket_id, ref, account, remote_id, tracking_id, opd in rows
        if int(ticket_id) not in linked
    ]


def _push(
    db: sqlite_utils.Database,
    remotes: Mapping[str, RehearsalRemote],
    setup: PassSetup,
    clock: Clock,
    plan: PassPlan,
) -> None:
    assign_missing_refs(db, setup.reference_format)  # as push_outbox does first
    before = _outbox(db)
    sent: dict[int, NotedWrite] = {}

    def after_send(outbox_id: int) -> None:
        # One worker: the write just noted is this row's.
        noted = [w for remote in remotes.values() for w in remote.writes]
        sent[outbox_id] = noted[len(sent)]

    pusher = Pusher(
        db, remotes, setup.push, clock=clock, concurrency=1, after_send=after_send
    )
    try:
        plan.push_figures = pusher.run().figures()
    except LaporSyncError as exc:
        plan.push_error = describe(exc)
        plan.push_figures = pusher.summary.figures()
    for outbox_id, row in _outbox(db, before).items():
        old = before[outbox_id]
        if old == row:
            continue
        plan.pushes.append(_planned(outbox_id, old, row, sent.get(outbox_id), setup))


def _planned(
    outbox_id: int,
    old: dict[str, Any],
    new: dict[str, Any],
    write: NotedWrite | None,
    setup: PassSetup,
) -> PlannedPush:
    if new["state"] == "done":
        outcome = "send" if write is not None else "found"
    elif new["state"] == "dead":
        outcome = "dead"
    elif new["attempts"] == old["attempts"] and new["state"] == old["state"]:
        outcome = "waits"
    else:
        outcome = "retry"
    return PlannedPush(
        outbox_id=outbox_id,
        kind=str(new["kind"]),
        ticket_ref=new["ref"],
        account=str(new["account"] or setup.push.default_account),
        outcome=outcome,
        look_up_first=old["state"] in ("unknown", "sending") or bool(old["ambiguous"]),
        fields=write.fields if write is not None else (),
        reason=None if outcome in ("send", "found") else new["last_error"],
    )


def _flags(db: sqlite_utils.Database, setup: PassSetup, now: datetime, plan: PassPlan) -> None:
    summary: ScanSummary = preview_scan(
        db, setup.deadline_rules, setup.calendar, now, examples=setup.examples
    )
    plan.flag_figures = summary.figures()
    plan.flags_listed_all = len(summary.examples) >= summary.events
    plan.flags = [
        {
            "kind": item.kind,
            "ticket_ref": item.ref,
            "stage": str(item.stage),
            "due_at": to_db(item.due_at),
            "days_late": item.days_late,
            "opd": item.opd_code,
            "account": item.account,
            "tracking_id": item.tracking_id,
        }
        for item in summary.examples
    ]


def _decision(action: Action) -> dict[str, Any]:
    """An action as plain values: its name, the ticket it is about, its other fields
    (states, status names, conflict kind; no personal data, see reconcile_rules.py)."""
    ticket = action.ticket
    out: dict[str, Any] = {
        "action": re.sub(r"(?<!^)(?=[A-Z])", "_", type(action).__name__).lower(),
        "ticket_ref": ticket.ref,
        "account": ticket.account,
        "opd": ticket.opd_code,
        "complaint_id": ticket.remote_id,
        "tracking_id": ticket.tracking_id,
    }
    for f in fields(action):
        if f.name != "ticket":
            value = getattr(action, f.name)
            out[f.name] = value.value if hasattr(value, "value") else value
    return out


# --- reading the copy ------------------------------------------------------------------------


def _versions(db: sqlite_utils.Database, account: str) -> dict[str, str]:
    rows = db.execute(
        "SELECT remote_id, updated_at FROM remote_complaints WHERE account = ?", [account]
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _outbox(
    db: sqlite_utils.Database, ids: Iterable[int] | None = None
) -> dict[int, dict[str, Any]]:
    """The outbox rows not done yet (done rows never change again), or the rows ``ids``."""
    where = "o.state != 'done'" if ids is None else "o.id IN (SELECT value FROM json_each(?))"
    rows = db.query(
        "SELECT o.id, o.kind, o.state, o.attempts, o.ambiguous, o.last_error, "
        "t.ref, coalesce(t.account, l.account) AS account "
        "FROM outbox o JOIN local_tickets t ON t.id = o.ticket_id "
        f"LEFT JOIN links l ON l.ticket_id = t.id WHERE {where} ORDER BY o.id",
        [] if ids is None else [json.dumps(sorted(ids))],
    )
    return {int(r["id"]): r for r in rows}

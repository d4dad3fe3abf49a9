"""What each OPD is told: the immediate batch and the daily digest.

**Batch** (at most one per OPD per ``notify.batch_every``): what arrived on its desk since
it was last told — complaints newly dispositioned to it (an open ``followup`` deadline),
reporter replies waiting for its answer (an open ``reply`` deadline) and open conflicts
of its complaints. Each is a condition keyed by what makes it new (the ticket and the
stage's start, or the conflict's id): announced once, never again in a later batch,
however long it stays open — the digest covers what persists.

**Digest** (once a day, on the first run at or after ``notify.digest_at`` WIB): the OPD's
late and near-due deadlines per stage, with working days late or left, newest first. No
message when there is nothing late or near due.

Both read identifiers only: Tracking ID, local reference, stage, dates, the OPD code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import groupby

import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.glossary import (
    NOTIFY_HEADINGS,
    NOTIFY_SUBJECTS,
    conflict_label,
    indonesian_date,
    late_count_text,
    stage_label,
)
from lapor_sync.notify.compose import Draft, Item, section
from lapor_sync.notify.decision import Decision, can_deliver, complaint_link, opd_recipients
from lapor_sync.report.overdue import OverdueRow, overdue_rows
from lapor_sync.sla.deadlines import STAGES
from lapor_sync.store import notify_conditions as conditions
from lapor_sync.store import notify_outbox as box
from lapor_sync.timeutil import from_db, to_db, wib_date

_WAITING_SQL = """
SELECT d.ticket_id, d.stage, d.started_at, d.due_at, t.ref, t.opd_code,
       coalesce(l.tracking_id, rc.tracking_id)
FROM deadlines d JOIN local_tickets t ON t.id = d.ticket_id
LEFT JOIN links l ON l.ticket_id = d.ticket_id
LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id
LEFT JOIN notify_conditions nc ON nc.key = d.stage || ':' || d.ticket_id || ':' || d.started_at
WHERE d.met_at IS NULL AND d.stage IN ('followup', 'reply') AND t.opd_code IS NOT NULL
  AND nc.key IS NULL
ORDER BY d.started_at DESC, d.ticket_id
"""

_CONFLICTS_SQL = """
SELECT c.id, c.kind, c.opened_at, t.ref, t.opd_code, coalesce(l.tracking_id, rc.tracking_id)
FROM conflicts c JOIN local_tickets t ON t.id = c.ticket_id
LEFT JOIN links l ON l.ticket_id = c.ticket_id
LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id
LEFT JOIN notify_conditions nc ON nc.key = 'conflict:' || c.id
WHERE c.resolved_at IS NULL AND t.opd_code IS NOT NULL AND nc.key IS NULL
ORDER BY c.opened_at DESC, c.id
"""


def _new_items(
    db: sqlite_utils.Database, settings: Settings
) -> dict[str, dict[str, list[tuple[str, Item]]]]:
    """Per OPD code, per heading: (condition key, item) not announced before.

    The SQL leaves out what ``notify_conditions`` already holds (a primary-key lookup per
    open row), so a pass with nothing new reads only the open deadlines.
    """
    found: dict[str, dict[str, list[tuple[str, Item]]]] = {}
    settlement = settings.deadlines.settlement_days
    for ticket_id, stage, started, due, ref, code, tracking in db.execute(_WAITING_SQL):
        key = f"{stage}:{ticket_id}:{started}"
        since = indonesian_date(wib_date(from_db(started)))
        note = f"didisposisikan {since}" if stage == "followup" else f"balasan sejak {since}"
        item = Item(
            tracking,
            ref,
            stage_label(stage, settlement),
            from_db(due),
            note,
            complaint_link(settings, ref),
        )
        found.setdefault(code, {}).setdefault(stage, []).append((key, item))
    for conflict_id, kind, opened, ref, code, tracking in db.execute(_CONFLICTS_SQL):
        key = f"conflict:{conflict_id}"
        note = f"sejak {indonesian_date(wib_date(from_db(opened)))}"
        item = Item(tracking, ref, conflict_label(kind), None, note, complaint_link(settings, ref))
        found.setdefault(code, {}).setdefault("conflict", []).append((key, item))
    return found


def batch_decisions(db: sqlite_utils.Database, settings: Settings, now: datetime) -> list[Decision]:
    """One batch per configured OPD that has something new and was not told too recently."""
    decisions = []
    for code, by_heading in sorted(_new_items(db, settings).items()):
        opd = settings.opd_by_code(code)
        if opd is None:
            continue  # not a registered OPD: the admins' overdue list covers it
        recipients = opd_recipients(settings, code)
        if not can_deliver(settings, recipients):
            continue  # nobody to tell yet: stays new until a channel or address exists
        last = box.last_created(db, "opd_batch", code)
        if last is not None and now - from_db(last) < settings.notify.batch_every:
            continue
        sections, opened = [], []
        for heading in ("followup", "reply", "conflict"):
            entries = by_heading.get(heading, [])
            if entries:
                sections.append(section(NOTIFY_HEADINGS[heading], [i for _, i in entries]))
                opened += [conditions.Condition(k, "opd", code, heading) for k, _ in entries]
        count = len(opened)
        draft = Draft(
            kind="opd_batch",
            subject=NOTIFY_SUBJECTS["opd_batch"].format(count=count, opd=code),
            intro=(
                f"Yth. {opd.liaison} ({opd.name}): ada {count} hal baru yang menunggu "
                "tindakan OPD Anda di SP4N-LAPOR!."
            ),
            sections=tuple(sections),
            opd_code=code,
        )
        decisions.append(Decision(draft, recipients, f"opd_batch:{code}:{to_db(now)}", opened))
    return decisions


def _stage_sections(rows: Iterable[OverdueRow]) -> list[tuple[str, list[OverdueRow]]]:
    """Stages in their order; newest deadline first within each."""
    order: dict[str, int] = {stage: i for i, stage in enumerate(STAGES)}
    ranked = sorted(rows, key=lambda r: (order.get(r.stage, len(order)), -r.due_at.timestamp()))
    return [(stage, list(group)) for stage, group in groupby(ranked, key=lambda r: r.stage)]


def digest_decisions(
    db: sqlite_utils.Database, settings: Settings, now: datetime, *, force: bool = False
) -> list[Decision]:
    """Today's digest per OPD, once a day from ``digest_at`` on (``force``: any time)."""
    today = wib_date(now)
    if not force and now.timetz().replace(tzinfo=None) < settings.notify.digest_at:
        return []
    pending = [
        (opd, key)
        for opd in settings.opd
        for key in [f"digest:{opd.code}:{today.isoformat()}"]
        if force or not conditions.is_recorded(db, key)
    ]
    if not pending:
        return []  # today's digests are done: the overdue list is not read again
    rows_by_opd: dict[str, list[OverdueRow]] = {}
    for row in overdue_rows(db, settings, now):
        if row.opd_code is not None:
            rows_by_opd.setdefault(row.opd_code, []).append(row)
    decisions = []
    for opd, key in pending:
        rows = rows_by_opd.get(opd.code, [])
        recipients = opd_recipients(settings, opd.code)
        marker = [conditions.Condition(key, "opd", opd.code, "digest")]
        if not rows or not can_deliver(settings, recipients):
            # Nothing to say (or nobody to say it to) today: remember the day was done.
            decisions.append(Decision(_empty(opd.code), (), key, marker, silent=True))
            continue
        late = len({r.ref for r in rows if r.overdue})
        near = len({r.ref for r in rows if not r.overdue} - {r.ref for r in rows if r.overdue})
        sections = [
            section(
                rows[0].stage_label,
                [
                    Item(
                        r.tracking_id,
                        r.ref,
                        r.stage_label,
                        r.due_at,
                        r.lateness,
                        complaint_link(settings, r.ref),
                    )
                    for r in rows
                ],
            )
            for _, rows in _stage_sections(rows)
        ]
        summary = late_count_text(late, near)
        draft = Draft(
            kind="opd_digest",
            subject=NOTIFY_SUBJECTS["opd_digest"].format(opd=opd.code, summary=summary),
            intro=(
                f"Yth. {opd.liaison} ({opd.name}): ringkasan {indonesian_date(today)} — "
                f"{summary}. Per tahap, batas waktu terbaru lebih dulu."
            ),
            sections=tuple(sections),
            opd_code=opd.code,
        )
        decisions.append(Decision(draft, recipients, f"opd_digest:{opd.code}:{today}", marker))
    return decisions


def _empty(code: str) -> Draft:
    return Draft(kind="opd_digest", subject="", intro="", sections=(), opd_code=code)

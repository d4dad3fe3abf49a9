"""A decided message: its draft, who gets it, and what it announces; committing it.

:func:`commit` is the one place a decision becomes outbox rows: per configured channel one
row (e-mail when there are addresses and ``[notify.smtp]``, webhook when
``[notify.webhook]``), inserted in **one transaction** with the conditions the message
opens and closes. So a condition is marked announced exactly when its message is queued,
and a crash in between leaves neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.notify.compose import Draft
from lapor_sync.store import notify_conditions as conditions
from lapor_sync.store import notify_outbox as box
from lapor_sync.store.db import transaction
from lapor_sync.store.notify_conditions import Condition


@dataclass
class Decision:
    draft: Draft
    recipients: tuple[str, ...]
    dedupe_key: str
    opened: list[Condition] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    # Only the conditions are recorded (e.g. "today's digest: nothing to say"); no message.
    silent: bool = False


def opd_recipients(settings: Settings, code: str) -> tuple[str, ...]:
    """``[notify.recipients]`` for the OPD, else its ``[[opd]] email``, else none."""
    listed = settings.notify.recipients.get(code)
    if listed:
        return tuple(listed)
    opd = settings.opd_by_code(code)
    return (opd.email,) if opd is not None and opd.email else ()


def complaint_link(settings: Settings, ref: str | None) -> str | None:
    """The complaint's page in the portal, ``{web.public_url}/aduan/<local ref>``."""
    return settings.web.complaint_url(ref) if ref else None


def can_deliver(settings: Settings, recipients: Sequence[str]) -> bool:
    """Whether at least one channel would carry a message to these recipients."""
    notify = settings.notify
    return notify.webhook is not None or (notify.smtp is not None and bool(recipients))


def rows_of(settings: Settings, decision: Decision) -> list[box.NewNotification]:
    if decision.silent:
        return []
    composed = decision.draft.compose()
    notify = settings.notify
    rows = []
    common = {
        "kind": decision.draft.kind,
        "subject": composed.subject,
        "body_text": composed.text,
        "body_html": composed.html,
        "opd_code": decision.draft.opd_code,
    }
    if notify.smtp is not None and decision.recipients:
        rows.append(
            box.NewNotification(
                dedupe_key=decision.dedupe_key + ":email",
                channel="email",
                recipients=decision.recipients,
                **common,  # type: ignore[arg-type]
            )
        )
    if notify.webhook is not None:
        rows.append(
            box.NewNotification(
                dedupe_key=decision.dedupe_key + ":webhook",
                channel="webhook",
                payload=composed.payload,
                **common,  # type: ignore[arg-type]
            )
        )
    return rows


def commit(
    db: sqlite_utils.Database, settings: Settings, decisions: Sequence[Decision], now: datetime
) -> int:
    """Queue every decision with its conditions, atomically. Returns the rows queued."""
    queued = 0
    with transaction(db):
        for decision in decisions:
            queued += len(box.enqueue(db, rows_of(settings, decision), now))
            conditions.record_opened(db, decision.opened, now)
            conditions.record_cleared(db, decision.cleared, now)
    return queued

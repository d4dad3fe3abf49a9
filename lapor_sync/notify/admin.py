"""What the admins are told (conditions that start and clear) and monitoring's weekly figures.

Admin conditions, each keyed so that it is announced **once when it starts and once when
it clears**, never on every run:

- ``outbox:<id>:<state>``: a push-outbox row ``dead`` or ``unknown`` for longer than
  ``notify.alert_after`` (likewise ``notify:<id>:<state>`` for a notification that could
  not be delivered — other than the admins' own alerts);
- ``quarantine:<id>``: a record that could not be read and waits in quarantine;
- ``job:<name>[:<account>]``: a watched job that has run but not succeeded within its
  health window (interval × ``schedule.health_window_factor``);
- ``unreachable:<account>``: the account's latest pull failed because SP4N-LAPOR! was
  unavailable.

Monitoring's weekly message (on ``notify.weekly_day`` from ``weekly_at`` WIB, once per ISO
week): the province's figures of the current month's report and the link to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.glossary import NOTIFY_HEADINGS, NOTIFY_SUBJECTS, indonesian_date
from lapor_sync.notify.compose import Draft, Item, section
from lapor_sync.notify.decision import Decision, can_deliver, complaint_link
from lapor_sync.redact import redact_text
from lapor_sync.report.figures import compute_figures
from lapor_sync.report.period import month_period
from lapor_sync.store import notify_conditions as conditions
from lapor_sync.store import notify_outbox as box
from lapor_sync.store.notify_conditions import Condition
from lapor_sync.timeutil import from_db, to_db, wib_date

UNREACHABLE_PREFIX = "SP4N-LAPOR! is unavailable"


@dataclass(frozen=True)
class WatchedJob:
    name: str
    window: timedelta
    accounts: tuple[str | None, ...] = (None,)


@dataclass(frozen=True)
class _Found:
    condition: Condition
    item: Item


def _reason(text: str | None) -> str:
    return redact_text(" ".join((text or "").split()))[:160]


def _current(
    db: sqlite_utils.Database, settings: Settings, now: datetime, jobs: Sequence[WatchedJob]
) -> dict[str, _Found]:
    found: dict[str, _Found] = {}

    def add(key: str, ref: str | None, what: str, note: str) -> None:
        found[key] = _Found(
            Condition(key, "admin", None, f"{what}: {note}"),
            Item(None, ref, what, None, note, complaint_link(settings, ref)),
        )

    cutoff = to_db(now - settings.notify.alert_after)
    for row_id, kind, state, error, ref in db.execute(
        "SELECT o.id, o.kind, o.state, o.last_error, t.ref FROM outbox o "
        "JOIN local_tickets t ON t.id = o.ticket_id "
        "WHERE o.state IN ('dead', 'unknown') AND o.updated_at <= ? ORDER BY o.id",
        [cutoff],
    ):
        add(f"outbox:{row_id}:{state}", ref, f"Outbox {row_id} ({kind}) {state}", _reason(error))
    for row_id, kind, state, error, opd in db.execute(
        "SELECT id, kind, state, last_error, opd_code FROM notify_outbox "
        "WHERE state IN ('dead', 'unknown') AND kind != 'admin_alert' AND updated_at <= ? "
        "ORDER BY id",
        [cutoff],
    ):
        what = f"Notifikasi {row_id} ({kind}{', ' + opd if opd else ''}) {state}"
        add(f"notify:{row_id}:{state}", None, what, _reason(error))
    for row_id, account, kind, remote_id, reason in db.execute(
        "SELECT id, account, kind, remote_id, reason FROM quarantine WHERE resolved_at IS NULL "
        "ORDER BY id"
    ):
        add(
            f"quarantine:{row_id}",
            None,
            f"Karantina {kind} {remote_id} ({account})",
            _reason(reason),
        )
    for job in jobs:
        for account in job.accounts:
            ran, last_ok = db.execute(
                "SELECT count(*), max(CASE WHEN outcome = 'ok' THEN finished_at END) FROM runs "
                "WHERE job = ? AND (account IS ? OR ? IS NULL)",
                [job.name, account, account],
            ).fetchone()
            if not ran or (last_ok is not None and from_db(last_ok) >= now - job.window):
                continue
            since = f"terakhir berhasil {last_ok}" if last_ok else "belum pernah berhasil"
            name = f"{job.name} ({account})" if account else job.name
            key = f"job:{job.name}" + (f":{account}" if account else "")
            add(key, None, f"Job {name} tidak berhasil", f"{since}; jendela {job.window}")
    for account in settings.enabled_accounts:
        last = db.execute(
            "SELECT outcome, error FROM runs WHERE job = 'pull' AND account = ? "
            "AND outcome != 'running' ORDER BY id DESC LIMIT 1",
            [account.name],
        ).fetchone()
        if last and last[0] == "failed" and str(last[1] or "").startswith(UNREACHABLE_PREFIX):
            add(
                f"unreachable:{account.name}",
                None,
                f"SP4N-LAPOR! tidak dapat dihubungi ({account.name})",
                _reason(last[1]),
            )
    return found


def admin_decisions(
    db: sqlite_utils.Database,
    settings: Settings,
    now: datetime,
    jobs: Sequence[WatchedJob] = (),
) -> list[Decision]:
    """One message when any condition started or cleared since the last one; else none."""
    recipients = tuple(settings.notify.admins)
    if not can_deliver(settings, recipients):
        return []
    current = _current(db, settings, now, jobs)
    known = conditions.open_conditions(db, "admin")
    opened = [f for key, f in current.items() if key not in known]
    cleared = [c for key, c in known.items() if key not in current]
    if not opened and not cleared:
        return []
    sections = []
    if opened:
        sections.append(section(NOTIFY_HEADINGS["opened"], [f.item for f in opened]))
    if cleared:
        items = [Item(None, None, c.label.split(": ", 1)[0], None, "pulih", None) for c in cleared]
        sections.append(section(NOTIFY_HEADINGS["cleared"], items))
    draft = Draft(
        kind="admin_alert",
        subject=NOTIFY_SUBJECTS["admin_alert"].format(opened=len(opened), cleared=len(cleared)),
        intro=(
            f"Kondisi lapor-sync per {indonesian_date(wib_date(now))} pukul "
            f"{now:%H.%M} WIB. Rincian: lapor-sync status dan lapor-sync outbox."
        ),
        sections=tuple(sections),
    )
    return [
        Decision(
            draft,
            recipients,
            f"admin_alert:{to_db(now)}",
            opened=[f.condition for f in opened],
            cleared=[c.key for c in cleared],
        )
    ]


def weekly_decisions(
    db: sqlite_utils.Database, settings: Settings, now: datetime, *, force: bool = False
) -> list[Decision]:
    """Monitoring's weekly figures, once per ISO week from ``weekly_day`` ``weekly_at`` on."""
    notify = settings.notify
    today = wib_date(now)
    due = today.weekday() == notify.weekly_weekday and now.time() >= notify.weekly_at
    year, week, _ = today.isocalendar()
    key = f"monitoring_weekly:{year}-W{week:02d}"
    recipients = tuple(notify.monitoring)
    if not force and (
        not due
        or box.already_decided(db, key + ":email")
        or box.already_decided(db, key + ":webhook")
    ):
        return []
    if not can_deliver(settings, recipients):
        return []
    period = month_period(today.year, today.month)
    figures = compute_figures(db, settings, now, period)
    total = figures.total
    pct = f"{total.on_time_pct:.0f}%" if total.on_time_pct is not None else "-"
    days = settings.deadlines.followup_days
    lines = [
        ("Periode", f"{period.label} (s.d. {indonesian_date(today)})"),
        ("Diterima", str(total.received)),
        (
            f"Ditindaklanjuti dalam {days} hari kerja",
            f"{total.followup_on_time} dari {total.assessed} ({pct})",
        ),
        ("Terlambat", str(total.late)),
    ]
    for opd in figures.opds:
        if opd.code is None:
            continue
        opd_pct = f"{opd.on_time_pct:.0f}%" if opd.on_time_pct is not None else "-"
        lines.append(
            (
                opd.code,
                f"diterima {opd.received}, tepat waktu {opd.followup_on_time}/{opd.assessed} "
                f"({opd_pct}), terlambat {opd.late}",
            )
        )
    draft = Draft(
        kind="monitoring_weekly",
        subject=NOTIFY_SUBJECTS["monitoring_weekly"].format(period=period.label),
        intro=(
            "Angka pengaduan SP4N-LAPOR! Provinsi untuk pemantauan mingguan. Laporan "
            "lengkap per OPD ada di tautan di bawah."
        ),
        sections=(),
        link=f"{settings.web.public_url}/laporan/",
        figures=tuple(lines),
    )
    return [Decision(draft, recipients, key)]

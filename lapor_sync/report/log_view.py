"""The reconciliation log as OPD liaisons read it: in Bahasa Indonesia, per OPD.

Every line says when, which ticket (local reference and Tracking ID), what happened and,
where it helps, a short explanation. The log never holds personal data (see
``store.journal``), so nothing here needs masking; technical reasons written for admins
(English) are not shown to liaisons — they see what to do instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.domain import DEFAULT_STATUS_MAP, ComplaintState, status_key
from lapor_sync.durations import UNITS, parse_duration
from lapor_sync.glossary import (
    conflict_label,
    outbox_kind_label,
    stage_label,
    state_label,
)
from lapor_sync.local.values import parse_date
from lapor_sync.sla.deadlines import NO_OPD
from lapor_sync.timeutil import WIB, to_db

StateFor = Callable[[str], str | None]
"""Maps an SP4N-LAPOR! status name to an internal state (``Settings.state_for_status``)."""

_DEFAULT_STATES = {status_key(name): state for name, state in DEFAULT_STATUS_MAP.items()}


def _default_state_for(name: str) -> str | None:
    return _DEFAULT_STATES.get(status_key(name))


def remote_status_label(name: str | None, state_for: StateFor = _default_state_for) -> str:
    """An SP4N-LAPOR! status name as liaisons read it: the glossary's name of its state.

    A name no rule maps is quoted as SP4N-LAPOR!'s own word, so it is never mistaken for
    one of ours.
    """
    if not name:
        return "-"
    state = state_for(name)
    if state is None:
        return f"'{name}' (status SP4N-LAPOR! belum dikenal)"
    return state_label(state)


COLUMNS = (
    ("waktu", "Waktu (WIB)"),
    ("opd", "OPD"),
    ("tiket", "Tiket"),
    ("tracking_id", "Tracking ID"),
    ("kejadian", "Kejadian"),
    ("keterangan", "Keterangan"),
)


def describe_event(
    kind: str, detail: Mapping[str, Any], state_for: StateFor = _default_state_for
) -> tuple[str, str]:
    """(what happened, explanation) in Bahasa Indonesia for one event, glossary names only."""
    d = detail
    if kind == "pulled_new":
        return (
            "Laporan masuk dari SP4N-LAPOR!",
            f"Status: {remote_status_label(d.get('to_status'), state_for)}",
        )
    if kind == "status_changed":
        if "from_state" in d:
            return (
                "Status diperbarui mengikuti SP4N-LAPOR!",
                f"{state_label(d.get('from_state'))} → {state_label(d.get('to_state'))}",
            )
        return (
            "Status berubah di SP4N-LAPOR!",
            f"{remote_status_label(d.get('from_status'), state_for)} → "
            f"{remote_status_label(d.get('to_status'), state_for)}",
        )
    if kind == "followup_pulled":
        return "Tindak lanjut baru tercatat di SP4N-LAPOR!", ""
    if kind == "reporter_reply":
        return "Pelapor membalas", "Balasan pelapor perlu ditanggapi OPD."
    if kind == "local_changed":
        return (
            "Status lokal diubah OPD",
            f"{state_label(d.get('from_state'))} → {state_label(d.get('to_state'))}",
        )
    if kind == "pushed":
        return f"Terkirim ke SP4N-LAPOR!: {outbox_kind_label(d.get('kind'))}", ""
    if kind == "push_failed":
        return (
            f"Pengiriman {outbox_kind_label(d.get('kind'))} tertunda",
            "Akan dicoba lagi otomatis; tidak perlu tindakan.",
        )
    if kind == "push_dead":
        return (
            f"Pengiriman {outbox_kind_label(d.get('kind'))} gagal",
            "Perlu pemeriksaan admin Diskominfotik (lapor-sync outbox).",
        )
    if kind == "conflict":
        return (
            "Konflik status menunggu keputusan",
            f"{conflict_label(d.get('kind'))}: SP4N-LAPOR! "
            f"'{conflict_value_label(d.get('lapor_value'))}', "
            f"lokal '{conflict_value_label(d.get('local_value'))}'",
        )
    if kind == "resolved":
        side = "SP4N-LAPOR!" if d.get("take") == "lapor" else "data lokal"
        return "Konflik diselesaikan", f"Mengikuti {side}: {state_label(d.get('to_state'))}"
    if kind == "quarantined":
        return "Data dari SP4N-LAPOR! tidak terbaca", "Dikarantina; admin akan memeriksa."
    if kind == "overdue":
        return (
            f"Terlambat: {stage_label(d.get('stage', ''), None)}",
            f"{d.get('days_late', '?')} hari kerja lewat batas {d.get('due', '')[:10]}",
        )
    if kind == "near_due":
        return (
            f"Mendekati batas: {stage_label(d.get('stage', ''), None)}",
            f"Batas waktu {d.get('due', '')[:10]}",
        )
    if kind == "run_failed":
        return "Sinkronisasi gagal", "Admin Diskominfotik sudah diberi tahu lewat log layanan."
    if kind == "pulled_changed":
        return "Laporan diperbarui di SP4N-LAPOR!", ""
    return "Kejadian lain", f"jenis kejadian {kind!r} (belum punya nama)"


def conflict_value_label(value: str | None) -> str:
    """A conflict's side: an internal state, or (unknown_status) SP4N-LAPOR!'s own name."""
    if value and value not in {s.value for s in ComplaintState}:
        return remote_status_label(value)
    return state_label(value)


def parse_since(text: str, now: datetime) -> datetime:
    """A duration back from ``now`` in THE grammar (``7d``, ``24h``, ``2w``, ``1h30m``; see
    ``lapor_sync.durations``) or a date in the one date grammar (``01/11/2026``, ISO)."""
    value = text.strip()
    if value[:1].isdigit() and value[-1:].lower() in UNITS:
        return now - parse_duration(value)
    try:
        day = parse_date(text)
    except ValueError:
        raise ValueError("use 7d, 24h, 2w or a date like 01/11/2026 or 2026-11-01") from None
    return datetime(day.year, day.month, day.day, tzinfo=WIB)


@dataclass(frozen=True)
class LogFilter:
    """``opd``: one OPD's code (any case), or ``NO_OPD`` for events without an OPD."""

    since: datetime | None = None
    opd: str | None = None
    ticket: str | None = None
    limit: int = 1000
    state_for: StateFor = _default_state_for


def log_rows(db: sqlite_utils.Database, flt: LogFilter) -> list[dict[str, Any]]:
    where, params = ["1 = 1"], []
    if flt.since is not None:
        where.append("e.at >= ?")
        params.append(to_db(flt.since))
    if flt.opd == NO_OPD:
        where.append("e.opd IS NULL")
    elif flt.opd:
        where.append("upper(e.opd) = upper(?)")
        params.append(flt.opd)
    if flt.ticket:
        where.append("(coalesce(e.ticket_ref, t.ref) = ? OR e.tracking_id = ?)")
        params += [flt.ticket, flt.ticket]
    query = (
        f"SELECT e.*, coalesce(e.ticket_ref, t.ref) AS ref, t.origin FROM events e "
        f"LEFT JOIN links l ON l.account = e.account AND l.remote_id = e.complaint_id "
        f"LEFT JOIN local_tickets t ON t.id = l.ticket_id "
        f"WHERE {' AND '.join(where)} ORDER BY e.at DESC, e.id DESC LIMIT ?"
    )
    out = []
    for row in db.query(query, [*params, flt.limit]):
        detail = json.loads(row["detail"] or "{}")
        what, why = describe_event(row["kind"], detail, flt.state_for)
        if row["kind"] == "pulled_new" and row["origin"] == "local":
            # our own Call Center/walk-in ticket, seen back on SP4N-LAPOR!: not a new complaint
            what = "Laporan lokal tercatat di SP4N-LAPOR!"
        out.append(
            {
                "waktu": row["at"][:19].replace("T", " "),
                "opd": row["opd"] or "-",
                "tiket": row["ref"] or "-",
                "tracking_id": row["tracking_id"] or "-",
                "kejadian": what,
                "keterangan": why,
                "kind": row["kind"],
                "account": row["account"],
                "detail": detail,
            }
        )
    return out

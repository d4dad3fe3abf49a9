"""The reconciliation log as OPD liaisons read it: in Bahasa Indonesia, per OPD.

Every line says when, which ticket (local reference and Tracking ID), what happened and,
where it helps, a short explanation. The log never holds personal data (see
``store.journal``), so nothing here needs masking; technical reasons written for admins
(English) are not shown to liaisons — they see what to do instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from lapor_sync.timeutil import from_db, to_db

STATE_LABELS: Mapping[str, str] = {
    "received": "Diterima (belum di SP4N-LAPOR!)",
    "awaiting_verification": "Menunggu verifikasi",
    "dispositioned": "Terdisposisi",
    "in_progress": "Sedang diproses",
    "answered": "Sudah ditindaklanjuti",
    "closed": "Selesai",
    "archived": "Diarsipkan",
    "forwarded": "Diteruskan ke instansi lain",
    "postponed": "Ditunda",
}

KIND_LABELS: Mapping[str, str] = {
    "create_complaint": "laporan",
    "post_followup": "tindak lanjut",
    "forward": "penerusan",
}

CONFLICT_LABELS: Mapping[str, str] = {
    "unknown_status": "status SP4N-LAPOR! belum dikenal",
    "both_changed": "status berubah di kedua sisi",
    "backwards_lapor": "status di SP4N-LAPOR! mundur",
    "backwards_local": "status lokal mundur",
    "lapor_decides": "status ini diputuskan SP4N-LAPOR!",
}

STAGE_LABELS: Mapping[str, str] = {
    "verification": "Verifikasi SP4N-LAPOR!",
    "followup": "Tindak lanjut OPD",
    "reply": "Tanggapan atas balasan pelapor",
    "closure": "Penutupan",
    "settlement": "Penyelesaian",
}

COLUMNS = (
    ("waktu", "Waktu (WIB)"),
    ("opd", "OPD"),
    ("tiket", "Tiket"),
    ("tracking_id", "Tracking ID"),
    ("kejadian", "Kejadian"),
    ("keterangan", "Keterangan"),
)


def state_label(value: str | None) -> str:
    return STATE_LABELS.get(value or "", value or "-")


def describe_event(kind: str, detail: Mapping[str, Any]) -> tuple[str, str]:
    """(what happened, explanation) in Bahasa Indonesia for one event."""
    d = detail
    if kind == "pulled_new":
        return "Laporan masuk dari SP4N-LAPOR!", f"Status: {d.get('to_status', '-')}"
    if kind == "status_changed":
        if "from_state" in d:
            return (
                "Status diperbarui mengikuti SP4N-LAPOR!",
                f"{state_label(d.get('from_state'))} → {state_label(d.get('to_state'))}",
            )
        return (
            "Status berubah di SP4N-LAPOR!",
            f"{d.get('from_status') or '-'} → {d.get('to_status') or '-'}",
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
        return f"Terkirim ke SP4N-LAPOR!: {KIND_LABELS.get(d.get('kind', ''), '-')}", ""
    if kind == "push_failed":
        return (
            f"Pengiriman {KIND_LABELS.get(d.get('kind', ''), '')} tertunda",
            "Akan dicoba lagi otomatis; tidak perlu tindakan.",
        )
    if kind == "push_dead":
        return (
            f"Pengiriman {KIND_LABELS.get(d.get('kind', ''), '')} gagal",
            "Perlu pemeriksaan admin Diskominfotik (lapor-sync outbox).",
        )
    if kind == "conflict":
        return (
            "Konflik status menunggu keputusan",
            f"{CONFLICT_LABELS.get(d.get('kind', ''), d.get('kind', ''))}: SP4N-LAPOR! "
            f"'{_value_label(d.get('lapor_value'))}', lokal '{_value_label(d.get('local_value'))}'",
        )
    if kind == "resolved":
        side = "SP4N-LAPOR!" if d.get("take") == "lapor" else "data lokal"
        return "Konflik diselesaikan", f"Mengikuti {side}: {state_label(d.get('to_state'))}"
    if kind == "quarantined":
        return "Data dari SP4N-LAPOR! tidak terbaca", "Dikarantina; admin akan memeriksa."
    if kind == "overdue":
        return (
            f"Terlambat: {STAGE_LABELS.get(d.get('stage', ''), d.get('stage', ''))}",
            f"{d.get('days_late', '?')} hari kerja lewat batas {d.get('due', '')[:10]}",
        )
    if kind == "near_due":
        return (
            f"Mendekati batas: {STAGE_LABELS.get(d.get('stage', ''), d.get('stage', ''))}",
            f"Batas waktu {d.get('due', '')[:10]}",
        )
    if kind == "run_failed":
        return "Sinkronisasi gagal", "Admin Diskominfotik sudah diberi tahu lewat log layanan."
    return kind, ""


def _value_label(value: str | None) -> str:
    return STATE_LABELS.get(value or "", value or "-")


_SINCE = re.compile(r"^(\d+)([hdw])$")


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``24h``, ``2w`` or a date ``2026-11-01``."""
    match = _SINCE.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        hours = {"h": 1, "d": 24, "w": 24 * 7}[unit] * amount
        return now - timedelta(hours=hours)
    try:
        return from_db(text.strip() + "T00:00:00+07:00")
    except ValueError:
        raise ValueError("use 7d, 24h, 2w or a date like 2026-11-01") from None


@dataclass(frozen=True)
class LogFilter:
    since: datetime | None = None
    opd: str | None = None
    ticket: str | None = None
    limit: int = 1000


def log_rows(db: sqlite_utils.Database, flt: LogFilter) -> list[dict[str, Any]]:
    where, params = ["1 = 1"], []
    if flt.since is not None:
        where.append("e.at >= ?")
        params.append(to_db(flt.since))
    if flt.opd:
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
        what, why = describe_event(row["kind"], detail)
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

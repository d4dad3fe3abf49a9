"""The overdue list for OPD liaisons: late and near-due deadlines, per OPD, in Indonesian.

Rows come from the ``deadlines`` table (run ``recompute_deadlines`` first) joined with the
ticket's OPD, local reference and Tracking ID. Formats: ``table`` (for people), ``csv``
(UTF-8 with BOM and ``;``, as Excel with Indonesian regional settings expects) and ``json``.

Invariant: no personal data and no complaint text. A row names the OPD, the stage, the due
date, how late it is, the Tracking ID and the local reference — never the reporter, the
title or the content, so a rahasia complaint shows nothing but its identifiers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.glossary import (
    NO_OPD_LIAISON,
    NO_OPD_NAME,
    indonesian_date,
    indonesian_datetime,
    lateness_text,
    stage_label,
)
from lapor_sync.sla.calendar import WorkingCalendar
from lapor_sync.sla.deadlines import NO_OPD, OVERDUE, STAGES, open_deadlines
from lapor_sync.timeutil import WIB, to_db

FORMATS = ("table", "csv", "json")


# What ``--opd`` accepts for tickets without an OPD (compared upper-cased).
NO_OPD_CODES = frozenset({NO_OPD.upper(), "-"})
_MISSING = "-"


@dataclass(frozen=True, slots=True)
class OverdueRow:
    """One late or near-due deadline. Identifiers only: no personal data, no text."""

    opd_code: str | None  # None: not (yet) dispositioned to an OPD
    opd_name: str
    liaison: str
    stage: str
    stage_label: str
    overdue: bool
    days_late: int  # > 0 late; 0 due today; -n due in n working days
    due_at: datetime
    tracking_id: str | None
    ref: str | None

    @property
    def lateness(self) -> str:
        return lateness_text(self.days_late)

    @property
    def due_text(self) -> str:
        return indonesian_date(self.due_at.astimezone(WIB).date())

    def as_dict(self) -> dict[str, Any]:
        return {
            "opd_code": self.opd_code,
            "opd_name": self.opd_name,
            "liaison": self.liaison,
            "stage": self.stage,
            "stage_label": self.stage_label,
            "status": "overdue" if self.overdue else "near_due",
            "status_text": self.lateness,
            "days_late": self.days_late,
            "due_at": to_db(self.due_at),
            "due_date": self.due_at.astimezone(WIB).date().isoformat(),
            "due_text": self.due_text,
            "tracking_id": self.tracking_id,
            "ref": self.ref,
        }


def overdue_rows(
    db: sqlite_utils.Database,
    settings: Settings,
    now: datetime,
    *,
    opd: str | None = None,
    stage: str | None = None,
    near_due: bool = True,
    calendar: WorkingCalendar | None = None,
) -> list[OverdueRow]:
    """Late (and, with ``near_due``, near-due) deadlines, most late first.

    ``opd`` keeps one OPD (its code, any case; ``NO_OPD_CODES`` = tickets without an OPD);
    ``stage`` keeps one stage. Ties are ordered by due date, OPD and reference, so the order is
    stable from one run to the next.
    """
    if stage is not None and stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    calendar = calendar or settings.calendar()
    wanted_opd = opd.strip().upper() if opd is not None else None
    if wanted_opd in NO_OPD_CODES:
        wanted_opd = NO_OPD.upper()
    settlement_days = settings.deadlines.settlement_days
    rows = []
    for item in open_deadlines(
        db, calendar, now, settings.deadlines.near_due_days, include_near_due=near_due
    ):
        code = item.opd_code.strip().upper() if item.opd_code else None
        if wanted_opd is not None and (code or NO_OPD.upper()) != wanted_opd:
            continue
        if stage is not None and item.stage != stage:
            continue
        configured = settings.opd_by_code(code) if code else None
        if configured is not None:
            name, liaison = configured.name, configured.liaison
        elif code is None:
            name, liaison = NO_OPD_NAME, NO_OPD_LIAISON
        else:
            name, liaison = f"{code} (tidak ada di konfigurasi)", NO_OPD_LIAISON
        rows.append(
            OverdueRow(
                opd_code=code,
                opd_name=name,
                liaison=liaison,
                stage=item.stage,
                stage_label=stage_label(item.stage, settlement_days),
                overdue=item.kind == OVERDUE,
                days_late=item.days_late,
                due_at=item.due_at,
                tracking_id=item.tracking_id,
                ref=item.ref,
            )
        )
    rows.sort(key=lambda r: (-r.days_late, r.due_at, r.opd_code or "", r.ref or "", r.stage))
    return rows


def render(rows: Sequence[OverdueRow], fmt: str, now: datetime) -> str:
    if fmt == "table":
        return render_table(rows, now)
    if fmt == "csv":
        return render_csv(rows)
    if fmt == "json":
        return render_json(rows, now)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


# --- table ------------------------------------------------------------------------------------

_TABLE_HEADERS = ("Keadaan", "Tahap", "Batas waktu", "Tracking ID", "No. tiket lokal")


def _table_cells(row: OverdueRow) -> tuple[str, ...]:
    return (
        row.lateness,
        row.stage_label,
        row.due_text,
        row.tracking_id or "(belum ada)",
        row.ref or _MISSING,
    )


def _counts_text(rows: Sequence[OverdueRow]) -> str:
    late = sum(1 for r in rows if r.overdue)
    near = len(rows) - late
    parts = []
    if late:
        parts.append(f"{late} terlambat")
    if near:
        parts.append(f"{near} mendekati batas waktu")
    return ", ".join(parts)


def render_table(rows: Sequence[OverdueRow], now: datetime) -> str:
    """Plain text for a liaison: a heading line per OPD, then its items, most late first."""
    lines = [
        "Daftar laporan terlambat dan mendekati batas waktu",
        f"Keadaan per {indonesian_datetime(now)}.",
        "Hari kerja: Senin–Jumat, di luar libur nasional dan cuti bersama; "
        "batas waktu berakhir pukul 23.59 WIB pada tanggalnya.",
    ]
    if not rows:
        lines += ["", "Tidak ada laporan yang terlambat atau mendekati batas waktu."]
        return "\n".join(lines) + "\n"
    groups: dict[str | None, list[OverdueRow]] = {}
    for row in rows:  # rows are most late first: groups open in order of their worst item
        groups.setdefault(row.opd_code, []).append(row)
    cells = [_table_cells(r) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(_TABLE_HEADERS)]

    def line(values: Sequence[str]) -> str:
        return "  " + "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    for group in groups.values():
        first = group[0]
        title = f"{first.opd_code} — {first.opd_name}" if first.opd_code else first.opd_name
        lines += [
            "",
            title,
            f"Untuk: {first.liaison}. {_counts_text(group)}.",
            line(_TABLE_HEADERS),
            line(["-" * w for w in widths]),
        ]
        lines += [line(_table_cells(r)) for r in group]
    lines += ["", f"Jumlah: {_counts_text(rows)}."]
    return "\n".join(lines) + "\n"


# --- csv ------------------------------------------------------------------------------------

CSV_HEADERS = (
    "Kode OPD",
    "Nama OPD",
    "Penghubung",
    "Tahap",
    "Nama tahap",
    "Keadaan",
    "Hari kerja terlambat",
    "Batas waktu",
    "Tanggal batas waktu",
    "Tracking ID",
    "No. tiket lokal",
)


def _cell(value: str | None) -> str:
    """Text that a spreadsheet will not run as a formula."""
    text = value or ""
    if len(text) > 1 and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def render_csv(rows: Sequence[OverdueRow]) -> str:
    """CSV for Excel: starts with a UTF-8 BOM, ``;``-separated, CRLF line ends."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for r in rows:
        writer.writerow(
            [
                _cell(r.opd_code),
                _cell(r.opd_name),
                _cell(r.liaison),
                r.stage,
                _cell(r.stage_label),
                _cell(r.lateness),
                r.days_late,
                _cell(r.due_text),
                r.due_at.astimezone(WIB).date().isoformat(),
                _cell(r.tracking_id),
                _cell(r.ref),
            ]
        )
    return buffer.getvalue()


# --- json -----------------------------------------------------------------------------------


def render_json(rows: Sequence[OverdueRow], now: datetime) -> str:
    document = {
        "generated_at": to_db(now),
        "overdue": sum(1 for r in rows if r.overdue),
        "near_due": sum(1 for r in rows if not r.overdue),
        "items": [r.as_dict() for r in rows],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

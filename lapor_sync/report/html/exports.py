"""The report's figures for spreadsheets (``laporan.csv``) and programs (``laporan.json``).

CSV goes through ``report.tabular.to_csv`` (UTF-8 with BOM, ``;``): what Excel with
Indonesian regional settings opens by double-click. Percentages and medians are written
with a decimal comma (``83,3``), which that Excel reads as numbers; counts are plain
integers. JSON keeps numbers as numbers (``83.3``) and ``null`` where a figure does not
apply. Neither holds anything but OPD names, codes and counts.
"""

from __future__ import annotations

import json
from typing import Any

from lapor_sync.report.figures import OpdFigures, ReportFigures
from lapor_sync.report.html.numbers import compact, decimal
from lapor_sync.report.tabular import to_csv


def csv_columns(followup_days: int) -> tuple[tuple[str, str], ...]:
    return (
        ("periode", "Periode"),
        ("kode", "Kode OPD"),
        ("nama", "Nama OPD"),
        ("diterima", "Diterima"),
        ("didisposisikan", "Didisposisikan"),
        ("dinilai", "Tindak lanjut sudah jatuh tempo atau ada"),
        ("tepat", f"Ditindaklanjuti dalam {followup_days} hari kerja"),
        ("persen", f"% dalam {followup_days} hari kerja"),
        ("tl_terlambat", "Ditindaklanjuti sesudah batas waktu"),
        ("tl_belum", "Belum ditindaklanjuti, lewat batas"),
        ("tl_menunggu", "Belum ditindaklanjuti, belum jatuh tempo"),
        ("terlambat", "Terlambat (laporan periode ini)"),
        ("terbuka", "Masih terbuka"),
        ("median", "Median hari kerja ke tindak lanjut pertama"),
        ("konflik", "Konflik menunggu"),
        ("tunggakan", "Terlambat (semua periode)"),
    )


def _safe(text: str) -> str:
    """Text a spreadsheet will not take for a formula (codes from other software, say)."""
    if len(text) > 1 and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _csv_row(period: str, f: OpdFigures, code: str) -> dict[str, Any]:
    return {
        "periode": period,
        "kode": _safe(code),
        "nama": _safe(f.name),
        "diterima": f.received,
        "didisposisikan": f.dispositioned,
        "dinilai": f.assessed,
        "tepat": f.followup_on_time,
        "persen": decimal(f.on_time_pct, missing=""),
        "tl_terlambat": f.followup_late,
        "tl_belum": f.followup_missed,
        "tl_menunggu": f.followup_pending,
        "terlambat": f.late,
        "terbuka": f.open,
        "median": compact(f.median_days, missing=""),
        "konflik": f.conflicts,
        "tunggakan": f.backlog_late,
    }


def render_csv(figures: ReportFigures) -> str:
    """One row per OPD, then the total (``JUMLAH``)."""
    period = figures.period.code
    rows = [_csv_row(period, f, f.code or "-") for f in figures.opds]
    rows.append(_csv_row(period, figures.total, "JUMLAH"))
    return to_csv(rows, csv_columns(figures.followup_days))


def render_json(figures: ReportFigures) -> str:
    document = {"report": "lapor-sync monitoring per OPD", **figures.as_dict()}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

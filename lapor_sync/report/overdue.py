"""The overdue list for OPD liaisons: late and near-due deadlines, per OPD, in Indonesian.

Rows come from the ``deadlines`` table (run ``recompute_deadlines`` first) joined with the
ticket's OPD, local reference and Tracking ID: :func:`overdue_rows` gives one row per late
or near-due *stage*. What people read is one entry per *complaint*
(:func:`late_complaints`, :class:`LateComplaint`), its late and near-due stages inside it —
the one definition of late (docs/deadlines.md): a complaint is **terlambat** when at least
one of its stages is past its deadline, counted once however many are; **mendekati batas
waktu** when none is late but one is due within ``near_due_days``. Formats: ``table`` (for
people), ``csv`` (UTF-8 with BOM and ``;``, as Excel with Indonesian regional settings
expects) and ``json`` (each complaint with its ``stages``).

Invariant: no personal data and no complaint text. An entry names the OPD, the stages,
the due dates, how late it is, the Tracking ID, the local reference and the title as the
reports show it (``glossary.shown_title``: "(rahasia)" for a rahasia complaint, NIK, phone
numbers and e-mail addresses masked) — never the reporter or the content.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.glossary import (
    LATE_DEFINITION,
    NO_OPD_LIAISON,
    NO_OPD_NAME,
    indonesian_date,
    indonesian_datetime,
    late_count_text,
    lateness_text,
    shown_title,
    stage_label,
)
from lapor_sync.sla.deadlines import NO_OPD, OVERDUE, STAGES
from lapor_sync.sla.open_deadlines import iter_open_deadlines
from lapor_sync.timeutil import WIB, to_db
from lapor_sync.working_days import WorkingCalendar

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
    rows = [
        row
        for _, row in iter_overdue_rows(
            db, settings, now, opd=opd, stage=stage, near_due=near_due, calendar=calendar
        )
    ]
    rows.sort(key=row_order)
    return rows


def row_order(row: OverdueRow) -> tuple[int, datetime, str, str, str]:
    """Most late first; ties by due date, OPD, reference and stage (stable run to run)."""
    return (-row.days_late, row.due_at, row.opd_code or "", row.ref or "", row.stage)


def iter_overdue_rows(
    db: sqlite_utils.Database,
    settings: Settings,
    now: datetime,
    *,
    opd: str | None = None,
    stage: str | None = None,
    near_due: bool = True,
    calendar: WorkingCalendar | None = None,
) -> Iterator[tuple[int, OverdueRow]]:
    """``(ticket_id, row)`` of ``overdue_rows``, unsorted: streamed in (ticket, stage) order
    from keyset pages of the store, so the stages of one ticket come one after another and
    a caller that keeps only a few holds no more than a page."""
    if stage is not None and stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    calendar = calendar or settings.calendar()
    wanted_opd = opd.strip().upper() if opd is not None else None
    if wanted_opd in NO_OPD_CODES:
        wanted_opd = NO_OPD.upper()
    settlement_days = settings.deadlines.settlement_days
    for item in iter_open_deadlines(
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
        yield item.ticket_id, OverdueRow(
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


@dataclass(frozen=True, slots=True)
class LateComplaint:
    """One late or near-due complaint: its stages inside it, the worst first."""

    stages: tuple[OverdueRow, ...]  # never empty; most late first
    title: str  # as the reports show it: "(rahasia)", or masked
    secret: bool

    @property
    def worst(self) -> OverdueRow:
        return self.stages[0]

    @property
    def overdue(self) -> bool:
        return self.worst.overdue

    @property
    def opd_code(self) -> str | None:
        return self.worst.opd_code

    @property
    def ref(self) -> str | None:
        return self.worst.ref

    @property
    def tracking_id(self) -> str | None:
        return self.worst.tracking_id

    @property
    def due_at(self) -> datetime:
        """The earliest deadline among its stages."""
        return min(r.due_at for r in self.stages)

    @property
    def stages_text(self) -> str:
        """``Tindak lanjut OPD`` — or, for several, each with its own lateness."""
        if len(self.stages) == 1:
            return self.worst.stage_label
        return "; ".join(f"{r.stage_label} ({r.lateness})" for r in self.stages)

    def as_dict(self) -> dict[str, Any]:
        first = self.worst.as_dict()
        return {
            **{k: first[k] for k in ("opd_code", "opd_name", "liaison", "tracking_id", "ref")},
            "title": self.title,
            "status": first["status"],
            "status_text": first["status_text"],
            "days_late": first["days_late"],
            "due_at": to_db(self.due_at),
            "due_date": self.due_at.astimezone(WIB).date().isoformat(),
            "stages": [r.as_dict() for r in self.stages],
        }


def titles_by_ref(db: sqlite_utils.Database) -> dict[str, tuple[str, bool]]:
    """(title as shown, rahasia) of every ticket with an open deadline, by reference.

    Rahasia in the register or on the SP4N-LAPOR! mirror counts; no reporter field is read.
    """
    rows = db.execute(
        "SELECT t.ref, t.title, max(t.is_secret, coalesce(rc.is_secret, 0)) "
        "FROM local_tickets t "
        "LEFT JOIN links l ON l.ticket_id = t.id "
        "LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
        "WHERE t.ref IS NOT NULL "
        "AND t.id IN (SELECT ticket_id FROM deadlines WHERE met_at IS NULL)"
    )
    return {ref: (shown_title(title, bool(secret)), bool(secret)) for ref, title, secret in rows}


def titles_of(db: sqlite_utils.Database, refs: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """``titles_by_ref`` for these references only (a bounded work list's few)."""
    rows = db.execute(
        "SELECT t.ref, t.title, max(t.is_secret, coalesce(rc.is_secret, 0)) "
        "FROM json_each(?) j JOIN local_tickets t ON t.ref = j.value "
        "LEFT JOIN links l ON l.ticket_id = t.id "
        "LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id",
        [json.dumps(list(refs))],
    )
    return {ref: (shown_title(title, bool(secret)), bool(secret)) for ref, title, secret in rows}


def late_complaints(
    db: sqlite_utils.Database, rows: Sequence[OverdueRow]
) -> list[LateComplaint]:
    """``overdue_rows`` grouped per complaint, in the order of each complaint's worst stage."""
    titles = titles_by_ref(db)
    grouped: dict[tuple[str | None, str | None, str | None], list[OverdueRow]] = {}
    for row in rows:
        grouped.setdefault((row.opd_code, row.ref, row.tracking_id), []).append(row)
    out = []
    for stages in grouped.values():
        title, secret = titles.get(stages[0].ref or "", ("-", False))
        out.append(LateComplaint(tuple(stages), title, secret))
    return out


def render(complaints: Sequence[LateComplaint], fmt: str, now: datetime) -> str:
    if fmt == "table":
        return render_table(complaints, now)
    if fmt == "csv":
        return render_csv(complaints)
    if fmt == "json":
        return render_json(complaints, now)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


# --- table ------------------------------------------------------------------------------------

_TABLE_HEADERS = ("Keadaan", "Judul", "Tahap", "Batas waktu", "Tracking ID", "No. tiket lokal")
_TITLE_WIDTH = 40


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table_cells(item: LateComplaint) -> tuple[str, ...]:
    return (
        item.worst.lateness,
        _short(item.title, _TITLE_WIDTH),
        item.stages_text,
        indonesian_date(item.due_at.astimezone(WIB).date()),
        item.tracking_id or "(belum ada)",
        item.ref or _MISSING,
    )


def _counts_text(items: Sequence[LateComplaint]) -> str:
    late = sum(1 for i in items if i.overdue)
    return late_count_text(late, len(items) - late)


def render_table(items: Sequence[LateComplaint], now: datetime) -> str:
    """Plain text for a liaison: a heading line per OPD, then its complaints, most late first."""
    lines = [
        "Daftar laporan terlambat dan mendekati batas waktu",
        f"Keadaan per {indonesian_datetime(now)}.",
        LATE_DEFINITION,
        "Hari kerja: Senin–Jumat, di luar libur nasional dan cuti bersama; "
        "batas waktu berakhir pukul 23.59 WIB pada tanggalnya.",
    ]
    if not items:
        lines += ["", "Tidak ada laporan yang terlambat atau mendekati batas waktu."]
        return "\n".join(lines) + "\n"
    groups: dict[str | None, list[LateComplaint]] = {}
    for item in items:  # most late first: groups open in order of their worst complaint
        groups.setdefault(item.opd_code, []).append(item)
    cells = [_table_cells(i) for i in items]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(_TABLE_HEADERS)]

    def line(values: Sequence[str]) -> str:
        return "  " + "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    for group in groups.values():
        first = group[0].worst
        title = f"{first.opd_code} — {first.opd_name}" if first.opd_code else first.opd_name
        lines += [
            "",
            title,
            f"Untuk: {first.liaison}. {_counts_text(group)}.",
            line(_TABLE_HEADERS),
            line(["-" * w for w in widths]),
        ]
        lines += [line(_table_cells(i)) for i in group]
    lines += ["", f"Jumlah: {_counts_text(items)}."]
    return "\n".join(lines) + "\n"


# --- csv ------------------------------------------------------------------------------------

CSV_HEADERS = (
    "Kode OPD",
    "Nama OPD",
    "Penghubung",
    "Judul",
    "Keadaan",
    "Hari kerja terlambat",
    "Tahap",
    "Nama tahap",
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


def render_csv(items: Sequence[LateComplaint]) -> str:
    """CSV for Excel, one row per complaint: a UTF-8 BOM, ``;``-separated, CRLF line ends."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for i in items:
        r = i.worst
        writer.writerow(
            [
                _cell(r.opd_code),
                _cell(r.opd_name),
                _cell(r.liaison),
                _cell(i.title),
                _cell(r.lateness),
                r.days_late,
                ",".join(s.stage for s in i.stages),
                _cell(i.stages_text),
                _cell(indonesian_date(i.due_at.astimezone(WIB).date())),
                i.due_at.astimezone(WIB).date().isoformat(),
                _cell(r.tracking_id),
                _cell(r.ref),
            ]
        )
    return buffer.getvalue()


# --- json -----------------------------------------------------------------------------------


def render_json(items: Sequence[LateComplaint], now: datetime) -> str:
    document = {
        "generated_at": to_db(now),
        "definition": LATE_DEFINITION,
        "overdue": sum(1 for i in items if i.overdue),
        "near_due": sum(1 for i in items if not i.overdue),
        "items": [i.as_dict() for i in items],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

"""Pages of the liaison report, rendered with Jinja2 (autoescaping on for every template).

``render_site`` returns every file of the report as ``{name: text}``; it reads nothing and
writes nothing, so the caller decides where (and how atomically) the files go.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2

from lapor_sync import __version__
from lapor_sync.glossary import LATE_DEFINITION, indonesian_datetime, late_count_text
from lapor_sync.report.figures import OpdFigures, ReportFigures
from lapor_sync.report.html import charts
from lapor_sync.report.html.exports import render_csv, render_json
from lapor_sync.report.html.numbers import compact, number, percent
from lapor_sync.report.html.pages import ITEM_LIMIT, EventList, EventWindow, WorkList
from lapor_sync.report.period import Week
from lapor_sync.sla.deadlines import NO_OPD

INDEX = "index.html"
CSV_FILE = "laporan.csv"
JSON_FILE = "laporan.json"
TOP_ITEMS = 5  # late items in each OPD's section of the overview

COLOR_RECEIVED = "#3b6ea5"
COLOR_ON_TIME = "#2f855a"
COLOR_LATE = "#c53030"

_SAFE_KEY = re.compile(r"[A-Za-z0-9_-]{1,40}")


def opd_file(key: str) -> str:
    """``opd-<code>.html``; a code that is not a safe file name gets a stable hash instead."""
    if _SAFE_KEY.fullmatch(key):
        return f"opd-{key}.html"
    return f"opd-x{hashlib.sha256(key.encode()).hexdigest()[:12]}.html"


def short_label(f: OpdFigures) -> str:
    """The OPD's code, as charts and the navigation show it."""
    return "Tanpa OPD" if f.key == NO_OPD else f.key


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lapor_sync.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["number"] = number
    env.filters["percent"] = percent
    env.filters["compact"] = compact
    return env


@dataclass(frozen=True)
class OpdSection:
    figures: OpdFigures
    file: str
    anchor: str
    items: WorkList
    worklist_summary: str


NO_WORK = WorkList((), 0, 0)


def worklist_summary(work: WorkList) -> str:
    """``3 laporan terlambat, 2 laporan mendekati batas waktu.`` — complaints, not stages."""
    return late_count_text(work.late, work.total - work.late) + "."


def _week_labels(weeks: Sequence[Week]) -> list[str]:
    if len(weeks) <= 6:
        return [w.label for w in weeks]
    return [Week(w.start, w.start).label for w in weeks]  # the Monday: keeps labels short


def _weeks_caption(figures: ReportFigures) -> str:
    if figures.period.is_all:
        return (
            f"{len(figures.weeks)} minggu terakhir (Senin–Minggu); label = hari Senin. "
            "Tanggal masuk di SP4N-LAPOR!, atau tanggal diterima Call Center."
        )
    return (
        f"Minggu Senin–Minggu dalam {figures.period.label}. "
        "Tanggal masuk di SP4N-LAPOR!, atau tanggal diterima Call Center."
    )


def _week_chart(figures: ReportFigures, values: Sequence[int], whom: str) -> Any:
    labels = _week_labels(figures.weeks)
    desc = ", ".join(f"{w.label}: {v}" for w, v in zip(figures.weeks, values, strict=True))
    return charts.columns(
        labels,
        values,
        title=f"Pengaduan masuk per minggu — {whom}",
        desc=desc or "Tidak ada minggu dalam periode ini.",
    )


def _opd_chart(figures: ReportFigures) -> Any:
    rows = figures.opds
    series = [
        charts.Series("Diterima", COLOR_RECEIVED, [f.received for f in rows]),
        charts.Series(
            f"Ditindaklanjuti ≤ {figures.followup_days} HK",
            COLOR_ON_TIME,
            [f.followup_on_time for f in rows],
        ),
        charts.Series("Terlambat", COLOR_LATE, [f.late for f in rows]),
    ]
    desc = "; ".join(
        f"{short_label(f)}: diterima {f.received}, tepat waktu {f.followup_on_time}, "
        f"terlambat {f.late}"
        for f in rows
    )
    return charts.grouped_bars(
        [short_label(f) for f in rows],
        series,
        title=f"Diterima, ditindaklanjuti tepat waktu dan terlambat per OPD — "
        f"{figures.period.label}",
        desc=desc or "Tidak ada OPD.",
    )


def render_site(
    figures: ReportFigures,
    work: Mapping[str, WorkList],
    conflicts: Mapping[str, Sequence[Mapping[str, Any]]],
    events: Mapping[str, EventList],
    window: EventWindow,
    now: datetime,
) -> dict[str, str]:
    """Every file of the report: ``index.html``, ``opd-<code>.html``, CSV and JSON."""
    env = environment()
    files = {f.key: opd_file(f.key) for f in figures.opds}
    common = {
        "version": __version__,
        "period": figures.period,
        "as_of": indonesian_datetime(now),
        "late_definition": LATE_DEFINITION,
        "followup_days": figures.followup_days,
        "opd_links": [
            {"key": f.key, "file": files[f.key], "label": short_label(f), "name": f.name}
            for f in figures.opds
        ],
        "weeks_caption": _weeks_caption(figures),
    }
    sections = [
        OpdSection(
            figures=f,
            file=files[f.key],
            anchor=files[f.key].removesuffix(".html"),
            items=work.get(f.key, NO_WORK),
            worklist_summary=worklist_summary(work.get(f.key, NO_WORK)),
        )
        for f in figures.opds
    ]
    out = {
        INDEX: env.get_template("index.html").render(
            **common,
            current="index",
            total=figures.total,
            opds=figures.opds,
            links=files,
            sections=sections,
            top_items=TOP_ITEMS,
            chart_opd=_opd_chart(figures),
            chart_weeks=_week_chart(figures, figures.total.weekly, figures.total.name),
        )
    }
    page = env.get_template("opd.html")
    for section in sections:
        f = section.figures
        out[section.file] = page.render(
            **common,
            current=f.key,
            f=f,
            items=section.items,
            item_limit=ITEM_LIMIT,
            worklist_summary=section.worklist_summary,
            conflicts=conflicts.get(f.key, ()),
            events=events.get(f.key, EventList([], truncated=False, unreadable=False)),
            events_label=window.label,
            chart_weeks=_week_chart(figures, f.weekly, f.name),
        )
    out[CSV_FILE] = render_csv(figures)
    out[JSON_FILE] = render_json(figures)
    return out

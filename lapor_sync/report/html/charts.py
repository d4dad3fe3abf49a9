"""Charts as inline SVG, drawn in Python: no JavaScript, no fonts or images fetched.

Every text that goes into the SVG passes through ``markupsafe.escape``, so an OPD name or a
label cannot inject markup; numbers are written by this module. Each chart carries a
``<title>`` and a ``<desc>`` (read by screen readers) and prints its values beside the bars,
so it reads without colour and on a black-and-white printer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from lapor_sync.report.html.numbers import number

_ids = itertools.count(1)

FONT = "font-family=\"'Segoe UI', 'Noto Sans', 'DejaVu Sans', Arial, sans-serif\""


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    values: Sequence[int]


_NICE = (1.0, 2.0, 2.5, 5.0)


def _is_nice(value: int) -> bool:
    """1, 2, 2.5 or 5 times a power of ten."""
    magnitude = 10 ** math.floor(math.log10(value))
    return value / magnitude in _NICE


def nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` that splits into round ticks; at least 1."""
    if value <= 1:
        return 1
    magnitude = int(10 ** math.floor(math.log10(value)))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        top = int(step * magnitude)
        if top >= value and _ticks(top) != [0, top]:
            return top
    return 10 * magnitude


def _ticks(top: int) -> list[int]:
    """Evenly spaced ticks from 0 to ``top`` whose step is a round number."""
    for parts in (5, 4, 3, 6, 2, 1):
        if top % parts == 0 and _is_nice(top // parts):
            return [top * i // parts for i in range(parts + 1)]
    return [0, top]


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: float = 12,
    weight: str = "normal",
    fill: str = "#1f2933",
    extra: str = "",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'font-weight="{weight}" fill="{fill}" {FONT}{extra}>{escape(content)}</text>'
    )


def _open(width: int, height: int, title: str, desc: str, css_class: str) -> tuple[str, str]:
    ident = f"chart{next(_ids)}"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="{ident}-t {ident}-d">'
        f'<title id="{ident}-t">{escape(title)}</title>'
        f'<desc id="{ident}-d">{escape(desc)}</desc>'
    )
    return ident, head


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts = []
    for s in series:
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2" fill="{s.color}"/>'
        )
        parts.append(_text(x + 17, y, s.label, size=12))
        x += 17 + 7.2 * len(s.label) + 22
    return parts


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    width: int = 1000,
) -> Markup:
    """Horizontal bars: one group per category, one bar per series, values at the ends."""
    label_w = 130
    bar_h, bar_gap, group_gap = 10, 2, 12
    top_pad, axis_h = 34, 24
    group_h = len(series) * (bar_h + bar_gap) - bar_gap
    height = top_pad + len(categories) * (group_h + group_gap) + axis_h
    plot_w = width - label_w - 56
    top_value = nice_max(max((max(s.values, default=0) for s in series), default=0))
    scale = plot_w / top_value
    _, head = _open(width, height, title, desc, "chart chart-bars")
    parts = [head]
    parts += _legend(series, label_w, 16)
    plot_top = top_pad
    plot_bottom = height - axis_h
    for tick in _ticks(top_value):
        x = label_w + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{plot_top - 4}" x2="{x:.1f}" y2="{plot_bottom}" '
            f'stroke="#d9dee3" stroke-width="1"/>'
        )
        parts.append(
            _text(x, plot_bottom + 15, number(tick), anchor="middle", size=11, fill="#52606d")
        )
    y = float(plot_top)
    for index, category in enumerate(categories):
        parts.append(
            _text(label_w - 8, y + group_h / 2 + 4, category, anchor="end", size=12, weight="600")
        )
        for s in series:
            value = s.values[index]
            w = value * scale
            parts.append(
                f'<rect x="{label_w}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{bar_h}" '
                f'rx="1.5" fill="{s.color}"><title>{escape(category)} – {escape(s.label)}: '
                f"{number(value)}</title></rect>"
            )
            parts.append(
                _text(label_w + w + 4, y + bar_h - 1.5, number(value), size=10.5, fill="#323f4b")
            )
            y += bar_h + bar_gap
        y += group_gap - bar_gap
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)


def columns(
    labels: Sequence[str],
    values: Sequence[int],
    *,
    title: str,
    desc: str,
    color: str = "#3b6ea5",
    width: int = 1000,
    height: int = 240,
) -> Markup:
    """Vertical bars, one per label (weeks), the value above each bar."""
    left, right, top, bottom = 40, 12, 22, 42
    plot_w = width - left - right
    plot_h = height - top - bottom
    top_value = nice_max(max(values, default=0))
    scale = plot_h / top_value
    slot = plot_w / max(len(values), 1)
    bar_w = min(56.0, slot * 0.62)
    _, head = _open(width, height, title, desc, "chart chart-columns")
    parts = [head]
    base = top + plot_h
    for tick in _ticks(top_value):
        y = base - tick * scale
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="#d9dee3" stroke-width="1"/>'
        )
        parts.append(_text(left - 6, y + 4, number(tick), anchor="end", size=11, fill="#52606d"))
    small = slot < 58
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        cx = left + slot * index + slot / 2
        h = value * scale
        parts.append(
            f'<rect x="{cx - bar_w / 2:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
            f'height="{max(h, 0.5):.1f}" rx="2" fill="{color}"><title>{escape(label)}: '
            f"{number(value)}</title></rect>"
        )
        parts.append(_text(cx, base - h - 5, number(value), anchor="middle", size=11, weight="600"))
        parts.append(
            _text(cx, base + 16, label, anchor="middle", size=10 if small else 11, fill="#323f4b")
        )
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#9aa5b1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)

"""Rows to text for people and spreadsheets: an aligned table, CSV for Excel, JSON.

CSV is written for an Indonesian Excel: UTF-8 with a byte-order mark (so Excel detects the
encoding) and ``;`` as separator (the list separator of the Indonesian locale, where the
comma is the decimal mark).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

Format = Literal["table", "csv", "json"]
Column = tuple[str, str]  # (key in the row, header shown to people)

_MAX_CELL = 60


def render(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], fmt: Format) -> str:
    if fmt == "json":
        return json.dumps([dict(r) for r in rows], ensure_ascii=False, indent=2, default=str)
    if fmt == "csv":
        return to_csv(rows, columns)
    return to_table(rows, columns)


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([header for _key, header in columns])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key, _header in columns])
    return out.getvalue()


def to_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    cells = [[_short(_cell(row.get(key))) for key, _ in columns] for row in rows]
    headers = [header for _, header in columns]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"

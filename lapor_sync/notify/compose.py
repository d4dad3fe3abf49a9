"""The texts of a notification: a plain part, a simple HTML part and the webhook's JSON.

Everything is built from :class:`Item` values, which hold identifiers only (Tracking ID,
local reference, stage, due date, a note chosen by the program, the portal link), so no
text here can carry a reporter's data, complaint content or a title — rahasia or not.
HTML is escaped value by value.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lapor_sync.glossary import NOTIFY_COLUMNS, NOTIFY_FOOTER, NOTIFY_NONE, due_text
from lapor_sync.timeutil import to_db


@dataclass(frozen=True)
class Item:
    """One line of a notification. Identifiers and program-chosen words only."""

    tracking_id: str | None
    ref: str | None
    stage: str  # a stage label (Indonesian) or a short kind of condition
    due_at: datetime | None
    note: str
    link: str | None

    def cells(self) -> tuple[str, ...]:
        return (
            self.tracking_id or NOTIFY_NONE,
            self.ref or NOTIFY_NONE,
            self.stage,
            due_text(self.due_at),
            self.note,
            self.link or NOTIFY_NONE,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "tracking_id": self.tracking_id,
            "ref": self.ref,
            "stage": self.stage,
            "due_at": to_db(self.due_at) if self.due_at else None,
            "due_text": due_text(self.due_at),
            "note": self.note,
            "link": self.link,
        }


@dataclass(frozen=True)
class Section:
    heading: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str
    payload: str  # JSON for the webhook


@dataclass(frozen=True)
class Draft:
    """What a message says, before it is written out."""

    kind: str
    subject: str
    intro: str
    sections: tuple[Section, ...]
    opd_code: str | None = None
    link: str | None = None  # one link for the whole message (the weekly report)
    figures: tuple[tuple[str, str], ...] = field(default=())  # label, value

    def compose(self) -> Composed:
        return Composed(self.subject, _text(self), _html(self), _payload(self))


def _text(d: Draft) -> str:
    lines = [d.intro, ""]
    for label, value in d.figures:
        lines.append(f"{label}: {value}")
    if d.figures:
        lines.append("")
    for section in d.sections:
        lines.append(f"{section.heading} ({len(section.items)})")
        lines.append("-" * min(len(section.heading) + 6, 78))
        for item in section.items:
            tracking, ref, stage, due, note, link = item.cells()
            lines.append(f"* {tracking} | {ref} | {stage} | batas {due} | {note}")
            if item.link:
                lines.append(f"  {link}")
        lines.append("")
    if d.link:
        lines += [d.link, ""]
    lines.append(NOTIFY_FOOTER)
    return "\n".join(lines) + "\n"


def _html(d: Draft) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="id"><head><meta charset="utf-8">',
        f"<title>{e(d.subject)}</title></head>",
        '<body style="font-family: sans-serif; font-size: 14px">',
        f"<p>{e(d.intro)}</p>",
    ]
    if d.figures:
        out.append('<table border="1" cellpadding="4" cellspacing="0">')
        for label, value in d.figures:
            out.append(f'<tr><th align="left">{e(label)}</th><td>{e(value)}</td></tr>')
        out.append("</table>")
    for section in d.sections:
        out.append(f"<h3>{e(section.heading)} ({len(section.items)})</h3>")
        out.append('<table border="1" cellpadding="4" cellspacing="0">')
        out.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in NOTIFY_COLUMNS) + "</tr>")
        for item in section.items:
            cells = item.cells()
            row = "".join(f"<td>{e(c)}</td>" for c in cells[:-1])
            if item.link:
                row += f'<td><a href="{e(item.link)}">buka</a></td>'
            else:
                row += f"<td>{NOTIFY_NONE}</td>"
            out.append(f"<tr>{row}</tr>")
        out.append("</table>")
    if d.link:
        out.append(f'<p><a href="{e(d.link)}">{e(d.link)}</a></p>')
    out.append(f"<p><small>{e(NOTIFY_FOOTER)}</small></p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _payload(d: Draft) -> str:
    body = {
        "kind": d.kind,
        "opd": d.opd_code,
        "subject": d.subject,
        "intro": d.intro,
        "figures": [{"label": k, "value": v} for k, v in d.figures],
        "sections": [
            {"heading": s.heading, "items": [i.as_dict() for i in s.items]} for s in d.sections
        ],
        "link": d.link,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def section(heading: str, items: Sequence[Item]) -> Section:
    return Section(heading, tuple(items))

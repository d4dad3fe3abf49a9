"""The interactive form of ``lapor-sync local add``: every field, each checked as it is typed.

Each answer goes through the intake's per-field validator (``local.intake``); a refused
answer is asked again with the reason, and only that field. What was typed before stays.
Problems name the field's label, never a flag the operator did not use. The content may
span several lines, up to a line holding only ``.``.
"""

from __future__ import annotations

import sys

import click

from lapor_sync.local.intake import (
    LABELS,
    MAX_TITLE,
    FieldError,
    FieldProblem,
    IntakeRules,
    validate_field,
)
from lapor_sync.local.values import CHANNEL_HINT

# What the interactive form asks, in this order, with the hint shown after the label.
FORM: tuple[tuple[str, str], ...] = (
    ("opd_code", "kode OPD, kosong = belum ditentukan"),
    ("channel", CHANNEL_HINT),
    ("received_at", "dd/mm/yyyy HH:MM, kosong = sekarang"),
    ("reporter_name", "kosong = tidak ada"),
    ("reporter_phone", "kosong = tidak ada"),
    ("reporter_email", "kosong = tidak ada"),
    ("is_anonymous", "ya/tidak"),
    ("is_secret", "ya/tidak"),
    ("title", f"paling banyak {MAX_TITLE} karakter"),
    ("content", "boleh beberapa baris; akhiri dengan baris berisi satu titik ."),
    ("date_of_incident", "dd/mm/yyyy, kosong = tidak diketahui"),
    ("category_id", "kosong = bawaan"),
    ("location_id", "kosong = bawaan"),
    ("classification_id", "kosong = bawaan"),
    ("disposition_id", "kosong = instansi OPD"),
)
_FLAG_DEFAULTS = {"is_anonymous": "tidak", "is_secret": "tidak"}


def _read_multiline(label: str) -> str:
    """Lines up to one holding only ``.`` (or the end of input); line breaks are kept."""
    click.echo(f"{label} (akhiri dengan baris berisi satu titik .):")
    stream = sys.stdin  # CliRunner swaps it too, so tests drive the form
    lines: list[str] = []
    while True:
        line = stream.readline()
        if not line or line.rstrip("\r\n") == ".":
            break
        lines.append(line.rstrip("\r\n"))
    return "\n".join(lines)


def ask(name: str, hint: str, rules: IntakeRules, problem: FieldProblem | None = None) -> str:
    """Ask for one field until the intake accepts it; return the text as typed.

    Asked again because of ``problem`` of kind "required", an empty answer is refused too.
    """
    label = LABELS[name]
    must_fill = problem is not None and problem.kind == "required"
    shown = problem.message if problem else None
    while True:
        if shown:
            click.echo(f"  {label}: {shown}", err=True)
        if name == "content":
            text = _read_multiline(label)
        else:
            text = click.prompt(
                f"{label} ({hint})", default=_FLAG_DEFAULTS.get(name, ""), show_default=False
            )
        try:
            validate_field(name, text, rules)
        except FieldError as exc:
            shown = exc.message
            continue
        if must_fill and not text.strip():
            continue
        return text


def fill_in(raw: dict[str, str], asked: set[str], rules: IntakeRules) -> None:
    """The interactive form: ask every field no flag gave, each until it is accepted."""
    click.echo("Laporan baru. Tekan Enter untuk mengosongkan kolom yang tidak wajib.")
    for name, hint in FORM:
        if name not in raw:
            raw[name] = ask(name, hint, rules)
            asked.add(name)

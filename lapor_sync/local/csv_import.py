"""Importing the spreadsheets that Call Center operators keep (docs/local-records.md).

A file is read in two passes: ``read_csv`` validates every row without touching the
database, and ``import_rows`` writes them all in one transaction. Invariants:

- **all or nothing per file**: if any row is bad, nothing is written, and *every* bad row
  is reported as ``line N: field: reason`` (N is the physical line where the record
  starts, the header being line 1); reasons name the column, never a value from the file,
  so a report can be shown or logged without personal data;
- **idempotent**: each row carries an ``import_key``, a hash of its normalised identifying
  content (channel, received time, phone, title, content) that depends neither on the
  file's name nor on the row's position. A row whose key is already in ``local_tickets``
  is skipped; a row repeated within one file is imported once. The check runs inside the
  writing transaction and ``import_key`` is UNIQUE, so two concurrent imports of the same
  file cannot both insert a row;
- text is stored verbatim (SQL-looking text, emoji, very long content): values only ever
  travel as bound parameters;
- each inserted ticket gets its push queued by the ``local_tickets`` trigger, in the same
  transaction.

Accepted input: UTF-8 with or without BOM; comma, semicolon (Indonesian Excel) or tab
separated, sniffed from the header line (an Excel ``sep=;`` first line is honoured);
quoted fields may hold separators and newlines. Dates are day first (``dd/mm/yyyy``,
``dd-mm-yyyy``) or ISO (``yyyy-mm-dd``), the received time optionally followed by
``HH:MM[:SS]``; every time is WIB.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import sqlite_utils

from lapor_sync.errors import CsvImportError
from lapor_sync.glossary import csv_line
from lapor_sync.local.create_fields import CreateDefaults
from lapor_sync.local.csv_fields import (
    FIELD_ALIASES,
    HEADER_TO_FIELD,
    REQUIRED_FIELDS,
    SEPARATORS,
    import_key,
    normalize_channel,
    normalize_header,
    parse_bool,
    parse_date,
    parse_received,
)
from lapor_sync.local.intake import IntakeRules, TicketInput, validate_ticket
from lapor_sync.local.register import insert_ticket
from lapor_sync.store.db import transaction
from lapor_sync.timeutil import Clock, now_wib

MAX_CELL = 2**31 - 1  # the largest limit the csv module accepts on every platform


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong in a file. Neither reason ever quotes a value from the file.

    ``reason`` is English (the admin's log and ``str()``); ``reason_id`` is the same in
    Bahasa Indonesia, for the operator who imports the file (``in_indonesian``).
    """

    line: int | None
    field: str
    reason: str
    reason_id: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.field}: {self.reason}"

    def in_indonesian(self) -> str:
        """``baris 7: judul: …``, with the file's structural words in Indonesian too."""
        where = f"{csv_line(self.line)}: " if self.line is not None else ""
        field = _FIELD_WORDS.get(self.field, self.field)
        if self.field.startswith("column "):
            field = "kolom " + self.field.removeprefix("column ")
        return f"{where}{field}: {self.reason_id}"


# The words RowProblem uses for the parts of a file that are not columns.
_FIELD_WORDS = {"file": "berkas", "header": "baris judul kolom", "row": "baris"}


@dataclass(frozen=True)
class ParsedRow:
    """A valid row: where it starts in the file, and the ticket it becomes."""

    line: int
    ticket: TicketInput

    @property
    def import_key(self) -> str:
        assert self.ticket.import_key is not None
        return self.ticket.import_key


@dataclass(frozen=True)
class ImportResult:
    rows: int
    imported: int
    skipped_duplicates: int  # already in the register, or repeated earlier in the file
    repeated_in_file: int  # the part of skipped_duplicates repeated within this file
    refs: tuple[str, ...]
    dry_run: bool = False

    @property
    def already_imported(self) -> int:
        """Rows skipped because an identical row was imported before (another run)."""
        return self.skipped_duplicates - self.repeated_in_file


__all__ = [
    "CsvImportError",
    "ImportResult",
    "ParsedRow",
    "RowProblem",
    "decode",
    "import_csv",
    "import_key",
    "import_rows",
    "normalize_channel",
    "parse_bool",
    "parse_date",
    "parse_received",
    "read_csv",
    "sniff_separator",
]


# --- reading ----------------------------------------------------------------------------------


def decode(data: bytes, source: str = "CSV file") -> str:
    """UTF-8 text with any BOM removed. Raises CsvImportError naming the line of a bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvImportError(
            [
                RowProblem(
                    line,
                    "file",
                    'not UTF-8 text; in Excel use "Save As" → "CSV UTF-8 (Comma delimited)"',
                    'bukan teks UTF-8; di Excel pakai "Save As" → "CSV UTF-8 (Comma delimited)"',
                )
            ],
            source,
        ) from None


def sniff_separator(header_line: str) -> str:
    """The separator of a header line: whichever of ``;`` ``,`` TAB occurs most (``,`` on a tie)."""
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def read_csv(
    data: bytes | str,
    *,
    known_opd_codes: Collection[str],
    clock: Clock = now_wib,
    source: str = "CSV file",
    create: CreateDefaults | None = None,
) -> list[ParsedRow]:
    """Validate a whole file. Returns every row, or raises CsvImportError listing every problem.

    Each row is checked by the intake (``local.intake``); ``create`` says which create
    fields SP4N-LAPOR! requires and their defaults (none required when not given).
    """
    text = decode(data, source) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    offset = 0
    first_line, _, rest = text.partition("\n")
    hint = re.fullmatch(r"sep=(.)", first_line.rstrip("\r"))
    if hint:
        separator, text, offset = hint.group(1), rest, 1
    else:
        separator = sniff_separator(first_line)
    # Content has no length limit (docs/local-records.md): lift the csv module's 128 KiB cap.
    csv.field_size_limit(MAX_CELL)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    rules = IntakeRules.of(known_opd_codes, clock, create)
    problems: list[RowProblem] = []
    rows: list[ParsedRow] = []
    header: _Header | None = None
    consumed = 0
    try:
        for record in reader:
            line = consumed + 1 + offset
            consumed = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = _read_header(record, line)
                if header.problems:
                    raise CsvImportError(header.problems, source)
                continue
            parsed, found = _read_row(header, record, line, rules)
            problems += found
            if parsed is not None:
                rows.append(parsed)
    except csv.Error as exc:
        # The structure is broken from here on (usually an unclosed quote); stop reading.
        problems.append(
            RowProblem(
                consumed + 1 + offset,
                "file",
                f"cannot read the CSV structure ({exc}); check the quotes around values",
                "susunan CSV tidak terbaca; periksa tanda kutip di sekitar nilai",
            )
        )
    if header is None and not problems:
        problems.append(RowProblem(1 + offset, "header", "the file is empty", "berkas kosong"))
    if problems:
        raise CsvImportError(problems, source)
    return rows


@dataclass
class _Header:
    line: int
    columns: list[str | None]  # canonical field per column; None for an unnamed column
    names: dict[str, str]  # canonical field -> the header as written in the file
    problems: list[RowProblem]


def _read_header(record: list[str], line: int) -> _Header:
    header = _Header(line=line, columns=[], names={}, problems=[])
    accepted = ", ".join(name for names in FIELD_ALIASES.values() for name in names)
    for raw in record:
        written = raw.strip()
        if not written:
            header.columns.append(None)
            continue
        field = HEADER_TO_FIELD.get(normalize_header(written))
        if field is None:
            header.problems.append(
                RowProblem(
                    line,
                    "header",
                    f"unknown column {written!r}; accepted: {accepted}",
                    f"kolom {written!r} tidak dikenal; yang diterima: {accepted}",
                )
            )
        elif field in header.names:
            header.problems.append(
                RowProblem(
                    line,
                    "header",
                    f"columns {header.names[field]!r} and {written!r} both mean {field}",
                    f"kolom {header.names[field]!r} dan {written!r} sama-sama berarti {field}",
                )
            )
            field = None
        else:
            header.names[field] = written
        header.columns.append(field)
    if not header.names:
        # Not one known column: the file has no header row. One problem says so, instead
        # of one per cell.
        header.problems = [
            RowProblem(
                line,
                "header",
                "the first line is not a header row (none of its cells is a column name); "
                f"add a first line naming the columns, e.g. {accepted}",
                "baris pertama bukan baris judul kolom (tidak satu pun selnya nama kolom); "
                f"tambahkan baris pertama berisi nama kolom, misalnya {accepted}",
            )
        ]
        return header
    for field in REQUIRED_FIELDS:
        if field not in header.names:
            names = " or ".join(FIELD_ALIASES[field])
            names_id = " atau ".join(FIELD_ALIASES[field])
            header.problems.append(
                RowProblem(
                    line,
                    "header",
                    f"missing required column {names}",
                    f"kolom wajib {names_id} tidak ada",
                )
            )
    return header


def _read_row(
    header: _Header,
    record: list[str],
    line: int,
    rules: IntakeRules,
) -> tuple[ParsedRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []

    def bad(field: str, reason: str, reason_id: str) -> None:
        problems.append(RowProblem(line, header.names.get(field, field), reason, reason_id))

    if len(record) > len(header.columns):
        problems.append(
            RowProblem(
                line,
                "row",
                f"has {len(record)} values but the header has {len(header.columns)} columns; "
                "put values that contain the separator in double quotes",
                f"berisi {len(record)} nilai sedangkan baris judul punya "
                f"{len(header.columns)} kolom; apit nilai yang memuat pemisah dengan tanda "
                "kutip ganda",
            )
        )
        return None, problems
    values: dict[str, str] = {}
    for position, (field, cell) in enumerate(zip(header.columns, record, strict=False), 1):
        if field is None:
            if cell.strip():
                problems.append(
                    RowProblem(
                        line,
                        f"column {position}",
                        "has a value but no header",
                        "berisi nilai tetapi tidak punya judul kolom",
                    )
                )
            continue
        values[field] = cell

    def text(field: str) -> str:
        return values.get(field, "").strip()

    for field in REQUIRED_FIELDS:
        if not text(field):
            bad(field, "empty; this column is required", "kosong; kolom ini wajib diisi")
    reported = {p.field for p in problems}
    checked = validate_ticket(values, rules)
    if isinstance(checked, TicketInput):
        if problems:
            return None, problems
        return ParsedRow(line, replace(checked, import_key=import_key(checked))), []
    for problem in checked:
        if header.names.get(problem.field, problem.field) in reported:
            continue  # already said: the cell is empty
        bad(problem.field, problem.message_en, problem.message)
    return None, problems


# --- writing ----------------------------------------------------------------------------------


def _existing_keys(db: sqlite_utils.Database, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        found.update(
            row[0]
            for row in db.execute(
                f"SELECT import_key FROM local_tickets WHERE import_key IN ({marks})", chunk
            ).fetchall()
        )
    return found


def import_rows(
    db: sqlite_utils.Database,
    rows: Sequence[ParsedRow],
    *,
    reference_format: str,
    account: str,
    opd_accounts: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Insert validated rows in one transaction, skipping those imported before.

    ``account`` is the instansi account a ticket is pushed through; ``opd_accounts`` maps an
    OPD code to its own account when the row names that OPD.
    """
    unique: dict[str, ParsedRow] = {}
    for row in rows:
        unique.setdefault(row.import_key, row)
    repeated = len(rows) - len(unique)
    if dry_run:
        existing = _existing_keys(db, unique)
        fresh = [r for k, r in unique.items() if k not in existing]
        return ImportResult(len(rows), len(fresh), len(rows) - len(fresh), repeated, (), True)
    refs: list[str] = []
    by_opd = opd_accounts or {}
    with transaction(db):
        existing = _existing_keys(db, unique)
        for key, row in unique.items():
            if key in existing:
                continue
            target = by_opd.get(row.ticket.opd_code or "", account)
            refs.append(insert_ticket(db, row.ticket, reference_format, target).ref)
    return ImportResult(len(rows), len(refs), len(rows) - len(refs), repeated, tuple(refs))


def import_csv(
    db: sqlite_utils.Database,
    path: Path | str,
    *,
    reference_format: str,
    account: str,
    known_opd_codes: Collection[str],
    opd_accounts: Mapping[str, str] | None = None,
    dry_run: bool = False,
    clock: Clock = now_wib,
    create: CreateDefaults | None = None,
) -> ImportResult:
    """Validate and import one file, all or nothing. Raises CsvImportError on any bad row."""
    source = Path(path).name
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = f"cannot read the file ({exc.strerror or type(exc).__name__})"
        reason_id = f"berkas tidak dapat dibaca ({exc.strerror or type(exc).__name__})"
        raise CsvImportError([RowProblem(None, "file", reason, reason_id)], source) from None
    rows = read_csv(
        data, known_opd_codes=known_opd_codes, clock=clock, source=source, create=create
    )
    return import_rows(
        db,
        rows,
        reference_format=reference_format,
        account=account,
        opd_accounts=opd_accounts,
        dry_run=dry_run,
    )

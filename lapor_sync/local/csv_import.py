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
import hashlib
import io
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlite_utils

from lapor_sync.errors import LaporSyncError
from lapor_sync.local.register import LOCAL_CHANNELS, TicketInput, insert_ticket
from lapor_sync.store.db import transaction
from lapor_sync.timeutil import WIB, Clock, now_wib, to_db

# Canonical field -> accepted header names (compared case-insensitively, with spaces and
# dashes read as underscores). The first name is the one the documentation uses.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "channel": ("saluran", "channel"),
    "received_at": ("diterima", "tanggal_diterima", "received_at", "waktu_diterima"),
    "reporter_name": ("nama_pelapor", "nama", "reporter_name"),
    "reporter_phone": ("telepon", "no_hp", "hp", "phone", "reporter_phone"),
    "reporter_email": ("email", "reporter_email"),
    "is_anonymous": ("anonim", "anonymous"),
    "is_secret": ("rahasia", "secret"),
    "title": ("judul", "title"),
    "content": ("isi", "isi_laporan", "content"),
    "category_id": ("kategori", "category_id"),
    "opd_code": ("opd", "opd_code"),
    "date_of_incident": ("tanggal_kejadian", "date_of_incident"),
    "location_id": ("lokasi", "location_id"),
}
REQUIRED_FIELDS = ("channel", "received_at", "title", "content")
_HEADER_TO_FIELD = {alias: field for field, names in FIELD_ALIASES.items() for alias in names}

# Channel words operators write -> the register's channel names.
CHANNEL_ALIASES: dict[str, str] = {
    "sms": "sms",
    "sms 1708": "sms",
    "whatsapp": "whatsapp",
    "whats app": "whatsapp",
    "wa": "whatsapp",
    "w a": "whatsapp",
    "telepon": "telepon",
    "telpon": "telepon",
    "telp": "telepon",
    "tlp": "telepon",
    "telefon": "telepon",
    "phone": "telepon",
    "telephone": "telepon",
    "walk in": "walk-in",
    "walkin": "walk-in",
    "datang langsung": "walk-in",
    "tatap muka": "walk-in",
    "langsung": "walk-in",
    "media sosial": "media-sosial",
    "medsos": "media-sosial",
    "sosmed": "media-sosial",
    "social media": "media-sosial",
    "facebook": "media-sosial",
    "instagram": "media-sosial",
    "twitter": "media-sosial",
    "tiktok": "media-sosial",
    "web": "web",
    "website": "web",
    "situs": "web",
}
CHANNEL_HINT = (
    "SMS, WhatsApp/WA, Telepon/telp, Walk-in/datang langsung/tatap muka, Media Sosial/medsos, Web"
)

_TRUE = frozenset({"ya", "y", "iya", "yes", "1", "true", "benar"})
_FALSE = frozenset({"", "tidak", "n", "no", "0", "false", "salah"})
BOOL_HINT = "use ya/tidak, y/n, 1/0 or true/false (empty = tidak)"

_TIME = r"(?:[ T]+(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2}))?)?"
_DAY_FIRST = re.compile(r"(?P<d>\d{1,2})(?P<sep>[/\-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME)
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME)
DATE_HINT = "use dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd"
DATETIME_HINT = "use dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd, optionally followed by HH:MM[:SS] (WIB)"
MIN_YEAR = 2000
FUTURE_TOLERANCE = timedelta(minutes=10)
_SEPARATORS = (";", ",", "\t")


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong in a file. ``reason`` never quotes a value from the file."""

    line: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.field}: {self.reason}"


class CsvImportError(LaporSyncError):
    """A file was refused as a whole; ``problems`` lists every bad row. Nothing was written."""

    def __init__(self, problems: Sequence[RowProblem], source: str = "CSV file") -> None:
        self.problems = list(problems)
        self.source = source
        lines = [f"{source}: {len(self.problems)} problem(s); nothing was imported:"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


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


# --- values ---------------------------------------------------------------------------------


def _words(text: str) -> str:
    return re.sub(r"[\s_\-./]+", " ", text.strip().lower()).strip()


def normalize_header(text: str) -> str:
    """``"No. HP"`` → ``no_hp``, ``"Tanggal Diterima"`` → ``tanggal_diterima``."""
    return re.sub(r"[\s\-.]+", "_", text.strip().lower()).strip("_")


def normalize_channel(text: str) -> str | None:
    """The register's channel name for what an operator wrote, or None if not recognised."""
    words = _words(text)
    if words.replace(" ", "-") in LOCAL_CHANNELS:
        return words.replace(" ", "-")
    return CHANNEL_ALIASES.get(words)


def parse_bool(text: str) -> bool | None:
    """ya/tidak, y/n, 1/0, true/false (any case); empty is False; None if not a yes/no."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def parse_date(text: str) -> date:
    """``dd/mm/yyyy``, ``dd-mm-yyyy`` or ``yyyy-mm-dd``. Raises ValueError (no value quoted)."""
    match = _DAY_FIRST.fullmatch(text.strip()) or _ISO.fullmatch(text.strip())
    if match is None or match.group("H") is not None:
        raise ValueError(f"not a date; {DATE_HINT}")
    return _date_of(match)


def parse_received(text: str) -> datetime:
    """A date with an optional ``HH:MM[:SS]``, in WIB. ISO with an offset is also accepted."""
    value = text.strip()
    match = _DAY_FIRST.fullmatch(value) or _ISO.fullmatch(value)
    if match is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a date and time; {DATETIME_HINT}") from None
        return parsed.replace(tzinfo=WIB) if parsed.tzinfo is None else parsed.astimezone(WIB)
    day = _date_of(match)
    hour, minute, second = (int(match.group(g) or 0) for g in ("H", "M", "S"))
    try:
        return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=WIB)
    except ValueError:
        raise ValueError(f"not a valid time of day; {DATETIME_HINT}") from None


def _date_of(match: re.Match[str]) -> date:
    try:
        return date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
    except ValueError:
        raise ValueError(f"not a valid calendar date (day first); {DATE_HINT}") from None


def _key_text(text: str | None) -> str:
    folded = unicodedata.normalize("NFC", text or "").casefold()
    return " ".join(folded.split())


def _key_phone(text: str | None) -> str:
    digits = re.sub(r"\D", "", text or "")
    return "0" + digits[2:] if digits.startswith("62") else digits


def import_key(ticket: TicketInput) -> str:
    """Hash of what identifies a complaint; unchanged by file name, row order, spacing, case."""
    parts = [
        "csv-v1",
        ticket.channel,
        to_db(ticket.received_at),
        _key_phone(ticket.reporter_phone),
        _key_text(ticket.title),
        _key_text(ticket.content),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


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
                )
            ],
            source,
        ) from None


def sniff_separator(header_line: str) -> str:
    """The separator of a header line: whichever of ``;`` ``,`` TAB occurs most (``,`` on a tie)."""
    counts = {sep: header_line.count(sep) for sep in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def read_csv(
    data: bytes | str,
    *,
    known_opd_codes: Collection[str],
    clock: Clock = now_wib,
    source: str = "CSV file",
) -> list[ParsedRow]:
    """Validate a whole file. Returns every row, or raises CsvImportError listing every problem."""
    text = decode(data, source) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    offset = 0
    first_line, _, rest = text.partition("\n")
    hint = re.fullmatch(r"sep=(.)", first_line.rstrip("\r"))
    if hint:
        separator, text, offset = hint.group(1), rest, 1
    else:
        separator = sniff_separator(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    codes = {c.strip().upper() for c in known_opd_codes}
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
            parsed, found = _read_row(header, record, line, codes, clock)
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
            )
        )
    if header is None and not problems:
        problems.append(RowProblem(1 + offset, "header", "the file is empty"))
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
        field = _HEADER_TO_FIELD.get(normalize_header(written))
        if field is None:
            header.problems.append(
                RowProblem(line, "header", f"unknown column {written!r}; accepted: {accepted}")
            )
        elif field in header.names:
            header.problems.append(
                RowProblem(
                    line,
                    "header",
                    f"columns {header.names[field]!r} and {written!r} both mean {field}",
                )
            )
            field = None
        else:
            header.names[field] = written
        header.columns.append(field)
    for field in REQUIRED_FIELDS:
        if field not in header.names:
            names = " or ".join(FIELD_ALIASES[field])
            header.problems.append(RowProblem(line, "header", f"missing required column {names}"))
    return header


def _read_row(
    header: _Header,
    record: list[str],
    line: int,
    opd_codes: set[str],
    clock: Clock,
) -> tuple[ParsedRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []

    def bad(field: str, reason: str) -> None:
        problems.append(RowProblem(line, header.names.get(field, field), reason))

    if len(record) > len(header.columns):
        problems.append(
            RowProblem(
                line,
                "row",
                f"has {len(record)} values but the header has {len(header.columns)} columns; "
                "put values that contain the separator in double quotes",
            )
        )
        return None, problems
    values: dict[str, str] = {}
    for position, (field, cell) in enumerate(zip(header.columns, record, strict=False), 1):
        if field is None:
            if cell.strip():
                problems.append(RowProblem(line, f"column {position}", "has a value but no header"))
            continue
        values[field] = cell

    def text(field: str) -> str:
        return values.get(field, "").strip()

    for field in REQUIRED_FIELDS:
        if not text(field):
            bad(field, "empty; this column is required")

    channel = normalize_channel(text("channel")) if text("channel") else None
    if text("channel") and channel is None:
        bad("channel", f"unknown channel; use one of {CHANNEL_HINT}")

    received: datetime | None = None
    if text("received_at"):
        try:
            received = parse_received(text("received_at"))
        except ValueError as exc:
            bad("received_at", str(exc))
        else:
            if received.year < MIN_YEAR:
                bad("received_at", f"year before {MIN_YEAR}; check the date")
            elif received > clock() + FUTURE_TOLERANCE:
                bad("received_at", "is in the future (times are WIB)")

    incident: date | None = None
    if text("date_of_incident"):
        try:
            incident = parse_date(text("date_of_incident"))
        except ValueError as exc:
            bad("date_of_incident", str(exc))
        else:
            if received is not None and incident > received.date():
                bad("date_of_incident", "is after the received date")

    flags: dict[str, bool] = {}
    for field in ("is_anonymous", "is_secret"):
        flag = parse_bool(values.get(field, ""))
        if flag is None:
            bad(field, f"not a yes/no value; {BOOL_HINT}")
        flags[field] = bool(flag)

    opd = text("opd_code").upper() or None
    if opd is not None and opd not in opd_codes:
        bad("opd_code", f"unknown OPD code; known: {', '.join(sorted(opd_codes)) or '(none)'}")

    ticket = TicketInput(
        channel=channel or LOCAL_CHANNELS[0],
        title=text("title"),
        content=values.get("content", ""),
        received_at=received or clock(),
        reporter_name=text("reporter_name") or None,
        reporter_phone=text("reporter_phone") or None,
        reporter_email=text("reporter_email") or None,
        is_anonymous=flags["is_anonymous"],
        is_secret=flags["is_secret"],
        category_id=text("category_id") or None,
        opd_code=opd,
        location_id=text("location_id") or None,
        date_of_incident=incident,
    )
    reported = {p.field for p in problems}
    for problem in ticket.problems():
        field, _, reason = problem.partition(": ")
        if header.names.get(field, field) not in reported:
            bad(field, reason)
    if problems:
        return None, problems
    return ParsedRow(line, replace(ticket, import_key=import_key(ticket))), []


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
) -> ImportResult:
    """Validate and import one file, all or nothing. Raises CsvImportError on any bad row."""
    source = Path(path).name
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = f"cannot read the file ({exc.strerror or type(exc).__name__})"
        raise CsvImportError([RowProblem(None, "file", reason)], source) from None
    rows = read_csv(data, known_opd_codes=known_opd_codes, clock=clock, source=source)
    return import_rows(
        db,
        rows,
        reference_format=reference_format,
        account=account,
        opd_accounts=opd_accounts,
        dry_run=dry_run,
    )

"""The one intake (local/intake.py): per-field checks, whole records, and its writers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner, Result

from lapor_sync.cli import local_cmds
from lapor_sync.cli.common import CliState
from lapor_sync.cli.local_cmds import local_group
from lapor_sync.config import load_settings
from lapor_sync.local.csv_import import CsvImportError, import_csv
from lapor_sync.local.intake import (
    FieldError,
    FieldProblem,
    FollowUpInput,
    ForwardInput,
    IntakeRules,
    TicketInput,
    validate_field,
    validate_followup,
    validate_forward,
    validate_ticket,
)
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=WIB)
RULES = IntakeRules.of({"BMBK", "DINKES"}, lambda: NOW)
NAME, PHONE, EMAIL = "Siti Rahmawati", "081234567890", "siti.rahma@example.id"
GOOD = {
    "channel": "WA",
    "title": "Jalan berlubang",
    "content": "Jalan di depan SD rusak",
    "received_at": "01/11/2026 09:30",
    "reporter_name": NAME,
    "reporter_phone": PHONE,
    "reporter_email": EMAIL,
    "opd_code": "bmbk",
    "date_of_incident": "2026-10-30",
}


def test_a_good_ticket_becomes_the_record_to_store() -> None:
    ticket = validate_ticket(GOOD, RULES)
    assert isinstance(ticket, TicketInput)
    assert ticket.channel == "whatsapp" and ticket.opd_code == "BMBK"
    assert ticket.received_at == datetime(2026, 11, 1, 9, 30, tzinfo=WIB)
    assert ticket.date_of_incident == date(2026, 10, 30)
    assert (ticket.reporter_phone, ticket.reporter_email) == (PHONE, EMAIL)
    assert ticket.is_anonymous is False and ticket.is_secret is False


def test_every_problem_is_listed_with_its_field_and_no_value() -> None:
    raw = {
        "channel": "merpati",
        "title": "",
        "content": "Isi\x00rusak",
        "received_at": "kemarin",
        "reporter_phone": "nomor saya 0899",
        "reporter_email": "siti@@x",
        "is_anonymous": "mungkin",
        "opd_code": "XYZ",
        "date_of_incident": "31/02/2026",
        "category_id": "jalan",
    }
    problems = validate_ticket(raw, RULES)
    assert isinstance(problems, list)
    assert all(isinstance(p, FieldProblem) for p in problems)
    assert {p.field for p in problems} == set(raw)
    assert [p.kind for p in problems if p.field == "title"] == ["required"]
    shown = "\n".join(f"{p.message} {p.message_en}" for p in problems)
    for value in ("merpati", "kemarin", "0899", "siti@@x", "mungkin", "XYZ", "jalan"):
        assert value not in shown


@pytest.mark.parametrize(
    ("field", "text", "indonesian", "english"),
    [
        ("channel", "merpati", "saluran tidak dikenal", "unknown channel"),
        ("title", "x" * 151, "paling banyak 150 karakter (ada 151)", "at most 150 characters"),
        ("title", "   ", "wajib diisi", "must not be empty"),
        ("content", "a\x00b", "karakter NUL", "NUL character"),
        ("received_at", "01/12/2026", "masa depan", "in the future"),
        ("received_at", "31/02/2026", "bukan tanggal", "not a valid calendar date"),
        ("received_at", "01/01/1999", "tahun sebelum 2000", "year before 2000"),
        ("date_of_incident", "1/11/26", "bukan tanggal", "not a date"),
        ("reporter_phone", "12345", "bukan nomor telepon", "not a possible phone number"),
        ("reporter_phone", "0812", "bukan nomor telepon", "not a possible phone number"),
        ("reporter_phone", "telp 0812 3456 7890", "hanya angka", "digits"),
        ("reporter_email", "siti@@x", "bukan alamat email", "not a valid e-mail"),
        ("reporter_email", "siti@x", "bukan alamat email", "not a valid e-mail"),
        ("reporter_email", "siti", "bukan alamat email", "not a valid e-mail"),
        ("is_secret", "mungkin", "bukan ya/tidak", "not a yes/no"),
        ("opd_code", "XYZ", "yang dikenal: BMBK, DINKES", "known: BMBK, DINKES"),
        ("category_id", "12a", "hanya berisi angka", "digits only"),
        ("location_id", "١٢", "hanya berisi angka", "digits only"),  # Arabic-Indic digits
    ],
)
def test_one_field_refused(field: str, text: str, indonesian: str, english: str) -> None:
    with pytest.raises(FieldError) as info:
        validate_field(field, text, RULES)
    assert indonesian in info.value.message
    assert english in info.value.message_en


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("081234567890", "081234567890"),
        ("81234567890", "081234567890"),  # Excel dropped the leading zero
        ("+62 812-1111-2222", "+62 812-1111-2222"),
        ("0721 123456", "0721 123456"),  # a landline in Bandar Lampung
        ("", None),
    ],
)
def test_phones_in_indonesian_numbering(text: str, stored: str | None) -> None:
    assert validate_field("reporter_phone", text, RULES) == stored


def test_dates_read_the_same_in_every_spelling() -> None:
    for text in ("01/11/2026", "01-11-2026", "2026-11-01", "1/11/2026"):
        assert validate_field("date_of_incident", text, RULES) == date(2026, 11, 1)


def test_incident_after_received_is_refused() -> None:
    problems = validate_ticket({**GOOD, "date_of_incident": "02/11/2026"}, RULES)
    assert isinstance(problems, list)
    assert [(p.field, p.message_en) for p in problems] == [
        ("date_of_incident", "is after the received date")
    ]


def test_followup_and_forward_records() -> None:
    followup = validate_followup(
        {"ref": " LPG-2026-000001 ", "opd_code": "dinkes", "content": "Sudah", "is_secret": "ya"},
        RULES,
    )
    assert followup == FollowUpInput("LPG-2026-000001", "DINKES", "Sudah", True)
    bad = validate_followup({"ref": "", "opd_code": "NOPE", "content": " "}, RULES)
    assert isinstance(bad, list)
    assert {p.field for p in bad} == {"ref", "opd_code", "content"}
    forward = validate_forward({"ref": "LPG-2026-000001", "target_institution_id": "1871"}, RULES)
    assert forward == ForwardInput("LPG-2026-000001", "1871", "Diteruskan ke Instansi Tujuan")
    bad_forward = validate_forward({"ref": "X", "target_institution_id": "kota"}, RULES)
    assert isinstance(bad_forward, list)
    assert [p.field for p in bad_forward] == ["target_institution_id"]


# --- the CSV import goes through the same intake ----------------------------------------------


def _import(tmp_path: Path, text: str) -> tuple[sqlite_utils.Database, list[str]]:
    db = open_database(tmp_path / "x.db")
    path = tmp_path / "laporan.csv"
    path.write_text(text, encoding="utf-8")
    try:
        import_csv(
            db,
            path,
            reference_format="LPG-{year}-{seq:06d}",
            account="pemprov-lampung",
            known_opd_codes={"BMBK"},
            clock=lambda: NOW,
        )
    except CsvImportError as exc:
        return db, [str(p) for p in exc.problems]
    return db, []


def test_csv_nul_character_is_refused_with_line_and_column(tmp_path: Path) -> None:
    text = "saluran;diterima;judul;isi\nsms;01/10/2026;Baik;Isi\nsms;01/10/2026;Dua;Isi\x00rusak\n"
    db, problems = _import(tmp_path, text)
    assert problems == ["line 3: isi: contains a NUL character (usually from a damaged file); "
                        "remove it"]
    assert db.execute("SELECT count(*) FROM local_tickets").fetchone()[0] == 0


def test_csv_cell_longer_than_the_csv_module_default_is_imported(tmp_path: Path) -> None:
    content = "Panjang sekali. " * 20_000  # 320,000 characters, over csv's 131,072 default
    db, problems = _import(tmp_path, f'saluran;diterima;judul;isi\nsms;01/10/2026;T;"{content}"\n')
    assert problems == []
    assert db.execute("SELECT content FROM local_tickets").fetchone()[0] == content


def test_csv_phone_and_email_checked_like_the_flags(tmp_path: Path) -> None:
    text = (
        "saluran;diterima;judul;isi;hp;email\n"
        "sms;01/10/2026;Satu;Isi;81234567890;siti@example.id\n"
        "sms;01/10/2026;Dua;Isi;12345;siti@@x\n"
    )
    db, problems = _import(tmp_path, text)
    assert [p.split(":")[:2] for p in problems] == [["line 3", " hp"], ["line 3", " email"]]
    text = "saluran;diterima;judul;isi;hp\nsms;01/10/2026;Satu;Isi;81234567890\n"
    db, problems = _import(tmp_path / "..", text)
    assert problems == []
    assert db.execute("SELECT reporter_phone FROM local_tickets").fetchone()[0] == PHONE


# --- local add: flags and the interactive form ------------------------------------------------


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    store = tmp_path / "store" / "lapor-sync.db"
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{store.as_posix()}"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _local(config_path: Path, *args: str, stdin: str | None = None) -> Result:
    state = CliState(config_path, "console", "warning")
    return CliRunner().invoke(local_group, list(args), obj=state, input=stdin)


def _tickets(config_path: Path) -> list[dict[str, object]]:
    store = load_settings(config_path, env={}).store.path
    if not store.exists():
        return []
    return list(open_database(store).query("SELECT * FROM local_tickets"))


def test_interactive_add_asks_every_field_and_reasks_only_the_wrong_one(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_cmds, "_interactive", lambda: True)
    answers = [
        "XYZ",  # OPD: unknown, asked again
        "bmbk",  # OPD
        "merpati",  # channel: unknown, asked again
        "wa",  # channel
        "",  # received: now
        NAME,
        "12345",  # phone: impossible, asked again
        "81234567890",  # phone, Excel-stripped
        "siti@@x",  # e-mail: asked again
        EMAIL,
        "ya",  # anonim
        "tidak",  # rahasia
        "Jalan berlubang",
        "Baris satu",  # content, three lines up to "."
        "",
        "baris tiga",
        ".",
        "",  # incident date
        "",  # category
        "",  # location
        "",  # classification
        "",  # disposition target
    ]
    result = _local(config_path, "add", stdin="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    for label in ("OPD", "Saluran", "Nama pelapor", "Telepon pelapor", "Email pelapor", "Anonim"):
        assert f"{label} (" in result.output
    assert "kode OPD tidak dikenal" in result.output
    assert "saluran tidak dikenal" in result.output
    assert "bukan nomor telepon" in result.output and "bukan alamat email" in result.output
    assert "--" not in result.output.replace("---", "")  # no flag the operator never used
    (ticket,) = _tickets(config_path)
    assert ticket["opd_code"] == "BMBK" and ticket["channel"] == "whatsapp"
    assert ticket["reporter_name"] == NAME and ticket["reporter_phone"] == PHONE
    assert ticket["reporter_email"] == EMAIL
    assert (ticket["is_anonymous"], ticket["is_secret"]) == (1, 0)
    assert ticket["content"] == "Baris satu\n\nbaris tiga"


def test_interactive_add_keeps_what_flags_gave(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_cmds, "_interactive", lambda: True)
    answers = ["", "", "", "", "", "", "", "Judul", "Isi", ".", "", "", "", "", ""]
    result = _local(
        config_path, "add", "--channel", "telp", "--secret", stdin="\n".join(answers) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "Saluran (" not in result.output and "Rahasia (" not in result.output
    (ticket,) = _tickets(config_path)
    assert (ticket["channel"], ticket["is_secret"], ticket["title"]) == ("telepon", 1, "Judul")


BASE = ["--channel", "sms", "--title", "Judul", "--content", "Isi"]


@pytest.mark.parametrize(
    ("args", "flag", "message"),
    [
        (["--phone", "81234"], "--phone", "bukan nomor telepon"),
        (["--email", "siti@@x"], "--email", "bukan alamat email"),
        (["--content", "a\x00b"], "--content", "karakter NUL"),
        (["--incident-date", "2026-13-01"], "--incident-date", "bukan tanggal"),
        (["--received-at", "01/01/2030"], "--received-at", "masa depan"),
        (["--opd", "XYZ"], "--opd", "kode OPD tidak dikenal"),
        (["--location", "Bandar Lampung"], "--location", "hanya berisi angka"),
    ],
)
def test_add_bad_input_is_refused_and_nothing_written(
    config_path: Path, args: list[str], flag: str, message: str
) -> None:
    result = _local(config_path, "add", *BASE, *args)
    assert result.exit_code == 2
    (line,) = [x for x in result.output.splitlines() if x.startswith(f"  - {flag}: ")]
    assert message in line
    assert "Traceback" not in result.output
    assert _tickets(config_path) == []


def test_add_accepts_an_excel_stripped_phone(config_path: Path) -> None:
    result = _local(config_path, "add", *BASE, "--phone", "81234567890")
    assert result.exit_code == 0, result.output
    assert _tickets(config_path)[0]["reporter_phone"] == PHONE

"""CSV import of Call Center spreadsheets: formats, all-or-nothing, idempotence, verbatim text."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from lapor_sync.local import csv_import
from lapor_sync.local.csv_import import (
    CsvImportError,
    import_csv,
    normalize_channel,
    parse_bool,
    parse_date,
    parse_received,
    read_csv,
    sniff_separator,
)
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB

REF_FORMAT = "LPG-{year}-{seq:06d}"
OPDS = {"DISDIK", "DINKES", "BMBK", "DISHUB"}
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=WIB)

PHONE = "081234567890"
NAME = "Siti Rahmawati"

SEMICOLON = (
    "Saluran;Tanggal Diterima;Nama Pelapor;No HP;Email;Anonim;Rahasia;Judul;Isi Laporan;"
    "OPD;Tanggal Kejadian;Kategori;Lokasi\r\n"
    f"WhatsApp;05/03/2026 14:05;{NAME};{PHONE};siti@example.id;tidak;ya;Jalan berlubang;"
    "Jalan di depan SD rusak parah;bmbk;01-03-2026;12;1871\r\n"
    "telp;2026-03-06 08:30:15;;;;ya;;Obat habis;Puskesmas kehabisan obat;DINKES;;;\r\n"
    "Walk-in;07-03-2026;Andi;+62 812-1111-2222;;0;1;Guru honorer;Gaji belum dibayar;"
    "disdik;;;\r\n"
)


def db_at(tmp_path: Path) -> sqlite_utils.Database:
    return open_database(tmp_path / "x.db")


def write(tmp_path: Path, text: str, name: str = "laporan.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run_import(db: sqlite_utils.Database, path: Path, **kwargs: object) -> csv_import.ImportResult:
    return import_csv(
        db,
        path,
        reference_format=REF_FORMAT,
        account="pemprov-lampung",
        known_opd_codes=OPDS,
        clock=lambda: NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def problems_of(db: sqlite_utils.Database, path: Path) -> list[str]:
    with pytest.raises(CsvImportError) as info:
        run_import(db, path)
    return [str(p) for p in info.value.problems]


def count(db: sqlite_utils.Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_bom_and_semicolons_import(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    result = run_import(db, write(tmp_path, SEMICOLON, bom=True))
    assert (result.rows, result.imported, result.skipped_duplicates) == (3, 3, 0)
    assert result.refs == ("LPG-2026-000001", "LPG-2026-000002", "LPG-2026-000003")
    rows = list(db.query("SELECT * FROM local_tickets ORDER BY id"))
    first = rows[0]
    assert first["channel"] == "whatsapp"
    assert first["received_at"] == "2026-03-05T14:05:00+07:00"
    assert first["reporter_name"] == NAME
    assert first["reporter_phone"] == PHONE  # TEXT: the leading zero stays
    assert (first["is_anonymous"], first["is_secret"]) == (0, 1)
    assert first["opd_code"] == "BMBK"
    assert first["date_of_incident"] == "2026-03-01"
    assert (first["category_id"], first["location_id"]) == ("12", "1871")
    assert first["import_key"] and len(first["import_key"]) == 64
    assert rows[1]["channel"] == "telepon"
    assert rows[1]["received_at"] == "2026-03-06T08:30:15+07:00"
    assert rows[1]["is_anonymous"] == 1 and rows[1]["reporter_phone"] is None
    assert rows[2]["channel"] == "walk-in"
    assert rows[2]["received_at"] == "2026-03-07T00:00:00+07:00"
    assert all(r["origin"] == "local" and r["account"] == "pemprov-lampung" for r in rows)


def test_comma_separated_with_quoted_multiline_content(tmp_path: Path) -> None:
    content = 'Baris satu, dengan koma;\nbaris dua "dikutip"\n\nbaris empat'
    quoted = content.replace('"', '""')
    text = (
        "channel,received_at,reporter_phone,title,content\n"
        f'SMS,2026-04-01 09:00,{PHONE},"Judul, dengan koma","{quoted}"\n'
        "medsos,02/04/2026 10:11,,Kedua,Isi kedua\n"
    )
    db = db_at(tmp_path)
    assert run_import(db, write(tmp_path, text)).imported == 2
    rows = list(db.query("SELECT channel, title, content FROM local_tickets ORDER BY id"))
    assert rows[0] == {"channel": "sms", "title": "Judul, dengan koma", "content": content}
    assert rows[1]["channel"] == "media-sosial"


def test_bad_date_on_line_7_imports_nothing(tmp_path: Path) -> None:
    text = (
        "saluran;diterima;judul;isi\n"  # line 1
        "sms;01/02/2026;Satu;Isi satu\n"  # 2
        'wa;02/02/2026;Dua;"isi\nyang\nberbaris"\n'  # 3-5
        "\n"  # 6 (blank, skipped)
        "sms;31/02/2026;Tujuh;Isi tujuh\n"  # 7: no 31 February
        "sms;03/02/2026;Delapan;Isi delapan\n"  # 8
    )
    db = db_at(tmp_path)
    found = problems_of(db, write(tmp_path, text))
    assert found == [
        "line 7: diterima: not a valid calendar date (day first); "
        "use dd/mm/yyyy, dd-mm-yyyy or yyyy-mm-dd"
    ]
    assert count(db, "local_tickets") == 0
    assert count(db, "outbox") == 0
    assert count(db, "ref_sequences") == 0


def test_every_bad_row_is_listed_without_personal_values(tmp_path: Path) -> None:
    secret_content = "Isi rahasia tentang Pak Budi"
    text = (
        "saluran;diterima;nama;telepon;email;anonim;judul;isi;opd;tanggal_kejadian\n"
        f"sms;01/02/2026;{NAME};{PHONE};;;Baik;Isi baik;;\n"  # 2: fine
        f"merpati;01/02/2026;{NAME};{PHONE};;;Judul;Isi;;\n"  # 3: channel
        f"sms;kemarin;;{PHONE};;;Judul;Isi;;\n"  # 4: received
        f"sms;01/02/2026;{NAME};telp {PHONE} a.n. Budi;budi-at-mail;mungkin;;{secret_content};"
        "DINSOS;2026-13-01\n"  # 5: phone, email, anonim, title, opd, incident date
        f"sms;01/02/2026;;;;;{'x' * 151};;;\n"  # 6: title too long, content empty
        "sms;01/12/2026;;;;;Masa depan;Isi;;\n"  # 7: after NOW
        "sms;01/02/2026;;;;;Judul;Isi;;;lebih\n"  # 8: too many values
    )
    db = db_at(tmp_path)
    found = problems_of(db, write(tmp_path, text))
    lines = sorted({p.split(":")[0] for p in found})
    assert lines == [f"line {n}" for n in range(3, 9)]
    fields5 = {p.split(": ")[1] for p in found if p.startswith("line 5:")}
    assert fields5 == {"telepon", "email", "anonim", "judul", "opd", "tanggal_kejadian"}
    assert "line 6: judul: at most 150 characters (has 151)" in found
    assert "line 6: isi: empty; this column is required" in found
    assert "line 7: diterima: is in the future (times are WIB)" in found
    assert any(p.startswith("line 8: row: has 11 values") for p in found)
    report = "\n".join(found)
    for personal in (PHONE, NAME, "Budi", "budi-at-mail", "merpati", "kemarin", "mungkin"):
        assert personal not in report
    assert count(db, "local_tickets") == 0


def test_same_file_twice_adds_nothing_even_reordered_and_renamed(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    path = write(tmp_path, SEMICOLON)
    assert run_import(db, path).imported == 3
    again = run_import(db, path)
    assert (again.imported, again.skipped_duplicates, again.already_imported) == (0, 3, 3)
    assert again.refs == ()

    header, *rows = SEMICOLON.strip("\r\n").split("\r\n")
    # Other name, rows reversed, comma-free anyway, different spacing and case in a title.
    rows[0] = rows[0].replace("Jalan berlubang", "  jalan   BERLUBANG ")
    reordered = write(tmp_path, "\n".join([header, *reversed(rows)]) + "\n", "ekspor-ulang.csv")
    third = run_import(db, reordered)
    assert (third.imported, third.skipped_duplicates) == (0, 3)
    assert count(db, "local_tickets") == 3
    assert count(db, "outbox") == 3


def test_new_rows_in_a_grown_file_are_imported(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    run_import(db, write(tmp_path, SEMICOLON))
    grown = SEMICOLON + "sms;08/03/2026;;;;;;Baru;Laporan baru;;;;\r\n"
    result = run_import(db, write(tmp_path, grown))
    assert (result.imported, result.skipped_duplicates) == (1, 3)
    assert result.refs == ("LPG-2026-000004",)


def test_row_repeated_within_a_file_is_imported_once(tmp_path: Path) -> None:
    row = f"sms;01/02/2026 10:00;{PHONE};Judul;Isi sama\n"
    other_spelling = "SMS;2026-02-01 10:00:00;+62 812-3456-7890;judul;Isi  sama\n"
    text = "saluran;diterima;hp;judul;isi\n" + row + row + other_spelling
    db = db_at(tmp_path)
    result = run_import(db, write(tmp_path, text))
    assert (result.rows, result.imported, result.repeated_in_file) == (3, 1, 2)
    assert result.skipped_duplicates == 2 and result.already_imported == 0
    assert count(db, "local_tickets") == 1


def test_unknown_header_is_named_with_accepted_names(tmp_path: Path) -> None:
    text = "saluran;diterima;judul;isi;alamat\nsms;01/02/2026;J;I;Jl. Merdeka 1\n"
    db = db_at(tmp_path)
    (problem,) = problems_of(db, write(tmp_path, text))
    assert problem.startswith("line 1: header: unknown column 'alamat'; accepted: saluran, ")
    assert "nama_pelapor" in problem and "opd_code" in problem
    assert count(db, "local_tickets") == 0


def test_missing_and_duplicate_headers(tmp_path: Path) -> None:
    text = "channel;saluran;judul\nsms;sms;J\n"
    found = problems_of(db_at(tmp_path), write(tmp_path, text))
    assert "line 1: header: columns 'channel' and 'saluran' both mean channel" in found
    assert any("missing required column diterima or tanggal_diterima" in p for p in found)
    assert any("missing required column isi or isi_laporan or content" in p for p in found)


def test_unknown_opd_is_refused(tmp_path: Path) -> None:
    text = "saluran;diterima;judul;isi;opd\nsms;01/02/2026;J;I;DINKES\nsms;01/02/2026;J2;I;XYZ\n"
    db = db_at(tmp_path)
    found = problems_of(db, write(tmp_path, text))
    assert found == ["line 3: opd: unknown OPD code; known: BMBK, DINKES, DISDIK, DISHUB"]
    assert count(db, "local_tickets") == 0


@pytest.mark.parametrize(
    "content",
    [
        "x" * 50_000,
        "Jalan rusak 😡🚧🙏 — tolong! 日本語 ñ",
        "'); DROP TABLE local_tickets; --",
        "Robert'); DELETE FROM outbox WHERE 1=1; SELECT ('",
    ],
)
def test_content_is_stored_verbatim(tmp_path: Path, content: str) -> None:
    quoted = content.replace('"', '""')
    text = f'saluran;diterima;judul;isi\nsms;01/02/2026;"{content[:150]}";"{quoted}"\n'
    db = db_at(tmp_path)
    run_import(db, write(tmp_path, text))
    row = db.execute("SELECT title, content FROM local_tickets").fetchone()
    assert row == (content[:150], content)
    assert count(db, "outbox") == 1


def test_each_ticket_gets_exactly_one_pending_outbox_row(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    run_import(db, write(tmp_path, SEMICOLON))
    run_import(db, write(tmp_path, SEMICOLON))
    rows = db.execute(
        "SELECT t.id, count(o.id), min(o.state), min(o.kind) FROM local_tickets t "
        "LEFT JOIN outbox o ON o.ticket_id = t.id GROUP BY t.id"
    ).fetchall()
    assert len(rows) == 3
    assert all(r[1:] == (1, "pending", "create_complaint") for r in rows)


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    result = run_import(db, write(tmp_path, SEMICOLON), dry_run=True)
    assert (result.imported, result.refs, result.dry_run) == (3, (), True)
    assert count(db, "local_tickets") == 0 and count(db, "ref_sequences") == 0


def test_failure_while_inserting_rolls_back_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = db_at(tmp_path)
    real = csv_import.insert_ticket
    calls = []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(csv_import, "insert_ticket", flaky)
    with pytest.raises(OSError):
        run_import(db, write(tmp_path, SEMICOLON))
    assert count(db, "local_tickets") == 0 and count(db, "outbox") == 0


def test_opd_account_is_used_when_given(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    run_import(db, write(tmp_path, SEMICOLON), opd_accounts={"DINKES": "kota-bandar-lampung"})
    accounts = [r[0] for r in db.execute("SELECT account FROM local_tickets ORDER BY id")]
    assert accounts == ["pemprov-lampung", "kota-bandar-lampung", "pemprov-lampung"]


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ansi.csv"
    path.write_bytes(b"saluran;diterima;judul;isi\nsms;01/02/2026;J;Caf\xe9\n")
    (problem,) = problems_of(db_at(tmp_path), path)
    assert problem.startswith("line 2: file: not UTF-8 text")


def test_unclosed_quote_is_reported(tmp_path: Path) -> None:
    text = 'saluran;diterima;judul;isi\nsms;01/02/2026;J;"tidak ditutup\nsms;02/02/2026;K;L\n'
    (problem,) = problems_of(db_at(tmp_path), write(tmp_path, text))
    assert problem.startswith("line 2: file: cannot read the CSV structure")


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    assert problems_of(db_at(tmp_path), write(tmp_path, "")) == [
        "line 1: header: the file is empty"
    ]
    result = run_import(db_at(tmp_path), write(tmp_path, "saluran;diterima;judul;isi\n"))
    assert (result.rows, result.imported) == (0, 0)


def test_excel_sep_hint_line(tmp_path: Path) -> None:
    text = "sep=,\nsaluran,diterima,judul,isi\nsms,01/02/2026,J;K,I\nsms,31/02/2026,J,I\n"
    found = problems_of(db_at(tmp_path), write(tmp_path, text))
    assert [p.split(":")[0] for p in found] == ["line 4"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("SMS", "sms"),
        ("WhatsApp", "whatsapp"),
        ("wa", "whatsapp"),
        ("Telepon", "telepon"),
        ("telp", "telepon"),
        ("Walk-in", "walk-in"),
        ("walk in", "walk-in"),
        ("Datang Langsung", "walk-in"),
        ("tatap muka", "walk-in"),
        ("Media Sosial", "media-sosial"),
        ("medsos", "media-sosial"),
        ("media_sosial", "media-sosial"),
        ("Web", "web"),
        ("merpati", None),
        ("lapor", None),
    ],
)
def test_channel_variants(written: str, expected: str | None) -> None:
    assert normalize_channel(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("ya", True),
        ("Ya", True),
        ("y", True),
        ("1", True),
        ("TRUE", True),
        ("tidak", False),
        ("n", False),
        ("0", False),
        ("false", False),
        ("", False),
        ("  ", False),
        ("mungkin", None),
    ],
)
def test_booleans(written: str, expected: bool | None) -> None:
    assert parse_bool(written) is expected


def test_dates_and_times() -> None:
    assert parse_date("05/03/2026") == date(2026, 3, 5)
    assert parse_date("5-3-2026") == date(2026, 3, 5)
    assert parse_date("2026-03-05") == date(2026, 3, 5)
    for bad in ("2026/03/05", "05/03-2026", "05/03/26", "2026-03-05 10:00", "kemarin"):
        with pytest.raises(ValueError):
            parse_date(bad)
    assert parse_received("05/03/2026 14:05") == datetime(2026, 3, 5, 14, 5, tzinfo=WIB)
    assert parse_received("05-03-2026 14.05.09") == datetime(2026, 3, 5, 14, 5, 9, tzinfo=WIB)
    assert parse_received("2026-03-05T14:05:09") == datetime(2026, 3, 5, 14, 5, 9, tzinfo=WIB)
    assert parse_received("2026-03-05T07:05:09+00:00") == datetime(2026, 3, 5, 14, 5, 9, tzinfo=WIB)
    with pytest.raises(ValueError):
        parse_received("05/03/2026 25:00")


def test_separator_sniffing() -> None:
    assert sniff_separator("saluran;diterima;judul;isi") == ";"
    assert sniff_separator("channel,received_at,title,content") == ","
    assert sniff_separator("channel\treceived_at\ttitle\tcontent") == "\t"
    assert sniff_separator("saluran") == ","


def test_english_headers_any_case(tmp_path: Path) -> None:
    text = (
        "Channel,Received_At,Reporter_Name,Phone,Reporter_Email,Anonymous,Secret,Title,"
        "Content,Category_ID,OPD_Code,Date_Of_Incident,Location_ID\n"
        "whatsapp,2026-03-05 10:00,Ani,0811000111,ani@example.id,false,true,T,C,7,dishub,"
        "2026-03-04,1801\n"
    )
    (row,) = read_csv(text, known_opd_codes=OPDS, clock=lambda: NOW)
    assert row.line == 2
    assert row.ticket.opd_code == "DISHUB" and row.ticket.is_secret and not row.ticket.is_anonymous
    assert "Ani" not in repr(row.ticket)


def test_a_file_without_a_header_row_quotes_no_cell(tmp_path: Path) -> None:
    """The first row is a complaint, not a header: the error names no value from it."""
    text = "sms;01/02/2026;Siti Rahmawati;081234567890;3201012345670001;Jalan rusak;Lubang\n"
    db = db_at(tmp_path)
    (problem,) = problems_of(db, write(tmp_path, text))
    assert problem.startswith("line 1: header: the first line is not a header row")
    for value in ("Siti", "Rahmawati", "081234567890", "3201012345670001", "Jalan rusak"):
        assert value not in problem
    assert count(db, "local_tickets") == 0


def test_every_problem_has_an_indonesian_reading_naming_the_line(tmp_path: Path) -> None:
    # The operator sees in_indonesian(); the admin's str() stays English. Both name the line.
    text = "saluran;diterima;judul;isi;alamat\nsms;01/02/2026;J;I;Jl. Merdeka 1\nsms;x\n"
    with pytest.raises(CsvImportError) as caught:
        run_import(db_at(tmp_path), write(tmp_path, text))
    readings = [p.in_indonesian() for p in caught.value.problems]
    assert readings and all(r.startswith("baris ") for r in readings)
    assert any("baris judul kolom: kolom 'alamat' tidak dikenal" in r for r in readings)
    assert not any("unknown" in r or "line " in r for r in readings)
    assert all(str(p).startswith("line ") for p in caught.value.problems)

"""The overdue list (``lapor-sync overdue``): formats, order, filters, and no personal data.

The store holds, on Tue 6 May 2025 09:00 WIB:

- BMBK  LPG-2025-000003  local, never verified: verification due Thu 10 Apr, 16 days late;
- DINKES LPG-2025-000001 follow-up due Wed 23 Apr, 8 working days late (1 May is a holiday);
- DISDIK LPG-2025-000004 rahasia; a reporter reply of Fri 25 Apr unanswered, due Mon 5 May;
- DINKES LPG-2025-000002 follow-up due Wed 7 May: near due (1 working day);
- no OPD LPG-2025-000006 local, received Fri 2 May: verification due Wed 7 May, near due;
- DINKES LPG-2025-000005 closed: nothing.

Reporter names, phone numbers, a NIK and e-mail addresses sit in the reporter fields,
contents and follow-ups, and a phone number and a NIK in the titles; none may reach any
output. Titles are listed as the reports show them: masked, "(rahasia)" for rahasia.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner, Result

from lapor_sync.app import open_app
from lapor_sync.cli import common
from lapor_sync.cli.common import CliState
from lapor_sync.cli.overdue_cmd import overdue_command
from lapor_sync.config import Settings, load_settings
from lapor_sync.glossary import indonesian_date, stage_label
from lapor_sync.report.overdue import (
    CSV_HEADERS,
    late_complaints,
    overdue_rows,
    render_csv,
    render_json,
    render_table,
)
from lapor_sync.sla.deadlines import recompute_deadlines
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB, to_db

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "pemprov-lampung"
NOW = datetime(2025, 5, 6, 9, 0, tzinfo=WIB)

NAME = "Siti Rahmawati"
PHONE_08 = "081234567890"
PHONE_62 = "+6281298765432"
NIK = "1871012345678901"
EMAIL = "siti.rahma@example.id"
TITLE = "Jalan rusak di depan rumah"
PERSONAL = (NAME, PHONE_08, PHONE_62, "6281298765432", NIK, EMAIL, "Rahmawati")
SHOWN_TITLE = f"{TITLE} (telp [TELEPON], NIK [NIK])"


def at(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, 0, tzinfo=WIB)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    store = tmp_path / "store" / "lapor-sync.db"
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{store.as_posix()}"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def settings(config_path: Path) -> Settings:
    return load_settings(config_path, env={})


@pytest.fixture
def db(settings: Settings) -> Iterator[sqlite_utils.Database]:
    database = open_database(settings.store.path)
    build_store(database)
    yield database
    database.close()


def add_ticket(
    db: sqlite_utils.Database,
    ref: str,
    received: datetime,
    *,
    opd: str | None,
    status: str = "in_progress",
    origin: str = "lapor",
    secret: bool = False,
) -> int:
    cursor = db.execute(
        "INSERT INTO local_tickets (ref, origin, account, channel, reporter_name, "
        "reporter_phone, reporter_email, is_secret, title, content, opd_code, received_at, "
        "status, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            ref,
            origin,
            ACCOUNT,
            "lapor" if origin == "lapor" else "whatsapp",
            NAME,
            PHONE_08,
            EMAIL,
            int(secret),
            f"{TITLE} (telp {PHONE_62}, NIK {NIK})",
            f"Saya {NAME}, NIK {NIK}, telepon {PHONE_08} / {PHONE_62}, e-mail {EMAIL}.",
            opd,
            to_db(received),
            status,
            to_db(received),
        ],
    )
    return int(cursor.lastrowid or 0)


def link(
    db: sqlite_utils.Database,
    ticket: int,
    remote_id: str,
    created: datetime,
    disposed: datetime,
    *,
    secret: bool = False,
) -> None:
    stamp = to_db(created)
    db.execute(
        "INSERT INTO remote_complaints (account, remote_id, tracking_id, title, content, "
        "status_code, status_name, is_secret, is_anonymous, tags, reporter_name, "
        "reporter_phone, reporter_email, created_at, updated_at, first_pulled_at, "
        "last_pulled_at) VALUES (?,?,?,?,?,'3','Dalam Proses',?,0,'[]',?,?,?,?,?,?,?)",
        [
            ACCOUNT,
            remote_id,
            f"TRK-{remote_id}",
            f"{TITLE} {NAME}",
            f"NIK {NIK} {EMAIL} {PHONE_62}",
            int(secret),
            NAME,
            PHONE_62,
            EMAIL,
        ]
        + [stamp] * 4,
    )
    db.execute(
        "INSERT INTO links (ticket_id, account, remote_id, tracking_id, linked_at) "
        "VALUES (?,?,?,?,?)",
        [ticket, ACCOUNT, remote_id, f"TRK-{remote_id}", stamp],
    )
    db.execute(
        "INSERT INTO remote_status_history (account, complaint_id, status_code, status_name, "
        "note, at, recorded_at, fingerprint) VALUES (?,?,'1','Terverifikasi',?,?,?,'v')",
        [ACCOUNT, remote_id, f"catatan {NAME}", to_db(disposed), to_db(disposed)],
    )
    db.execute(
        "INSERT INTO remote_dispositions (account, complaint_id, to_id, to_name, content, at, "
        "fingerprint) VALUES (?,?,'18002','Dinas',?,?,'d')",
        [ACCOUNT, remote_id, f"untuk {NAME} {PHONE_08}", to_db(disposed)],
    )


def remote_followup(
    db: sqlite_utils.Database, remote_id: str, fid: str, author: str, when: datetime
) -> None:
    db.execute(
        "INSERT INTO remote_followups (account, remote_id, complaint_id, author_type, "
        "from_name, content, is_secret, attachment_count, created_at, first_pulled_at) "
        "VALUES (?,?,?,?,?,?,0,0,?,?)",
        [
            ACCOUNT,
            fid,
            remote_id,
            author,
            NAME,
            f"Balasan {NAME} {PHONE_08} {EMAIL} {NIK}",
            to_db(when),
            to_db(when),
        ],
    )


def build_store(db: sqlite_utils.Database) -> None:
    t1 = add_ticket(db, "LPG-2025-000001", at(2025, 4, 14, 9), opd="DINKES")
    link(db, t1, "501", at(2025, 4, 14, 9), at(2025, 4, 15))
    t2 = add_ticket(db, "LPG-2025-000002", at(2025, 4, 28, 9), opd="DINKES")
    link(db, t2, "502", at(2025, 4, 28, 9), at(2025, 4, 29))
    add_ticket(
        db, "LPG-2025-000003", at(2025, 4, 1, 9), opd="BMBK", origin="local", status="received"
    )
    t4 = add_ticket(db, "LPG-2025-000004", at(2025, 4, 14, 9), opd="DISDIK", secret=True)
    link(db, t4, "504", at(2025, 4, 14, 9), at(2025, 4, 15), secret=True)
    remote_followup(db, "504", "F41", "institution", at(2025, 4, 22))
    remote_followup(db, "504", "F42", "reporter", at(2025, 4, 25))
    t5 = add_ticket(db, "LPG-2025-000005", at(2025, 4, 14, 9), opd="DINKES", status="closed")
    link(db, t5, "505", at(2025, 4, 14, 9), at(2025, 4, 15))
    add_ticket(
        db, "LPG-2025-000006", at(2025, 5, 2, 9), opd=None, origin="local", status="received"
    )
    db.execute(
        "INSERT INTO local_followups (ticket_id, author, content, created_at) VALUES (?,?,?,?)",
        [t5, "opd", f"Dijawab untuk {NAME}, {PHONE_08}", to_db(at(2025, 4, 16))],
    )


def rows_of(
    db: sqlite_utils.Database, settings: Settings, **filters: object
) -> list[tuple[str, str, int]]:
    recompute_deadlines(db, settings, settings.calendar(), NOW)
    found = overdue_rows(db, settings, NOW, **filters)  # type: ignore[arg-type]
    return [(r.ref or "", r.stage, r.days_late) for r in found]


def assert_no_personal_data(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, f"personal data leaked: {value!r}"
    assert "Budi" not in text


# --- rows -----------------------------------------------------------------------------------


def test_rows_most_late_first(db: sqlite_utils.Database, settings: Settings) -> None:
    assert rows_of(db, settings) == [
        ("LPG-2025-000003", "verification", 16),
        ("LPG-2025-000001", "followup", 8),
        ("LPG-2025-000004", "reply", 1),
        ("LPG-2025-000006", "verification", -1),
        ("LPG-2025-000002", "followup", -1),
    ]


def test_row_details(db: sqlite_utils.Database, settings: Settings) -> None:
    recompute_deadlines(db, settings, settings.calendar(), NOW)
    first = {r.ref: r for r in overdue_rows(db, settings, NOW)}
    row = first["LPG-2025-000001"]
    assert (row.opd_code, row.opd_name) == ("DINKES", "Dinas Kesehatan")
    assert row.liaison == "Penghubung Dinas Kesehatan"
    assert row.stage_label == "Tindak lanjut OPD"
    assert row.tracking_id == "TRK-501"
    assert row.due_text == "Rabu, 23 April 2025"
    assert row.lateness == "terlambat 8 hari kerja"
    assert first["LPG-2025-000002"].lateness == "jatuh tempo dalam 1 hari kerja"
    assert first["LPG-2025-000003"].tracking_id is None
    assert first["LPG-2025-000006"].opd_code is None
    assert first["LPG-2025-000006"].opd_name == "Belum didisposisikan ke OPD terdaftar"


def test_opd_filter(db: sqlite_utils.Database, settings: Settings) -> None:
    assert [r[0] for r in rows_of(db, settings, opd="dinkes")] == [
        "LPG-2025-000001",
        "LPG-2025-000002",
    ]
    assert [r[0] for r in rows_of(db, settings, opd="-")] == ["LPG-2025-000006"]
    assert [r[0] for r in rows_of(db, settings, opd="unassigned")] == ["LPG-2025-000006"]
    assert rows_of(db, settings, opd="DLH") == []


def test_stage_filter(db: sqlite_utils.Database, settings: Settings) -> None:
    assert [r[0] for r in rows_of(db, settings, stage="verification")] == [
        "LPG-2025-000003",
        "LPG-2025-000006",
    ]
    assert [r[0] for r in rows_of(db, settings, stage="reply")] == ["LPG-2025-000004"]
    with pytest.raises(ValueError, match="unknown stage"):
        rows_of(db, settings, stage="penutupan")


def test_near_due_can_be_left_out(db: sqlite_utils.Database, settings: Settings) -> None:
    assert [r[2] for r in rows_of(db, settings, near_due=False)] == [16, 8, 1]


def test_labels_and_dates() -> None:
    assert stage_label("verification") == "Verifikasi SP4N-LAPOR!"
    assert stage_label("followup") == "Tindak lanjut OPD"
    assert stage_label("reply") == "Tanggapan atas balasan pelapor"
    assert stage_label("closure") == "Penutupan"
    assert stage_label("settlement") == "Penyelesaian (60 hari)"
    assert indonesian_date(datetime(2025, 4, 14).date()) == "Senin, 14 April 2025"
    assert indonesian_date(datetime(2026, 1, 2).date()) == "Jumat, 2 Januari 2026"


# --- formats ----------------------------------------------------------------------------------


def test_table(db: sqlite_utils.Database, settings: Settings) -> None:
    recompute_deadlines(db, settings, settings.calendar(), NOW)
    text = render_table(late_complaints(db, overdue_rows(db, settings, NOW)), NOW)
    assert "Selasa, 6 Mei 2025 pukul 09.00 WIB" in text
    lines = text.splitlines()
    headings = [lines[i + 1] for i, line in enumerate(lines[:-1]) if line == "" and i > 0]
    assert headings == [
        "BMBK — Dinas Bina Marga dan Bina Konstruksi",
        "DINKES — Dinas Kesehatan",
        "DISDIK — Dinas Pendidikan dan Kebudayaan",
        "Belum didisposisikan ke OPD terdaftar",
        "Jumlah: 3 laporan terlambat, 2 laporan mendekati batas waktu.",
    ]
    assert (
        "Untuk: Penghubung Dinas Kesehatan. 1 laporan terlambat, 1 laporan mendekati batas waktu."
        in text
    )
    for header in ("Keadaan", "Judul", "Tahap", "Batas waktu", "Tracking ID", "No. tiket lokal"):
        assert header in text
    assert "terlambat 16 hari kerja" in text
    assert "jatuh tempo dalam 1 hari kerja" in text
    assert "Tanggapan atas balasan pelapor" in text
    assert "Rabu, 23 April 2025" in text
    assert "Jumlah: 3 laporan terlambat, 2 laporan mendekati batas waktu." in text
    assert "Terlambat: laporan yang masih terbuka dengan sedikitnya satu tahap" in text
    assert SHOWN_TITLE[:39] + "…" in text  # the title column, masked as in the reports
    assert "(rahasia)" in text  # LPG-2025-000004 is rahasia: no title
    dinkes = text.index("DINKES — ")
    assert text.index("LPG-2025-000001", dinkes) < text.index("LPG-2025-000002", dinkes)
    assert_no_personal_data(text)


def test_empty_table(settings: Settings) -> None:
    text = render_table([], NOW)
    assert "Tidak ada laporan yang terlambat atau mendekati batas waktu." in text


def test_csv(db: sqlite_utils.Database, settings: Settings) -> None:
    recompute_deadlines(db, settings, settings.calendar(), NOW)
    text = render_csv(late_complaints(db, overdue_rows(db, settings, NOW)))
    assert text.startswith("\ufeff")
    assert text.splitlines()[0] == "\ufeff" + ";".join(CSV_HEADERS)
    parsed = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    assert [r["No. tiket lokal"] for r in parsed] == [
        "LPG-2025-000003",
        "LPG-2025-000001",
        "LPG-2025-000004",
        "LPG-2025-000006",
        "LPG-2025-000002",
    ]
    first = parsed[1]
    assert first["Kode OPD"] == "DINKES"
    assert first["Nama tahap"] == "Tindak lanjut OPD"
    assert first["Hari kerja terlambat"] == "8"
    assert first["Batas waktu"] == "Rabu, 23 April 2025"
    assert first["Tanggal batas waktu"] == "2025-04-23"
    assert first["Tracking ID"] == "TRK-501"
    assert parsed[-1]["Hari kerja terlambat"] == "-1"
    assert parsed[-2]["Kode OPD"] == ""
    assert_no_personal_data(text)


def test_json(db: sqlite_utils.Database, settings: Settings) -> None:
    recompute_deadlines(db, settings, settings.calendar(), NOW)
    text = render_json(late_complaints(db, overdue_rows(db, settings, NOW)), NOW)
    document = json.loads(text)
    assert document["generated_at"] == "2025-05-06T09:00:00+07:00"
    assert (document["overdue"], document["near_due"]) == (3, 2)
    item = document["items"][1]
    stage = item.pop("stages")
    assert item == {
        "opd_code": "DINKES",
        "opd_name": "Dinas Kesehatan",
        "liaison": "Penghubung Dinas Kesehatan",
        "tracking_id": "TRK-501",
        "ref": "LPG-2025-000001",
        "title": SHOWN_TITLE,
        "status": "overdue",
        "status_text": "terlambat 8 hari kerja",
        "days_late": 8,
        "due_at": "2025-04-23T23:59:59+07:00",
        "due_date": "2025-04-23",
    }
    assert stage == [{
        "opd_code": "DINKES",
        "opd_name": "Dinas Kesehatan",
        "liaison": "Penghubung Dinas Kesehatan",
        "stage": "followup",
        "stage_label": "Tindak lanjut OPD",
        "status": "overdue",
        "status_text": "terlambat 8 hari kerja",
        "days_late": 8,
        "due_at": "2025-04-23T23:59:59+07:00",
        "due_date": "2025-04-23",
        "due_text": "Rabu, 23 April 2025",
        "tracking_id": "TRK-501",
        "ref": "LPG-2025-000001",
    }]  # fmt: skip
    assert_no_personal_data(text)


# --- the command ------------------------------------------------------------------------------


Invoke = Callable[..., Result]


@pytest.fixture
def run(config_path: Path, db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setattr(common, "open_app", lambda s: open_app(s, clock=lambda: NOW))

    def invoke(*args: str) -> Result:
        state = CliState(config_path, "console", "warning")
        return CliRunner().invoke(overdue_command, list(args), obj=state)

    return invoke


def test_command_table(run: Invoke) -> None:
    result = run()
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Daftar laporan terlambat")
    assert "BMBK — Dinas Bina Marga dan Bina Konstruksi" in result.output
    assert_no_personal_data(result.output)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_command_never_prints_personal_data(run: Invoke, fmt: str) -> None:
    result = run("--format", fmt)
    assert result.exit_code == 0, result.output
    assert_no_personal_data(result.stdout_bytes.decode("utf-8"))
    assert_no_personal_data(result.stderr_bytes.decode("utf-8") if result.stderr_bytes else "")


def test_command_csv_is_utf8_with_bom(run: Invoke) -> None:
    result = run("--format", "csv", "--opd", "dinkes")
    assert result.exit_code == 0, result.output
    raw = result.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[0] == "Kode OPD"
    assert [line.split(";")[0] for line in lines[1:]] == ["DINKES", "DINKES"]


def test_command_filters(run: Invoke) -> None:
    result = run("--format", "json", "--stage", "verification", "--no-near-due")
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)["items"]
    assert [i["ref"] for i in items] == ["LPG-2025-000003"]


def test_command_rejects_an_unknown_opd(run: Invoke) -> None:
    result = run("--opd", "NOPE")
    assert result.exit_code == 2
    assert "OPD 'NOPE' tidak dikenal" in result.output and "BMBK" in result.output


def test_command_recomputes_first(run: Invoke, db: sqlite_utils.Database) -> None:
    db.execute("DELETE FROM deadlines")
    result = run("--format", "json")
    assert result.exit_code == 0
    assert len(json.loads(result.output)["items"]) == 5
    assert db.execute("SELECT count(*) FROM deadlines").fetchone()[0] > 0


def test_a_complaint_with_several_late_stages_is_one_row(
    db: sqlite_utils.Database, settings: Settings
) -> None:
    """One definition of late: a complaint counts once, its stages listed inside it."""
    old = add_ticket(db, "LPG-2025-000009", at(2025, 1, 6, 9), opd="DLH")
    link(db, old, "509", at(2025, 1, 6, 9), at(2025, 1, 7))
    recompute_deadlines(db, settings, settings.calendar(), NOW)
    stages = [r for r in overdue_rows(db, settings, NOW) if r.ref == "LPG-2025-000009"]
    assert len(stages) >= 2 and all(r.overdue for r in stages)  # follow-up and settlement
    (complaint,) = [c for c in late_complaints(db, stages)]
    assert complaint.stages == tuple(stages) and complaint.worst is stages[0]
    text = render_table([complaint], NOW)
    rows = [line for line in text.splitlines() if "LPG-2025-000009" in line]
    assert len(rows) == 1
    for r in stages:
        assert f"{r.stage_label} ({r.lateness})" in rows[0]
    assert "Jumlah: 1 laporan terlambat." in text
    document = json.loads(render_json([complaint], NOW))
    assert document["overdue"] == 1 and len(document["items"]) == 1
    assert [s["stage"] for s in document["items"][0]["stages"]] == [r.stage for r in stages]
    csv_rows = render_csv([complaint]).splitlines()[1:]
    assert len(csv_rows) == 1

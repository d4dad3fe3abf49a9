"""``lapor-sync local …`` and ``lapor-sync outbox``: operator commands on the local register."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner, Result

from lapor_sync.cli import local_cmds
from lapor_sync.cli.common import CliState
from lapor_sync.cli.local_cmds import local_group
from lapor_sync.cli.outbox_cmds import format_age, outbox_group
from lapor_sync.config import Settings, load_settings
from lapor_sync.store.db import open_database

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config.toml"

NAME = "Siti Rahmawati"
PHONE = "081234567890"
EMAIL = "siti.rahma@example.id"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    store = tmp_path / "store" / "lapor-sync.db"
    assert 'path = "var/lapor-sync.db"' in text
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{store.as_posix()}"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def settings(config_path: Path) -> Settings:
    loaded = load_settings(config_path, env={})
    assert loaded.store.path.is_relative_to(config_path.parent)
    return loaded


def invoke(config_path: Path, group: object, args: list[str], stdin: str | None = None) -> Result:
    state = CliState(config_path, "console", "warning")
    return CliRunner().invoke(group, args, obj=state, input=stdin)  # type: ignore[arg-type]


def local(config_path: Path, *args: str, stdin: str | None = None) -> Result:
    return invoke(config_path, local_group, list(args), stdin)


def outbox(config_path: Path, *args: str) -> Result:
    return invoke(config_path, outbox_group, list(args))


def db_of(settings: Settings) -> sqlite_utils.Database:
    return open_database(settings.store.path)


def add(config_path: Path, *extra: str) -> str:
    result = local(
        config_path,
        "add",
        "--channel",
        "WA",
        "--title",
        "Jalan berlubang",
        "--content",
        "Jalan di depan SD rusak",
        "--reporter-name",
        NAME,
        "--phone",
        PHONE,
        "--email",
        EMAIL,
        *extra,
    )
    assert result.exit_code == 0, result.output
    match = re.search(r"Tiket (LPG-\d{4}-\d{6}) dicatat", result.output)
    assert match, result.output
    return match.group(1)


# --- local add ----------------------------------------------------------------------------


def test_add_without_tty_names_every_missing_flag(config_path: Path, settings: Settings) -> None:
    result = local(config_path, "add", "--phone", PHONE)
    assert result.exit_code != 0
    for flag in ("--channel", "--title", "--content"):
        assert flag in result.output
    assert not settings.store.path.exists() or _count(db_of(settings), "local_tickets") == 0


def test_add_with_flags_prints_ref_and_queues_push(config_path: Path, settings: Settings) -> None:
    ref = add(config_path, "--opd", "dinkes", "--received-at", "05/03/2026 14:05")
    assert ref == "LPG-2026-000001"
    db = db_of(settings)
    ticket = next(iter(db.query("SELECT * FROM local_tickets WHERE ref = ?", [ref])))
    assert ticket["channel"] == "whatsapp"
    assert ticket["opd_code"] == "DINKES"
    assert ticket["account"] == "pemprov-lampung"
    assert ticket["received_at"] == "2026-03-05T14:05:00+07:00"
    assert ticket["reporter_phone"] == PHONE
    rows = db.execute("SELECT kind, state FROM outbox WHERE ticket_id = ?", [ticket["id"]])
    assert rows.fetchall() == [("create_complaint", "pending")]


def test_add_reports_every_problem_at_once(config_path: Path, settings: Settings) -> None:
    result = local(
        config_path,
        "add",
        "--channel",
        "merpati",
        "--title",
        "x" * 151,
        "--content",
        "Isi",
        "--phone",
        "nomor saya 0812",
        "--email",
        "bukan-email",
        "--opd",
        "XYZ",
        "--incident-date",
        "31/02/2026",
    )
    assert result.exit_code == 2
    for flag in ("--channel", "--title", "--phone", "--email", "--opd", "--incident-date"):
        assert f"{flag}:" in result.output
    assert "0812" not in result.output and "bukan-email" not in result.output
    assert _count(db_of(settings), "local_tickets") == 0


def test_add_prompts_at_a_terminal(
    config_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_cmds, "_interactive", lambda: True)
    # Every field the --channel flag did not give is asked, in the form's order; Enter
    # leaves an optional one empty.
    answers = ["", "", "", "", "", "", "", "Judul dari prompt", "Isi dari prompt", "."]
    answers += ["", "", "", "", ""]  # incident date, category, location, classification, target
    result = local(config_path, "add", "--channel", "sms", stdin="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "Judul laporan" in result.output and "Isi laporan" in result.output
    row = db_of(settings).execute("SELECT title, content FROM local_tickets").fetchone()
    assert row == ("Judul dari prompt", "Isi dari prompt")


def test_add_content_from_file(config_path: Path, settings: Settings, tmp_path: Path) -> None:
    body = "Baris satu\nbaris dua 😡 '); DROP TABLE outbox; --"
    (tmp_path / "isi.txt").write_text(body, encoding="utf-8")
    result = local(
        config_path,
        "add",
        "--channel",
        "telp",
        "--title",
        "T",
        "--content-file",
        str(tmp_path / "isi.txt"),
    )
    assert result.exit_code == 0, result.output
    assert db_of(settings).execute("SELECT content FROM local_tickets").fetchone()[0] == body


# --- follow-up and forward ----------------------------------------------------------------


def test_followup_and_forward_create_outbox_rows(
    config_path: Path, settings: Settings, tmp_path: Path
) -> None:
    ref = add(config_path)
    result = local(config_path, "follow-up", ref, "--opd", "dinkes", "--text", "Sudah diperbaiki")
    assert result.exit_code == 0, result.output
    assert f"untuk {ref} dicatat" in result.output
    (tmp_path / "tl.txt").write_text("Tindak lanjut kedua", encoding="utf-8")
    result = local(
        config_path,
        "follow-up",
        ref,
        "--opd",
        "DINKES",
        "--text-file",
        str(tmp_path / "tl.txt"),
        "--secret",
    )
    assert result.exit_code == 0, result.output
    result = local(config_path, "forward", ref, "--to", "1871", "--reason", "Jalan kota")
    assert result.exit_code == 0, result.output
    db = db_of(settings)
    kinds = db.execute("SELECT kind, state FROM outbox ORDER BY id").fetchall()
    assert kinds == [
        ("create_complaint", "pending"),
        ("post_followup", "pending"),
        ("post_followup", "pending"),
        ("forward", "pending"),
    ]
    followups = db.execute("SELECT opd_code, content, is_secret FROM local_followups").fetchall()
    assert followups == [("DINKES", "Sudah diperbaiki", 0), ("DINKES", "Tindak lanjut kedua", 1)]
    assert db.execute("SELECT target_institution_id, reason FROM local_forwards").fetchone() == (
        "1871",
        "Jalan kota",
    )


def test_followup_and_forward_refuse_bad_input(config_path: Path, settings: Settings) -> None:
    ref = add(config_path)
    assert (
        local(
            config_path, "follow-up", "LPG-2026-999999", "--opd", "DINKES", "--text", "x"
        ).exit_code
        == 1
    )
    assert local(config_path, "follow-up", ref, "--opd", "NOPE", "--text", "x").exit_code == 2
    assert local(config_path, "follow-up", ref, "--opd", "DINKES").exit_code == 2
    assert local(config_path, "follow-up", ref, "--opd", "DINKES", "--text", "  ").exit_code == 2
    assert local(config_path, "forward", ref, "--to", "kota").exit_code == 2
    assert local(config_path, "forward", "LPG-2026-999999", "--to", "1871").exit_code == 1
    assert _count(db_of(settings), "outbox") == 1


# --- import -------------------------------------------------------------------------------

CSV = (
    "Saluran;Diterima;Nama;No HP;Judul;Isi;OPD\r\n"
    f"SMS;01/03/2026 08:00;{NAME};{PHONE};Satu;Isi satu;DINKES\r\n"
    'WA;02/03/2026;;;Dua;"Isi\r\ndua";\r\n'
    "telp;03/03/2026;;;Tiga;Isi tiga;\r\n"
)


def test_import_prints_counts_and_is_idempotent(
    config_path: Path, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "callcenter.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CSV.encode())
    dry = local(config_path, "import", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 tiket baru akan diimpor" in dry.output
    first = local(config_path, "import", str(path))
    assert first.exit_code == 0, first.output
    assert "3 baris; 3 tiket baru diimpor." in first.output
    assert "LPG-2026-000001 … LPG-2026-000003" in first.output
    second = local(config_path, "import", str(path))
    assert "0 tiket baru diimpor; 3 duplikat dilewati (3 sudah diimpor sebelumnya)" in second.output
    db = db_of(settings)
    assert _count(db, "local_tickets") == 3
    assert db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0] == 3


def test_import_failure_lists_rows_and_exits_1(
    config_path: Path, settings: Settings, tmp_path: Path
) -> None:
    bad = CSV + f"sms;32/03/2026;;{PHONE}x;Empat;Isi;\r\nsms;04/03/2026;;;;Isi;XYZ\r\n"
    path = tmp_path / "salah.csv"
    path.write_text(bad, encoding="utf-8")
    result = local(config_path, "import", str(path))
    assert result.exit_code == 1
    assert "tidak ada yang diimpor" in result.output
    # The operator's output is Indonesian throughout: "baris", not "line", nor English reasons.
    assert "baris 6: Diterima:" in result.output
    assert "baris 6: No HP:" in result.output
    assert "baris 7: Judul:" in result.output and "baris 7: OPD:" in result.output
    assert "kode OPD tidak dikenal" in result.output
    for english in ("line ", "unknown OPD code", "required", "empty"):
        assert english not in result.output
    assert PHONE not in result.output and NAME not in result.output
    assert _count(db_of(settings), "local_tickets") == 0


# --- show ---------------------------------------------------------------------------------


def test_show_hides_personal_data_unless_asked(config_path: Path) -> None:
    ref = add(config_path, "--opd", "BMBK")
    local(config_path, "follow-up", ref, "--opd", "BMBK", "--text", "Dijadwalkan")
    shown = local(config_path, "show", ref)
    assert shown.exit_code == 0, shown.output
    assert ref in shown.output and "Jalan berlubang" in shown.output
    assert "BMBK — Dinas Bina Marga" in shown.output
    assert "belum tertaut" in shown.output
    assert "laporan: menunggu dikirim" in shown.output
    assert "tindak lanjut: menunggu dikirim" in shown.output
    assert re.search(r"^Status +Sudah ditindaklanjuti$", shown.output, re.M)
    for raw in ("create_complaint", "post_followup", "pending", "answered", "whatsapp"):
        assert raw not in shown.output
    for personal in (NAME, PHONE, EMAIL, "Jalan di depan SD rusak"):
        assert personal not in shown.output
    full = local(config_path, "show", ref, "--with-personal-data")
    for personal in (NAME, PHONE, EMAIL, "Jalan di depan SD rusak"):
        assert personal in full.output
    missing = local(config_path, "show", "LPG-2026-999999")
    assert missing.exit_code == 1
    assert "Tidak ada tiket dengan referensi atau Tracking ID LPG-2026-999999" in missing.output


NIK = "3201012345670001"


@pytest.mark.parametrize(
    ("title", "extra", "hidden", "shown"),
    [
        (f"KTP {NIK} ditolak", (), NIK, "KTP [NIK] ditolak"),
        (f"Hubungi {PHONE} soal jalan", (), PHONE, "Hubungi [TELEPON] soal jalan"),
        (f"Balas ke {EMAIL}", (), EMAIL, "Balas ke [EMAIL]"),
        ("Pungutan liar oleh kepala sekolah", ("--secret",), "Pungutan liar", "(rahasia)"),
    ],
)
def test_show_masks_titles_as_the_reports_do(
    config_path: Path, title: str, extra: tuple[str, ...], hidden: str, shown: str
) -> None:
    added = local(
        config_path, "add", "--channel", "sms", "--title", title, "--content", "Isi", *extra
    )
    assert added.exit_code == 0, added.output
    ref = re.search(r"LPG-\d{4}-\d{6}", added.output).group(0)  # type: ignore[union-attr]
    plain = local(config_path, "show", ref)
    assert plain.exit_code == 0, plain.output
    assert hidden not in plain.output
    assert f"Judul  {shown}" in re.sub(r"Judul +", "Judul  ", plain.output)
    full = local(config_path, "show", ref, "--with-personal-data")
    assert title in full.output


# --- outbox -------------------------------------------------------------------------------


def _make_dead(settings: Settings, reason: str) -> None:
    db = db_of(settings)
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "UPDATE outbox SET state = 'dead', attempts = 8, last_error = ? "
        "WHERE kind = 'create_complaint'",
        [reason],
    )
    db.execute("COMMIT")


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_outbox_listing_shows_no_personal_data(
    config_path: Path, settings: Settings, fmt: str
) -> None:
    ref = add(config_path)
    local(config_path, "follow-up", ref, "--opd", "DINKES", "--text", f"Hubungi {PHONE}")
    _make_dead(settings, "SP4N-LAPOR! rejected the data (create, HTTP 422); fields: title.")
    result = outbox(config_path, "--format", fmt)
    assert result.exit_code == 0, result.output
    for personal in (NAME, PHONE, EMAIL, "Jalan di depan SD rusak", "Hubungi"):
        assert personal not in result.output
    assert ref in result.output and "dead" in result.output and "rejected the data" in result.output
    if fmt == "json":
        rows = json.loads(result.output)
        assert [r["kind"] for r in rows] == ["create_complaint", "post_followup"]
        assert rows[0]["state"] == "dead" and rows[0]["attempts"] == 8
    if fmt == "table":
        header = result.output.splitlines()[0].split()
        assert header[:5] == ["id", "kind", "reference", "state", "attempts"]
        assert "outbox: pending 1, dead 1" in result.output


def test_outbox_state_filter(config_path: Path, settings: Settings) -> None:
    add(config_path)
    _make_dead(settings, "gone")
    result = outbox(config_path, "--state", "pending", "--format", "json")
    assert json.loads(result.output) == []
    result = outbox(config_path, "--state", "dead", "--format", "json")
    assert [r["state"] for r in json.loads(result.output)] == ["dead"]


def test_outbox_retry_all_dead(config_path: Path, settings: Settings) -> None:
    add(config_path)
    add(config_path, "--title", "Kedua")
    _make_dead(settings, "credentials refused")
    result = outbox(config_path, "retry", "--all-dead")
    assert result.exit_code == 0, result.output
    assert "2 row(s) put back" in result.output
    states = db_of(settings).execute("SELECT state, attempts FROM outbox").fetchall()
    assert states == [("pending", 0), ("pending", 0)]


def test_outbox_retry_ids(config_path: Path, settings: Settings) -> None:
    add(config_path)
    add(config_path, "--title", "Kedua")
    _make_dead(settings, "x")
    assert outbox(config_path, "retry").exit_code == 2
    assert outbox(config_path, "retry", "1", "--all-dead").exit_code == 2
    missing = outbox(config_path, "retry", "1", "99")
    assert missing.exit_code == 2 and "99" in missing.output
    assert db_of(settings).execute("SELECT state FROM outbox WHERE id = 1").fetchone()[0] == "dead"
    result = outbox(config_path, "retry", "1")
    assert result.exit_code == 0 and "1 row(s) put back" in result.output
    states = db_of(settings).execute("SELECT id, state FROM outbox ORDER BY id").fetchall()
    assert states == [(1, "pending"), (2, "dead")]


def test_format_age() -> None:
    assert format_age(42) == "42s"
    assert format_age(12 * 60 + 5) == "12m"
    assert format_age(3 * 3600 + 5 * 60) == "3h 5m"
    assert format_age(2 * 86400 + 4 * 3600 + 59) == "2d 4h"
    assert format_age(-5) == "0s"


def _count(db: sqlite_utils.Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

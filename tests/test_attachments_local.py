"""Attachments in the local register: ``local add --attach`` and ``local attach``.

What an operator checks: the file is kept owner-only beside the store under its hash, the
ticket lists it with type and size; a wrong file (by content, size or name) is refused with
its name and what to fix, and then nothing at all is recorded."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from lapor_sync.config import Settings
from lapor_sync.local.attachments import (
    AttachmentError,
    attach_to_ticket,
    check_bytes,
    folder_of,
    sniff,
)
from lapor_sync.local.register import RegisterError
from lapor_sync.store import outbox as outbox_rows
from lapor_sync.store.db import transaction
from tests.attachment_files import DOC, JPEG, PDF, PNG, docx, plain_zip
from tests.test_local_cli import add, config_path, db_of, local, settings

__all__ = ["config_path", "settings"]


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def rows(settings: Settings) -> list[dict[str, object]]:
    return list(db_of(settings).query("SELECT * FROM local_attachments ORDER BY id"))


def tickets(settings: Settings) -> int:
    return int(db_of(settings).execute("SELECT count(*) FROM local_tickets").fetchone()[0])


def stored_files(settings: Settings) -> list[Path]:
    folder = folder_of(settings.store.path)
    return sorted(folder.iterdir()) if folder.exists() else []


def test_add_with_attachments_keeps_each_file_owner_only_by_its_hash(
    config_path: Path, settings: Settings, tmp_path: Path
) -> None:
    photo = write(tmp_path, "foto jalan.JPG", JPEG)
    letter = write(tmp_path, "surat.pdf", PDF)
    ref = add(config_path, "--attach", str(photo), "--attach", str(letter))
    found = rows(settings)
    assert [(r["file_name"], r["media_type"], r["kind"], r["size"]) for r in found] == [
        ("foto jalan.JPG", "image/jpeg", "image", len(JPEG)),
        ("surat.pdf", "application/pdf", "doc", len(PDF)),
    ]
    folder = folder_of(settings.store.path)
    assert folder == settings.store.path.parent / "attachments"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for row, data in zip(found, (JPEG, PDF), strict=True):
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        kept = folder / str(row["sha256"])
        assert kept.read_bytes() == data
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    ticket = db_of(settings).execute(
        "SELECT id FROM local_tickets WHERE ref = ?", [ref]
    ).fetchone()
    assert {r["ticket_id"] for r in found} == {ticket[0]}


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("foto.jpg", b"just some text, not a picture", "is not a JPEG, PNG, PDF, DOC or DOCX"),
        ("arsip.docx", plain_zip(), "is not a JPEG, PNG, PDF, DOC or DOCX"),
        ("scan.jpg", PDF, "holds a PDF file but its name ends in .jpg: rename it to end in .pdf"),
        ("kosong.png", b"", "is empty"),
    ],
)
def test_a_refused_file_is_named_with_what_to_fix_and_nothing_is_recorded(
    config_path: Path,
    settings: Settings,
    tmp_path: Path,
    name: str,
    data: bytes,
    expected: str,
) -> None:
    good = write(tmp_path, "foto.png", PNG)
    bad = write(tmp_path, name, data)
    result = local(
        config_path, "add", "--channel", "WA", "--title", "Jalan", "--content", "Rusak",
        "--attach", str(good), "--attach", str(bad),
    )
    assert result.exit_code == 2, result.output
    assert f"{bad} {expected}" in result.output or f"{bad}: {expected}" in result.output
    assert "Traceback" not in result.output
    assert tickets(settings) == 0 and stored_files(settings) == []


def test_a_file_over_the_size_setting_is_refused(
    config_path: Path, tmp_path: Path
) -> None:
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(
        text.replace("attachment_max_mib = 10", "attachment_max_mib = 1"), encoding="utf-8"
    )
    big = write(tmp_path, "besar.png", PNG + b"\0" * (1024 * 1024))
    result = local(
        config_path, "add", "--channel", "WA", "--title", "Jalan", "--content", "Rusak",
        "--attach", str(big),
    )
    assert result.exit_code == 2, result.output
    assert f"{big} is 1.0 MB, over the limit of 1.0 MB (local.attachment_max_mib)" in (
        result.output
    )


def test_a_missing_file_is_named(config_path: Path, settings: Settings, tmp_path: Path) -> None:
    result = local(
        config_path, "add", "--channel", "WA", "--title", "Jalan", "--content", "Rusak",
        "--attach", str(tmp_path / "tidak-ada.pdf"),
    )
    assert result.exit_code == 2
    assert f"{tmp_path / 'tidak-ada.pdf'}: no such file" in result.output
    assert tickets(settings) == 0


def test_attach_to_a_recorded_ticket_once_per_file(
    config_path: Path, settings: Settings, tmp_path: Path
) -> None:
    ref = add(config_path)
    word = write(tmp_path, "laporan.docx", docx())
    result = local(config_path, "attach", ref, str(word))
    assert result.exit_code == 0, result.output
    assert f"1 lampiran untuk {ref} dicatat" in result.output
    again = local(config_path, "attach", ref, str(word), str(write(tmp_path, "lama.doc", DOC)))
    assert again.exit_code == 0, again.output
    assert "1 lampiran" in again.output and "1 sudah terlampir" in again.output
    assert [r["file_name"] for r in rows(settings)] == ["laporan.docx", "lama.doc"]


def test_attach_is_refused_once_the_create_may_have_gone(
    config_path: Path, settings: Settings, tmp_path: Path
) -> None:
    ref = add(config_path)
    db = db_of(settings)
    row = db.execute("SELECT id FROM outbox WHERE kind = 'create_complaint'").fetchone()
    with transaction(db):
        outbox_rows.mark_sending(db, int(row[0]), "2026-11-01T10:00:00+07:00")
    result = local(config_path, "attach", ref, str(write(tmp_path, "foto.png", PNG)))
    assert result.exit_code == 1
    assert "already on SP4N-LAPOR! (or being sent)" in result.output
    assert rows(settings) == []


def test_attach_to_an_unknown_ticket_leaves_no_file_behind(
    settings: Settings, tmp_path: Path
) -> None:
    db = db_of(settings)
    checked = check_bytes("foto.png", PNG, 10 * 1024 * 1024, shown="foto.png")
    folder = folder_of(settings.store.path)
    with pytest.raises(RegisterError, match="no ticket with reference LPG-2026-999999"):
        attach_to_ticket(db, "LPG-2026-999999", [checked], folder)
    assert not (folder / checked.sha256).exists()


def test_types_are_told_by_content() -> None:
    assert [sniff(d).label for d in (JPEG, PNG, PDF, DOC, docx())] == [  # type: ignore[union-attr]
        "JPEG", "PNG", "PDF", "DOC", "DOCX",
    ]
    assert sniff(plain_zip()) is None and sniff(b"GIF89a....") is None
    with pytest.raises(AttachmentError) as info:
        check_bytes("x.gif", b"GIF89a....", 100, shown="x.gif")
    assert "bukan berkas JPEG, PNG, PDF, DOC atau DOCX" in info.value.message


def test_show_lists_attachments_and_detach_takes_one_off(
    config_path: Path, settings: Settings, tmp_path: Path
) -> None:
    photo, letter = write(tmp_path, "ktp-siti.png", PNG), write(tmp_path, "surat.pdf", PDF)
    ref = add(config_path, "--attach", str(photo), "--attach", str(letter))
    shown = local(config_path, "show", ref)
    assert "Lampiran" in shown.output and "2, 0 terunggah: 1. image/png" in shown.output
    assert "ktp-siti.png" not in shown.output  # a file name may identify a person
    assert "1. ktp-siti.png" in local(config_path, "show", ref, "--with-personal-data").output
    result = local(config_path, "detach", ref, "1")
    assert result.exit_code == 0, result.output
    assert [r["file_name"] for r in rows(settings)] == ["surat.pdf"]
    assert [p.name for p in stored_files(settings)] == [hashlib.sha256(PDF).hexdigest()]
    wrong = local(config_path, "detach", ref, "5")
    assert wrong.exit_code == 1 and "give a number from 1 to 1" in wrong.output

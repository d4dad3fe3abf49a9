"""``lapor-sync notify``: --send-test against a loopback SMTP server, and the outbox listing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from click.testing import CliRunner, Result

from lapor_sync.cli import cli
from lapor_sync.store import notify_outbox as box
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB
from tests.conftest import SHIPPED_CONFIG
from tests.smtp_server import SmtpServer


def write_config(tmp_path: Path, smtp_port: int = 8025) -> Path:
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{tmp_path / "store.db"}"', 1)
    text = text.replace("port = 8025", f"port = {smtp_port}", 1)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "--log-level", "error", *args])


def test_send_test_reaches_the_server(tmp_path: Path) -> None:
    with SmtpServer() as smtp:
        result = run(write_config(tmp_path, smtp.port), "notify", "--send-test", "x@b.go.id")
    assert result.exit_code == 0, result.output
    assert "accepted the test message" in result.output
    [got] = smtp.received
    assert got.recipients == ["x@b.go.id"]
    assert got.message()["Subject"] == "[lapor-sync] Uji pengiriman notifikasi"
    assert "pengaturan SMTP" in got.part("plain") and "<p>" in got.part("html")
    assert not (tmp_path / "store.db").exists()  # a test message touches no store


def test_send_test_failures_are_one_sentence(tmp_path: Path) -> None:
    with SmtpServer(mode="550") as smtp:
        result = run(write_config(tmp_path, smtp.port), "notify", "--send-test", "x@b.go.id")
    assert result.exit_code == 1
    assert "not sent (dead): SMTP server answered 550" in result.output
    assert "Traceback" not in result.output
    bad = run(write_config(tmp_path), "notify", "--send-test", "nobody")
    assert bad.exit_code == 2 and "must be an e-mail address" in bad.output


def test_outbox_lists_and_retries_without_changing_anything_else(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    missing = run(config, "notify", "outbox")
    assert missing.exit_code == 1 and "no database" in missing.output
    assert not (tmp_path / "store.db").exists()
    now = datetime(2026, 12, 2, 9, 0, tzinfo=WIB)
    db = open_database(tmp_path / "store.db")
    [row_id] = box.enqueue(
        db,
        [
            box.NewNotification(
                "k", "opd_digest", "email", "Ringkasan", "t", "h", ("a@b.go.id",), "{}", "DINKES"
            )
        ],
        now,
    )
    box.claim(db, row_id, now)
    box.mark_final(db, row_id, now, "dead", "SMTP server answered 550 to the end of the message")
    db.close()
    before = (tmp_path / "store.db").read_bytes()
    listed = run(config, "notify", "outbox")
    assert listed.exit_code == 0, listed.output
    assert "opd_digest" in listed.output and "DINKES" in listed.output and "550" in listed.output
    assert "notifications: dead 1" in listed.output
    assert (tmp_path / "store.db").read_bytes() == before
    assert run(config, "notify", "outbox", "--state", "sent").output.startswith("(no rows)")
    assert run(config, "notify", "outbox", "--state", "gone").exit_code == 2
    retried = run(config, "notify", "outbox", "--retry", str(row_id))
    assert "1 notification(s) put back" in retried.output
    db = open_database(tmp_path / "store.db")
    row = box.get(db, row_id)
    assert row is not None and row.state == "pending"

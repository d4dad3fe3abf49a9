"""What is sent, read back from a real SMTP server on loopback.

The store is the overdue list's (tests/test_overdue.py), on Tue 6 May 2025 09:00 WIB:
DINKES has a late and a near-due follow-up, DISDIK a rahasia complaint whose reporter
reply waits (late), BMBK a late verification but no address, DISHUB an address and
nothing at all (clean). Reporter names, phones, a NIK, e-mails and titles sit in every
personal column; no received byte may carry them. The clock is injected.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from lapor_sync.cli import cli
from lapor_sync.config import Settings, load_settings
from lapor_sync.notify.admin import WatchedJob
from lapor_sync.notify.run import notify_pass
from lapor_sync.sla.deadlines import recompute_deadlines
from lapor_sync.store import notify_outbox as box
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB, to_db
from tests.smtp_server import Received, SmtpServer
from tests.test_overdue import NOW, PERSONAL, build_store

REPO = Path(__file__).resolve().parent.parent
PORTAL = "http://127.0.0.1:8088/aduan/"
DINKES = ("penghubung-dinkes@lampungprov.go.id", "sekretariat-dinkes@lampungprov.go.id")
ADMIN = "admin-lapor@diskominfotik.lampungprov.go.id"
MONITORING = "monitoring-pengaduan@lampungprov.go.id"
SECRETS = ("gw-secret-do-not-send", "sandbox-key-pemprov", "sandbox-token-pemprov")


def write_config(tmp_path: Path, port: int) -> Path:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{tmp_path / "store.db"}"', 1)
    text = text.replace("[notify]\nenabled = false", "[notify]\nenabled = true", 1)
    text = text.replace("port = 8025", f"port = {port}", 1)
    text = text.replace('weekly_day = "monday"', 'weekly_day = "tuesday"', 1)
    text = text.replace(
        'DINKES = ["penghubung-dinkes',
        'DISHUB = ["penghubung-dishub@lampungprov.go.id"]\nDINKES = ["penghubung-dinkes',
        1,
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, smtp: SmtpServer) -> Settings:
    return load_settings(write_config(tmp_path, smtp.port), env={})


@pytest.fixture
def db(settings: Settings) -> Iterator[sqlite_utils.Database]:
    database = open_database(settings.store.path)
    build_store(database)
    recompute_deadlines(database, settings, settings.calendar(), NOW)
    yield database
    database.close()


def run(db: sqlite_utils.Database, settings: Settings, clock: Clock, **kw: object):  # type: ignore[no-untyped-def]
    return notify_pass(db, settings, clock=clock, rng=random.Random(3), **kw)  # type: ignore[arg-type]


def by_subject(received: list[Received]) -> dict[str, Received]:
    return {str(r.message()["Subject"]): r for r in received}


def assert_clean(received: list[Received]) -> None:
    for message in received:
        decoded = message.part("plain") + message.part("html")
        for value in (*PERSONAL, *SECRETS):
            assert value.encode() not in message.raw, value
            assert value not in decoded, value


def test_batches_and_digests(
    db: sqlite_utils.Database, settings: Settings, smtp: SmtpServer
) -> None:
    summary = run(db, settings, Clock(NOW))
    assert summary.delivery.dead == 0 and summary.delivery.retry_later == 0
    got = by_subject([r for r in smtp.received if r.recipients != [MONITORING]])
    assert sorted(got) == [
        "[SP4N-LAPOR!] 1 hal baru untuk DISDIK",
        "[SP4N-LAPOR!] 2 hal baru untuk DINKES",
        "[SP4N-LAPOR!] Ringkasan harian DINKES: 1 laporan terlambat, "
        "1 laporan mendekati batas waktu",
        "[SP4N-LAPOR!] Ringkasan harian DISDIK: 1 laporan terlambat",
    ]
    batch = got["[SP4N-LAPOR!] 2 hal baru untuk DINKES"]
    assert batch.recipients == list(DINKES)
    text, html = batch.part("plain"), batch.part("html")
    assert "Pengaduan baru didisposisikan ke OPD (menunggu tindak lanjut) (2)" in text
    for ref, tracking in (("LPG-2025-000001", "TRK-501"), ("LPG-2025-000002", "TRK-502")):
        assert f"{PORTAL}{ref}" in text and f'href="{PORTAL}{ref}"' in html
        assert tracking in text and tracking in html
    digest = got[
        "[SP4N-LAPOR!] Ringkasan harian DINKES: 1 laporan terlambat, "
        "1 laporan mendekati batas waktu"
    ]
    body = digest.part("plain")
    assert "terlambat 8 hari kerja" in body and "jatuh tempo dalam 1 hari kerja" in body
    assert "batas Rabu, 23 April 2025" in body and "batas Rabu, 7 Mei 2025" in body
    # newest deadline first within the stage
    assert body.index("LPG-2025-000002") < body.index("LPG-2025-000001")
    rahasia = got["[SP4N-LAPOR!] 1 hal baru untuk DISDIK"]
    assert "Balasan pelapor menunggu tanggapan" in rahasia.part("plain")
    assert f"{PORTAL}LPG-2025-000004" in rahasia.part("plain")
    # BMBK has no address, DISHUB has nothing to say: neither gets anything
    assert not any("BMBK" in s or "DISHUB" in s for s in got)
    assert_clean(smtp.received)


def test_a_persisting_condition_is_announced_once(
    db: sqlite_utils.Database, settings: Settings, smtp: SmtpServer
) -> None:
    clock = Clock(NOW)
    run(db, settings, clock)
    first = len(smtp.received)
    clock.now = NOW + timedelta(minutes=30)
    assert run(db, settings, clock).queued == 0
    assert len(smtp.received) == first
    clock.now = datetime(2025, 5, 7, 7, 5, tzinfo=WIB)  # the next morning
    recompute_deadlines(db, settings, settings.calendar(), clock.now)
    run(db, settings, clock)
    later = [str(r.message()["Subject"]) for r in smtp.received[first:]]
    assert later and all("Ringkasan harian" in s for s in later)  # digests only, no batch
    assert_clean(smtp.received)


def test_batches_wait_for_batch_every(
    db: sqlite_utils.Database, settings: Settings, smtp: SmtpServer
) -> None:
    clock = Clock(NOW)
    run(db, settings, clock)
    ticket = db.execute("SELECT id FROM local_tickets WHERE ref = 'LPG-2025-000002'").fetchone()[0]
    db.execute(
        "INSERT INTO conflicts (ticket_id, kind, lapor_value, local_value, opened_at) "
        "VALUES (?, 'both_changed', 'closed', 'in_progress', ?)",
        [ticket, to_db(NOW)],
    )
    clock.now = NOW + timedelta(minutes=5)
    assert run(db, settings, clock).queued == 0  # within batch_every of the last batch
    clock.now = NOW + timedelta(minutes=16)
    run(db, settings, clock)
    last = smtp.received[-1]
    assert last.message()["Subject"] == "[SP4N-LAPOR!] 1 hal baru untuk DINKES"
    assert "Konflik status menunggu keputusan" in last.part("plain")
    assert "status berubah di kedua sisi" in last.part("plain")


def test_admin_conditions_once_when_they_start_once_when_they_clear(
    db: sqlite_utils.Database, settings: Settings, smtp: SmtpServer
) -> None:
    clock = Clock(NOW)
    run(db, settings, clock)
    seen = len(smtp.received)
    ticket = db.execute("SELECT id FROM local_tickets WHERE ref = 'LPG-2025-000003'").fetchone()[0]
    db.execute(
        "INSERT INTO outbox (kind, ticket_id, subject_id, state, last_error, updated_at) "
        "VALUES ('post_followup', ?, 99, 'dead', 'SP4N-LAPOR! rejected the data', ?) "
        "ON CONFLICT DO NOTHING",
        [ticket, to_db(NOW - timedelta(hours=2))],
    )
    db.execute(
        "INSERT INTO quarantine (account, kind, remote_id, reason, raw, first_seen, last_seen) "
        "VALUES ('pemprov-lampung', 'complaint', '777', 'field status_name missing', "
        '\'{"reporter": "Siti Rahmawati 081234567890"}\', ?, ?)',
        [to_db(NOW), to_db(NOW)],
    )
    db.execute(
        "INSERT INTO runs (job, account, started_at, finished_at, outcome, error) "
        "VALUES ('pull', 'pemprov-lampung', ?, ?, 'failed', "
        "'SP4N-LAPOR! is unavailable or overloaded (list): connection problem')",
        [to_db(NOW - timedelta(hours=1)), to_db(NOW - timedelta(hours=1))],
    )
    jobs = [WatchedJob("pull", timedelta(minutes=15), ("pemprov-lampung",))]
    clock.now = NOW + timedelta(minutes=20)
    run(db, settings, clock, jobs=jobs)
    alert = smtp.received[seen]
    assert alert.recipients == [ADMIN]
    assert alert.message()["Subject"] == "[lapor-sync] 4 kondisi baru, 0 pulih"
    text = alert.part("plain")
    assert "Outbox" in text and "dead" in text and f"{PORTAL}LPG-2025-000003" in text
    assert "Karantina complaint 777" in text and "field status_name missing" in text
    assert "SP4N-LAPOR! tidak dapat dihubungi (pemprov-lampung)" in text
    assert "Job pull (pemprov-lampung) tidak berhasil" in text
    clock.now += timedelta(minutes=5)
    run(db, settings, clock, jobs=jobs)
    assert len(smtp.received) == seen + 1  # still true: not announced again
    db.execute("UPDATE quarantine SET resolved_at = ?", [to_db(clock.now)])
    clock.now += timedelta(minutes=5)
    run(db, settings, clock, jobs=jobs)
    cleared = smtp.received[-1]
    assert cleared.message()["Subject"] == "[lapor-sync] 0 kondisi baru, 1 pulih"
    assert "Sudah pulih" in cleared.part("plain") and "Karantina complaint 777" in cleared.part(
        "plain"
    )
    assert_clean(smtp.received)


def test_weekly_figures_for_monitoring_once_a_week(
    db: sqlite_utils.Database, settings: Settings, smtp: SmtpServer
) -> None:
    clock = Clock(NOW)  # a Tuesday, after weekly_at (this config says tuesday 08:00)
    run(db, settings, clock)
    weekly = [r for r in smtp.received if r.recipients == [MONITORING]]
    assert len(weekly) == 1
    text = weekly[0].part("plain")
    assert weekly[0].message()["Subject"] == "[SP4N-LAPOR!] Angka mingguan Provinsi: Mei 2025"
    assert "Diterima:" in text and "Ditindaklanjuti dalam 5 hari kerja:" in text
    assert "http://127.0.0.1:8088/laporan/" in text
    clock.now += timedelta(hours=3)
    run(db, settings, clock)
    assert len([r for r in smtp.received if r.recipients == [MONITORING]]) == 1
    assert_clean(smtp.received)


def test_preview_sends_and_writes_nothing(
    tmp_path: Path, db: sqlite_utils.Database, settings: Settings, smtp: SmtpServer
) -> None:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = (tmp_path / "store.db").read_bytes()
    config = str(tmp_path / "config.toml")
    result = CliRunner().invoke(
        cli, ["--config", config, "--log-level", "error", "notify", "--preview"]
    )
    assert result.exit_code == 0, result.output
    assert "2 hal baru untuk DINKES" in result.output
    assert "Ringkasan harian DISDIK" in result.output
    assert f"{PORTAL}LPG-2025-000001" in result.output
    only = CliRunner().invoke(cli, ["--config", config, "notify", "--preview", "--opd", "disdik"])
    assert only.exit_code == 0 and "DINKES" not in only.output and "DISDIK" in only.output
    bad = CliRunner().invoke(cli, ["--config", config, "notify", "--preview", "--opd", "NOPE"])
    assert bad.exit_code == 2 and "tidak dikenal" in bad.output
    assert smtp.received == []
    assert box.counts(db) == dict.fromkeys(box.STATES, 0)
    assert (tmp_path / "store.db").read_bytes() == before
    for value in PERSONAL:
        assert value not in result.output


def test_the_daemon_job_runs_records_and_shows_in_status_and_metrics(
    tmp_path: Path, db: sqlite_utils.Database, settings: Settings, smtp: SmtpServer
) -> None:
    from prometheus_client import generate_latest
    from prometheus_client.core import CollectorRegistry

    from lapor_sync.app import open_app
    from lapor_sync.daemon.jobs import default_jobs, run_job
    from lapor_sync.daemon.metrics import StoreCollector
    from lapor_sync.daemon.status import status_lines

    [spec] = [s for s in default_jobs(settings) if s.name == "notify"]
    assert spec.every == timedelta(minutes=1) and spec.lane == "notify" and spec.watched
    app = open_app(settings, clock=Clock(NOW))
    try:
        result = run_job(app, spec)
    finally:
        app.close()
    assert result.ok and result.figures["sent"] == len(smtp.received) > 0
    ran = db.execute("SELECT outcome FROM runs WHERE job = 'notify'").fetchall()
    assert ran == [("ok",)]
    smtp.handler.mode = "550"
    db.execute("UPDATE notify_outbox SET state = 'pending' WHERE id = 1")
    app = open_app(settings, clock=Clock(NOW))
    try:
        run_job(app, spec)
    finally:
        app.close()
    text = "\n".join(status_lines(settings, NOW))
    assert "Notifications:    pending 0, sending 0, sent" in text and "dead 1" in text
    assert "notification 1 (opd_batch DINKES) dead: SMTP server answered 550" in text
    registry = CollectorRegistry()
    registry.register(StoreCollector(settings.store.path, clock=Clock(NOW)))
    scraped = generate_latest(registry).decode()
    assert 'lapor_sync_notifications{state="dead"} 1.0' in scraped
    assert not any(
        s.name == "notify" for s in default_jobs(load_settings(REPO / "config.toml", env={}))
    )


def test_the_webhook_carries_the_same_items_as_json_and_nothing_personal(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    import json

    from tests.test_notify_webhook import Gateway

    with Gateway() as gw:
        config = write_config(tmp_path, smtp.port)
        config.write_text(
            config.read_text(encoding="utf-8")
            + f'\n[notify.webhook]\nurl = "http://127.0.0.1:{gw.port}/kirim"\n'
            'secret = { value = "gw-secret-do-not-send" }\n',
            encoding="utf-8",
        )
        settings = load_settings(config, env={})
        db = open_database(settings.store.path)
        build_store(db)
        recompute_deadlines(db, settings, settings.calendar(), NOW)
        run(db, settings, Clock(NOW))
        db.close()
    bodies = [json.loads(body) for _, body in gw.received]
    # one POST per message; BMBK has no address, so its digest goes by webhook alone
    assert len(bodies) == len(smtp.received) + 1
    assert [b["opd"] for b in bodies if b["kind"] == "opd_digest"].count("BMBK") == 1
    batch = next(b for b in bodies if b["kind"] == "opd_batch" and b["opd"] == "DINKES")
    [section] = batch["sections"]
    assert [i["ref"] for i in section["items"]] == ["LPG-2025-000002", "LPG-2025-000001"]
    assert section["items"][1]["link"] == f"{PORTAL}LPG-2025-000001"
    assert section["items"][1]["tracking_id"] == "TRK-501"
    assert all(h["x-lapor-sync-secret"] == "gw-secret-do-not-send" for h, _ in gw.received)
    for _, body in gw.received:
        for value in (*PERSONAL, "gw-secret-do-not-send"):
            assert value.encode() not in body, value

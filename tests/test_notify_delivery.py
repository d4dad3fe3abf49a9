"""The notification outbox against a real SMTP server on loopback, with its faults.

No test sleeps: retries are scheduled on an injected clock and picked up by a later run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from lapor_sync.config.notify_section import Smtp
from lapor_sync.notify.deliver import RetryPolicy, deliver_due
from lapor_sync.notify.smtp import SmtpChannel
from lapor_sync.store import notify_outbox as box
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB
from tests.smtp_server import SmtpServer, free_port

SENDER = "lapor-sync@lampungprov.go.id"
START = datetime(2026, 12, 2, 9, 0, tzinfo=WIB)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def smtp_settings(port: int) -> Smtp:
    return Smtp(host="127.0.0.1", port=port, security="none", sender=SENDER, timeout=5.0)


def queue_one(db, clock, recipients=("desk@dinkes.example.go.id",), key="k1") -> int:  # type: ignore[no-untyped-def]
    ids = box.enqueue(
        db,
        [
            box.NewNotification(
                dedupe_key=key,
                kind="opd_batch",
                channel="email",
                subject="Pengaduan baru untuk DINKES",
                body_text="Ada 1 pengaduan baru.\n.baris yang diawali titik\n",
                body_html="<p>Ada 1 pengaduan baru.</p>",
                recipients=tuple(recipients),
                opd_code="DINKES",
            )
        ],
        clock(),
    )
    return ids[0]


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = open_database(tmp_path / "store.db")
    yield database
    database.close()


def run(db, port: int, clock: Clock, **kw):  # type: ignore[no-untyped-def]
    channel = SmtpChannel(smtp_settings(port), clock=clock)
    return deliver_due(
        db, {"email": channel}, policy=RetryPolicy(**kw), clock=clock, rng=random.Random(1)
    )


def test_delivered_once_with_both_parts(db) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    row_id = queue_one(db, clock, recipients=("a@dinkes.example.go.id", "b@dinkes.example.go.id"))
    with SmtpServer() as smtp:
        first = run(db, smtp.port, clock)
        second = run(db, smtp.port, clock)
    assert (first.sent, second.sent) == (1, 0)
    [got] = smtp.received
    assert got.sender == SENDER
    assert got.recipients == ["a@dinkes.example.go.id", "b@dinkes.example.go.id"]
    message = got.message()
    assert message["Subject"] == "Pengaduan baru untuk DINKES"
    assert f"notify-{row_id}" in message["Message-ID"]
    assert ".baris yang diawali titik" in got.part("plain")  # dot-stuffing undone
    assert got.part("html").strip() == "<p>Ada 1 pengaduan baru.</p>"
    stored = box.get(db, row_id)
    assert stored is not None and stored.state == "sent" and stored.attempts == 1


def test_server_down_is_retried_then_delivered_once(db) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    row_id = queue_one(db, clock)
    port = free_port()
    down = run(db, port, clock)
    assert down.retry_later == 1
    row = box.get(db, row_id)
    assert row is not None and row.state == "pending" and "cannot connect" in (row.last_error or "")
    # not yet due: a run straight away sends nothing even with the server back
    with SmtpServer(port=port) as smtp:
        assert run(db, port, clock).sent == 0
        clock.advance(hours=2)
        assert run(db, port, clock).sent == 1
        assert run(db, port, clock).sent == 0
    assert len(smtp.received) == 1


def test_451_is_retried_and_550_is_dead_with_reason(db) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    row_id = queue_one(db, clock)
    with SmtpServer(mode="451") as smtp:
        assert run(db, smtp.port, clock).retry_later == 1
        row = box.get(db, row_id)
        assert row is not None and row.state == "pending" and "451" in (row.last_error or "")
        smtp.handler.mode = "550"
        clock.advance(hours=2)
        assert run(db, smtp.port, clock).dead == 1
    row = box.get(db, row_id)
    assert row is not None and row.state == "dead"
    assert "550" in (row.last_error or "") and "message refused" in (row.last_error or "")
    assert smtp.received == []


def test_bad_address_is_dead_and_partial_refusal_is_noted(db) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    bad = queue_one(db, clock, recipients=("nobody@dinkes.example.go.id",), key="bad")
    partial = queue_one(
        db, clock, recipients=("nobody@dinkes.example.go.id", "desk@dinkes.example.go.id"), key="p"
    )
    with SmtpServer(refuse_rcpt={"nobody@dinkes.example.go.id"}) as smtp:
        summary = run(db, smtp.port, clock)
    assert (summary.sent, summary.dead) == (1, 1)
    dead = box.get(db, bad)
    assert dead is not None and dead.state == "dead"
    assert "nobody@dinkes.example.go.id (550)" in (dead.last_error or "")
    sent = box.get(db, partial)
    assert sent is not None and sent.state == "sent" and "refused" in (sent.last_error or "")
    assert [r.recipients for r in smtp.received] == [["desk@dinkes.example.go.id"]]


def test_retry_budget_spent_makes_it_dead(db) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    row_id = queue_one(db, clock)
    port = free_port()
    for _ in range(3):
        run(db, port, clock, max_attempts=3)
        clock.advance(days=1)
    row = box.get(db, row_id)
    assert (
        row is not None
        and row.state == "dead"
        and "retry budget spent (3 attempts)" in (row.last_error or "")
    )


def test_connection_dropped_after_final_dot_is_unknown_not_resent(db) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    row_id = queue_one(db, clock)
    with SmtpServer(mode="drop") as smtp:
        assert run(db, smtp.port, clock).unknown == 1
        smtp.handler.mode = "ok"
        clock.advance(days=1)
        assert run(db, smtp.port, clock).sent == 0
    row = box.get(db, row_id)
    assert row is not None and row.state == "unknown"
    assert "may have been delivered" in (row.last_error or "")
    assert len(smtp.received) == 1
    # the admin decides: an explicit retry sends it again
    assert box.retry(db, [row_id], clock()) == 1
    with SmtpServer() as again:
        assert run(db, again.port, clock).sent == 1


_CHILD = textwrap.dedent(
    """
    import random, sys
    from datetime import datetime
    from lapor_sync.config.notify_section import Smtp
    from lapor_sync.notify.deliver import RetryPolicy, deliver_due
    from lapor_sync.notify.smtp import SmtpChannel
    from lapor_sync.store.db import open_database
    from lapor_sync.timeutil import WIB
    db = open_database(sys.argv[1])
    now = datetime(2026, 12, 2, 9, 0, tzinfo=WIB)
    smtp = Smtp(host="127.0.0.1", port=int(sys.argv[2]), security="none",
                sender="lapor-sync@lampungprov.go.id", timeout=600.0)
    deliver_due(db, {"email": SmtpChannel(smtp)}, policy=RetryPolicy(),
                clock=lambda: now, rng=random.Random(1))
    """
)


def test_kill_9_between_claim_and_answer_delivers_at_most_once(tmp_path: Path, db) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    row_id = queue_one(db, clock)
    with SmtpServer(mode="hang") as smtp:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(tmp_path / "store.db"), str(smtp.port)],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        try:
            assert smtp.handler.data_seen.wait(30), "the child never sent the message"
            row = box.get(db, row_id)
            assert row is not None and row.state == "sending"
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and child.returncode is None:  # pragma: no cover
        child.poll()
    with SmtpServer() as smtp2:
        clock.advance(days=1)
        summary = run(db, smtp2.port, clock)
    assert summary.recovered == 1 and summary.sent == 0
    row = box.get(db, row_id)
    assert row is not None and row.state == "unknown"
    assert len(smtp.received) + len(smtp2.received) == 1

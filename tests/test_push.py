"""Push against the sandbox: each local change reaches SP4N-LAPOR! exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from lapor_sync.app import adopt_pulled, pull_account, push_outbox
from lapor_sync.local.register import TicketInput, add_followup, add_forward, add_ticket
from lapor_sync.sandbox import SandboxWorld
from lapor_sync.store.db import integrity_ok
from lapor_sync.sync.push import retry_rows

ROOT = Path(__file__).resolve().parent.parent
PEMPROV = "pemprov-lampung"


def new_ticket(env: Any, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "channel": "whatsapp",
        "title": "Lampu penerangan jalan mati",
        "content": "Sudah seminggu lampu di depan pasar mati.",
        "received_at": env.world.now(),
        "reporter_name": "Warga Contoh",
        "reporter_phone": "081277778888",
        "opd_code": "BMBK",
        "category_id": "31",
    }
    fields.update(overrides)
    return add_ticket(env.app.db, TicketInput(**fields), "LPG-{year}-{seq:06d}", PEMPROV).ref


def outbox(env: Any) -> list[dict[str, Any]]:
    return list(env.app.db.query("SELECT * FROM outbox ORDER BY id"))


def later(env: Any, hours: float = 2) -> None:
    env.world.advance(timedelta(hours=hours))


def test_a_ticket_becomes_one_linked_complaint(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=1))
    ref = new_ticket(env)
    summary = push_outbox(env.app)
    assert summary.sent == 1
    (cid,) = env.world.find_by_tag(ref)
    complaint = env.world.complaint(cid)
    assert complaint.status_name == "Belum Terverifikasi"
    assert complaint.channel == 7  # WhatsApp's channel id from config.toml
    assert f"[Ref: {ref}]" in complaint.content
    link = env.app.db.execute("SELECT remote_id, tracking_id FROM links").fetchone()
    assert link == (str(cid), complaint.tracking_id)
    assert [r["state"] for r in outbox(env)] == ["done"]


def test_create_committed_and_answer_dropped_gives_exactly_one_complaint(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=2))
    env.world.faults.script("create", ["drop_after_commit"])
    ref = new_ticket(env)
    first = push_outbox(env.app)
    assert first.unknown == 1 and len(env.world.find_by_tag(ref)) == 1
    assert outbox(env)[0]["state"] == "unknown"
    later(env)
    second = push_outbox(env.app)
    assert second.recovered == 1 and second.sent == 0
    assert len(env.world.find_by_tag(ref)) == 1
    assert env.world.stats.count("create") == 1  # the look-up found it; nothing was resent
    (cid,) = env.world.find_by_tag(ref)
    assert env.app.db.execute("SELECT remote_id FROM links").fetchone()[0] == str(cid)


def test_followup_and_forward_with_dropped_answers_each_land_once(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=3))
    ref = new_ticket(env)
    push_outbox(env.app)
    (cid,) = env.world.find_by_tag(ref)
    env.world.verify(cid)
    pull_account(env.app, PEMPROV)  # the follow-up and forward go once the disposition is seen
    add_followup(env.app.db, ref, "BMBK", "Sudah diperbaiki petugas UPTD.")
    add_forward(env.app.db, ref, "1871", "Kewenangan Pemerintah Kota Bandar Lampung")
    env.world.faults.script("followup_add", ["drop_after_commit"])
    env.world.faults.script("reject", ["drop_after_commit"])
    push_outbox(env.app)  # follow-up sent, answer lost; the forward waits behind it
    later(env)
    push_outbox(env.app)  # follow-up recovered; forward sent, answer lost
    later(env)
    push_outbox(env.app)  # forward recovered
    complaint = env.world.complaint(cid)
    assert len([f for f in complaint.followups if f.author_type == "instansi"]) == 1
    assert env.world.stats.count("followup_add") == 1
    assert env.world.stats.count("reject") == 1
    assert env.world.status_seen_by(cid, "18")[1] == "Ditolak"
    assert [r["state"] for r in outbox(env)] == ["done", "done", "done"]
    remote_fu = env.app.db.execute(
        "SELECT remote_id FROM local_followups WHERE origin='local'"
    ).fetchone()[0]
    assert remote_fu == str(complaint.followups[-1].id)


def test_connection_refused_before_sending_is_retried_safely(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=4))
    env.world.faults.script("create", ["refuse"])
    ref = new_ticket(env)
    first = push_outbox(env.app)
    assert first.retry_later + first.unknown == 1
    assert env.world.find_by_tag(ref) == []
    later(env)
    push_outbox(env.app)
    assert len(env.world.find_by_tag(ref)) == 1


def test_422_is_dead_at_once_with_the_field_errors(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=5))
    new_ticket(env, category_id="999")  # unknown on SP4N-LAPOR!
    summary = push_outbox(env.app)
    assert summary.dead == 1
    row = outbox(env)[0]
    assert row["state"] == "dead" and "category_id" in row["last_error"]
    later(env, 48)
    push_outbox(env.app)
    assert env.world.stats.count("create") == 1  # no retry loop
    # an admin fixes the ticket and replays the row
    env.app.db.execute("UPDATE local_tickets SET category_id = '31'")
    assert retry_rows(env.app.db, all_dead=True) == 1
    push_outbox(env.app)
    assert outbox(env)[0]["state"] == "done"


def test_every_row_behind_a_dead_row_says_why_it_waits(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=14))
    ref = new_ticket(env, category_id="999")  # refused by SP4N-LAPOR! (422)
    add_followup(env.app.db, ref, "BMBK", "Tindak lanjut")
    add_followup(env.app.db, ref, "BMBK", "Tindak lanjut kedua")
    push_outbox(env.app)  # one pass: the create dies, both follow-ups are told at once
    rows = outbox(env)
    assert [r["state"] for r in rows] == ["dead", "pending", "pending"]
    for waiting in rows[1:]:
        assert "row 1" in waiting["last_error"] and "dead" in waiting["last_error"]


def test_a_forward_before_the_disposition_waits_and_others_go_on(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=15))
    first = new_ticket(env, title="Pertama")
    push_outbox(env.app)
    add_forward(env.app.db, first, "1871")  # not yet verified: not with the province yet
    second = new_ticket(env, title="Kedua")
    summary = push_outbox(env.app)
    assert summary.dead == 0 and summary.sent == 1 and summary.waiting == 1
    assert len(env.world.find_by_tag(second)) == 1
    assert env.world.stats.count("reject") == 0  # nothing sent that would be refused
    waiting = outbox(env)[1]
    assert waiting["kind"] == "forward" and waiting["state"] == "pending"
    assert waiting["last_error"].startswith("waiting for disposition")
    (cid,) = env.world.find_by_tag(first)
    env.world.verify(cid)
    pull_account(env.app, PEMPROV)
    push_outbox(env.app)
    assert outbox(env)[1]["state"] == "done"
    assert env.world.status_seen_by(cid, "18")[1] == "Ditolak"


def test_429_waits_at_least_retry_after(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=6))
    env.world.faults.script("create", ["429:900"])
    new_ticket(env)
    push_outbox(env.app)
    row = outbox(env)[0]
    # a 429 proves nothing was applied: no look-up will be needed before the next send
    assert row["state"] == "pending" and row["ambiguous"] == 0
    waited = env.app.db.execute(
        "SELECT (julianday(next_attempt_at) - julianday(updated_at)) * 86400 FROM outbox"
    ).fetchone()[0]
    assert waited >= 899
    env.world.advance(timedelta(seconds=600))
    push_outbox(env.app)
    assert env.world.stats.count("create") == 1  # still waiting
    env.world.advance(timedelta(seconds=400))
    push_outbox(env.app)
    assert outbox(env)[0]["state"] == "done"


def test_one_stuck_ticket_does_not_hold_up_the_others(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=7))
    env.world.faults.script("create", ["503"])  # whichever create comes first gets it
    refs = [new_ticket(env, title=f"Tiket {i}") for i in range(2)]
    for ref in refs:
        add_followup(env.app.db, ref, "BMBK", "Tindak lanjut")
    summary = push_outbox(env.app)
    landed = [ref for ref in refs if env.world.find_by_tag(ref)]
    assert len(landed) == 1  # one ticket went through; its follow-up waits for the
    # disposition (sync/disposition_gate.py), the stuck ticket's follow-up waits its turn ...
    assert summary.sent == 1 and summary.unknown == 1 and summary.waiting == 2
    stuck_id = 1 if landed == [refs[1]] else 2
    states = {r["kind"]: r["state"] for r in outbox(env) if r["ticket_id"] == stuck_id}
    # ... the other stays behind: a 503 after a write may have been applied, so it will be
    # looked up before sending again, and its follow-up waits its turn
    assert states == {"create_complaint": "unknown", "post_followup": "pending"}


def test_the_retry_budget_ends_in_dead_with_a_reason(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=8))
    env.world.faults.set("create", error_rate=1.0, error_statuses=[503])
    new_ticket(env)
    for _ in range(env.settings.push.max_attempts + 2):
        push_outbox(env.app)
        later(env, 3)
    row = outbox(env)[0]
    assert row["state"] == "dead" and "retry budget" in row["last_error"]
    assert row["attempts"] == env.settings.push.max_attempts
    event = env.app.db.execute("SELECT detail FROM events WHERE kind='push_dead'").fetchone()
    assert "retry budget" in json.loads(event[0])["reason"]


def test_unusual_text_is_sent_and_pulled_back_verbatim(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=9))
    texts = [
        "'; DROP TABLE local_tickets; -- \" OR 1=1",
        "Jalan rusak 🚧🛵💥 — ملاحظة — 道路",
        "Panjang " + "x" * 50_000,
    ]
    refs = [new_ticket(env, content=t) for t in texts]
    push_outbox(env.app)
    for ref, text in zip(refs, texts, strict=True):
        (cid,) = env.world.find_by_tag(ref)
        assert env.world.complaint(cid).content == f"{text}\n\n[Ref: {ref}]"
        env.world.verify(cid)
    pull_account(env.app, PEMPROV)
    adopt_pulled(env.app)
    stored = dict(env.app.db.execute("SELECT ref, content FROM local_tickets").fetchall())
    for ref, text in zip(refs, texts, strict=True):
        assert stored[ref] == text
    mirrored = [r[0] for r in env.app.db.execute("SELECT content FROM remote_complaints")]
    assert sorted(mirrored) == sorted(
        f"{t}\n\n[Ref: {r}]" for t, r in zip(texts, refs, strict=True)
    )


def test_a_pulled_back_echo_is_not_imported(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=10))
    ref = new_ticket(env)
    push_outbox(env.app)
    (cid,) = env.world.find_by_tag(ref)
    env.world.verify(cid)
    add_followup(env.app.db, ref, "BMBK", "Sedang ditangani")
    push_outbox(env.app)
    env.world.reply_as_reporter(cid, "Terima kasih")
    pull_account(env.app, PEMPROV)
    summary = adopt_pulled(env.app)
    assert summary.tickets_new == 0
    tickets = env.app.db.execute("SELECT count(*) FROM local_tickets").fetchone()[0]
    assert tickets == 1
    followups = env.app.db.execute(
        "SELECT origin, author FROM local_followups ORDER BY id"
    ).fetchall()
    assert followups == [("local", "opd"), ("lapor", "reporter")]  # the reply arrived, once


def test_an_echo_whose_answer_was_lost_links_the_ticket_instead_of_importing(
    make_env: Any,
) -> None:
    env = make_env(SandboxWorld(seed=11))
    env.world.faults.script("create", ["drop_after_commit"])
    ref = new_ticket(env)
    push_outbox(env.app)  # created remotely, answer lost: the row is 'unknown'
    (cid,) = env.world.find_by_tag(ref)
    env.world.verify(cid)  # visible to the province now
    pull_account(env.app, PEMPROV)
    summary = adopt_pulled(env.app)
    assert summary.tickets_new == 0 and summary.echoes_linked == 1
    later(env)
    push_outbox(env.app)
    assert env.world.stats.count("create") == 1
    assert outbox(env)[0]["state"] == "done"


CRASH_SCRIPT = """
import os, signal, sys
from lapor_sync.app import open_app, push_outbox
from lapor_sync.config import load_settings

point = sys.argv[2]
app = open_app(load_settings(sys.argv[1], env={}), sleep=lambda s: None)

def die(_row_id):
    os.kill(os.getpid(), signal.SIGKILL)

push_outbox(app, **{point: die})
"""


def test_kill_9_after_the_post_and_before_recording_gives_one_complaint(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=12))
    held_before = env.world.count()
    refs = [new_ticket(env, title=f"Laporan {i}") for i in range(2)]
    env.app.close()
    config = env.tmp_path / "config.toml"
    done = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(config), "after_send"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == -signal.SIGKILL
    # tickets go in parallel: the kill follows whichever POST answered first
    assert sum(len(env.world.find_by_tag(ref)) for ref in refs) >= 1
    app = env.reopen()
    assert integrity_ok(app.db)
    states = [r[0] for r in app.db.execute("SELECT state FROM outbox ORDER BY id")]
    assert "sending" in states  # claimed, sent, answer never recorded
    push_outbox(app)
    push_outbox(app)
    for ref in refs:
        assert len(env.world.find_by_tag(ref)) == 1
    # What a user checks: the sandbox holds exactly one new complaint per ticket (none
    # without a reference), and each ticket is linked to that one. Raw create-request
    # counts are no basis: the kill may cut a second POST while its body is being read,
    # which the sandbox counts as a request but never applies.
    assert env.world.count() == held_before + len(refs)
    links = dict(app.db.execute(
        "SELECT t.ref, l.remote_id FROM links l JOIN local_tickets t ON t.id = l.ticket_id"
    ).fetchall())
    assert links == {ref: str(env.world.find_by_tag(ref)[0]) for ref in refs}
    assert [r[0] for r in app.db.execute("SELECT state FROM outbox")] == ["done", "done"]


def test_kill_9_after_claiming_before_sending_sends_once(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=13))
    ref = new_ticket(env)
    env.app.close()
    done = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(env.tmp_path / "config.toml"), "after_claim"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == -signal.SIGKILL
    assert env.world.find_by_tag(ref) == []
    app = env.reopen()
    push_outbox(app)
    assert len(env.world.find_by_tag(ref)) == 1

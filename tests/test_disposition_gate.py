"""Follow-ups and forwards wait for the complaint's disposition (issue #10.3).

The strict sandbox (its default) takes a follow-up only while the complaint is with the
posting instansi or one of its units; the connector holds such rows in 'waiting for
disposition' until a pull has seen the disposition, instead of spending its attempts on
refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lapor_sync.app import pull_account, push_outbox
from lapor_sync.daemon.status import status_lines
from lapor_sync.local.register import TicketInput, add_followup, add_ticket
from lapor_sync.sandbox import SandboxServer, SandboxWorld
from lapor_sync.sandbox.testing import SandboxClient

PEMPROV = "pemprov-lampung"


def new_ticket(env: Any) -> str:
    fields = TicketInput(
        channel="whatsapp",
        title="Lampu penerangan jalan mati",
        content="Sudah seminggu lampu di depan pasar mati.",
        received_at=env.world.now(),
        opd_code="BMBK",
        category_id="31",
    )
    return add_ticket(env.app.db, fields, "LPG-{year}-{seq:06d}", PEMPROV).ref


def rows(env: Any) -> list[dict[str, Any]]:
    return list(env.app.db.query("SELECT * FROM outbox ORDER BY id"))


@pytest.mark.parametrize("strict", [True, False])
def test_strict_sandbox_takes_a_follow_up_only_while_the_complaint_is_with_the_instansi(
    strict: bool,
) -> None:
    world = SandboxWorld(seed=31)
    world.contract.strict = strict
    cid = world.add_complaint("Jalan", "Rusak", category_id=3, created_by="18")
    post = {"complaint_id": cid, "institution_from_id": 18003, "content": "Sudah ditinjau."}
    with SandboxServer(world) as server, SandboxClient(server.base_url, "18") as client:
        before = client.post("/complaints/followup/add", post)
        world.verify(cid, "18003")
        after = client.post("/complaints/followup/add", post)
        world.forward(cid, "1871")  # the admin sends it to the city: no longer the province's
        away = client.post("/complaints/followup/add", post)
    assert after.status_code == 201
    if strict:
        assert before.status_code == 403 and away.status_code == 403
        assert before.json()["success"] is False
        assert len(world.complaint(cid).followups) == 1
    else:  # lenient: while the complaint is visible to the account
        assert before.status_code == 201 and away.status_code == 201


@pytest.mark.parametrize("strict", [True, False])
def test_strict_sandbox_refuses_institutions_its_directory_does_not_list(strict: bool) -> None:
    world = SandboxWorld(seed=32)
    world.contract.strict = strict
    world.directory.unlist("18004")  # merged away, say: no longer in the master
    cid = world.add_complaint("Jalan", "Rusak", category_id=3, created_by="18")
    world.verify(cid, "18003")
    post = {"complaint_id": cid, "institution_from_id": 18004, "content": "Sudah ditinjau."}
    with SandboxServer(world) as server, SandboxClient(server.base_url, "18") as client:
        answer = client.post("/complaints/followup/add", post)
    if strict:
        assert answer.status_code == 422
        assert "institution_from_id" in answer.json()["errors"]
    else:
        assert answer.status_code == 201


def test_a_follow_up_waits_for_the_disposition_then_goes_once_a_pull_saw_it(
    make_env: Any,
) -> None:
    env = make_env(SandboxWorld(seed=33))
    ref = new_ticket(env)
    add_followup(env.app.db, ref, "BMBK", "Petugas sudah ke lokasi.")
    first = push_outbox(env.app)
    assert first.sent == 1 and first.waiting == 1 and first.dead == 0
    create, followup = rows(env)
    assert create["state"] == "done" and followup["state"] == "pending"
    assert followup["attempts"] == 0  # no attempt spent on what would be refused
    assert followup["last_error"].startswith("waiting for disposition")
    assert "not pulled yet" in followup["last_error"]
    assert env.world.stats.count("followup_add") == 0
    shown = [line for line in status_lines(env.settings, env.world.now()) if "disposition" in line]
    assert shown and "1" in shown[0]

    pull_account(env.app, PEMPROV)  # the complaint is mirrored, not verified yet
    push_outbox(env.app)
    assert "with nobody yet" in rows(env)[1]["last_error"]
    (cid,) = env.world.find_by_tag(ref)
    env.world.verify(cid)  # to BMBK, the province's unit the ticket named
    push_outbox(env.app)  # the mirror has not seen the disposition yet: still waiting
    assert env.world.stats.count("followup_add") == 0

    pull_account(env.app, PEMPROV)
    summary = push_outbox(env.app)
    assert summary.sent == 1 and rows(env)[1]["state"] == "done"
    assert env.world.stats.count("followup_add") == 1
    posted = [f for f in env.world.complaint(cid).followups if f.author_type == "instansi"]
    assert len(posted) == 1 and posted[0].from_id == "18003"
    shown = [line for line in status_lines(env.settings, env.world.now()) if "disposition" in line]
    assert shown == []


def test_a_403_because_the_complaint_moved_puts_the_row_back_to_waiting_not_dead(
    make_env: Any,
) -> None:
    env = make_env(SandboxWorld(seed=34))
    ref = new_ticket(env)
    push_outbox(env.app)
    (cid,) = env.world.find_by_tag(ref)
    env.world.verify(cid)
    pull_account(env.app, PEMPROV)  # the mirror: with the province's BMBK
    env.world.forward(cid, "1871")  # then the admin forwards it to the city
    add_followup(env.app.db, ref, "BMBK", "Sudah diperbaiki.")
    summary = push_outbox(env.app)  # the mirror is behind: sent, and refused
    assert summary.dead == 0 and summary.waiting == 1
    row = rows(env)[1]
    assert row["state"] == "pending" and row["attempts"] == 1
    assert row["last_error"].startswith("waiting for disposition: SP4N-LAPOR! refused it")
    assert env.world.stats.count("followup_add") == 1

    pull_account(env.app, PEMPROV)  # now the mirror knows where it is
    env.world.advance(timedelta(hours=2))  # past the refusal's backoff
    push_outbox(env.app)
    row = rows(env)[1]
    assert row["state"] == "pending" and "institution 1871" in row["last_error"]
    assert env.world.stats.count("followup_add") == 1  # not sent again while it is away

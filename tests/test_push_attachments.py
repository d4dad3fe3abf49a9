"""Push with attachments against the sandbox: each file is uploaded first, once its id is
committed never again, and the create refers to the ids; lost answers on the upload and
on the create give one complaint carrying each file once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from lapor_sync.app import push_outbox
from lapor_sync.local.attachments import add_ticket_with_files, check_bytes
from lapor_sync.local.register import TicketInput
from lapor_sync.sandbox import SandboxWorld
from lapor_sync.sync.push import retry_rows
from tests.attachment_files import JPEG, PDF, PNG

PEMPROV = "pemprov-lampung"
LIMIT = 10 * 1024 * 1024


def new_ticket(env: Any, *files: tuple[str, bytes]) -> str:
    ticket = TicketInput(
        channel="whatsapp",
        title="Jalan berlubang",
        content="Lubang besar di depan pasar.",
        received_at=env.world.now(),
        reporter_name="Warga Contoh",
        reporter_phone="081277778888",
        opd_code="BMBK",
        category_id="31",
    )
    checked = [check_bytes(name, data, LIMIT, shown=name) for name, data in files]
    created = add_ticket_with_files(
        env.app.db, ticket, "LPG-{year}-{seq:06d}", PEMPROV, checked, env.app.attachments_folder
    )
    return created.ref


def outbox_row(env: Any) -> dict[str, Any]:
    return dict(next(iter(env.app.db.query("SELECT * FROM outbox ORDER BY id"))))


def attachments(env: Any) -> list[dict[str, Any]]:
    return list(env.app.db.query("SELECT * FROM local_attachments ORDER BY id"))


def on_remote(env: Any, ref: str) -> list[tuple[str, int]]:
    """(name, size) of what the one complaint carrying ``ref`` shows as its attachments."""
    (cid,) = env.world.find_by_tag(ref)
    return [(a["name"], a["size"]) for a in env.world.record(cid).attachments]


def later(env: Any, hours: float = 2) -> None:
    env.world.advance(timedelta(hours=hours))


def test_files_are_uploaded_first_and_the_create_refers_to_them(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=41))
    ref = new_ticket(env, ("foto.jpg", JPEG), ("surat.pdf", PDF))
    summary = push_outbox(env.app)
    assert summary.sent == 1
    assert on_remote(env, ref) == [("foto.jpg", len(JPEG)), ("surat.pdf", len(PDF))]
    assert env.world.stats.count("upload") == 2 and env.world.stats.count("create") == 1
    kept = attachments(env)
    assert [(a["kind"], a["upload_account"]) for a in kept] == [
        ("image", PEMPROV), ("doc", PEMPROV),
    ]
    assert all(a["upload_id"] for a in kept)


def test_a_lost_upload_answer_uploads_again_and_the_complaint_has_the_file_once(
    make_env: Any,
) -> None:
    env = make_env(SandboxWorld(seed=42))
    env.world.faults.script("upload", ["drop_after_commit"])
    ref = new_ticket(env, ("foto.png", PNG))
    first = push_outbox(env.app)
    assert first.retry_later == 1 and env.world.find_by_tag(ref) == []
    row = outbox_row(env)
    # the create was never sent: no look-up needed, and the reason says what happened
    assert row["state"] == "pending" and row["ambiguous"] == 0
    assert "upload of attachment 1 of " + ref in row["last_error"]
    assert "foto.png" not in row["last_error"]
    later(env)
    push_outbox(env.app)
    assert env.world.stats.count("upload") == 2  # one unreferenced upload stays: harmless
    assert on_remote(env, ref) == [("foto.png", len(PNG))]


def test_a_lost_create_answer_gives_one_complaint_and_no_second_upload(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=43))
    env.world.faults.script("create", ["drop_after_commit"])
    ref = new_ticket(env, ("foto.png", PNG), ("surat.pdf", PDF))
    first = push_outbox(env.app)
    assert first.unknown == 1
    later(env)
    second = push_outbox(env.app)
    assert second.recovered == 1
    assert len(env.world.find_by_tag(ref)) == 1 and env.world.stats.count("create") == 1
    assert env.world.stats.count("upload") == 2
    assert len(on_remote(env, ref)) == 2


def test_a_create_that_failed_after_the_uploads_reuses_their_ids(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=44))
    env.world.faults.script("create", ["503"])  # refused before it was applied
    ref = new_ticket(env, ("foto.png", PNG))
    push_outbox(env.app)
    assert env.world.find_by_tag(ref) == [] and env.world.stats.count("upload") == 1
    later(env)
    push_outbox(env.app)
    assert env.world.stats.count("upload") == 1  # committed id: never uploaded again
    assert on_remote(env, ref) == [("foto.png", len(PNG))]


def test_a_file_over_the_limit_at_push_time_stops_the_create_with_a_reason(
    make_env: Any, tmp_path: Path
) -> None:
    env = make_env(SandboxWorld(seed=45))
    ref = new_ticket(env, ("foto.png", PNG + b"\0" * (2 * 1024 * 1024)))
    env.app.settings = env.app.settings.model_copy(
        update={"local": env.app.settings.local.model_copy(update={"attachment_max_mib": 1})}
    )
    summary = push_outbox(env.app)
    assert summary.dead == 1 and env.world.find_by_tag(ref) == []
    assert env.world.stats.count("upload") == 0 and env.world.stats.count("create") == 0
    row = outbox_row(env)
    assert row["state"] == "dead"
    assert f"attachment 1 of {ref}" in row["last_error"]
    assert "over the limit of 1.0 MB (local.attachment_max_mib)" in row["last_error"]
    assert row["ambiguous"] == 0  # nothing was sent: a retry needs no look-up
    # the admin raises the limit again and replays the row
    env.app.settings = env.app.settings.model_copy(
        update={"local": env.app.settings.local.model_copy(update={"attachment_max_mib": 10})}
    )
    assert retry_rows(env.app.db, all_dead=True) == 1
    push_outbox(env.app)
    assert len(on_remote(env, ref)) == 1


def test_a_file_the_server_refuses_is_dead_with_its_answer(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=46))
    env.world.uploads.max_bytes = 1000  # a server with a smaller limit than ours
    ref = new_ticket(env, ("foto.jpg", JPEG + b"\0" * 2000))
    summary = push_outbox(env.app)
    assert summary.dead == 1 and env.world.find_by_tag(ref) == []
    row = outbox_row(env)
    assert "422" in row["last_error"] and "attachments" in row["last_error"]
    assert env.world.stats.count("create") == 0


def test_strict_sandbox_refuses_a_create_naming_an_unknown_upload(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=47))
    ref = new_ticket(env, ("foto.png", PNG))
    env.app.db.execute("UPDATE local_attachments SET upload_id = '999999', kind = 'image'")
    summary = push_outbox(env.app)
    assert summary.dead == 1 and env.world.find_by_tag(ref) == []
    assert "images" in outbox_row(env)["last_error"]


def test_a_dry_run_uploads_nothing_and_shows_the_create_referring_to_files(
    make_env: Any,
) -> None:
    from tests.test_sync_dry_run import dry_run

    env = make_env(SandboxWorld(seed=48))
    ref = new_ticket(env, ("foto.png", PNG), ("surat.pdf", PDF))
    env.world.stats.reset()
    plan = dry_run(env)
    assert {r.method for r in env.world.stats.log()} <= {"GET"}
    create = next(p for p in plan.pushes if p.ticket_ref == ref)
    assert create.outcome == "send" and {"images", "docs"} <= set(create.fields)
    assert [a["upload_id"] for a in attachments(env)] == [None, None]  # the store untouched


def test_a_stored_file_that_changed_stops_the_create_and_detach_lets_it_go(
    make_env: Any,
) -> None:
    from lapor_sync.local.attachments import detach_from_ticket

    env = make_env(SandboxWorld(seed=49))
    ref = new_ticket(env, ("foto.png", PNG), ("surat.pdf", PDF))
    kept = env.app.attachments_folder / attachments(env)[1]["sha256"]
    kept.write_bytes(b"%PDF-1.4 something else")  # damaged on disk
    summary = push_outbox(env.app)
    assert summary.dead == 1 and env.world.find_by_tag(ref) == []
    row = outbox_row(env)
    assert f"attachment 2 of {ref}" in row["last_error"]
    assert "missing from the store's attachments folder or changed" in row["last_error"]
    assert env.world.stats.count("create") == 0
    # the operator takes the damaged file off and replays the row: the first file's
    # upload id was committed, so it is not uploaded again
    detach_from_ticket(env.app.db, ref, 2, env.app.attachments_folder)
    assert retry_rows(env.app.db, all_dead=True) == 1
    push_outbox(env.app)
    assert on_remote(env, ref) == [("foto.png", len(PNG))]
    assert env.world.stats.count("upload") == 1

"""The pull records what SP4N-LAPOR! says is attached to complaints and follow-ups: name,
type, size and URL, not the bytes (unless pull.download_attachments)."""

from __future__ import annotations

import hashlib
import stat
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from lapor_sync.app import pull_account, push_outbox
from lapor_sync.sandbox import SandboxWorld
from tests.attachment_files import JPEG, PDF, PNG
from tests.test_push_attachments import PEMPROV, new_ticket


def pulled(env: Any) -> list[tuple[str, str | None, str | None, int | None, bool]]:
    return [
        (r["followup_id"], r["file_name"], r["media_type"], r["size"], bool(r["url"]))
        for r in env.app.db.query(
            "SELECT * FROM remote_attachments ORDER BY complaint_id, followup_id, position"
        )
    ]


def test_pull_records_attachment_metadata_of_complaints_and_followups(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=51))
    ref = new_ticket(env, ("foto.png", PNG), ("surat.pdf", PDF))
    push_outbox(env.app)
    (cid,) = env.world.find_by_tag(ref)
    env.world.verify(cid)
    fid = env.world.add_followup(
        cid, "Sudah ditinjau.", institution_from_id="18",
        attachments=[{"name": "hasil.jpg", "url": "https://lapor.example.id/lampiran/h.jpg"}],
    )
    pull_account(env.app, PEMPROV)
    mine = [row for row in pulled(env) if row[0] in ("", str(fid))]
    assert mine == [
        ("", "foto.png", "image/png", len(PNG), True),
        ("", "surat.pdf", "application/pdf", len(PDF), True),
        (str(fid), "hasil.jpg", None, None, True),
    ]
    downloaded = env.app.db.execute(
        "SELECT count(*) FROM remote_attachments WHERE sha256 IS NOT NULL"
    ).fetchone()[0]
    assert downloaded == 0  # metadata only by default


def test_a_second_pull_shows_the_last_answer_once(make_env: Any) -> None:
    env = make_env(SandboxWorld(seed=52))
    ref = new_ticket(env, ("foto.png", PNG))
    push_outbox(env.app)
    (cid,) = env.world.find_by_tag(ref)
    pull_account(env.app, PEMPROV)
    with env.world.lock:
        env.world.record(cid).attachments.clear()  # the server no longer lists it
        env.world.record(cid).updated_at = env.world.now()
    env.world.verify(cid)
    pull_account(env.app, PEMPROV)
    rows = env.app.db.execute(
        "SELECT count(*) FROM remote_attachments WHERE complaint_id = ?", [str(cid)]
    ).fetchone()[0]
    assert rows == 0


class _Files(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    seen_headers: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
        data = self.files.get(self.path)
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def file_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_option_fetches_the_bytes_into_the_sha256_store(
    make_env: Any, file_server: str
) -> None:
    env = make_env(SandboxWorld(seed=53))
    big = PNG + b"\0" * (2 * 1024 * 1024)
    _Files.files = {"/surat.pdf": PDF, "/besar.png": big}
    _Files.seen_headers = []
    cid = env.world.add_complaint("Jalan rusak", "Lubang", created_by="18")
    env.world.verify(cid, "18")
    with env.world.lock:
        env.world.record(cid).attachments = [
            {"name": "surat.pdf", "url": f"{file_server}/surat.pdf"},
            {"name": "besar.png", "url": f"{file_server}/besar.png"},
            {"name": "hilang.jpg", "url": f"{file_server}/hilang.jpg"},
        ]
    settings = env.app.settings
    env.app.settings = settings.model_copy(
        update={
            "pull": settings.pull.model_copy(update={"download_attachments": True}),
            "local": settings.local.model_copy(update={"attachment_max_mib": 1}),
        }
    )
    pull_account(env.app, PEMPROV)
    rows = {
        r["file_name"]: r["sha256"]
        for r in env.app.db.query(
            "SELECT * FROM remote_attachments WHERE complaint_id = ?", [str(cid)]
        )
    }
    sha = hashlib.sha256(PDF).hexdigest()
    assert rows == {"surat.pdf": sha, "besar.png": None, "hilang.jpg": None}
    kept = env.app.attachments_folder / sha
    assert kept.read_bytes() == PDF and stat.S_IMODE(kept.stat().st_mode) == 0o600
    # the file store gets no credential of the API
    assert all("authorization" not in h and "token" not in h for h in _Files.seen_headers)
    # a later pull keeps what was fetched and tries the rest again
    _Files.files["/hilang.jpg"] = JPEG
    with env.world.lock:
        env.world.record(cid).updated_at = env.world.now()
    env.world.advance(timedelta(minutes=5))
    env.world.disposition(cid, "18")
    pull_account(env.app, PEMPROV)
    again = {
        r["file_name"]: r["sha256"]
        for r in env.app.db.query(
            "SELECT * FROM remote_attachments WHERE complaint_id = ?", [str(cid)]
        )
    }
    assert again["surat.pdf"] == sha and again["hilang.jpg"] == hashlib.sha256(JPEG).hexdigest()
    assert again["besar.png"] is None  # over local.attachment_max_mib: never stored


def test_files_pushed_to_the_sandbox_come_back_whole_with_the_download_option(
    make_env: Any,
) -> None:
    env = make_env(SandboxWorld(seed=54))
    ref = new_ticket(env, ("foto.png", PNG), ("surat.pdf", PDF))
    push_outbox(env.app)
    settings = env.app.settings
    env.app.settings = settings.model_copy(
        update={"pull": settings.pull.model_copy(update={"download_attachments": True})}
    )
    pull_account(env.app, PEMPROV)
    (cid,) = env.world.find_by_tag(ref)
    rows = list(
        env.app.db.query(
            "SELECT file_name, sha256 FROM remote_attachments WHERE complaint_id = ? "
            "ORDER BY position",
            [str(cid)],
        )
    )
    assert [(r["file_name"], r["sha256"]) for r in rows] == [
        ("foto.png", hashlib.sha256(PNG).hexdigest()),
        ("surat.pdf", hashlib.sha256(PDF).hexdigest()),
    ]

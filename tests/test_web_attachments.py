"""The portal's intake form with attachments: files checked on the server, errors in
Bahasa Indonesia beside the field, the CSRF token still required, the ticket and its files
recorded together."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient

from lapor_sync.local.attachments import folder_of
from lapor_sync.store.db import open_database
from tests.attachment_files import PDF, PNG
from tests.portal_support import PortalStore
from tests.test_web import app, clients, csrf, store

__all__ = ["app", "clients", "store"]

FIELDS = {
    "channel": "whatsapp", "reporter_name": "Rina Marlina", "phone": "0812-3333-4444",
    "title": "Jalan amblas", "content": "Jalan di depan balai desa amblas.", "opd": "BMBK",
}  # fmt: skip


def post(client: FlaskClient, files: list[tuple[bytes, str]], **extra: Any) -> Any:
    data: dict[str, Any] = {"csrf_token": csrf(client, "/pengaduan-baru"), **FIELDS, **extra}
    data["attachments"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/pengaduan-baru", data=data, content_type="multipart/form-data")


def tickets(store: PortalStore) -> int:
    db = open_database(store.settings.store.path)
    try:
        return int(db.execute("SELECT count(*) FROM local_tickets").fetchone()[0])
    finally:
        db.close()


def test_the_form_offers_an_upload_field_in_the_lapor_fieldset(
    clients: dict[str, FlaskClient],
) -> None:
    page = clients["operator"].get("/pengaduan-baru").text
    fieldset = page.split("<legend>Data untuk SP4N-LAPOR!</legend>", 1)[1].split("</fieldset>")[0]
    assert 'type="file"' in fieldset and 'name="attachments"' in fieldset and "multiple" in fieldset
    assert 'enctype="multipart/form-data"' in page
    assert "paling besar 10 MB per berkas" in fieldset


def test_a_complaint_with_files_is_recorded_with_them(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    done = post(clients["operator"], [(PNG, "foto.png"), (PDF, "surat.pdf")],
                confirm_duplicate="y")  # fmt: skip
    assert done.status_code == 302, done.text
    ref = done.headers["Location"].rsplit("/", 1)[1]
    db = open_database(store.settings.store.path)
    rows = db.execute(
        "SELECT a.file_name, a.media_type, a.size, a.sha256 FROM local_attachments a "
        "JOIN local_tickets t ON t.id = a.ticket_id WHERE t.ref = ? ORDER BY a.id",
        [ref],
    ).fetchall()
    db.close()
    assert [r[:3] for r in rows] == [
        ("foto.png", "image/png", len(PNG)), ("surat.pdf", "application/pdf", len(PDF)),
    ]
    folder = folder_of(store.settings.store.path)
    assert (folder / rows[0][3]).read_bytes() == PNG


def test_a_refused_file_keeps_the_complaint_out_with_the_reason_in_bahasa(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    before = tickets(store)
    bad = post(clients["operator"], [(b"MZ\x90\x00 not a document", "surat.pdf")],
               confirm_duplicate="y")  # fmt: skip
    assert bad.status_code == 400
    assert 'id="attachments-error"' in bad.text
    assert "Surat.pdf bukan berkas JPEG, PNG, PDF, DOC atau DOCX" in bad.text
    big = post(clients["operator"], [(PNG + b"\0" * (10 * 1024 * 1024), "besar.png")],
               confirm_duplicate="y")  # fmt: skip
    assert big.status_code == 400 and "melebihi batas 10.0 MB" in big.text
    assert tickets(store) == before


def test_files_chosen_with_another_error_must_be_chosen_again(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    before = tickets(store)
    bad = post(clients["operator"], [(PNG, "foto.png")], title="")
    assert bad.status_code == 400 and "pilih lagi berkasnya" in bad.text
    assert tickets(store) == before


def test_an_upload_without_the_csrf_token_is_refused(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    before = tickets(store)
    data: dict[str, Any] = {**FIELDS, "attachments": [(io.BytesIO(PNG), "foto.png")]}
    refused = clients["operator"].post(
        "/pengaduan-baru", data=data, content_type="multipart/form-data"
    )
    assert refused.status_code == 400 and tickets(store) == before


def test_only_a_signed_in_operator_may_send_a_large_form(app: Any) -> None:
    anonymous = app.test_client()
    big = anonymous.post(
        "/pengaduan-baru",
        data={**FIELDS, "attachments": [(io.BytesIO(PNG + b"\0" * 400_000), "foto.png")]},
        content_type="multipart/form-data",
    )
    assert big.status_code == 413  # the usual 256 KiB limit, before anything else

"""The portal's outbox page also lists notifications that are dead or unknown, with why."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from lapor_sync.store import notify_outbox as box
from lapor_sync.store.db import open_database
from tests.portal_support import PortalStore
from tests.test_web import app, clients, store  # noqa: F401 (the portal fixtures)


def test_dead_and_unknown_notifications_are_shown_to_the_admin(
    store: PortalStore,  # noqa: F811
    clients: dict[str, FlaskClient],  # noqa: F811
) -> None:
    db = open_database(store.settings.store.path)
    try:
        now = store.now()
        ids = box.enqueue(
            db,
            [
                box.NewNotification(
                    f"portal-test:{n}", kind, "email", "s", "t", "h", ("a@b.go.id",), "{}", opd
                )
                for n, (kind, opd) in enumerate([("opd_digest", "DINKES"), ("admin_alert", None)])
            ],
            now,
        )
        for row_id, state, reason in zip(
            ids,
            ("dead", "unknown"),
            ("SMTP server answered 550 to RCPT", "connection lost after the message was sent"),
            strict=True,
        ):
            box.claim(db, row_id, now)
            box.mark_final(db, row_id, now, state, reason)
    finally:
        db.close()
    page = clients["admin"].get("/outbox")
    assert page.status_code == 200
    text = page.text
    assert "Notifikasi yang gagal atau belum pasti terkirim" in text
    assert "ringkasan harian OPD" in text and "DINKES" in text
    assert "SMTP server answered 550 to RCPT" in text
    assert "peringatan admin" in text and "connection lost after the message was sent" in text
    assert "notify outbox --retry" in text
    assert clients["pemantau"].get("/outbox").status_code == 403
    # The admin sends the dead one again from the page (CSRF-checked, as the CLI's --retry).
    admin = clients["admin"]
    url = f"/outbox/notifikasi/{ids[0]}/ulang"
    assert admin.post(url).status_code == 400  # no CSRF token: nothing changes
    db = open_database(store.settings.store.path)
    try:
        assert box.get(db, ids[0]).state == "dead"  # type: ignore[union-attr]
        token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
        done = admin.post(url, data={"csrf_token": token})
        assert done.status_code == 302 and done.headers["Location"].endswith("#notifikasi")
        row = box.get(db, ids[0])
        assert row is not None and (row.state, row.attempts) == ("pending", 0)
        assert "dijadwalkan untuk dikirim ulang" in admin.get("/outbox").text
        assert admin.post(url, data={"csrf_token": token}).status_code == 404  # not dead now
        assert box.get(db, ids[1]).state == "unknown"  # type: ignore[union-attr]
    finally:
        db.close()

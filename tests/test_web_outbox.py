"""The outbox page: what has not reached SP4N-LAPOR! yet, for the admin and the operator.

The admin sees every waiting row, may send a dead one again and sees the notifications
that failed; the operator (Call Center) sees the rows of what the province recorded —
exactly what the home's "belum terkirim" tile counts for it — and can send nothing again.
Both page through every row, 100 a page, each row once.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from lapor_sync.local.register import add_followup
from lapor_sync.store.db import open_database
from lapor_sync.web import actions
from tests.portal_support import PortalStore, signed_in_portal_fixtures

store, app, clients = signed_in_portal_fixtures("portal-outbox")

ROW_RE = re.compile(r'<tr class="outbox-([a-z]+)"><td>(\d+)</td><td><a href="[^"]*">([^<]+)</a>')
TILE_RE = re.compile(r'<a href="/outbox"><strong>(\d+)</strong> belum terkirim')
WAITING = "('pending', 'sending', 'unknown', 'dead')"


@pytest.fixture(scope="module", autouse=True)
def _rows_of_every_kind(store: PortalStore) -> None:
    """Besides the Call Center's four new complaints (their create rows are pending): a
    follow-up on a complaint adopted from SP4N-LAPOR! (not the province's own record)
    and one create row given up (dead)."""
    db = open_database(store.settings.store.path)
    adopted = db.execute(
        "SELECT t.ref FROM local_tickets t WHERE t.origin != 'local' AND t.opd_code = 'DINKES' "
        "ORDER BY t.id LIMIT 1"
    ).fetchone()[0]
    add_followup(db, adopted, "DINKES", "Sedang kami tangani.")
    db.execute(
        "UPDATE outbox SET state = 'dead', last_error = 'ditolak' WHERE id = (SELECT o.id "
        "FROM outbox o JOIN local_tickets t ON t.id = o.ticket_id WHERE t.ref = ?)",
        [store.disdik_ref],
    )
    db.close()


def expected_rows(store: PortalStore, local_only: bool) -> list[tuple[int, str]]:
    db = open_database(store.settings.store.path)
    rows = db.execute(
        "SELECT o.id, t.ref FROM outbox o JOIN local_tickets t ON t.id = o.ticket_id "
        f"WHERE o.state IN {WAITING} {'AND t.origin = ' + repr('local') if local_only else ''} "
        "ORDER BY o.id DESC"
    ).fetchall()
    db.close()
    return [(int(i), str(r)) for i, r in rows]


def first_page(client: FlaskClient) -> tuple[str, list[tuple[int, str]]]:
    """The outbox page as ``client`` sees it, and its rows (id, reference)."""
    page = client.get("/outbox").text
    return page, [(int(i), ref) for _, i, ref in ROW_RE.findall(page)]


def tile_count(client: FlaskClient) -> int:
    """What the home's "belum terkirim" tile says."""
    found = TILE_RE.search(client.get("/").text)
    assert found, "no outbox tile on the home"
    return int(found.group(1))


def all_pages(client: FlaskClient) -> list[tuple[int, str]]:
    """Every row shown, following "Halaman berikutnya" to the last page."""
    shown: list[tuple[int, str]] = []
    url: str | None = "/outbox"
    while url:
        page = client.get(url)
        assert page.status_code == 200
        shown += [(int(i), ref) for _, i, ref in ROW_RE.findall(page.text)]
        found = re.search(r'<a class="button" rel="next" href="([^"]+)"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    return shown


def test_the_operator_sees_what_the_province_recorded_and_sends_nothing_again(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    page, rows = first_page(clients["operator"])
    assert rows == expected_rows(store, local_only=True)
    assert store.disdik_ref in {ref for _, ref in rows}  # its dead row is shown ...
    assert "Kirim ulang" not in page and 'id="notifikasi"' not in page  # ... not resent
    assert tile_count(clients["operator"]) == len(rows)


def test_the_admin_sees_every_row_and_may_send_a_dead_one_again(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    page, rows = first_page(clients["admin"])
    assert rows == expected_rows(store, local_only=False)
    assert len(rows) > len(expected_rows(store, local_only=True))  # the follow-up's too
    assert page.count("Kirim ulang") >= 1 and 'id="notifikasi"' in page
    assert tile_count(clients["admin"]) == len(rows)


@pytest.mark.parametrize("role,local_only", [("admin", False), ("operator", True)])
def test_pages_show_every_waiting_row_once(
    role: str,
    local_only: bool,
    store: PortalStore,
    clients: dict[str, FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(actions, "OUTBOX_PAGE", 2)
    assert all_pages(clients[role]) == expected_rows(store, local_only)


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "9" * 30, "٣"])
def test_an_unreadable_page_cursor_is_refused(value: str, clients: dict[str, FlaskClient]) -> None:
    assert clients["admin"].get(f"/outbox?sebelum={value}").status_code == 400
    assert clients["admin"].get("/outbox?sebelum=5").status_code == 200

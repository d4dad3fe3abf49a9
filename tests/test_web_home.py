"""The portal's home: its counts and its work list, against the deadlines table itself.

A liaison's work card names one complaint and every stage of it that is late or near due,
not only the most urgent one; the tiles count complaints the way the report does (late:
a stage past due; near due: none past due, one due soon), so they add up to the list.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lapor_sync.glossary import stage_label
from lapor_sync.store import users as users_mod
from lapor_sync.store.db import open_database, transaction
from lapor_sync.store.deadlines import DeadlineRow, upsert_deadlines
from lapor_sync.timeutil import from_db, to_db
from lapor_sync.web import create_app
from lapor_sync.web.pages import WORK_SHOWN
from tests.portal_support import (
    PASSWORD,
    PortalStore,
    build_portal_store,
    cheap_hasher,
    csrf,
    portal_app,
)

CARD_RE = re.compile(r'<li class="card[^"]*">(.*?)</ul>\s*</li>', re.S)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStore]:
    previous = users_mod.set_hasher(cheap_hasher())
    built = build_portal_store(tmp_path_factory.mktemp("portal-home"), complaints=40)
    # One Call Center complaint gets a second stage near due beside its late one: its card
    # must show both (the most urgent alone hides the other deadline).
    db = open_database(built.settings.store.path)
    ticket_id = db.execute(
        "SELECT id FROM local_tickets WHERE ref = ?", [built.open_ref]
    ).fetchone()[0]
    now = built.now()
    with transaction(db):
        upsert_deadlines(db, [
            DeadlineRow(ticket_id, "reply", to_db(now - timedelta(days=1)),
                        to_db(now + timedelta(hours=20)), None, "test", to_db(now)),
        ])  # fmt: skip
    db.close()
    yield built
    built.server.stop()
    users_mod.set_hasher(previous)


@pytest.fixture(scope="module")
def app(store: PortalStore) -> Flask:
    return portal_app(store)


def signed_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    reply = client.post(
        "/masuk", data={"csrf_token": csrf(client), "name": name, "password": PASSWORD}
    )
    assert reply.status_code == 302
    return client


def truth(store: PortalStore, opds: tuple[str, ...] | None) -> dict[str, list[str]]:
    """Every complaint with an open deadline due by the near-due horizon: ref -> stages."""
    from lapor_sync.web.pages import near_due_horizon

    with create_app(store.settings, clock=store.now).app_context():
        horizon = near_due_horizon(store.now())
    db = open_database(store.settings.store.path)
    rows = db.execute(
        "SELECT t.ref, t.opd_code, d.stage, d.due_at FROM deadlines d JOIN local_tickets t ON "
        "t.id = d.ticket_id WHERE d.met_at IS NULL AND t.ref IS NOT NULL"
    ).fetchall()
    db.close()
    found: dict[str, list[tuple[str, str]]] = {}
    for ref, opd, stage, due in rows:
        if from_db(due) <= horizon and (opds is None or opd in opds):
            found.setdefault(ref, []).append((due, stage))
    return {ref: [s for _, s in sorted(v)] for ref, v in found.items()}


def cards(page: str) -> dict[str, list[str]]:
    """The work list as shown: complaint reference -> the stage names on its card."""
    shown: dict[str, list[str]] = {}
    for block in CARD_RE.findall(page):
        ref = re.search(r'<a href="/aduan/([^"]+)">', block)
        assert ref, block
        stages = re.findall(r"<li[^>]*>\s*(.*?) · ", block, re.S)
        shown[ref.group(1)] = [html.unescape(s.strip()) for s in stages]
    return shown


def tile(page: str, words: str) -> int:
    match = re.search(rf"<strong>(\d+)</strong> {words}", page)
    assert match, words
    return int(match.group(1))


@pytest.mark.parametrize(("account", "opds"), [("admin", None), ("penghubung.dinkes", ("DINKES",))])
def test_every_late_and_near_due_stage_of_a_complaint_is_on_its_card(
    app: Flask, store: PortalStore, account: str, opds: tuple[str, ...] | None
) -> None:
    expected = truth(store, opds)
    assert expected, "the store has late complaints for this account"
    page = signed_in(app, account).get("/").text
    shown = cards(page)
    days = store.settings.deadlines.settlement_days
    # Each complaint once, with all its due stages, as many complaints as fit.
    assert len(shown) == min(WORK_SHOWN, len(expected))
    for ref, stages in shown.items():
        assert stages == [stage_label(s, days) for s in expected[ref]], ref
    assert store.open_ref in shown or opds is None
    if store.open_ref in shown:
        assert len(shown[store.open_ref]) >= 2
    # The tiles count complaints, split late / near due, and add up to the list's total.
    late, near = tile(page, "terlambat"), tile(page, "mendekati batas waktu")
    assert late + near == len(expected)
    assert f"mendekati batas waktu ({len(expected)})" in page


def test_a_liaison_sees_no_other_opds_card(app: Flask, store: PortalStore) -> None:
    page = signed_in(app, "penghubung.dinkes").get("/").text
    assert store.disdik_ref not in cards(page)
    assert set(cards(page)) <= set(truth(store, ("DINKES",)))


# --- every tile links to exactly the complaints (or rows) it counts ---------------------------

TILE_RE = r'<li class="tile[^"]*">(?:<a href="([^"]*)">)?<strong>(\d+)</strong> {words}'


def linked_tile(page: str, words: str) -> tuple[str, int]:
    match = re.search(TILE_RE.format(words=words), page)
    assert match, words
    assert match.group(1), f"the tile '{words}' links nowhere"
    return html.unescape(match.group(1)), int(match.group(2))


def listed_refs(client: FlaskClient, url: str) -> list[str]:
    """Every complaint the list at ``url`` shows, following its pages to the end."""
    refs: list[str] = []
    while True:
        reply = client.get(url)
        assert reply.status_code == 200, (url, reply.status_code)
        refs += re.findall(r'<a class="ref" href="/aduan/([^"]+)">', reply.text)
        following = re.search(r'rel="next" href="([^"]+)"', reply.text)
        if not following:
            return refs
        url = html.unescape(following.group(1))


def add_recorded(store: PortalStore, ref: str, opd: str, created: str) -> None:
    """A complaint written by another program, recorded at ``created`` (no outbox row)."""
    db = open_database(store.settings.store.path)
    with transaction(db):
        db.execute(
            "INSERT INTO local_tickets (ref, origin, channel, title, content, opd_code, "
            "received_at, created_at) VALUES (?, 'lapor', 'lapor', 'Judul', 'Isi', ?, ?, ?)",
            [ref, opd, created, created],
        )
    db.close()


@pytest.mark.parametrize("account", ["admin", "penghubung.dinkes", "penghubung.disdik"])
def test_each_tile_links_to_what_it_counts(app: Flask, store: PortalStore, account: str) -> None:
    client = signed_in(app, account)
    client.get("/")  # the visit the next one's "new since" counts from
    seen = store.now()
    tag = account.rsplit(".", 1)[-1].upper()
    # Recorded after that visit: one per OPD; and one recorded a minute before it.
    for opd in ("DINKES", "DISDIK"):
        add_recorded(store, f"BARU-{tag}-{opd}", opd, to_db(seen + timedelta(seconds=1)))
    add_recorded(store, f"LAMA-{tag}", "DINKES", to_db(seen - timedelta(minutes=1)))
    page = client.get("/").text

    url, new = linked_tile(page, "baru sejak kunjungan terakhir")
    refs = listed_refs(client, url)
    assert len(refs) == new > 0
    in_scope = {"admin": ("DINKES", "DISDIK")}.get(account, (tag,))
    assert {f"BARU-{tag}-{opd}" for opd in in_scope} <= set(refs)
    assert f"LAMA-{tag}" not in refs
    assert not any(r.startswith("BARU-") and r.rsplit("-", 1)[1] not in in_scope for r in refs)

    for words in ("terlambat", "mendekati batas waktu"):
        url, count = linked_tile(page, words)
        refs = listed_refs(client, url)
        assert len(refs) == len(set(refs)) == count, words
    late = set(listed_refs(client, linked_tile(page, "terlambat")[0]))
    near = set(listed_refs(client, linked_tile(page, "mendekati batas waktu")[0]))
    assert not late & near
    assert late | near == set(truth(store, None if account == "admin" else (tag,)))

    url, conflicts = linked_tile(page, "konflik menunggu keputusan")
    shown = re.findall(r'<li class="card">', client.get(url).text)
    assert len(shown) == conflicts

    if account == "admin":
        url, waiting = linked_tile(page, "belum terkirim ke SP4N-LAPOR!")
        rows = client.get(url).text.partition('id="notifikasi"')[0]
        assert len(re.findall(r'<tr class="outbox-', rows)) == waiting


def test_a_malformed_new_since_link_is_an_error_not_an_empty_list(app: Flask) -> None:
    client = signed_in(app, "admin")
    reply = client.get("/aduan?baru_sejak=kemarin")
    assert reply.status_code == 400
    assert "Baru sejak: tautan tidak sah" in reply.text
    assert "Tidak ada pengaduan yang cocok" not in reply.text
    assert client.get("/aduan/ekspor.csv?baru_sejak=kemarin").status_code == 400


def test_the_list_says_which_tile_filter_is_on_and_keeps_it_when_refined(
    app: Flask, store: PortalStore
) -> None:
    """A tile's filter has no field in the form: the list names it, the form carries it
    when another filter is added, and one link takes it off."""
    client = signed_in(app, "admin")
    page = client.get("/").text
    url, _ = linked_tile(page, "mendekati batas waktu")
    listed = client.get(url).text
    assert "Hanya yang mendekati batas waktu (belum terlambat)." in listed
    assert '<input type="hidden" name="mendekati" value="1">' in listed
    refined = set(listed_refs(client, url + "&opd=DINKES"))
    assert refined == set(listed_refs(client, url)) & set(listed_refs(client, "/aduan?opd=DINKES"))
    clear = re.search(r'<a href="([^"]+)">Tampilkan tanpa saringan ini</a>', listed)
    assert clear and "mendekati" not in html.unescape(clear.group(1))

    since = client.get("/aduan?baru_sejak=2026-11-01T08:00:00%2B07:00").text
    assert "Hanya yang baru tercatat sejak Minggu, 1 November 2026 pukul 08.00 WIB." in since
    assert client.get("/aduan").text.count('class="notice"') == 0


@pytest.mark.parametrize(
    ("opds", "channel"), [(None, None), (("DINKES",), None), (None, "telepon"), (("DISDIK",), None)]
)
def test_the_near_due_list_pages_through_exactly_the_near_due_complaints(
    store: PortalStore, tmp_path: Path, opds: tuple[str, ...] | None, channel: str | None
) -> None:
    """Two rows a page, by the keyset cursor, with a scope or another filter beside it:
    every complaint whose earliest open deadline falls from now to the horizon, each once,
    newest first (the near-due tickets drive this query, store/portal_queries.py). On a
    copy of the module's store where every complaint has one open stage: late, near due
    or due after the horizon."""
    from lapor_sync.store.portal_queries import ListFilter, Scope, complaint_list
    from lapor_sync.web.pages import near_due_horizon

    with create_app(store.settings, clock=store.now).app_context():
        horizon = near_due_horizon(store.now())
    now = store.now()
    source = open_database(store.settings.store.path)
    copy = tmp_path / "copy.db"
    source.conn.backup(sqlite3.connect(copy))  # the copy's connection closes with it
    source.close()
    db = open_database(copy)
    chosen = db.execute("SELECT id FROM local_tickets WHERE ref IS NOT NULL").fetchall()
    with transaction(db):
        # Every ticket's open stages met; then one stage each: late, near due (most), or
        # due after the horizon, by turns.
        db.execute("UPDATE deadlines SET met_at = ? WHERE met_at IS NULL", [to_db(now)])
        upsert_deadlines(db, [
            DeadlineRow(tid, "reply", to_db(now - timedelta(days=1)),
                        to_db(now + timedelta(hours=(-3, 2, 5, 9, 30 * 24)[i % 5], minutes=i)),
                        None, "test", to_db(now))
            for i, (tid,) in enumerate(chosen)
        ])  # fmt: skip
    every = db.execute(
        "SELECT t.ref, t.opd_code, t.channel, t.received_at, t.id, u.first_open_due "
        "FROM local_tickets t JOIN ticket_due u ON u.ticket_id = t.id"
    ).fetchall()
    expected = [
        ref
        for ref, opd, chan, _, _, due in sorted(every, key=lambda r: (r[3], r[4]), reverse=True)
        if now <= from_db(due) <= horizon
        and (opds is None or opd in opds)
        and (channel is None or chan == channel)
    ]
    shown: list[str] = []
    after = None
    while True:
        rows, more = complaint_list(
            db,
            Scope(opds=opds),
            ListFilter(near_due_by=horizon, channel=channel, after=after, limit=2),
            now,
        )
        shown += [r["ref"] for r in rows]
        assert len(shown) <= len(every), "the pages repeat rows"
        if not more:
            break
        after = (rows[-1]["received_at"], rows[-1]["id"])
    db.close()
    assert shown == expected
    assert len(expected) >= {(None, None): 20, (None, "telepon"): 2}.get((opds, channel), 1)

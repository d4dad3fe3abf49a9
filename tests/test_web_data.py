"""The portal's personal-data rules without a browser: who sees the reporter and the text,
the access journal for exactly the views that showed them, the intake form (errors beside
the field, the duplicate warning, the create fields), the list's filters and search, and a
follow-up through the register and the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask, url_for
from flask.testing import FlaskClient

from lapor_sync.store.access_journal import list_access
from lapor_sync.store.db import open_database
from lapor_sync.store.portal_queries import ListFilter, Scope, complaint_list_query
from lapor_sync.web import create_app
from lapor_sync.web.list_markup import list_cards, options_html, with_query
from tests.portal_support import (
    ANON_NAME,
    ANON_PHONE,
    EMAIL,
    INTAKE,
    NAME,
    NIK,
    PHONE,
    SECRET_TEXT,
    TOKEN_RE,
    PortalStore,
    csrf,
    lapor_ref,
    login,
    signed_in_portal_fixtures,
)

store, app, clients = signed_in_portal_fixtures("portal-data")


def test_access_journal_exactly_for_views_that_showed_personal_data(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    db = open_database(store.settings.store.path)

    def journal_after(role: str, url: str) -> list[tuple[str, ...]]:
        before = len(list_access(db, limit=10**6))
        assert clients[role].get(url).status_code == 200
        rows = list_access(db, limit=10**6)  # newest first
        return [(a.user_name, a.ticket_ref, a.view, *a.shown) for a in rows[: len(rows) - before]]

    s = store
    assert journal_after("admin", f"/aduan/{s.open_ref}") == [
        ("admin", s.open_ref, "complaint", "identity", "content")
    ]
    assert journal_after("admin", f"/aduan/{s.open_ref}/ekspor.csv") == [
        ("admin", s.open_ref, "export", "identity", "content")
    ]
    # The OPD's liaison of an anonim complaint sees the text but not who wrote it.
    assert journal_after("penghubung.dinkes", f"/aduan/{s.anon_ref}") == [
        ("penghubung.dinkes", s.anon_ref, "complaint", "content")
    ]
    assert journal_after("penghubung.dinkes", f"/aduan/{s.secret_ref}") == [
        ("penghubung.dinkes", s.secret_ref, "complaint", "identity", "secret_content")
    ]
    # The operator sees who reported a rahasia complaint, but not its text.
    assert journal_after("operator", f"/aduan/{s.secret_ref}") == [
        ("operator", s.secret_ref, "complaint", "identity")
    ]
    # A viewer sees no personal data: nothing is journalled. Lists never are.
    assert journal_after("pemantau", f"/aduan/{s.open_ref}") == []
    assert journal_after("pemantau", f"/aduan/{s.open_ref}/ekspor.csv") == []
    assert journal_after("admin", "/aduan") == []
    assert journal_after("admin", "/aduan/ekspor.csv") == []
    db.close()


def test_who_sees_which_personal_data(store: PortalStore, clients: dict[str, FlaskClient]) -> None:
    s = store

    def text(role: str, url: str) -> str:
        response = clients[role].get(url)
        assert response.status_code == 200
        return response.text

    admin = text("admin", f"/aduan/{s.open_ref}")
    assert NAME in admin and PHONE in admin and EMAIL in admin and NIK in admin
    anon = text("penghubung.dinkes", f"/aduan/{s.anon_ref}")
    assert ANON_NAME not in anon and ANON_PHONE not in anon and "anonim" in anon
    assert ANON_NAME in text("operator", f"/aduan/{s.anon_ref}")
    assert SECRET_TEXT in text("penghubung.dinkes", f"/aduan/{s.secret_ref}")
    assert SECRET_TEXT not in text("operator", f"/aduan/{s.secret_ref}")
    assert SECRET_TEXT not in text("operator", f"/aduan/{s.secret_ref}/ekspor.csv")
    for url in (
        "/",
        "/aduan",
        "/aduan/ekspor.csv",
        "/laporan/",
        f"/aduan/{s.open_ref}",
        f"/aduan/{s.open_ref}/ekspor.csv",
        f"/aduan/{s.secret_ref}",
        f"/aduan/{s.anon_ref}",
        f"/aduan/{s.disdik_ref}",
    ):
        page = text("pemantau", url)
        leaked = [p for p in s.personal if p in page]
        assert leaked == [], (url, leaked)
        assert SECRET_TEXT not in page


def test_intake_comes_back_filled_with_errors_beside_fields(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    client = clients["operator"]
    token = csrf(client, "/pengaduan-baru")
    bad = client.post("/pengaduan-baru", data={
        "csrf_token": token, "channel": "whatsapp", "reporter_name": "Dewi Lestari",
        "phone": "0812-9999-1111", "email": "dewi@@contoh", "title": "",
        "content": "Air PDAM tidak mengalir tiga hari.\nMohon dibantu.", "opd": "DINKES",
    })  # fmt: skip
    assert bad.status_code == 400
    page = bad.text
    assert 'id="email-error"' in page and "Bukan alamat email yang valid" in page
    assert 'id="title-error"' in page and "Judul laporan: Wajib diisi." in page
    assert 'value="Dewi Lestari"' in page and 'value="dewi@@contoh"' in page
    assert "Air PDAM tidak mengalir tiga hari.\nMohon dibantu." in page
    assert '<option selected value="DINKES">' in page or 'value="DINKES" selected' in page


def test_intake_warns_of_a_likely_duplicate_and_never_merges(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    client = clients["operator"]
    data = {
        "channel": "telepon", "reporter_name": "Wahyuni", "phone": "0813-7778-8899",
        "title": "Obat masih habis", "content": "Masih belum ada obat.", "opd": "DINKES",
    }  # fmt: skip
    db = open_database(store.settings.store.path)
    count = db.execute("SELECT count(*) FROM local_tickets").fetchone()[0]
    warned = client.post(
        "/pengaduan-baru", data={"csrf_token": csrf(client, "/pengaduan-baru"), **data}
    )
    assert warned.status_code == 200 and store.open_ref in warned.text
    assert "Tetap catat sebagai laporan baru" in warned.text
    assert db.execute("SELECT count(*) FROM local_tickets").fetchone()[0] == count
    done = client.post("/pengaduan-baru", data={
        "csrf_token": csrf(client, "/pengaduan-baru"), **data, "confirm_duplicate": "y",
    })  # fmt: skip
    assert done.status_code == 302 and done.headers["Location"].startswith("/aduan/LPG-")
    ref = done.headers["Location"].rsplit("/", 1)[1]
    row = db.execute(
        "SELECT t.reporter_phone, o.state FROM local_tickets t JOIN outbox o ON "
        "o.ticket_id = t.id AND o.kind = 'create_complaint' WHERE t.ref = ?",
        [ref],
    ).fetchone()
    assert row == ("0813-7778-8899", "pending")
    assert db.execute("SELECT count(*) FROM local_tickets").fetchone()[0] == count + 1
    db.close()


def test_list_filters_search_and_keyset_pages(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    client = clients["admin"]
    first = client.get("/aduan")
    refs = re.findall(r'class="ref" href="/aduan/([^"]+)"', first.text)
    assert len(refs) == 50 and 'rel="next"' in first.text
    next_url = re.search(r'rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = re.findall(r'class="ref" href="/aduan/([^"]+)"', client.get(next_url).text)
    assert second and not set(second) & set(refs)
    found = re.findall(
        r'class="ref" href="/aduan/([^"]+)"', client.get(f"/aduan?cari={store.open_ref}").text
    )
    assert found == [store.open_ref]
    only_disdik = client.get("/aduan?opd=DISDIK").text
    assert store.disdik_ref in only_disdik and store.open_ref not in only_disdik
    late = re.findall(r'class="ref" href="/aduan/([^"]+)"', client.get("/aduan?terlambat=1").text)
    assert store.open_ref in late  # recorded nine days ago, never sent: verification is late
    assert client.get("/aduan?status=nope").status_code == 400
    assert client.get("/aduan?dari=kemarin").status_code == 400
    mine = clients["penghubung.dinkes"].get("/aduan?opd=DISDIK")
    assert mine.status_code == 400 and "bukan OPD Anda" in mine.text


def test_follow_up_goes_through_register_and_outbox(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    client = clients["penghubung.dinkes"]
    ref = lapor_ref(store)
    page = client.get(f"/aduan/{ref}")
    assert "Kirim tindak lanjut" in page.text
    token = TOKEN_RE.search(page.text).group(1)
    done = client.post(
        f"/aduan/{ref}/tindak-lanjut",
        data={"csrf_token": token, "content": "Obat sudah dikirim ke puskesmas."},
    )
    assert done.status_code == 302
    after = client.get(f"/aduan/{ref}").text
    assert "Obat sudah dikirim ke puskesmas." in after
    assert "tindak lanjut</td><td>menunggu dikirim" in after


def test_intake_create_fields_prefilled_marked_and_stored(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    """The SP4N-LAPOR! create fields: config defaults shown, per-ticket values kept."""
    client = clients["operator"]
    form = client.get("/pengaduan-baru").text
    assert re.search(r'id="classification"[^>]*value="1"', form)  # [local.create]
    assert re.search(r'id="location"[^>]*value="18"', form)
    assert '<option value="2">DINKES</option>' in form  # [[opd]] category_id, suggested
    assert '<option value="18002">' in form  # the OPDs' instansi for the disposition
    assert "Kosongkan untuk kategori OPD tujuan" in form
    assert form.count("(wajib)") == 3  # channel, title, content: the rest have defaults
    bad = client.post("/pengaduan-baru", data={
        "csrf_token": csrf(client, "/pengaduan-baru"), **INTAKE, "classification": "satu",
        "location": "18", "disposition": "18x", "incident_date": "31/02/2026",
    })  # fmt: skip
    assert bad.status_code == 400
    assert 'id="classification-error"' in bad.text and 'id="disposition-error"' in bad.text
    assert "Klasifikasi (id SP4N-LAPOR!): Id SP4N-LAPOR! hanya berisi angka." in bad.text
    assert 'id="incident_date-error"' in bad.text and 'value="satu"' in bad.text
    day = (store.now() - timedelta(days=3)).date()
    done = client.post("/pengaduan-baru", data={
        "csrf_token": csrf(client, "/pengaduan-baru"), **INTAKE, "classification": "2",
        "category": "9", "location": "1871", "disposition": "18004",
        "incident_date": day.strftime("%d/%m/%Y"),
    })  # fmt: skip
    assert done.status_code == 302, done.text
    ref = done.headers["Location"].rsplit("/", 1)[1]
    db = open_database(store.settings.store.path)
    row = db.execute(
        "SELECT classification_id, category_id, location_id, disposition_id, "
        "date_of_incident FROM local_tickets WHERE ref = ?",
        [ref],
    ).fetchone()
    db.close()
    assert tuple(row[:4]) == ("2", "9", "1871", "18004")
    assert str(row[4]).startswith(day.isoformat())


def test_intake_required_create_field_without_default_is_refused_beside_it(
    store: PortalStore,
) -> None:
    create = store.settings.local.create.model_copy(update={"location_id": None})
    local = store.settings.local.model_copy(update={"create": create})
    app = create_app(store.settings.model_copy(update={"local": local}), clock=store.now)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.7.0.1"  # not the address the throttle test locks
    assert login(client, "operator") == 302
    form = client.get("/pengaduan-baru").text
    assert re.search(r'Lokasi \(id SP4N-LAPOR!\) <span class="required">\(wajib\)', form)
    refused = client.post(
        "/pengaduan-baru", data={"csrf_token": csrf(client, "/pengaduan-baru"), **INTAKE}
    )
    assert refused.status_code == 400 and 'id="location-error"' in refused.text
    assert "Wajib untuk SP4N-LAPOR! (location_id)" in refused.text
    assert 'value="Jalan rusak di Jl. Pagar Alam"' in refused.text  # nothing lost


def test_search_finds_a_tracking_id_known_from_either_side_within_scope(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    """By the link's Tracking ID, by the mirror's alone (link not yet stamped), never
    outside the account's OPDs."""
    ref = lapor_ref(store)
    db = open_database(store.settings.store.path)
    try:
        ticket_id, tracking = db.execute(
            "SELECT t.id, rc.tracking_id FROM local_tickets t JOIN links l ON l.ticket_id = t.id "
            "JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
            "WHERE t.ref = ?",
            [ref],
        ).fetchone()
        assert tracking

        def found(role: str) -> list[str]:
            page = clients[role].get(f"/aduan?cari={tracking}").text
            return re.findall(r'class="ref" href="/aduan/([^"]+)"', page)

        assert found("admin") == [ref] == found("penghubung.dinkes")
        assert found("penghubung.disdik") == []
        db.execute("UPDATE links SET tracking_id = NULL WHERE ticket_id = ?", [ticket_id])
        db.conn.commit()
        assert found("admin") == [ref]
    finally:
        db.execute("UPDATE links SET tracking_id = ? WHERE ticket_id = ?", [tracking, ticket_id])
        db.conn.commit()
        db.close()


def test_search_keeps_the_scope_and_every_filter(
    store: PortalStore, clients: dict[str, FlaskClient]
) -> None:
    """A search is checked against the account's OPDs (and the operator's origin) and the
    form's filters, whatever it finds; a search that finds nothing shows nothing."""
    s = store

    def found(role: str, query: str) -> list[str]:
        page = clients[role].get(f"/aduan?{query}")
        assert page.status_code == 200
        return re.findall(r'class="ref" href="/aduan/([^"]+)"', page.text)

    assert found("penghubung.dinkes", f"cari={s.open_ref}") == [s.open_ref]
    assert found("penghubung.dinkes", f"cari={s.disdik_ref}") == []
    assert found("penghubung.disdik", f"cari={s.disdik_ref}") == [s.disdik_ref]
    assert found("penghubung.disdik", f"cari={s.open_ref}") == []
    assert found("admin", f"cari={s.disdik_ref}&opd=DINKES") == []
    assert found("admin", f"cari={s.disdik_ref}&opd=DISDIK") == [s.disdik_ref]
    assert found("admin", f"cari={s.open_ref}&saluran=telepon") == [s.open_ref]
    assert found("admin", f"cari={s.open_ref}&saluran=sms") == []
    assert found("penghubung.dinkes", f"cari={s.open_ref}&terlambat=1") == [s.open_ref]
    assert found("operator", f"cari={s.open_ref}") == [s.open_ref]
    assert found("operator", f"cari={lapor_ref(store)}") == []  # not recorded by the province
    assert found("admin", f"cari={lapor_ref(store)}") == [lapor_ref(store)]
    for role in ("admin", "penghubung.dinkes", "operator"):
        assert found(role, "cari=TIDAK-ADA") == []


def test_a_search_reads_only_what_it_found(store: PortalStore) -> None:
    """The search's lookups drive the query: SQLite reads the tickets they found by key and
    checks the scope and filters on those, instead of walking an OPD's tickets (its index
    gives the list's order) and testing each against the found set."""
    db = open_database(store.settings.store.path)
    try:
        for scope, flt in (
            (Scope(opds=("DINKES",)), ListFilter(search="TIDAK-ADA")),
            (Scope(), ListFilter(search="TIDAK-ADA", opd="DINKES", late_only=True)),
            (Scope(local_only=True), ListFilter(search="TIDAK-ADA", channel="sms")),
        ):
            sql, params = complaint_list_query(scope, flt, store.now())
            plan = [str(r[3]) for r in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            tickets = [p for p in plan if p.startswith(("SEARCH t ", "SCAN t"))]
            assert tickets == ["SEARCH t USING INTEGER PRIMARY KEY (rowid=?)"], (scope, plan)
            assert plan.index("SCAN found") < plan.index(tickets[0]), plan
    finally:
        db.close()


def test_list_cards_escape_every_field() -> None:
    """The cards are made in Python (``web.list_markup.list_cards``), not by Jinja's
    autoescape: a title, reference, OPD or Tracking ID holding markup is printed as text,
    and a reference that is not a plain path segment is quoted in the link."""
    row = {
        "ref": 'LPG/1"<b>', "opd_code": "<i>DINKES</i>", "late": 1, "status": "received",
        "channel": "sms", "received_at": "2026-12-04T08:00:00+07:00", "create_state": None,
        "tracking_id": '"><script>alert(1)</script>', "is_secret": 0,
        "title": "<script>alert('x')</script> & \"kutip\"",
    }  # fmt: skip
    html = str(list_cards([row, {**row, "ref": "LPG-2026-000001", "late": 0}], "/aduan"))
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    assert '<a class="ref" href="/aduan/LPG%2F1%22%3Cb%3E">LPG/1&#34;&lt;b&gt;</a>' in html
    assert '<span class="badge">&lt;i&gt;DINKES&lt;/i&gt;</span>' in html
    title = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;kutip&#34;"
    assert f'<p class="title">{title}</p>' in html
    assert "Tracking ID &#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>" in html
    assert html.count('<li class="card late">') == 1 and html.count('<li class="card">') == 1
    assert html.count('<span class="badge warn">terlambat</span>') == 1
    assert '<a class="ref" href="/aduan/LPG-2026-000001">LPG-2026-000001</a>' in html


def test_filter_options_escape_and_select_the_chosen_one() -> None:
    choices = (("a", "Satu"), ('"><x', "<b>Dua</b>"), ("c", "Tiga & empat"))
    html = str(options_html(choices, '"><x'))
    assert html == (
        '<option value="a">Satu</option>'
        '<option value="&#34;&gt;&lt;x" selected>&lt;b&gt;Dua&lt;/b&gt;</option>'
        '<option value="c">Tiga &amp; empat</option>'
    )
    assert " selected" not in str(options_html(choices, "nope"))


def test_list_links_are_written_as_url_for_writes_them(app: Flask) -> None:
    """The list's links are its cached path plus ``with_query``: the same text as
    ``url_for`` with the same arguments, whatever the values hold."""
    queries: list[dict[str, str]] = [
        {},
        {"opd": "DINKES", "terlambat": "1"},
        {"cari": "a b&c=d#e/f?g+h%i", "setelah": "2026-12-04T08:00:00+07:00|12"},
        {"cari": "Jalan rusak é ü 日本", "dari": "2026-01-01", "x": "!$'()*,/:;?@~"},
        {"baru_sejak": "2026-11-01T08:00:00+07:00", "mendekati": "1", "status": ""},
    ]
    for script_root in ("", "/portal"):
        with app.test_request_context("/aduan", base_url=f"http://localhost{script_root}"):
            for query in queries:
                for endpoint in (
                    "complaints.complaint_list_page",
                    "complaints.complaint_list_export",
                ):
                    path = url_for(endpoint)
                    assert with_query(path, query) == url_for(endpoint, **query), query

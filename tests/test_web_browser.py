"""The portal in a real browser: headless Chromium driven by Selenium, at 1280 and 390 px.

Skipped when chromium-driver is missing (CI installs it: ``.ci/run``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("selenium")

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from lapor_sync.app import pull_account, push_outbox
from lapor_sync.store import users as users_mod
from lapor_sync.store.db import open_database
from tests.portal_browser import (
    browser,
    chromedriver,
    overflows,
    portal_server,
    sign_in,
    submit,
)
from tests.portal_support import PASSWORD, PortalStore, module_portal_store

pytestmark = pytest.mark.skipif(
    chromedriver() is None,
    reason="chromium-driver is not installed (apt-get install chromium-driver; CI: .ci/run)",
)
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStore]:
    with module_portal_store(tmp_path_factory, "portal-browser") as built:
        yield built


@pytest.fixture(scope="module")
def base(store: PortalStore) -> Iterator[str]:
    with portal_server(store.settings, store.now) as url:
        yield url


def text(driver: Any) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


@pytest.mark.parametrize("width", WIDTHS)
def test_liaison_opens_a_late_complaint_posts_a_follow_up_and_sees_it_sent(
    width: int, store: PortalStore, base: str
) -> None:
    ref = store.open_ref if width == 1280 else store.anon_ref
    with browser(width) as driver:
        sign_in(driver, base, "penghubung.dinkes", PASSWORD)
        assert "Yang perlu ditangani hari ini" in text(driver)
        assert "terlambat" in text(driver)
        assert not overflows(driver)
        # The work list names the late Call Center complaint; open it from there.
        submit(driver, driver.find_element(By.LINK_TEXT, ref))
        assert driver.current_url.endswith(f"/aduan/{ref}")
        assert "terlambat" in text(driver) and not overflows(driver)
        body = driver.find_element(By.ID, "content")
        body.send_keys("Petugas sudah datang ke lokasi.\nObat dikirim besok.")
        submit(driver, driver.find_element(By.XPATH, "//button[text()='Kirim tindak lanjut']"))
        page = text(driver)
        assert "Tindak lanjut dicatat" in page
        assert "Petugas sudah datang ke lokasi." in page
        rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#outbox ~ div tbody tr")]
        assert any("tindak lanjut" in r and "menunggu dikirim" in r for r in rows), rows
        if width == 1280:  # the first run: nothing of this complaint was pushed yet
            assert "belum ada (belum tercatat di SP4N-LAPOR!)" in page
        app = store.app()
        try:
            push_outbox(app)  # the complaint goes; its follow-up waits for the disposition
            for cid in store.world.find_by_tag(ref):
                if store.world.complaint(cid).disposition_id is None:
                    store.world.verify(cid)
            pull_account(app, "pemprov-lampung")  # sees it dispositioned to DINKES
            push_outbox(app)
        finally:
            app.close()
        driver.refresh()
        link = driver.find_element(By.CSS_SELECTOR, "dl.facts a[href*='lapor.go.id']")
        assert link.text.strip() and link.get_attribute("href").endswith(link.text.strip())
        rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#outbox ~ div tbody tr")]
        assert rows and all("terkirim" in r for r in rows), rows


@pytest.mark.parametrize("width", WIDTHS)
def test_operator_records_a_complaint_after_one_mistake_and_it_reaches_the_sandbox_once(
    width: int, store: PortalStore, base: str
) -> None:
    title = f"Lampu jalan padam di Jl. Teuku Umar ({width})"
    with browser(width) as driver:
        sign_in(driver, base, "operator", PASSWORD)
        submit(driver, driver.find_element(By.LINK_TEXT, "Pengaduan baru"))
        Select(driver.find_element(By.NAME, "channel")).select_by_value("whatsapp")
        driver.find_element(By.NAME, "reporter_name").send_keys("Andi Saputra")
        driver.find_element(By.NAME, "phone").send_keys(f"0821-5550-{width:04d}")
        driver.find_element(By.NAME, "email").send_keys("andi@@contoh")  # the mistake
        driver.find_element(By.NAME, "title").send_keys(title)
        driver.find_element(By.NAME, "content").send_keys("Sudah tiga malam gelap.\nRawan.")
        Select(driver.find_element(By.NAME, "opd")).select_by_value("BMBK")
        # The SP4N-LAPOR! create fields come filled with [local.create]'s defaults.
        assert driver.find_element(By.NAME, "classification").get_attribute("value") == "1"
        assert driver.find_element(By.NAME, "location").get_attribute("value") == "18"
        location = driver.find_element(By.NAME, "location")
        location.clear()
        location.send_keys("1871")  # a per-complaint location id
        submit(driver, driver.find_element(By.XPATH, "//button[text()='Catat pengaduan']"))
        error = driver.find_element(By.ID, "email-error")
        assert "Bukan alamat email yang valid" in error.text
        # The error sits inside the e-mail field's own block, and nothing typed is lost.
        block = error.find_element(By.XPATH, "..")
        assert block.find_element(By.NAME, "email").get_attribute("value") == "andi@@contoh"
        assert driver.find_element(By.NAME, "title").get_attribute("value") == title
        assert driver.find_element(By.NAME, "content").get_attribute("value") == (
            "Sudah tiga malam gelap.\nRawan."
        )
        assert (
            Select(driver.find_element(By.NAME, "opd")).first_selected_option.get_attribute("value")
            == "BMBK"
        )
        assert driver.find_element(By.NAME, "location").get_attribute("value") == "1871"
        assert not overflows(driver)
        email = driver.find_element(By.NAME, "email")
        email.clear()
        email.send_keys("andi@contoh.id")
        submit(driver, driver.find_element(By.XPATH, "//button[text()='Catat pengaduan']"))
        assert "Pengaduan LPG-" in text(driver)
        ref = driver.current_url.rsplit("/", 1)[1]
        assert "menunggu dikirim" in text(driver)
    app = store.app()
    try:
        push_outbox(app)
        push_outbox(app)  # a second push sends nothing twice
    finally:
        app.close()
    assert len(store.world.find_by_tag(ref)) == 1
    sent = store.world.complaint(store.world.find_by_tag(ref)[0])
    assert (sent.classification_id, sent.location_id) == (1, 1871)


def test_admin_resolves_a_conflict_and_the_decision_is_in_the_log(
    store: PortalStore, base: str
) -> None:
    with browser(1280) as driver:
        sign_in(driver, base, "admin", PASSWORD)
        submit(driver, driver.find_element(By.LINK_TEXT, "Konflik"))
        card = driver.find_element(By.CSS_SELECTOR, "ul.cards li.card")
        assert "Di SP4N-LAPOR!" in card.text and "Di data lokal" in card.text
        assert "Selesai" in card.text and "Sedang diproses" in card.text
        card.find_element(By.CSS_SELECTOR, "input[value=lapor]").click()
        card.find_element(By.NAME, "note").send_keys("SP4N-LAPOR! sudah menutup laporan.")
        submit(driver, card.find_element(By.XPATH, ".//button[text()='Simpan keputusan']"))
        assert "diselesaikan" in text(driver)
        submit(driver, driver.find_element(By.LINK_TEXT, "Log"))
        assert "ikut SP4N-LAPOR!" in text(driver) or "Konflik diselesaikan" in text(driver)
    db = open_database(store.settings.store.path)
    try:
        row = db.execute(
            "SELECT resolution, note FROM conflicts WHERE id = ?", [store.conflict_id]
        ).fetchone()
        events = db.execute("SELECT count(*) FROM events WHERE kind = 'resolved'").fetchone()[0]
    finally:
        db.close()
    assert row == ("lapor", "admin: SP4N-LAPOR! sudah menutup laporan.") and events >= 1


@pytest.mark.parametrize("width", WIDTHS)
def test_liaison_asking_for_another_opds_complaint_gets_not_found(
    width: int, store: PortalStore, base: str
) -> None:
    with browser(width) as driver:
        sign_in(driver, base, "penghubung.dinkes", PASSWORD)
        for url in (
            f"/aduan/{store.disdik_ref}",
            f"/aduan/{store.disdik_ref}/ekspor.csv",
            "/laporan/opd-DISDIK.html?opd=DISDIK",
        ):
            driver.get(base + url)
            assert driver.title.startswith("Tidak ditemukan"), url
            assert store.disdik_ref not in driver.page_source.replace(url, "")


@pytest.mark.parametrize("width", WIDTHS)
def test_viewer_sees_no_reporter_data_anywhere(width: int, store: PortalStore, base: str) -> None:
    with browser(width) as driver:
        sign_in(driver, base, "pemantau", PASSWORD)
        urls = ["/", "/aduan", "/aduan?terlambat=1", "/laporan/", "/laporan/opd-DINKES.html",
                *(f"/aduan/{r}" for r in (store.open_ref, store.anon_ref, store.secret_ref,
                                          store.disdik_ref))]  # fmt: skip
        driver.get(base + "/aduan")
        cards = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "a.ref")]
        for url in urls + [c.replace(base, "") for c in cards[:10]]:
            driver.get(base + url)
            dom = driver.page_source
            leaked = sorted(p for p in store.personal if p in dom)
            assert leaked == [], (url, leaked)
            if width == 390 and not url.startswith("/laporan"):
                assert not overflows(driver), url


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_sends_a_dead_notification_again_from_the_outbox_page(
    width: int, store: PortalStore, base: str
) -> None:
    from lapor_sync.store import notify_outbox as box

    db = open_database(store.settings.store.path)
    try:
        message = box.NewNotification(
            f"browser-retry:{width}", "admin_alert", "email", "s", "t", "h", ("a@b.go.id",)
        )
        (row_id,) = box.enqueue(db, [message], store.now())
        box.claim(db, row_id, store.now())
        box.mark_final(db, row_id, store.now(), "dead", f"SMTP 550 ({width})")
    finally:
        db.close()
    with browser(width) as driver:
        sign_in(driver, base, "admin", PASSWORD)
        submit(driver, driver.find_element(By.LINK_TEXT, "Outbox"))
        row = driver.find_element(By.XPATH, f"//tr[td[text()='SMTP 550 ({width})']]")
        assert not overflows(driver)
        submit(driver, row.find_element(By.XPATH, ".//button[text()='Kirim ulang']"))
        assert f"Notifikasi {row_id} dijadwalkan untuk dikirim ulang." in text(driver)
        assert f"SMTP 550 ({width})" not in text(driver)  # pending now: off the list
    db = open_database(store.settings.store.path)
    try:
        found = box.get(db, row_id)
        assert found is not None and found.state == "pending"
    finally:
        db.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_one_time_password_leads_to_the_change_page_and_a_new_password_opens_the_portal(
    width: int, store: PortalStore, base: str
) -> None:
    name, new = f"sekali.pakai.{width}", f"sandi-baru-saya-{width}"
    db = open_database(store.settings.store.path)
    try:  # what `lapor-sync user add ... --one-time` leaves: must_change_password
        one_time = users_mod.one_time_password()
        users_mod.add_user(
            db, name, users_mod.Role.LIAISON, ("DINKES",), one_time, store.now(),
            must_change_password=True,
        )  # fmt: skip
    finally:
        db.close()
    with browser(width) as driver:
        sign_in(driver, base, name, one_time)
        assert driver.current_url == f"{base}/kata-sandi"
        assert "kata sandi sekali pakai dari admin" in text(driver)
        assert not overflows(driver)
        driver.get(f"{base}/aduan/{store.open_ref}")  # typed by hand: still the change page
        assert driver.current_url == f"{base}/kata-sandi"
        driver.find_element(By.NAME, "old").send_keys(one_time)
        driver.find_element(By.NAME, "new").send_keys(new)
        driver.find_element(By.NAME, "confirm").send_keys(new + "x")  # the mistake
        submit(driver, driver.find_element(By.XPATH, "//button[text()='Simpan kata sandi baru']"))
        error = driver.find_element(By.ID, "confirm-error")
        assert "Kedua isian kata sandi baru tidak sama" in error.text
        assert error.find_element(By.XPATH, "..").find_element(By.NAME, "confirm")
        assert not overflows(driver)
        driver.find_element(By.NAME, "old").send_keys(one_time)
        driver.find_element(By.NAME, "new").send_keys(new)
        driver.find_element(By.NAME, "confirm").send_keys(new)
        submit(driver, driver.find_element(By.XPATH, "//button[text()='Simpan kata sandi baru']"))
        assert driver.current_url == f"{base}/"
        assert "Kata sandi sudah diganti" in text(driver)
        assert "Yang perlu ditangani hari ini" in text(driver)
        # (The spent one-time password is refused: tests/test_web_password.py; a failed
        # login here would count against this address for the other browser tests.)
        sign_in(driver, base, name, new)
        submit(driver, driver.find_element(By.LINK_TEXT, "Pengaduan"))
        assert driver.current_url.startswith(f"{base}/aduan")

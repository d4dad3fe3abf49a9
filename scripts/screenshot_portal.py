"""Screenshots of the portal at 1280 px (desk) and 390 px (phone), for docs/portal.md.

    .venv/bin/python scripts/screenshot_portal.py [--out docs/img/portal]

Builds the store of the portal tests (a synced sandbox, Call Center complaints, one
account per role), serves the portal on a free loopback port, and saves with headless
Chromium (Selenium, Debian's chromium-driver):

    <out>/<page>-1280.png and <out>/<page>-390.png

for the liaison's home, the complaint list, a complaint, the intake form with an error,
the conflicts, the viewer's complaint page, and the change-password page an account on
a one-time password is held on (with a confirmation that does not match). Full-page
height, so nothing is cut off.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selenium.webdriver.common.by import By

from lapor_sync.store.db import open_database
from lapor_sync.store.users import Role, add_user
from tests.portal_browser import browser, portal_server, sign_in, submit
from tests.portal_support import PASSWORD, build_portal_store

WIDTHS = (1280, 390)


def shoot(driver: object, path: Path, width: int) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    driver.set_window_size(width, max(600, min(int(height) + 40, 6000)))  # type: ignore[attr-defined]
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    print(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img/portal"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    store = build_portal_store(Path(tempfile.mkdtemp(prefix="portal-shots-")))
    db = open_database(store.settings.store.path)
    for width in WIDTHS:  # what `user add --one-time` leaves: must change it first
        add_user(db, f"baru.{width}", Role.LIAISON, ("DINKES",), PASSWORD, store.now(),
                 must_change_password=True)  # fmt: skip
    db.close()
    try:
        with portal_server(store.settings, store.now) as base:
            for width in WIDTHS:
                with browser(width) as driver:
                    sign_in(driver, base, "penghubung.dinkes", PASSWORD)
                    shoot(driver, args.out / f"home-{width}.png", width)
                    driver.get(f"{base}/aduan")
                    shoot(driver, args.out / f"list-{width}.png", width)
                    driver.get(f"{base}/aduan/{store.open_ref}")
                    shoot(driver, args.out / f"complaint-{width}.png", width)
                    driver.get(f"{base}/konflik")
                    shoot(driver, args.out / f"conflicts-{width}.png", width)
                    sign_in(driver, base, "operator", PASSWORD)
                    driver.get(f"{base}/pengaduan-baru")
                    driver.find_element(By.NAME, "email").send_keys("andi@@contoh")
                    submit(
                        driver, driver.find_element(By.XPATH, "//button[text()='Catat pengaduan']")
                    )
                    shoot(driver, args.out / f"intake-error-{width}.png", width)
                    sign_in(driver, base, "pemantau", PASSWORD)
                    driver.get(f"{base}/aduan/{store.open_ref}")
                    shoot(driver, args.out / f"viewer-complaint-{width}.png", width)
                    sign_in(driver, base, f"baru.{width}", PASSWORD)
                    driver.find_element(By.NAME, "old").send_keys(PASSWORD)
                    driver.find_element(By.NAME, "new").send_keys("sandi-baru-saya-1")
                    driver.find_element(By.NAME, "confirm").send_keys("sandi-baru-saya-2")
                    save = "//button[text()='Simpan kata sandi baru']"
                    submit(driver, driver.find_element(By.XPATH, save))
                    shoot(driver, args.out / f"password-{width}.png", width)
    finally:
        store.server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

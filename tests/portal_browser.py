"""Headless Chromium driven by Selenium (Debian's chromium-driver) for the portal.

Shared by ``tests/test_web_browser.py`` and ``scripts/screenshot_portal.py``. No tests here.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from lapor_sync.config import Settings
from lapor_sync.timeutil import Clock
from lapor_sync.web.serve import make_server

CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
    "--disable-dev-shm-usage",
)  # fmt: skip


def chromedriver() -> str | None:
    found = shutil.which("chromedriver") or (CHROMEDRIVER if shutil.which(CHROMEDRIVER) else None)
    return found


@contextmanager
def browser(width: int = 1280, height: int = 900) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium (its own profile directory) at ``width`` x ``height``."""
    profile = tempfile.mkdtemp(prefix="portal-chromium-")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    for binary in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if shutil.which(binary):
            options.binary_location = binary
            break
    driver = webdriver.Chrome(service=Service(chromedriver() or CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def portal_server(settings: Settings, clock: Clock) -> Iterator[str]:
    """The portal on a free loopback port in a thread; yields its base URL."""
    server: Any = make_server(settings, clock=clock, port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


def sign_in(driver: webdriver.Chrome, base: str, name: str, password: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/masuk")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))


def submit(driver: webdriver.Chrome, button: WebElement) -> None:
    """Click ``button`` and wait until the next page has replaced this one."""
    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 30).until(lambda _driver: _is_gone(old))


def _is_gone(element: WebElement) -> bool:
    """True once ``element`` no longer belongs to the current document.

    Selenium's ``staleness_of`` expects StaleElementReferenceException, but chromedriver
    may answer a lookup that races the navigation with a plain WebDriverException ("Node
    with given id does not belong to the document"); both mean the page was replaced.
    """
    try:
        element.is_enabled()
    except (StaleElementReferenceException, WebDriverException):
        return True
    return False


def overflows(driver: webdriver.Chrome) -> bool:
    """True when the page is wider than the window (something runs off the screen)."""
    return bool(driver.execute_script(
        "return document.documentElement.scrollWidth > window.innerWidth + 1"
    ))  # fmt: skip

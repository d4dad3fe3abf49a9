"""Headless Chromium for looking at the report as a person would: DOM dumps, screenshots.

Used by the tests (the rendered page's text and structure) and by
``scripts/screenshot_report.py``. Chromium runs with a throw-away profile, no network
services of its own (sync, component updates, background networking), and a timeout; the
report needs nothing from the network, so nothing is fetched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ENV_CHROMIUM = "LAPOR_SYNC_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


class BrowserError(RuntimeError):
    """Chromium is missing, failed, or took too long."""


def find_chromium() -> str | None:
    """``$LAPOR_SYNC_CHROMIUM``, else the first Chromium or Chrome on ``PATH``."""
    configured = os.environ.get(ENV_CHROMIUM)
    if configured:
        return configured if Path(configured).exists() else shutil.which(configured)
    return next((found for name in NAMES if (found := shutil.which(name))), None)


def _run(arguments: list[str], timeout: float) -> str:
    binary = find_chromium()
    if binary is None:
        raise BrowserError("Chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="lapor-sync-chromium-") as profile:
        command = [binary, *FLAGS, f"--user-data-dir={profile}", *arguments]
        try:
            done = subprocess.run(  # noqa: S603 (a fixed binary and our own arguments)
                command,
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise BrowserError(f"Chromium took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise BrowserError(f"Chromium exited with {done.returncode}: {' | '.join(tail)}")
    return done.stdout.decode("utf-8", "replace")


def dump_dom(page: Path, *, width: int = 1280, timeout: float = 30.0) -> str:
    """The DOM of ``page`` after Chromium loaded and laid it out, as HTML text."""
    return _run([f"--window-size={width},1000", "--dump-dom", page.resolve().as_uri()], timeout)


def screenshot(
    page: Path, png: Path, *, width: int = 1280, height: int = 2000, timeout: float = 60.0
) -> Path:
    """A PNG of the top ``width`` × ``height`` pixels of ``page``."""
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [
            f"--window-size={width},{height}",
            # Paint every tile before the capture: without these a tall page can come out
            # with an unpainted grey block.
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=2000",
            f"--screenshot={png.resolve()}",
            page.resolve().as_uri(),
        ],
        timeout,
    )
    if not png.exists():
        raise BrowserError("Chromium wrote no screenshot")
    return png


def print_pdf(page: Path, pdf: Path, *, timeout: float = 60.0) -> Path:
    """``page`` printed to PDF (A4, the report's print styles, no browser header/footer)."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    _run(
        ["--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}", page.resolve().as_uri()],
        timeout,
    )
    if not pdf.exists():
        raise BrowserError("Chromium wrote no PDF")
    return pdf

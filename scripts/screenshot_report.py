"""Screenshots of the liaison report, for the README and docs/reports.md.

    .venv/bin/python scripts/screenshot_report.py [--out docs/img] [--keep DIR]

Runs the demo (``lapor_sync.demo.run_demo``: a seeded sandbox SP4N-LAPOR!, pull, Call
Center complaints pushed to it, then two and a half weeks of the sandbox's simulated
process with a sync and a deadline scan every day) with the sandbox's clock starting on
its fixed default date, so the pictures do not depend on today's date; writes it into a
temporary folder and takes PNG screenshots of ``index.html`` and one OPD page with
headless Chromium:

    docs/img/report-overview.png    docs/img/report-opd.png

``--keep DIR`` also copies the whole report to DIR, to open it in a browser.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lapor_sync.config import load_settings
from lapor_sync.demo import run_demo
from lapor_sync.logs import configure_logging
from lapor_sync.report.html import ReportResult
from lapor_sync.report.html.browser import dump_dom, screenshot
from lapor_sync.sandbox.world import DEFAULT_START

ROOT = Path(__file__).resolve().parent.parent
OPD_PAGE = "opd-BMBK.html"
WIDTH = 1280


def build_report(work: Path) -> ReportResult:
    """The demo, exactly as ``lapor-sync demo`` runs it, on the sandbox's fixed start date."""
    settings = load_settings(ROOT / "config.toml", env={})
    result = run_demo(
        settings,
        work / "demo.db",
        lambda _line: None,
        source_text=(ROOT / "config.toml").read_text(encoding="utf-8"),
        start=DEFAULT_START,
    )
    return result.report


# Measuring only: a copy of the page gets a script that writes where each panel ends into
# the DOM, so the screenshot can stop at a panel's edge. The report itself has no script.
_MEASURE = (
    "<script>document.body.setAttribute('data-bottoms', JSON.stringify("
    "Array.from(document.querySelectorAll('main > section')).map("
    "s => Math.ceil(s.getBoundingClientRect().bottom + window.scrollY))));</script>"
)


def panel_bottoms(page: Path, width: int) -> list[int]:
    probe = page.with_name(f"measure-{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>"))
    try:
        dom = dump_dom(probe, width=width)
    finally:
        probe.unlink()
    found = re.search(r'data-bottoms="([^"]*)"', dom)
    if not found:
        raise SystemExit("could not measure the page")
    return [int(v) for v in json.loads(html.unescape(found.group(1)))]


def shoot(page: Path, png: Path, panels: int, width: int = WIDTH) -> Path:
    """A screenshot of ``page`` down to the end of its first ``panels`` panels."""
    bottoms = panel_bottoms(page, width)
    height = bottoms[min(panels, len(bottoms)) - 1] + 20
    return screenshot(page, png, width=width, height=height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--keep", type=Path, help="also copy the report to this folder")
    args = parser.parse_args()
    configure_logging(fmt="console", level="warning", stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="lapor-sync-report-") as tmp:
        started = time.perf_counter()
        result = build_report(Path(tmp))
        print(
            f"Report for {result.figures.period.label}: {len(result.files)} files "
            f"in {result.duration_s:.2f} s (store built in {time.perf_counter() - started:.1f} s)"
        )
        # Overview: totals, the table and both charts. OPD page: figures, chart, the work
        # list and the conflicts (the reconciliation log below them is left out).
        overview = shoot(result.out_dir / "index.html", args.out / "report-overview.png", 4)
        opd = shoot(result.out_dir / OPD_PAGE, args.out / "report-opd.png", 4)
        print(f"Screenshots: {overview}, {opd}")
        if args.keep:
            shutil.rmtree(args.keep, ignore_errors=True)
            shutil.copytree(result.out_dir, args.keep)
            print(f"Report copied to {args.keep}")


if __name__ == "__main__":
    main()

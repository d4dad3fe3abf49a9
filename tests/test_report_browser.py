"""The report as a person sees it: pages opened in headless Chromium, their text and structure.

A sandbox store (pulled, reconciled, Call Center complaints — one rahasia, one with a
``<script>`` title — and a few simulated days) is rendered once; Chromium loads the pages
and the tests read the DOM it built. Skipped when Chromium is not installed (CI installs
it: ``.ci/run``).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lapor_sync.report.html.browser import dump_dom, find_chromium, print_pdf
from tests.test_report_support import (
    SANDBOX_SECRET_TITLE,
    SCRIPT_TITLE,
    Page,
    SandboxReport,
    rows_of,
    sandbox_report,
)

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="Chromium is not installed (apt-get install chromium; CI installs it in .ci/run)",
)

PAGES = ("index.html", "opd-DINKES.html")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> SandboxReport:
    return sandbox_report(tmp_path_factory.mktemp("browser-report"))


@pytest.fixture(scope="module")
def dom(report: SandboxReport) -> dict[str, Page]:
    """Both pages loaded by Chromium at once (two browsers, a few seconds in all)."""
    out = report.result.out_dir
    with ThreadPoolExecutor(max_workers=len(PAGES)) as pool:
        dumps = dict(zip(PAGES, pool.map(lambda name: dump_dom(out / name), PAGES), strict=True))
    return {name: Page(html) for name, html in dumps.items()}


def test_overview_reads_as_a_report(report: SandboxReport, dom: dict[str, Page]) -> None:
    page = dom["index.html"]
    figures = report.result.figures
    assert [Page.text_of(h) for h in page.find("h1")] == ["Laporan Pengaduan per OPD"]
    assert f"Periode: {figures.period.label}" in page.text
    for label in (
        "Kinerja per OPD",
        "Ditindaklanjuti ≤ 5 HK",
        "Masih terbuka",
        "Konflik menunggu",
        "Terlambat (semua periode)",
        "Terlambat (laporan periode ini)",
        "Pengaduan masuk per minggu",
        "Cara membaca angka",
        "tidak memuat data pribadi pelapor",
    ):
        assert label in page.text, label
    rows = list(rows_of(page, "figures"))
    assert [row[0] for row in rows] == [
        f"{f.name} {f.code}" if f.code else f.name for f in figures.opds
    ]
    for opd in report.settings.opd:
        assert page.find("a", href=f"opd-{opd.code}.html"), opd.code
    total = page.find("tr", **{"class": "total"})
    assert Page.text_of(total[0]).startswith(f"Provinsi (semua OPD) {figures.total.received} ")


def test_overview_has_a_drawn_chart_per_figure(dom: dict[str, Page]) -> None:
    page = dom["index.html"]
    charts = page.find("figure", **{"class": "chart"})
    svgs = page.find("svg")
    assert len(charts) == 2 and len(svgs) == 2
    assert all("figure" in svg["parents"] for svg in svgs)
    assert all(svg["attrs"].get("role") == "img" for svg in svgs)
    assert len(page.find("rect")) > 10  # bars were drawn
    titles = [Page.text_of(t) for t in page.find("title")]
    assert any(
        t.startswith("Diterima, ditindaklanjuti tepat waktu dan terlambat per OPD") for t in titles
    )
    assert any(t.startswith("Pengaduan masuk per minggu") for t in titles)


def test_opd_page_lists_late_complaints_without_secrets(
    report: SandboxReport, dom: dict[str, Page]
) -> None:
    page = dom["opd-DINKES.html"]
    assert Page.text_of(page.find("h1")[0]) == "Dinas Kesehatan (DINKES)"
    assert "Untuk: Penghubung Dinas Kesehatan" in page.text
    for heading in (
        "Terlambat dan mendekati batas waktu",
        "Konflik yang menunggu keputusan",
        "Log rekonsiliasi",
    ):
        assert heading in page.text
    work = list(rows_of(page, "worklist"))
    assert work and all(re.match(r"(terlambat|jatuh tempo)", row[0]) for row in work)
    secret_rows = [row for row in work if row[2] in report.secret_refs]
    assert secret_rows and all(row[3] == "(rahasia)" for row in secret_rows)
    assert SANDBOX_SECRET_TITLE not in page.text
    assert SCRIPT_TITLE in page.text  # shown as text ...
    assert not page.find("script")  # ... never run
    assert len(page.find("svg")) == 1


def test_no_reporter_data_on_screen(report: SandboxReport, dom: dict[str, Page]) -> None:
    for name, page in dom.items():
        leaked = [value for value in report.personal if value in page.text]
        assert not leaked, (name, leaked[:3])


def test_printing_puts_each_opd_on_its_own_page(report: SandboxReport, tmp_path: Path) -> None:
    pdf = print_pdf(report.result.out_dir / "index.html", tmp_path / "index.pdf")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert pages >= 1 + len(report.result.figures.opds)

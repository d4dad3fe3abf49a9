"""The liaison report as static files: HTML pages in Bahasa Indonesia, CSV and JSON.

Use::

    from lapor_sync.report.html import generate_report

    result = generate_report(app, "var/report", period="2026-11")
    result.files        # index.html, opd-<code>.html per OPD, laporan.csv, laporan.json
    result.figures      # the numbers (lapor_sync.report.figures.ReportFigures)

Modules: ``pages`` (work list, conflicts, events per OPD), ``charts`` (inline SVG),
``exports`` (CSV and JSON), ``render`` (Jinja2 pages), ``generate`` (the whole run and the
atomic swap into ``out_dir``). The figures themselves are in ``report.figures``.
"""

from lapor_sync.report.html.generate import ReportError, ReportResult, generate_report

__all__ = ["ReportError", "ReportResult", "generate_report"]

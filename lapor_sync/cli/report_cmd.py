"""``report``: the liaisons' HTML report (Bahasa Indonesia) with its CSV and JSON."""

from __future__ import annotations

from pathlib import Path

import click

from lapor_sync.cli.common import CliState, checked_opd, handle_errors, pass_state
from lapor_sync.report.html import generate_report
from lapor_sync.report.period import parse_period
from lapor_sync.sla.deadlines import NO_OPD, recompute_deadlines


@click.command("report")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write the report into (default: [report] out_dir). Replaced as a whole.",
)
@click.option(
    "--opd",
    "opd_code",
    metavar="CODE",
    help=f"Only this OPD: its [[opd]] code, e.g. DINKES ({NO_OPD} = not yet dispositioned).",
)
@click.option(
    "--period",
    metavar="YYYY-MM|all",
    help="The month to report on, e.g. 2026-11, or 'all' (default: this month, WIB).",
)
@pass_state
@handle_errors
def report_command(
    state: CliState, out_dir: Path | None, opd_code: str | None, period: str | None
) -> None:
    """Write the HTML report for OPD liaisons and the province's monitoring.

    index.html (every OPD, charts, province totals), opd-<CODE>.html per OPD (late and
    near-due complaints, conflicts, the reconciliation log), laporan.csv (for Excel with
    Indonesian settings) and laporan.json. Due dates are recomputed first. The report
    holds no personal data and no complaint text; rahasia complaints show no title.
    """
    settings = state.settings()
    opd_code = checked_opd(settings, opd_code)
    with state.app(existing=True) as app:
        now = app.clock()
        try:
            chosen = parse_period(period, now)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--period") from None
        recompute_deadlines(app.db, settings, settings.calendar(), now)
        result = generate_report(
            app, out_dir or settings.report.out_dir, period=chosen, opd=opd_code, now=now
        )
    pages = sum(1 for f in result.files if f.name.startswith("opd-"))
    click.echo(
        f"Report for {chosen.label} written to {result.out_dir}: index.html, "
        f"{pages} OPD page(s), laporan.csv, laporan.json ({result.duration_s:.1f} s)."
    )

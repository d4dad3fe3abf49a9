"""``overdue``: the late and near-due list for OPD liaisons (output in Bahasa Indonesia)."""

from __future__ import annotations

import click

from lapor_sync.cli.common import CliState, checked_opd, handle_errors, pass_state
from lapor_sync.report.overdue import FORMATS, late_complaints, overdue_rows, render
from lapor_sync.sla.deadlines import NO_OPD, STAGES, recompute_deadlines


@click.command("overdue")
@click.option(
    "--opd",
    "opd_code",
    metavar="CODE",
    help=f"Only this OPD: its [[opd]] code, e.g. DINKES ({NO_OPD} = not yet dispositioned).",
)
@click.option("--stage", type=click.Choice(STAGES), help="Only this stage.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for reading, csv for Excel (UTF-8 with BOM, ';'), json for programs.",
)
@click.option(
    "--near-due/--no-near-due",
    default=True,
    show_default=True,
    help="Also list deadlines due within [deadlines] near_due_days working days.",
)
@pass_state
@handle_errors
def overdue_command(
    state: CliState, opd_code: str | None, stage: str | None, fmt: str, near_due: bool
) -> None:
    """List late and near-due complaints per OPD, most late first, one line per complaint.

    A complaint is late (terlambat) when at least one of its stages is past its deadline;
    its late and near-due stages are listed in it. Titles are shown as the reports show
    them: "(rahasia)" for rahasia complaints, NIK, phone numbers and e-mail masked.

    Due dates are recomputed first, so a change to [deadlines] or [calendar] in the
    configuration shows at once. The list holds no reporter data and no complaint text.
    """
    settings = state.settings()
    opd_code = checked_opd(settings, opd_code)
    with state.app(existing=True) as app:
        now = app.clock()
        calendar = settings.calendar()
        recompute_deadlines(app.db, settings, calendar, now)
        rows = overdue_rows(
            app.db,
            settings,
            now,
            opd=opd_code,
            stage=stage,
            near_due=near_due,
            calendar=calendar,
        )
        complaints = late_complaints(app.db, rows)
    text = render(complaints, fmt, now)
    if fmt == "csv":
        # Bytes, so the BOM and Indonesian text survive whatever the terminal's encoding.
        click.echo(text.encode("utf-8"), nl=False)
    else:
        click.echo(text, nl=False)

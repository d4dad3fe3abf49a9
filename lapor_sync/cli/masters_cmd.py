"""``lapor-sync masters``: sync SP4N-LAPOR!'s institutions and reply templates now (the
daemon does it daily at ``schedule.masters_at``) and show what the config should check."""

from __future__ import annotations

import click

from lapor_sync.cli.common import CliState, echo_figures, handle_errors, pass_state
from lapor_sync.daemon.lock import database_lock
from lapor_sync.sync.masters import masters_warnings, sync_masters


@click.command("masters")
@pass_state
@handle_errors
def masters_command(state: CliState) -> None:
    """Sync institutions and reply templates from SP4N-LAPOR!; warn about stale OPD ids."""
    with database_lock(state.settings().store.path), state.app() as app:
        summary = sync_masters(app)
        warnings = masters_warnings(app.db.conn, app.settings)
    echo_figures("masters", summary.figures())
    for problem in summary.problems:
        click.echo(f"  problem: {problem}", err=True)
    for warning in warnings:
        click.echo(f"WARNING: {warning}")

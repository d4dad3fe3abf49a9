"""``pull`` and ``push``: one pass of each, with a summary an admin can read."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from lapor_sync.app import pull_account, push_outbox
from lapor_sync.cli.common import CliState, echo_figures, handle_errors, pass_state
from lapor_sync.daemon.lock import database_lock
from lapor_sync.daemon.recovery import recover
from lapor_sync.errors import LaporSyncError, describe
from lapor_sync.local.values import parse_date
from lapor_sync.logs import partial_line
from lapor_sync.timeutil import WIB


class _Progress:
    """A progress bar on a terminal; silence elsewhere (logs carry the summary)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: object | None = None
        self._shown = 0

    def __call__(self, done: int, total: int | None) -> None:
        if not sys.stderr.isatty():
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total or 0, label=self._label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)  # type: ignore[attr-defined]
        self._shown = done
        partial_line(True)  # a log line now would be glued to the bar: logs end it first

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)  # type: ignore[attr-defined]
            partial_line(False)


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """The one date grammar of flags and files (local.values): dd/mm/yyyy or ISO."""
    if value is None:
        return None
    try:
        day = parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return datetime(day.year, day.month, day.day)


@click.command("pull")
@click.option("--account", "accounts", multiple=True, help="Only this account (repeatable).")
@click.option(
    "--since",
    callback=_date_option,
    help="Start the first pull (backfill) at this date (01/11/2026 or 2026-11-01).",
)
@pass_state
@handle_errors
def pull_command(state: CliState, accounts: tuple[str, ...], since: datetime | None) -> None:
    """Pull changed complaints, status history and follow-ups from SP4N-LAPOR!."""
    settings = state.settings()
    names = list(accounts) or [a.name for a in settings.enabled_accounts]
    unknown = [n for n in names if n not in {a.name for a in settings.enabled_accounts}]
    if unknown:
        raise click.BadParameter(f"unknown or disabled account(s): {', '.join(unknown)}")
    start = since.replace(tzinfo=WIB) if since else None
    failed = False
    with database_lock(settings.store.path), state.app() as app:
        recover(app)  # a killed earlier run is closed and leaves its trace, as under run
        for name in names:
            progress = _Progress(f"pull {name}")
            try:
                summary = pull_account(app, name, since=start, progress=progress)
            except LaporSyncError as exc:
                click.echo(f"pull {name}: FAILED: {describe(exc)}", err=True)
                failed = True
                continue
            finally:
                progress.close()
            echo_figures(f"pull {name}", summary.figures())
    if failed:
        sys.exit(1)


@click.command("push")
@pass_state
@handle_errors
def push_command(state: CliState) -> None:
    """Send pending local tickets, follow-ups and forwards to SP4N-LAPOR! (one pass)."""
    with database_lock(state.settings().store.path), state.app() as app:
        recover(app)
        summary = push_outbox(app)
    echo_figures("push", summary.figures())
    if summary.dead:
        click.echo(
            f"push: {summary.dead} row(s) went dead in this pass and will not be sent without "
            "a person: lapor-sync outbox --state dead",
            err=True,
        )
        sys.exit(1)

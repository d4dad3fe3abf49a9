"""``run``, ``sync --once``, ``status`` and ``backup``: running lapor-sync as a service.

``run`` and ``sync --once`` hold the database lock: a second one exits with code 3 and
names the PID of the holder. ``status`` and ``backup`` only read and take no lock.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lapor_sync.cli.common import CliState, echo_figures, fail, handle_errors, pass_state
from lapor_sync.daemon.backup import backup_database
from lapor_sync.daemon.service import Daemon, sync_once
from lapor_sync.daemon.status import status_lines
from lapor_sync.timeutil import now_wib

__all__ = [
    "backup_command",
    "register_daemon_commands",
    "run_command",
    "status_command",
    "sync_command",
]


@click.command("run")
@pass_state
@handle_errors
def run_command(state: CliState) -> None:
    """Run as a service: pull, reconcile, push and scan deadlines on the schedule.

    Serves /healthz and /metrics on daemon.health_host:health_port. Stops cleanly on
    SIGTERM or Ctrl-C (exit 0). Only one lapor-sync may run per database (exit 3).
    """
    sys.exit(Daemon(state.settings()).run())


@click.command("sync")
@click.option("--once", is_flag=True, help="One pass: pull, reconcile, push, deadlines.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Say what one pass would pull, push, reconcile and flag; write and send nothing.",
)
@click.option(
    "--account", "accounts", multiple=True, help="With --dry-run: only this account (repeatable)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="With --dry-run: output format.",
)
@pass_state
@handle_errors
def sync_command(
    state: CliState, once: bool, dry_run: bool, accounts: tuple[str, ...], fmt: str
) -> None:
    """One pass of every job, in order, with a summary per step (exit 1 if one failed).

    With --dry-run: what that pass would do, found by rehearsing it on an in-memory copy
    of the store with GET requests only; nothing is written and nothing is sent.
    """
    if dry_run:
        if once:
            fail("sync: choose --once (do a pass) or --dry-run (say what it would do).", 2)
        from lapor_sync.cli.sync_cmds import dry_run as rehearse_pass

        rehearse_pass(state, accounts, fmt)
        return
    if accounts or fmt != "table":
        fail("sync: --account and --format go with --dry-run.", 2)
    if not once:
        fail("sync needs --once (one pass); to run on a schedule use `lapor-sync run`.", 2)
    failed = False
    for result in sync_once(state.settings()):
        if result.outcome == "failed":
            failed = True
            click.echo(f"{result.job}: FAILED: {result.reason}", err=True)
        elif result.outcome == "skipped":
            click.echo(f"{result.job}: skipped ({result.reason})")
        else:
            echo_figures(result.job, {**result.figures, "duration_s": result.duration_s})
    if failed:
        sys.exit(1)


@click.command("status")
@pass_state
@handle_errors
def status_command(state: CliState) -> None:
    """Last runs, cursors, outbox backlog, conflicts, overdue; whether a daemon runs."""
    state.require_store()
    for line in status_lines(state.settings(), now_wib()):
        click.echo(line)


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace DEST if it exists.")
@pass_state
@handle_errors
def backup_command(state: CliState, dest: Path, force: bool) -> None:
    """Copy the database to DEST while lapor-sync runs, and check the copy.

    Uses SQLite's online backup (a consistent snapshot), then PRAGMA integrity_check on
    the copy. The copy is readable by its owner only: it holds personal data. The
    attachment files the copy names go to attachments/ beside DEST (only new ones).
    """
    settings = state.settings()
    state.require_store()
    if dest.exists() and not force:
        fail(f"{dest} already exists; use --force to replace it.", 2)
    result = backup_database(settings.store.path, dest, force=force)
    click.echo(f"backup written to {result.path} ({result.size} bytes); integrity check: ok")
    files = result.attachments
    if files.copied or files.already_there or files.lost:
        click.echo(
            f"attachment files in {dest.parent / 'attachments'}: {files.copied} copied, "
            f"{files.already_there} already there"
        )
    if files.lost:
        click.echo(
            f"warning: {files.missing} attachment file(s) the store names are missing and "
            f"{files.damaged} no longer match their hash; they are not in the backup "
            "(lapor-sync local show lists each ticket's files)",
            err=True,
        )


def register_daemon_commands(group: click.Group) -> None:
    """Add this module's commands to the ``lapor-sync`` group (idempotent)."""
    for command in (run_command, sync_command, status_command, backup_command):
        group.add_command(command)

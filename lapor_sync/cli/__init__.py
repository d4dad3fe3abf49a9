"""The ``lapor-sync`` command line: admin commands in English, liaison views in Indonesian."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from lapor_sync import __version__
from lapor_sync.cli.common import (
    NETWORK_COMMANDS,
    SUMMARY_COMMANDS,
    WEB_SECRET_COMMANDS,
    CliState,
)
from lapor_sync.errors import describe


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="LAPOR_SYNC_CONFIG",
    help="Configuration file (default: $LAPOR_SYNC_CONFIG or ./config.toml).",
)
@click.option(
    "--log-format", type=click.Choice(["auto", "json", "console"]), help="Override the log format."
)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]))
@click.version_option(__version__, prog_name="lapor-sync")
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path | None, log_format: str | None, log_level: str | None
) -> None:
    """Keep the province's complaint records and SP4N-LAPOR! in step."""
    ctx.obj = CliState(
        config_path,
        log_format,
        log_level,
        needs_secrets=ctx.invoked_subcommand in NETWORK_COMMANDS,
        needs_web_secret=ctx.invoked_subcommand in WEB_SECRET_COMMANDS,
        prints_summaries=ctx.invoked_subcommand in SUMMARY_COMMANDS,
    )


def _register() -> None:
    from lapor_sync.cli.config_cmd import check_config_command
    from lapor_sync.cli.daemon_cmds import register_daemon_commands
    from lapor_sync.cli.demo_cmd import demo_command
    from lapor_sync.cli.init_cmd import init_command
    from lapor_sync.cli.local_cmds import local_group
    from lapor_sync.cli.outbox_cmds import outbox_group
    from lapor_sync.cli.overdue_cmd import overdue_command
    from lapor_sync.cli.report_cmd import report_command
    from lapor_sync.cli.review_cmds import conflicts_group, log_command
    from lapor_sync.cli.sync_cmds import pull_command, push_command

    cli.add_command(check_config_command)
    cli.add_command(pull_command)
    cli.add_command(push_command)
    cli.add_command(local_group)
    cli.add_command(demo_command)
    cli.add_command(init_command)
    cli.add_command(log_command)
    cli.add_command(conflicts_group)
    cli.add_command(overdue_command)
    cli.add_command(report_command)
    register_daemon_commands(cli)
    cli.add_command(outbox_group)
    from lapor_sync.cli.sandbox_cmd import sandbox_command

    cli.add_command(sandbox_command)
    from lapor_sync.cli.user_cmds import audit_command, user_group

    cli.add_command(user_group)
    cli.add_command(audit_command)
    from lapor_sync.cli.masters_cmd import masters_command
    from lapor_sync.cli.probe_cmd import probe_command

    cli.add_command(masters_command)

    cli.add_command(probe_command)
    from lapor_sync.cli.web_cmd import web_command

    cli.add_command(web_command)
    from lapor_sync.cli.notify_cmd import notify_group

    cli.add_command(notify_group)


_register()


def main() -> None:
    """The ``lapor-sync`` program: the CLI, plus output that cannot be written.

    Output to a full disk, ``/dev/full`` or a closed pipe ends in one sentence on stderr
    and exit status 1, never a traceback (nor Python's "Exception ignored" at exit).
    """
    code: int | str | None = 0
    try:
        cli(prog_name="lapor-sync")
    except SystemExit as exc:
        code = exc.code
    except OSError as exc:
        code = _output_failed(exc)
    try:
        sys.stdout.flush()
    except OSError as exc:
        code = _output_failed(exc)
    sys.exit(code)


def _output_failed(error: OSError) -> int:
    with contextlib.suppress(OSError, ValueError):
        # Python flushes stdout once more at exit; let that flush go nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    with contextlib.suppress(OSError):
        sys.stderr.write(f"error: cannot write the output: {describe(error)}\n")
        sys.stderr.flush()
    return 1

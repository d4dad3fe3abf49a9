"""``demo``: the whole job on the built-in sandbox, in one command."""

from __future__ import annotations

from pathlib import Path

import click

from lapor_sync.cli.common import CliState, command_name, handle_errors, pass_state
from lapor_sync.config.example import example_path
from lapor_sync.demo import run_demo
from lapor_sync.fsmodes import make_private_dirs


@click.command("demo")
@click.option(
    "--store",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("var/demo.db"),
    show_default=True,
    help="Demo database (recreated each run; the configured store is never touched).",
)
@click.option(
    "--complaints",
    default=300,
    show_default=True,
    type=click.IntRange(1, 20_000),
    help="Complaints to seed.",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Keep the sandbox, the daemon and the portal running, with one account per role.",
)
@click.option("--port", type=click.IntRange(1, 65535), help="Portal port with --serve.")
@pass_state
@handle_errors
def demo_command(
    state: CliState, store: Path, complaints: int, serve: bool, port: int | None
) -> None:
    """Start a sandbox SP4N-LAPOR!, pull from it, push Call Center tickets, show the result.

    With --serve: keep a sandbox, the daemon and the portal running on loopback (its own
    store, default var/demo-portal.db) and print one account per role with its password.
    """
    if state.log_level is None:
        state.log_level = "warning"  # the narration is the output; --log-level info adds logs
    if not state.config_source().exists() and state.config_path is None:
        # An install without the repository (pipx): run on the example shipped inside.
        click.echo(
            f"No {state.config_source().name} here: the demo uses the example configuration "
            f"shipped with lapor-sync (`{command_name()} init` writes a copy to edit)."
        )
        state.config_path = example_path()
    make_private_dirs(store.parent)
    if serve:
        from lapor_sync.web.demo_serve import serve_demo

        target = store if store != Path("var/demo.db") else store.with_name("demo-portal.db")
        serve_demo(state.settings(), target.resolve(), click.echo, complaints=complaints, port=port)
        return
    settings = state.settings()
    run_demo(
        settings,
        store.resolve(),
        click.echo,
        complaints=complaints,
        source_text=state.config_source().read_text(encoding="utf-8"),
        prog=command_name(),
    )

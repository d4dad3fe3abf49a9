"""``init [DIR]``: write the commented example configuration, for an install without the repo."""

from __future__ import annotations

import os
from pathlib import Path

import click

from lapor_sync.cli.common import command_name, fail, shown_path
from lapor_sync.config.example import example_text


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--force", is_flag=True, help="Replace an existing config.toml.")
def init_command(directory: Path, force: bool) -> None:
    """Write DIR/config.toml (default: here): the commented example, working on the sandbox.

    The file is the one the repository ships; it runs as-is against `lapor-sync sandbox`.
    An existing config.toml is never replaced without --force.
    """
    target = directory / "config.toml"
    if target.exists() and not force:
        fail(f"{shown_path(target)} already exists; use --force to replace it.", 2)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(".config.toml.tmp")
        # Owner-only: the file will hold account settings (and may hold plain keys).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(example_text())
        os.replace(tmp, target)
    except OSError as exc:
        fail(f"error: cannot write {shown_path(target)}: {exc.strerror}", 1)
    prog = command_name()
    config = shown_path(target)
    click.echo(f"Wrote {config}: the commented example configuration.")
    click.echo(f"  Check it:            {prog} check-config {config}")
    click.echo(f"  Try it on a sandbox: {prog} sandbox   (in another terminal: "
               f"{prog} --config {config} pull)")
    click.echo(f"  The whole job once:  {prog} --config {config} demo")

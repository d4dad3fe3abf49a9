"""``lapor-sync check-config [FILE]``: validate a configuration without starting anything.

Exit status 0 and one summary line when the file is valid; otherwise every problem on
stderr (one per line, as ``errors.describe`` words them) and exit status 2. Never prints a
secret or a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from lapor_sync.config import load_settings
from lapor_sync.errors import ConfigError, describe

EXIT_CONFIG_ERROR = 2


@click.command("check-config")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def check_config_command(file: Path | None) -> None:
    """Check a configuration file (default: $LAPOR_SYNC_CONFIG, else ./config.toml)."""
    try:
        settings = load_settings(file)
    except ConfigError as exc:
        click.echo(describe(exc), err=True)
        raise click.exceptions.Exit(EXIT_CONFIG_ERROR) from None
    click.echo(
        f"OK: {len(settings.accounts)} accounts, {len(settings.opd)} OPDs, "
        f"store at {settings.store.path}"
    )

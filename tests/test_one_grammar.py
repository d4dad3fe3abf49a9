"""Inputs that agree (#11.17): one date grammar for flags and files; an empty store path."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from lapor_sync.cli.sync_cmds import _date_option
from lapor_sync.config import load_settings
from lapor_sync.errors import ConfigError
from lapor_sync.local.csv_fields import parse_date
from lapor_sync.report.log_view import parse_since
from lapor_sync.timeutil import WIB

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=WIB)
REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text", ["01/11/2026", "1/11/2026", "01-11-2026", "2026-11-01"])
def test_the_same_date_in_flags_and_files(text: str) -> None:
    midnight = datetime(2026, 11, 1, tzinfo=WIB)
    assert parse_since(text, NOW) == midnight  # log --since
    assert parse_date(text) == midnight.date()  # CSV cells, local add --incident-date
    assert _date_option(None, None, text) == midnight.replace(tzinfo=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["31/02/2026", "2026/11/01", "kemarin"])
def test_a_wrong_date_is_refused_with_the_spellings_to_use(text: str) -> None:
    with pytest.raises(ValueError, match="01/11/2026 or 2026-11-01"):
        parse_since(text, NOW)


def test_log_since_accepts_day_first_through_the_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lapor_sync.cli.common import CliState
    from lapor_sync.cli.review_cmds import log_command
    from lapor_sync.store.db import open_database

    text = (REPO / "config.toml").read_text(encoding="utf-8")
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{tmp_path / "s.db"}"')
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    open_database(tmp_path / "s.db").close()
    state = CliState(config, "console", "warning")
    result = CliRunner().invoke(log_command, ["--since", "01/11/2026"], obj=state)
    assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(log_command, ["--since", "31/02/2026"], obj=state)
    assert bad.exit_code == 2 and "--since" in bad.output and "Traceback" not in bad.output


@pytest.mark.parametrize("path", ['""', '"   "'])
def test_an_empty_store_path_is_refused_by_check_config(tmp_path: Path, path: str) -> None:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(text.replace('path = "var/lapor-sync.db"', f"path = {path}"), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config, env={})
    assert any("store.path: must name the database file" in p for p in info.value.problems)

"""Bad input and missing things at the command line: a clear sentence, an exit code, nothing made.

Each case is (arguments -> expected message, exit code), run against the shipped
configuration moved into a temporary folder; afterwards nothing may have been created
(no store, no report folder) unless the case says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lapor_sync.cli import cli
from lapor_sync.store.db import open_database

REPO = Path(__file__).resolve().parent.parent
KNOWN = "DISDIK, DINKES, BMBK, DISKOMINFOTIK, DISHUB, DINSOS, BPBD, DLH, unassigned"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    text = text.replace('path = "var/lapor-sync.db"', 'path = "store/lapor-sync.db"')
    text = text.replace('out_dir = "var/report"', 'out_dir = "out/report"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "--log-level", "error", *args])


def created(config: Path) -> list[str]:
    """Everything in the test folder besides the configuration."""
    return sorted(
        str(p.relative_to(config.parent)) for p in config.parent.rglob("*") if p != config
    )


READ_COMMANDS = [
    ["log"],
    ["log", "--opd", "BMBK"],
    ["overdue"],
    ["overdue", "--opd", "BMBK"],
    ["conflicts"],
    ["status"],
    ["report"],
    ["local", "show", "LPG-2026-000001"],
    ["outbox"],
    ["outbox", "retry", "--all-dead"],
    ["conflicts", "resolve", "1", "--take", "lapor"],
    ["local", "status", "LPG-2026-000001", "--to", "closed"],
    ["local", "follow-up", "LPG-2026-000001", "--opd", "BMBK", "--text", "x"],
    ["local", "forward", "LPG-2026-000001", "--to", "1871"],
    ["backup", "copy.db"],
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a))
def test_a_read_command_on_a_missing_store_creates_nothing_and_says_how_to_get_one(
    config: Path, args: list[str]
) -> None:
    result = invoke(config, *args)
    assert result.exit_code == 2, result.output
    assert "no lapor-sync store at store/lapor-sync.db" in result.output or (
        f"no lapor-sync store at {config.parent / 'store' / 'lapor-sync.db'}" in result.output
    )
    assert "nothing was created" in result.output
    assert "pull" in result.output and "--config" in result.output
    assert "Traceback" not in result.output
    assert created(config) == []


OPD_FILTERS = [
    ["log", "--opd", "XYZ"],
    ["conflicts", "--opd", "XYZ"],
    ["overdue", "--opd", "XYZ"],
    ["report", "--opd", "XYZ"],
]


@pytest.mark.parametrize("args", OPD_FILTERS, ids=lambda a: " ".join(a))
@pytest.mark.parametrize("store", [False, True], ids=["no-store", "store"])
def test_every_liaison_command_refuses_an_unknown_opd_the_same_way(
    config: Path, args: list[str], store: bool
) -> None:
    if store:
        open_database(config.parent / "store" / "lapor-sync.db").close()
    before = created(config)
    result = invoke(config, *args)
    assert result.exit_code == 2, result.output
    assert result.output == f"--opd: OPD 'XYZ' tidak dikenal. OPD yang dikenal: {KNOWN}.\n"
    assert created(config) == before


@pytest.mark.parametrize(
    "args",
    [["log", "--opd", "unassigned"], ["conflicts", "--opd", "-"], ["overdue", "--opd", "-"]],
    ids=lambda a: " ".join(a),
)
def test_tickets_without_an_opd_are_a_known_filter(config: Path, args: list[str]) -> None:
    open_database(config.parent / "store" / "lapor-sync.db").close()
    result = invoke(config, *args)
    assert result.exit_code == 0, result.output

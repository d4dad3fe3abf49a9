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


# --- out-of-range input: a clear sentence, never a traceback --------------------------------

BIG = str(2**64)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("schedule", "pull_every", '"99999999999999d"', "must be at most 366 days"),
        ("schedule", "pull_every", '"4000000d"', "must be at most 366 days"),
        ("schedule", "misfire_grace", str(10**18), "must be at most 366 days"),
        ("schedule", "push_every", '"5x"', 'must be a duration such as "90s", "5m"'),
        ("schedule", "push_every", '"0s"', "must be longer than 0 seconds"),
        ("web", "session_idle", '"999999999999999999999999w"', "must be at most 366 days"),
    ],
)
def test_check_config_refuses_durations_run_would_die_on(
    config: Path, section: str, key: str, value: str, message: str
) -> None:
    text = config.read_text(encoding="utf-8")
    assert f"\n[{section}]\n" in text
    config.write_text(
        text.replace(f"\n[{section}]\n", f"\n[{section}]\n{key} = {value}\n"), encoding="utf-8"
    )
    # A key given twice is a TOML error: drop the shipped line of the same key, if any.
    lines = config.read_text(encoding="utf-8").splitlines()
    seen = False
    kept = []
    for line in lines:
        if line.split("=")[0].strip() == key and line.startswith(key):
            if seen:
                continue
            seen = True
        kept.append(line)
    config.write_text("\n".join(kept) + "\n", encoding="utf-8")
    result = invoke(config, "check-config", str(config))
    assert result.exit_code == 2, result.output
    assert f"{section}.{key}: {message}" in result.output, result.output
    assert "Traceback" not in result.output
    assert created(config) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["log", "--since", "99999999d"], "must be at most 3660 days"),
        (["log", "--since", "7x"], "--since"),
        (["log", "--limit", BIG], "--limit"),
        (["outbox", "retry", BIG], BIG),
        (["conflicts", "resolve", BIG, "--take", "lapor"], BIG),
        (["outbox", "--limit", BIG], "--limit"),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else "",
)
def test_out_of_range_arguments_are_refused_plainly(
    config: Path, args: list[str], message: str
) -> None:
    open_database(config.parent / "store" / "lapor-sync.db").close()
    before = created(config)
    result = invoke(config, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )
    assert created(config) == before


def test_output_to_a_full_device_is_one_sentence(config: Path) -> None:
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "lapor_sync", "init", str(config.parent / "new")],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: cannot write the output: Operating system error: No space left on device."
    )

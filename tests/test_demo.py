"""The README's main command: the demo runs end to end on the built-in sandbox."""

from __future__ import annotations

import shlex
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from lapor_sync.cli import cli
from lapor_sync.config import load_settings
from lapor_sync.demo import DemoResult, run_demo
from lapor_sync.sandbox.world import DEFAULT_START
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import from_db, now_wib

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.toml"


def demo(tmp_path: Path, **kwargs: object) -> tuple[DemoResult, str]:
    lines: list[str] = []
    settings = load_settings(CONFIG, env={})
    result = run_demo(
        settings,
        tmp_path / "demo.db",
        lines.append,
        complaints=60,
        source_text=CONFIG.read_text(encoding="utf-8"),
        prog=".venv/bin/lapor-sync",
        **kwargs,  # type: ignore[arg-type]
    )
    return result, "\n".join(lines)


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, str, Path]:
    """The demo as the README's screenshot runs it: the sandbox's fixed start date."""
    folder = tmp_path_factory.mktemp("demo")
    result, text = demo(folder, start=DEFAULT_START)
    return result, text, folder


def test_demo_pulls_pushes_and_reconciles_without_duplicates(
    fixed: tuple[DemoResult, str, Path],
) -> None:
    result, text, folder = fixed
    assert result.accounts_pulled == 3
    assert result.tickets_pushed == 3 and result.arrived_in_sandbox == 3
    assert result.complaints > 0 and result.followups > 0
    assert "recognised as our own, not imported twice" in text
    assert "it is 1 ticket with 1 follow-up locally" in text
    assert "0 conflict(s) waiting" in text
    assert (folder / "demo.db").exists()


def test_every_stamp_of_the_demo_comes_from_the_sandbox_clock(
    fixed: tuple[DemoResult, str, Path],
) -> None:
    """The OPD's follow-up two hours after the Call Center ticket is stamped so, not today."""
    _result, _text, folder = fixed
    db = open_database(folder / "demo.db")
    first = db.execute(
        "SELECT t.received_at, t.created_at, f.created_at, o.created_at FROM local_tickets t "
        "JOIN local_followups f ON f.ticket_id = t.id AND f.origin = 'local' "
        "JOIN outbox o ON o.kind = 'post_followup' AND o.subject_id = f.id "
        "WHERE t.origin = 'local' ORDER BY t.id LIMIT 1"
    ).fetchone()
    received, recorded, followed_up, queued = (from_db(v) for v in first)
    assert received == recorded
    assert followed_up - received == timedelta(hours=2) and queued == followed_up
    latest = db.execute("SELECT max(created_at) FROM local_followups").fetchone()[0]
    assert from_db(latest) < DEFAULT_START + timedelta(days=20)  # nothing on today's date
    db.close()


def test_the_demo_report_covers_a_month_with_data_like_the_readme(
    fixed: tuple[DemoResult, str, Path],
) -> None:
    result, text, _folder = fixed
    figures = result.report.figures
    assert figures.period.code == "2026-03"  # the screenshot's month, on its 18th day
    assert figures.total.received >= 50
    bmbk = next(f for f in figures.opds if f.key == "BMBK")
    assert bmbk.received > 0 and bmbk.assessed > 0
    # Working days to the first follow-up: days, not the months between two clocks.
    assert bmbk.median_days is not None and bmbk.median_days <= 10
    assert f"Liaison report for Maret 2026 ({figures.total.received} complaints" in text


def test_the_demo_explains_its_late_figures(fixed: tuple[DemoResult, str, Path]) -> None:
    _result, text, _folder = fixed
    assert "Complaints terlambat (late: at least one stage past its deadline, counted once)" in (
        text
    )
    assert "/" not in text.split("6. Working-day deadlines")[1].split("Liaison report")[0]


def test_the_printed_commands_read_the_demos_store(
    fixed: tuple[DemoResult, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    result, text, folder = fixed
    assert result.config == folder / "demo-config.toml"
    assert result.advice and all(line in text for line in result.advice)
    monkeypatch.chdir(ROOT)
    for line in result.advice:
        words = shlex.split(line, comments=True)
        assert words[0] == ".venv/bin/lapor-sync" and words[1:3] == ["--config", str(result.config)]
        out = CliRunner().invoke(cli, [*words[1:3], "--log-level", "error", *words[3:]])
        assert out.exit_code == 0, (line, out.output)
        assert "no lapor-sync store" not in out.output
    overdue = CliRunner().invoke(cli, ["--config", str(result.config), "overdue", "--opd", "BMBK"])
    assert "BMBK — Dinas Bina Marga" in overdue.output


def test_by_default_the_sandbox_clock_ends_at_the_machines(tmp_path: Path) -> None:
    """So the printed commands, run later on the machine's clock, see the demo's "now"."""
    result, _text = demo(tmp_path, days=2)
    assert abs(result.sandbox_now - now_wib()) < timedelta(minutes=5)

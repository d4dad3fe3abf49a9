"""The README's main command: the demo runs end to end on the built-in sandbox."""

from __future__ import annotations

from pathlib import Path

from lapor_sync.config import load_settings
from lapor_sync.demo import run_demo

ROOT = Path(__file__).resolve().parent.parent


def test_demo_pulls_pushes_and_reconciles_without_duplicates(tmp_path: Path) -> None:
    lines: list[str] = []
    settings = load_settings(ROOT / "config.toml", env={})
    result = run_demo(settings, tmp_path / "demo.db", lines.append, complaints=60)
    text = "\n".join(lines)
    assert result.accounts_pulled == 3
    assert result.tickets_pushed == 3 and result.arrived_in_sandbox == 3
    assert result.complaints > 0 and result.followups > 0
    assert "recognised as our own, not imported twice" in text
    assert "it is 1 ticket with 1 follow-up locally" in text
    assert "0 conflict(s) waiting" in text
    assert (tmp_path / "demo.db").exists()

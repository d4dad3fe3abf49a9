"""A bounded chaos run (scripts/chaos.py): SIGKILLs against a faulty sandbox, then one
clean pass — nothing lost, nothing duplicated, the database intact."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from chaos import run_chaos


def test_the_daemon_survives_kills_under_faults_without_loss_or_duplicates() -> None:
    result = run_chaos(kills=4, seed=4, complaints=80, say=lambda _line: None)
    assert result.kills == 4
    assert result.integrity == "ok"
    assert result.duplicates == []
    assert result.lost == []
    assert result.mirrored_complaints == result.remote_complaints > 0
    assert result.local_tickets == 12

"""A bounded chaos run (scripts/chaos.py): SIGKILLs against a faulty sandbox (faults on
every request kind, some failing for good), then one clean pass — the mirror equal to
what SP4N-LAPOR! shows, nothing lost, nothing duplicated, the database intact."""

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
    # every round some request kind failed on every retry; no failed pull is left open
    assert len(result.failed_for_good) >= 4
    assert result.open_failed_pulls == 0

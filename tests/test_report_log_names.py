"""The report's reconciliation log names SP4N-LAPOR! statuses by the configured status map."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from lapor_sync.glossary import state_label
from lapor_sync.report.html.pages import EventWindow, recent_events
from lapor_sync.store.db import open_database
from lapor_sync.store.journal import EventKind, record_event
from lapor_sync.timeutil import WIB

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)


def _configured(name: str) -> str | None:
    # A province's own [status_map] entry the built-in map does not have.
    return "in_progress" if name == "Diproses Mandiri" else None


def test_a_status_name_only_the_configured_map_knows_reads_as_its_state(tmp_path: Path) -> None:
    db = open_database(tmp_path / "x.db")
    record_event(
        db, EventKind.PULLED_NEW, NOW - timedelta(hours=1), opd="BMBK",
        ticket_ref="LPG-2026-000001", detail={"to_status": "Diproses Mandiri"},
    )  # fmt: skip
    window = EventWindow(NOW - timedelta(days=30), None, "30 hari terakhir")

    configured = recent_events(db, window, ["BMBK"], _configured)["BMBK"]
    (row,) = configured.rows
    assert row["keterangan"] == f"Status: {state_label('in_progress')}"

    # Without the configured map the same name would be shown as unknown: the map matters.
    (unknown,) = recent_events(db, window, ["BMBK"], lambda _name: None)["BMBK"].rows
    assert "belum dikenal" in unknown["keterangan"]

"""The deadline scan in keyset pages: the same rows and events whatever the page size, a
first scan that resumes where an interrupted one stopped, and a preview that writes
nothing and says what the scan would log.

The store is built as in tests/test_deadlines.py: complaints submitted in April 2025 with
follow-ups, replies, a closed one, an unlinked one and one without an OPD.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlite_utils

from lapor_sync.sla import deadline_rows as rows_module
from lapor_sync.sla.deadlines import preview_scan, recompute_deadlines, scan
from lapor_sync.store.db import open_database
from tests.test_deadlines import (
    CAL,
    RULES,
    add_local_followup,
    add_remote_followup,
    add_status,
    add_ticket,
    at,
    scenario,
)

NOW = at(2025, 4, 24)


def build(db: sqlite_utils.Database) -> None:
    for i in range(1, 12):
        ticket = scenario(db, f"LPG-2025-{i:06d}", str(100 + i))
        if i % 3 == 0:
            add_remote_followup(db, str(100 + i), f"F{i}", "institution", at(2025, 4, 18 + i % 4))
        if i % 4 == 0:
            add_remote_followup(db, str(100 + i), f"R{i}", "reporter", at(2025, 4, 22))
        if i == 5:
            add_local_followup(db, ticket, "opd", at(2025, 4, 16))
        if i == 7:
            add_status(db, str(100 + i), "Selesai", at(2025, 4, 20))
            db.execute("UPDATE local_tickets SET status = 'closed' WHERE id = ?", [ticket])
    add_ticket(
        db, "LPG-2025-000090", received=at(2025, 4, 21, 8), origin="local", status="received"
    )
    add_ticket(db, "LPG-2025-000091", received=at(2025, 4, 14, 8), opd=None, origin="local")


def store(tmp_path: Path, name: str) -> sqlite_utils.Database:
    db = open_database(tmp_path / name / "lapor-sync.db")
    build(db)
    return db


def table(db: sqlite_utils.Database) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT ticket_id, stage, started_at, due_at, met_at, flagged, fingerprint "
            "FROM deadlines ORDER BY ticket_id, stage"
        )
    ]


def logged(db: sqlite_utils.Database) -> list[tuple[object, ...]]:
    return sorted(
        (
            tuple(r)
            for r in db.execute(
                "SELECT kind, account, opd, complaint_id, tracking_id, ticket_ref, side, detail "
                "FROM events"
            )
        ),
        key=repr,
    )


@pytest.mark.parametrize("page", [1, 2, 5])
def test_pages_give_the_same_rows_and_events_as_one_page(tmp_path: Path, page: int) -> None:
    whole, paged = store(tmp_path, "whole"), store(tmp_path, "paged")
    first = scan(whole, RULES, CAL, NOW, page=10_000)
    second = scan(paged, RULES, CAL, NOW, page=page)
    assert table(paged) == table(whole)
    assert len(table(whole)) > 30
    assert logged(paged) == logged(whole)
    assert first.events > 5
    assert second.figures() == first.figures()
    assert {k: vars(v) for k, v in second.per_opd.items()} == {
        k: vars(v) for k, v in first.per_opd.items()
    }


def test_rows_of_a_ticket_gone_from_the_store_are_dropped_in_the_last_page(
    tmp_path: Path,
) -> None:
    db = store(tmp_path, "s")
    recompute_deadlines(db, RULES, CAL, NOW, page=3)
    last = db.execute("SELECT max(id) FROM local_tickets").fetchone()[0]
    # Another program removed the ticket behind lapor-sync's back.
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("DELETE FROM local_tickets WHERE id = ?", [last])
    db.execute("PRAGMA foreign_keys=ON")
    summary = recompute_deadlines(db, RULES, CAL, NOW, page=3)
    assert summary.deleted == 1
    assert (
        db.execute("SELECT count(*) FROM deadlines WHERE ticket_id = ?", [last]).fetchone()[0] == 0
    )


def test_an_interrupted_first_scan_resumes_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, db = store(tmp_path, "reference"), store(tmp_path, "interrupted")
    scan(reference, RULES, CAL, NOW, page=4)
    real = rows_module.plan_deadline_rows
    calls = {"n": 0}

    def dies_on_the_third_page(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the daemon stopped mid-pass
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rows_module, "plan_deadline_rows", dies_on_the_third_page)
    with pytest.raises(KeyboardInterrupt):
        scan(db, RULES, CAL, NOW, page=4)
    done = {r[0] for r in table(db)}
    assert done and len(done) <= 8  # two pages of four tickets were written
    monkeypatch.setattr(rows_module, "plan_deadline_rows", real)
    resumed = scan(db, RULES, CAL, NOW, page=4)
    assert resumed.recompute.tickets == 13 - 8  # only the pages not done yet
    assert table(db) == table(reference)
    assert logged(db) == logged(reference)
    assert scan(db, RULES, CAL, NOW, page=4).recompute.tickets == 0  # pass finished


def test_preview_says_what_the_scan_will_do_and_writes_nothing(tmp_path: Path) -> None:
    db = store(tmp_path, "s")

    def snapshot() -> tuple[object, ...]:
        return (
            table(db),
            logged(db),
            list(db.execute("SELECT * FROM sync_state ORDER BY key")),
        )

    def check(now: datetime) -> None:
        before = snapshot()
        preview = preview_scan(db, RULES, CAL, now, page=3)
        assert snapshot() == before
        done = scan(db, RULES, CAL, now, page=3)
        assert preview.figures() == done.figures()
        assert {k: vars(v) for k, v in preview.per_opd.items()} == {
            k: vars(v) for k, v in done.per_opd.items()
        }
        assert len(logged(db)) == len(before[1]) + done.events
        assert len(preview.examples) == min(done.events, 20)

    check(at(2025, 4, 16))  # first scan: everything planned, near-due announced
    check(at(2025, 4, 24))  # later: time alone turns rows overdue (read from the table)
    add_remote_followup(db, "102", "F99", "institution", at(2025, 4, 24, 11))
    check(at(2025, 4, 25))  # one ticket changed: planned, the rest from the table
    check(at(2025, 4, 25))  # nothing new: nothing to log

"""The home's late and near-due counts from ``ticket_due`` equal the grouping of every open
deadline they replace (issue #13), on a store with met and unmet stages of every kind,
complaints without a reference, forwarded complaints and dropped deadlines; after the first
scan, after later scans and after each kind of write the triggers must follow.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from lapor_sync.sla.deadlines import DeadlineRules, scan
from lapor_sync.store.db import open_database, transaction
from lapor_sync.store.deadlines import (
    DeadlineRow,
    delete_deadlines,
    rebuild_ticket_due,
    upsert_deadlines,
)
from lapor_sync.store.portal_queries import Scope
from lapor_sync.store.portal_work import home_counts
from lapor_sync.store.tickets import correct_ticket
from lapor_sync.timeutil import WIB, to_db
from lapor_sync.working_days import WorkingCalendar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from bench import build_large_store

OPDS = ("DISDIK", "DINKES", "BMBK", "DINSOS")
SCOPES = [
    Scope(),
    *(Scope(opds=(code,)) for code in OPDS),
    Scope(opds=("DINKES", "BMBK")),
    Scope(opds=()),
    Scope(local_only=True),
]
# The synthetic complaints arrive 2-4 Jan 2025; their stages fall due from 7 Jan to mid-April.
INSTANTS = [
    datetime(2025, 1, 6, 12, tzinfo=WIB),
    datetime(2025, 1, 8, 12, tzinfo=WIB),
    datetime(2025, 1, 13, 9, tzinfo=WIB),
    datetime(2025, 1, 20, 9, tzinfo=WIB),
    datetime(2025, 4, 12, 9, tzinfo=WIB),
]


def grouped_counts(
    db: sqlite_utils.Database, scope: Scope, now: datetime, horizon: datetime
) -> tuple[int, int]:
    """The home's counting before ``ticket_due``: every open deadline grouped per ticket."""
    scope_sql, params = scope.where()
    join = "" if scope_sql == "1" else "JOIN local_tickets t ON t.id = d.ticket_id "
    row = db.execute(
        "SELECT sum(first_due < ?), sum(first_due >= ?) FROM (SELECT min(d.due_at) AS "
        f"first_due FROM deadlines d {join}"
        f"WHERE d.met_at IS NULL AND d.due_at <= ? AND {scope_sql} GROUP BY d.ticket_id)",
        [to_db(now), to_db(now), to_db(horizon), *params],
    ).fetchone()
    return int(row[0] or 0), int(row[1] or 0)


def assert_same_counts(db: sqlite_utils.Database) -> list[tuple[int, int]]:
    seen = []
    for now in INSTANTS:
        for days in (0, 3, 10):
            horizon = now + timedelta(days=days)
            for scope in SCOPES:
                counts = home_counts(db, scope, now, None, horizon)
                new = (counts["late"], counts["near_due"])
                assert new == grouped_counts(db, scope, now, horizon), (scope, now, days)
                seen.append(new)
    return seen


def ticket_due_rows(db: sqlite_utils.Database) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.execute("SELECT * FROM ticket_due ORDER BY ticket_id")]


def assert_rebuild_changes_nothing(db: sqlite_utils.Database) -> None:
    kept = ticket_due_rows(db)
    with transaction(db):
        rebuild_ticket_due(db)
    assert ticket_due_rows(db) == kept


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    path = tmp_path / "store.db"
    build_large_store(path, 240)
    store = open_database(path)
    # Complaints other software recorded without a reference yet: counted like the others.
    with transaction(store):
        for i in range(3):
            store.execute(
                "INSERT INTO local_tickets (ref, origin, channel, title, content, opd_code, "
                "received_at) VALUES (NULL, 'local', 'sms', 'Judul', 'Isi', ?, ?)",
                [OPDS[i], to_db(datetime(2025, 1, 3, 9 + i, tzinfo=WIB))],
            )
    return store


def rescan(db: sqlite_utils.Database, now: datetime) -> None:
    scan(db, DeadlineRules(), WorkingCalendar(), now)


def test_counts_equal_the_grouping_after_the_first_scan(db: sqlite_utils.Database) -> None:
    rescan(db, INSTANTS[0])
    seen = assert_same_counts(db)
    # The comparison is not between zeros: late, near due and both occur.
    assert any(late and soon for late, soon in seen)
    assert (
        db.execute(
            "SELECT count(*) FROM ticket_due u JOIN local_tickets t ON t.id = u.ticket_id "
            "WHERE t.ref IS NULL"
        ).fetchone()[0]
        == 3
    )
    assert_rebuild_changes_nothing(db)


def test_counts_follow_every_write_without_a_rebuild(db: sqlite_utils.Database) -> None:
    rescan(db, INSTANTS[0])
    # From here on only the triggers keep ticket_due: the later scans are incremental.
    ids = [int(r[0]) for r in db.execute("SELECT id FROM local_tickets ORDER BY id")]
    with transaction(db):
        # Forwarded to another OPD (and one to none): the counts move with the complaint.
        for i, ticket_id in enumerate(ids[:40:4]):
            target = None if i == 0 else OPDS[(i + 1) % len(OPDS)]
            db.execute("UPDATE local_tickets SET opd_code = ? WHERE id = ?", [target, ticket_id])
        # Dropped deadlines (a stage that no longer applies), open and met ones.
        drop = db.execute(
            "SELECT ticket_id, stage FROM deadlines WHERE ticket_id % 7 = 0"
        ).fetchall()
        delete_deadlines(db, [(int(t), str(s)) for t, s in drop])
        # A new, earlier stage on some, a met one on others, a moved due date on others.
        stamp = to_db(INSTANTS[1])
        upsert_deadlines(db, [
            DeadlineRow(t, "reply", stamp, to_db(INSTANTS[1] + timedelta(hours=h)),
                        None if t % 2 else stamp, "test", stamp)
            for t, h in zip(ids[1:60:5], range(-30, 30, 5), strict=False)
        ])  # fmt: skip
        db.execute(
            "UPDATE deadlines SET due_at = ? WHERE ticket_id % 11 = 0 AND met_at IS NULL",
            [to_db(INSTANTS[2])],
        )
        db.execute(
            "UPDATE deadlines SET met_at = ? WHERE ticket_id % 13 = 0 AND stage = 'followup'",
            [stamp],
        )
    assert_same_counts(db)
    # A forward through the register's own correction path, then the scan's next passes.
    with transaction(db):
        correct_ticket(db, ids[3], {"opd_code": "DINSOS"}, to_db(INSTANTS[2]))
    for now in INSTANTS[1:]:
        rescan(db, now)
        assert_same_counts(db)
    assert_rebuild_changes_nothing(db)


def test_a_complaint_with_no_open_deadline_left_has_no_row(
    db: sqlite_utils.Database,
) -> None:
    rescan(db, INSTANTS[0])
    ticket_id = int(db.execute("SELECT min(ticket_id) FROM ticket_due").fetchone()[0])
    with transaction(db):
        db.execute(
            "UPDATE deadlines SET met_at = ? WHERE ticket_id = ?", [to_db(INSTANTS[1]), ticket_id]
        )
    assert (
        db.execute("SELECT 1 FROM ticket_due WHERE ticket_id = ?", [ticket_id]).fetchone() is None
    )
    assert_same_counts(db)


def test_a_role_not_shown_deadlines_reads_none(db: sqlite_utils.Database) -> None:
    rescan(db, INSTANTS[0])
    counts = home_counts(db, Scope(), INSTANTS[3], None, INSTANTS[3], deadlines=False)
    assert (counts["late"], counts["near_due"]) == (0, 0)
    assert home_counts(db, Scope(), INSTANTS[3], None, INSTANTS[3])["late"] > 0

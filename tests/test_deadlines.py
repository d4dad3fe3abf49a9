"""Deadline rules per stage, stored due dates, recompute and the overdue/near-due scan.

The store is built by SQL, as pull/adopt/push would leave it. One scenario runs through
April–May 2025 (Good Friday 18 Apr, May Day, Waisak 12–13 May are holidays):

- submitted Mon 14 Apr 09:00, verified and dispositioned Tue 15 Apr 10:00;
- verification due Thu 17 Apr (3 working days from 14 Apr);
- follow-up due Wed 23 Apr (16, 17, 21, 22, 23 Apr: 5 working days from 15 Apr).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from lapor_sync.config import load_settings
from lapor_sync.sla.deadlines import (
    NO_OPD,
    DeadlineRules,
    StageDeadline,
    recompute_deadlines,
    scan,
)
from lapor_sync.sla.timeline import load_timelines
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB, to_db
from lapor_sync.working_days import WorkingCalendar

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "pemprov-lampung"
RULES = DeadlineRules()
CAL = WorkingCalendar()


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def due(y: int, m: int, d: int) -> str:
    return to_db(datetime(y, m, d, 23, 59, 59, tzinfo=WIB))


# --- building a store -----------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return open_database(tmp_path / "store" / "lapor-sync.db")


def add_ticket(
    db: sqlite_utils.Database,
    ref: str,
    *,
    received: datetime,
    opd: str | None = "DINKES",
    status: str = "in_progress",
    origin: str = "lapor",
    updated: datetime | None = None,
) -> int:
    cursor = db.execute(
        "INSERT INTO local_tickets (ref, origin, account, channel, reporter_name, "
        "reporter_phone, title, content, opd_code, received_at, status, updated_at) "
        "VALUES (?, ?, ?, ?, 'Budi Santoso', '081234567890', 'Jalan rusak', 'Isi laporan', "
        "?, ?, ?, ?)",
        [
            ref,
            origin,
            ACCOUNT,
            "lapor" if origin == "lapor" else "sms",
            opd,
            to_db(received),
            status,
            to_db(updated or received),
        ],
    )
    return int(cursor.lastrowid or 0)


def link(db: sqlite_utils.Database, ticket_id: int, remote_id: str, *, created: datetime) -> None:
    stamp = to_db(created)
    db.execute(
        "INSERT INTO remote_complaints (account, remote_id, tracking_id, title, content, "
        "status_code, status_name, is_secret, is_anonymous, tags, created_at, updated_at, "
        "first_pulled_at, last_pulled_at) VALUES (?,?,?,?,?,?,?,0,0,'[]',?,?,?,?)",
        [ACCOUNT, remote_id, f"TRK{remote_id}", "t", "c", "1", "Terverifikasi"] + [stamp] * 4,
    )
    db.execute(
        "INSERT INTO links (ticket_id, account, remote_id, tracking_id, linked_at) "
        "VALUES (?,?,?,?,?)",
        [ticket_id, ACCOUNT, remote_id, f"TRK{remote_id}", stamp],
    )


def add_status(db: sqlite_utils.Database, remote_id: str, name: str, when: datetime) -> None:
    db.execute(
        "INSERT INTO remote_status_history (account, complaint_id, status_code, status_name, "
        "at, recorded_at, fingerprint) VALUES (?,?,?,?,?,?,?)",
        [ACCOUNT, remote_id, "x", name, to_db(when), to_db(when), f"{name}{when}"],
    )


def add_disposition(db: sqlite_utils.Database, remote_id: str, when: datetime) -> None:
    db.execute(
        "INSERT INTO remote_dispositions (account, complaint_id, from_id, to_id, at, "
        "fingerprint) VALUES (?,?,?,?,?,?)",
        [ACCOUNT, remote_id, "18", "18002", to_db(when), f"d{when}"],
    )


def add_remote_followup(
    db: sqlite_utils.Database, remote_id: str, followup_id: str, author: str, when: datetime
) -> None:
    db.execute(
        "INSERT INTO remote_followups (account, remote_id, complaint_id, author_type, "
        "content, is_secret, attachment_count, created_at, first_pulled_at) "
        "VALUES (?,?,?,?,?,0,0,?,?)",
        [ACCOUNT, followup_id, remote_id, author, "isi", to_db(when), to_db(when)],
    )


def add_local_followup(
    db: sqlite_utils.Database,
    ticket_id: int,
    author: str,
    when: datetime,
    *,
    remote_id: str | None = None,
    origin: str = "local",
) -> None:
    db.execute(
        "INSERT INTO local_followups (ticket_id, origin, author, content, remote_account, "
        "remote_id, created_at) VALUES (?,?,?,?,?,?,?)",
        [
            ticket_id,
            origin,
            author,
            "Sudah ditangani",
            ACCOUNT if remote_id else None,
            remote_id,
            to_db(when),
        ],
    )


def scenario(db: sqlite_utils.Database, ref: str = "LPG-2025-000001", remote: str = "101") -> int:
    """Submitted Mon 14 Apr 2025, verified and dispositioned Tue 15 Apr."""
    ticket = add_ticket(db, ref, received=at(2025, 4, 14, 9))
    link(db, ticket, remote, created=at(2025, 4, 14, 9))
    add_status(db, remote, "Belum Terverifikasi", at(2025, 4, 14, 9))
    add_status(db, remote, "Terverifikasi", at(2025, 4, 15, 10))
    add_disposition(db, remote, at(2025, 4, 15, 10))
    return ticket


def rows(db: sqlite_utils.Database, ticket: int) -> dict[str, dict[str, str | None]]:
    return {
        r["stage"]: r
        for r in db.query("SELECT * FROM deadlines WHERE ticket_id = ? ORDER BY stage", [ticket])
    }


def recompute(db: sqlite_utils.Database, now: datetime | None = None) -> None:
    recompute_deadlines(db, RULES, CAL, now or at(2025, 4, 16))


def events(db: sqlite_utils.Database, kind: str | None = None) -> list[dict[str, object]]:
    query = "SELECT * FROM events WHERE kind LIKE ? ORDER BY id"
    return list(db.query(query, [kind or "%"]))


# --- timelines --------------------------------------------------------------------------------


def test_timeline_facts(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_remote_followup(db, "101", "F1", "institution", at(2025, 4, 22))
    add_remote_followup(db, "101", "F2", "reporter", at(2025, 4, 25))
    local_only = add_ticket(
        db, "LPG-2025-000002", received=at(2025, 4, 14, 8), origin="local", status="received"
    )
    timelines = {t.ticket_id: t for t in load_timelines(db, RULES.state_for)}
    linked = timelines[ticket]
    assert linked.submitted_at == to_db(at(2025, 4, 14, 9))
    assert linked.verified_at == to_db(at(2025, 4, 15, 10))
    assert linked.dispositioned_at == to_db(at(2025, 4, 15, 10))
    assert linked.institution_followups == (to_db(at(2025, 4, 22)),)
    assert linked.replies == (to_db(at(2025, 4, 25)),)
    assert linked.tracking_id == "TRK101"
    assert linked.remote_id == "101"
    assert linked.account == ACCOUNT
    assert not linked.terminal
    unlinked = timelines[local_only]
    assert unlinked.submitted_at == to_db(at(2025, 4, 14, 8))
    assert unlinked.verified_at is None and unlinked.dispositioned_at is None


def test_verified_is_the_earlier_of_status_and_disposition(db: sqlite_utils.Database) -> None:
    ticket = add_ticket(db, "LPG-2025-000003", received=at(2025, 4, 14))
    link(db, ticket, "103", created=at(2025, 4, 14))
    add_status(db, "103", "Belum Terverifikasi", at(2025, 4, 14))
    add_status(db, "103", "  dalam proses ", at(2025, 4, 16))  # compared case-folded
    add_disposition(db, "103", at(2025, 4, 17))
    add_status(db, "103", "Status Baru Tak Dikenal", at(2025, 4, 15))  # never counts
    (timeline,) = load_timelines(db, RULES.state_for)
    assert timeline.verified_at == to_db(at(2025, 4, 16))
    assert timeline.dispositioned_at == to_db(at(2025, 4, 17))


def test_disposition_falls_back_to_verification(db: sqlite_utils.Database) -> None:
    ticket = add_ticket(db, "LPG-2025-000004", received=at(2025, 4, 14))
    link(db, ticket, "104", created=at(2025, 4, 14))
    add_status(db, "104", "Terverifikasi", at(2025, 4, 15))
    (timeline,) = load_timelines(db, RULES.state_for)
    assert timeline.dispositioned_at == timeline.verified_at == to_db(at(2025, 4, 15))


def test_a_pushed_followup_is_counted_once(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    # Written locally at 09:00, pushed; LAPOR! stamps its copy 09:05.
    add_local_followup(db, ticket, "opd", at(2025, 4, 22, 9), remote_id="F1")
    add_remote_followup(db, "101", "F1", "institution", at(2025, 4, 22, 9, 5))
    # An adopted reporter reply and its mirror row: one reply.
    add_local_followup(db, ticket, "reporter", at(2025, 4, 25), remote_id="F2", origin="lapor")
    add_remote_followup(db, "101", "F2", "reporter", at(2025, 4, 25))
    (timeline,) = load_timelines(db, RULES.state_for)
    assert timeline.institution_followups == (to_db(at(2025, 4, 22, 9)),)
    assert timeline.replies == (to_db(at(2025, 4, 25)),)


# --- stage rules ------------------------------------------------------------------------------


def test_due_dates_per_stage(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    recompute(db)
    stored = rows(db, ticket)
    assert set(stored) == {"verification", "followup", "settlement"}  # nothing else started
    assert stored["verification"]["started_at"] == to_db(at(2025, 4, 14, 9))
    assert stored["verification"]["due_at"] == due(2025, 4, 17)
    assert stored["verification"]["met_at"] == to_db(at(2025, 4, 15, 10))
    assert stored["followup"]["started_at"] == to_db(at(2025, 4, 15, 10))
    assert stored["followup"]["due_at"] == due(2025, 4, 23)
    assert stored["followup"]["met_at"] is None
    expected = CAL.deadline(at(2025, 4, 15, 10), 60)
    assert stored["settlement"]["due_at"] == to_db(expected)
    assert stored["settlement"]["met_at"] is None
    assert stored["followup"]["fingerprint"] == RULES.fingerprint(CAL)


def test_settlement_in_calendar_days(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    rules = dataclasses.replace(RULES, settlement_unit="calendar")
    recompute_deadlines(db, rules, CAL, at(2025, 4, 16))
    assert rows(db, ticket)["settlement"]["due_at"] == due(2025, 6, 14)  # 15 Apr + 60 days


def test_an_unlinked_local_ticket_has_only_the_verification_clock(
    db: sqlite_utils.Database,
) -> None:
    ticket = add_ticket(
        db, "LPG-2025-000005", received=at(2025, 3, 28, 14), origin="local", status="received"
    )
    recompute(db)
    stored = rows(db, ticket)
    assert set(stored) == {"verification"}
    assert stored["verification"]["due_at"] == due(2025, 4, 10)  # 8, 9, 10 Apr


def test_a_followup_meets_the_followup_stage(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_local_followup(db, ticket, "opd", at(2025, 4, 22, 15))
    recompute(db)
    stored = rows(db, ticket)
    assert stored["followup"]["met_at"] == to_db(at(2025, 4, 22, 15))
    # Closure is expected 10 working days after it: 23, 24, 25, 28, 29, 30 Apr, 2, 5, 6, 7 May.
    assert stored["closure"]["started_at"] == to_db(at(2025, 4, 22, 15))
    assert stored["closure"]["due_at"] == due(2025, 5, 7)
    assert stored["closure"]["met_at"] is None
    assert "reply" not in stored


def test_a_followup_before_the_disposition_does_not_meet_it(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_remote_followup(db, "101", "F0", "institution", at(2025, 4, 14, 12))
    recompute(db)
    assert rows(db, ticket)["followup"]["met_at"] is None


def test_a_reporter_reply_opens_reply_and_suspends_closure(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_remote_followup(db, "101", "F1", "institution", at(2025, 4, 22))
    recompute(db)
    assert "closure" in rows(db, ticket)
    add_remote_followup(db, "101", "F2", "reporter", at(2025, 4, 25, 8))
    add_remote_followup(db, "101", "F3", "reporter", at(2025, 4, 28, 8))  # same round
    summary = recompute_deadlines(db, RULES, CAL, at(2025, 4, 28))
    stored = rows(db, ticket)
    assert "closure" not in stored
    assert summary.deleted == 1
    # The OPD owes an answer 5 working days from the first reply: 28, 29, 30 Apr, 2, 5 May.
    assert stored["reply"]["started_at"] == to_db(at(2025, 4, 25, 8))
    assert stored["reply"]["due_at"] == due(2025, 5, 5)
    assert stored["reply"]["met_at"] is None


def test_a_new_followup_restarts_the_closure_clock(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_remote_followup(db, "101", "F1", "institution", at(2025, 4, 22))
    recompute(db)
    first_closure = rows(db, ticket)["closure"]["due_at"]
    add_remote_followup(db, "101", "F2", "reporter", at(2025, 4, 25))
    add_local_followup(db, ticket, "opd", at(2025, 4, 30, 11))
    recompute(db)
    stored = rows(db, ticket)
    assert stored["reply"]["met_at"] == to_db(at(2025, 4, 30, 11))
    assert stored["reply"]["due_at"] == due(2025, 5, 5)
    # 10 working days from Wed 30 Apr: 2, 5, 6, 7, 8, 9, 14, 15, 16, 19 May (Waisak 12–13).
    assert stored["closure"]["started_at"] == to_db(at(2025, 4, 30, 11))
    assert stored["closure"]["due_at"] == due(2025, 5, 19)
    assert str(stored["closure"]["due_at"]) > str(first_closure)


def test_an_admin_reply_also_restarts_the_dialogue(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_remote_followup(db, "101", "F1", "institution", at(2025, 4, 22))
    add_remote_followup(db, "101", "F2", "admin", at(2025, 4, 23))
    recompute(db)
    stored = rows(db, ticket)
    assert "closure" not in stored
    assert stored["reply"]["started_at"] == to_db(at(2025, 4, 23))


def test_a_reply_before_any_followup_opens_no_reply_stage(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_remote_followup(db, "101", "F1", "reporter", at(2025, 4, 16))
    recompute(db)
    assert set(rows(db, ticket)) == {"verification", "followup", "settlement"}


def test_closed_ticket_meets_every_open_stage(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_remote_followup(db, "101", "F1", "institution", at(2025, 4, 22))
    add_status(db, "101", "Dalam Proses", at(2025, 4, 22))
    add_status(db, "101", "Selesai", at(2025, 5, 8, 0, 1))
    db.execute("UPDATE local_tickets SET status = 'closed' WHERE id = ?", [ticket])
    recompute(db, at(2025, 5, 9))
    stored = rows(db, ticket)
    closed = to_db(at(2025, 5, 8, 0, 1))
    assert stored["closure"]["met_at"] == closed
    assert stored["settlement"]["met_at"] == closed
    assert stored["followup"]["met_at"] == to_db(at(2025, 4, 22))  # met earlier, kept
    assert all(r["met_at"] is not None for r in stored.values())


def test_closure_time_is_the_start_of_the_final_terminal_run(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_status(db, "101", "Selesai", at(2025, 5, 8))
    add_status(db, "101", "Dalam Proses", at(2025, 5, 9))  # re-opened by a reply
    add_status(db, "101", "Selesai", at(2025, 5, 26))
    db.execute("UPDATE local_tickets SET status = 'closed' WHERE id = ?", [ticket])
    (timeline,) = load_timelines(db, RULES.state_for)
    assert timeline.closed_at == to_db(at(2025, 5, 26))


def test_forwarded_and_archived_tickets_are_terminal(db: sqlite_utils.Database) -> None:
    forwarded = add_ticket(
        db,
        "LPG-2025-000006",
        received=at(2025, 4, 14),
        origin="local",
        status="forwarded",
        updated=at(2025, 4, 20),
    )
    db.execute(
        "INSERT INTO local_forwards (ticket_id, target_institution_id, created_at) "
        "VALUES (?, '1871', ?)",
        [forwarded, to_db(at(2025, 4, 15, 13))],
    )
    archived = add_ticket(
        db,
        "LPG-2025-000007",
        received=at(2025, 4, 14),
        origin="local",
        status="archived",
        updated=at(2025, 4, 16, 8),
    )
    recompute(db, at(2025, 5, 1))
    assert rows(db, forwarded)["verification"]["met_at"] == to_db(at(2025, 4, 15, 13))
    assert rows(db, archived)["verification"]["met_at"] == to_db(at(2025, 4, 16, 8))


def test_timestamps_in_other_forms_are_normalised(db: sqlite_utils.Database) -> None:
    utc = add_ticket(db, "LPG-2025-000010", received=at(2025, 4, 14), origin="local")
    naive = add_ticket(db, "LPG-2025-000011", received=at(2025, 4, 14), origin="local")
    db.execute("UPDATE local_tickets SET received_at = ? WHERE id = ?", ["2025-04-13T20:00Z", utc])
    db.execute("UPDATE local_tickets SET received_at = ? WHERE id = ?", ["2025-04-14 03:00", naive])
    timelines = {t.ticket_id: t for t in load_timelines(db, RULES.state_for)}
    assert timelines[utc].submitted_at == "2025-04-14T03:00:00+07:00"
    assert timelines[naive].submitted_at == "2025-04-14T03:00:00+07:00"


def test_an_unreadable_timestamp_skips_only_its_ticket(db: sqlite_utils.Database) -> None:
    good = scenario(db)
    bad = add_ticket(db, "LPG-2025-000012", received=at(2025, 4, 14), origin="local")
    recompute(db)
    before = rows(db, bad)
    db.execute("UPDATE local_tickets SET received_at = '05/03/2026' WHERE id = ?", [bad])
    summary = recompute_deadlines(db, RULES, CAL, at(2025, 4, 16))
    assert summary.invalid == 1
    assert rows(db, bad) == before  # kept as they were, not deleted
    assert set(rows(db, good)) == {"verification", "followup", "settlement"}


# --- recompute ---------------------------------------------------------------------------------


def test_recompute_is_idempotent(db: sqlite_utils.Database) -> None:
    for i in range(5):
        scenario(db, f"LPG-2025-{i:06d}", str(200 + i))
    first = recompute_deadlines(db, RULES, CAL, at(2025, 4, 16))
    assert (first.tickets, first.inserted, first.updated, first.deleted) == (5, 15, 0, 0)
    again = recompute_deadlines(db, RULES, CAL, at(2025, 4, 17))
    assert (again.inserted, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 15)


def test_a_calendar_override_recomputes_stored_rows(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    recompute(db)
    regional = WorkingCalendar(extra_holidays=[date(2025, 4, 22)])
    summary = recompute_deadlines(db, RULES, regional, at(2025, 4, 16))
    stored = rows(db, ticket)
    assert stored["followup"]["due_at"] == due(2025, 4, 24)
    assert stored["followup"]["fingerprint"] == RULES.fingerprint(regional)
    assert summary.updated == 3  # every row carries the new fingerprint
    decree = WorkingCalendar(extra_working_days=[date(2025, 4, 19)])  # a working Saturday
    recompute_deadlines(db, RULES, decree, at(2025, 4, 16))
    assert rows(db, ticket)["followup"]["due_at"] == due(2025, 4, 22)


def test_changing_followup_days_recomputes_stored_rows(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    recompute(db)
    slower = dataclasses.replace(RULES, followup_days=7)
    assert slower.fingerprint(CAL) != RULES.fingerprint(CAL)
    recompute_deadlines(db, slower, CAL, at(2025, 4, 16))
    assert rows(db, ticket)["followup"]["due_at"] == due(2025, 4, 25)


def test_recompute_takes_settings_from_config(db: sqlite_utils.Database) -> None:
    settings = load_settings(REPO / "config.toml", env={})
    rules = DeadlineRules.from_settings(settings)
    assert (rules.verification_days, rules.followup_days, rules.closure_days) == (3, 5, 10)
    assert rules.fingerprint(CAL) == RULES.fingerprint(CAL)
    ticket = scenario(db)
    recompute_deadlines(db, settings, settings.calendar(), at(2025, 4, 16))
    assert rows(db, ticket)["followup"]["due_at"] == due(2025, 4, 23)


def test_stage_deadline_is_a_plain_record() -> None:
    row = StageDeadline("followup", "a", "b", None)
    assert row.stage == "followup" and row.met_at is None


# --- scan: overdue and near-due events --------------------------------------------------------


def test_near_due_then_overdue_each_logged_once(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    # Tue 22 Apr: the follow-up is due tomorrow (1 working day left).
    first = scan(db, RULES, CAL, at(2025, 4, 22, 8))
    assert first.per_opd["DINKES"].near_due == 1
    assert first.per_opd["DINKES"].new_near_due == 1
    near = events(db, "near_due")
    assert len(near) == 1
    detail = json.loads(str(near[0]["detail"]))
    assert detail == {"stage": "followup", "due": due(2025, 4, 23), "days_late": -1}
    assert near[0]["opd"] == "DINKES"
    assert near[0]["ticket_ref"] == "LPG-2025-000001"
    assert near[0]["tracking_id"] == "TRK101"
    assert near[0]["complaint_id"] == "101"
    # Again the same day and on the due day itself: nothing new is logged.
    scan(db, RULES, CAL, at(2025, 4, 22, 9))
    again = scan(db, RULES, CAL, at(2025, 4, 23, 9))
    assert again.per_opd["DINKES"].near_due == 1 and again.events == 0
    assert len(events(db, "near_due")) == 1
    # Thu 24 Apr: overdue, logged once.
    late = scan(db, RULES, CAL, at(2025, 4, 24, 9))
    assert late.per_opd["DINKES"].overdue == 1 and late.per_opd["DINKES"].new_overdue == 1
    scan(db, RULES, CAL, at(2025, 4, 24, 15))
    scan(db, RULES, CAL, at(2025, 4, 28, 9))
    overdue = events(db, "overdue")
    assert len(overdue) == 1
    assert json.loads(str(overdue[0]["detail"]))["days_late"] == 1
    assert rows(db, ticket)["followup"]["flagged"] == f"overdue:{due(2025, 4, 23)}"


def test_a_moved_due_date_is_flagged_again(db: sqlite_utils.Database) -> None:
    scenario(db)
    scan(db, RULES, CAL, at(2025, 4, 24, 9))
    assert len(events(db, "overdue")) == 1
    slower = dataclasses.replace(RULES, followup_days=7)  # due Fri 25 Apr now
    summary = scan(db, slower, CAL, at(2025, 4, 24, 10))
    assert summary.per_opd["DINKES"].new_near_due == 1
    assert len(events(db, "overdue")) == 1
    assert len(events(db, "near_due")) == 1


def test_met_deadlines_are_not_flagged(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_local_followup(db, ticket, "opd", at(2025, 4, 22, 15))
    summary = scan(db, RULES, CAL, at(2025, 4, 24, 9))
    assert summary.overdue == 0 and summary.near_due == 0
    assert events(db) == []


def test_near_due_can_be_turned_off(db: sqlite_utils.Database) -> None:
    scenario(db)
    summary = scan(db, dataclasses.replace(RULES, near_due_days=0), CAL, at(2025, 4, 23, 9))
    assert summary.near_due == 0 and events(db) == []


def test_a_missed_friday_deadline_is_one_day_late_at_the_weekend(
    db: sqlite_utils.Database,
) -> None:
    ticket = add_ticket(
        db, "LPG-2025-000008", received=at(2025, 4, 8, 9), origin="local", status="received"
    )
    summary = scan(db, RULES, CAL, at(2025, 4, 12, 9))  # due Fri 11 Apr; Saturday now
    assert summary.per_opd["DINKES"].overdue == 1
    (event,) = events(db, "overdue")
    assert json.loads(str(event["detail"]))["days_late"] == 1
    assert event["side"] == "lapor"  # verification is SP4N-LAPOR!'s step
    assert rows(db, ticket)["verification"]["flagged"] is not None


def test_a_new_reply_round_is_flagged_anew(db: sqlite_utils.Database) -> None:
    ticket = scenario(db)
    add_remote_followup(db, "101", "F1", "institution", at(2025, 4, 22))
    add_remote_followup(db, "101", "F2", "reporter", at(2025, 4, 23))
    scan(db, RULES, CAL, at(2025, 5, 6, 9))  # reply due Wed 30 Apr: overdue
    assert [json.loads(str(e["detail"]))["stage"] for e in events(db, "overdue")] == ["reply"]
    add_remote_followup(db, "101", "F3", "institution", at(2025, 5, 6, 10))
    add_remote_followup(db, "101", "F4", "reporter", at(2025, 5, 7, 10))
    scan(db, RULES, CAL, at(2025, 5, 20, 9))  # second round due Wed 14 May: overdue
    stages = [json.loads(str(e["detail"]))["stage"] for e in events(db, "overdue")]
    assert stages == ["reply", "reply"]
    assert rows(db, ticket)["reply"]["started_at"] == to_db(at(2025, 5, 7, 10))


def test_tickets_without_opd_are_counted_under_no_opd(db: sqlite_utils.Database) -> None:
    add_ticket(
        db, "LPG-2025-000009", received=at(2025, 4, 8), opd=None, origin="local", status="received"
    )
    summary = scan(db, RULES, CAL, at(2025, 4, 16))
    assert NO_OPD == "unassigned"
    assert summary.per_opd[NO_OPD].overdue == 1
    assert summary.figures()["overdue"] == 1


def test_events_carry_no_personal_data(db: sqlite_utils.Database) -> None:
    scenario(db)
    scan(db, RULES, CAL, at(2025, 5, 30))
    text = json.dumps(events(db))
    assert events(db)
    for secret in ("Budi", "081234567890", "Jalan rusak", "Isi laporan"):
        assert secret not in text


def test_the_number_of_queries_does_not_grow_with_tickets(db: sqlite_utils.Database) -> None:
    """Set-based reads: 30 tickets or 100,000, the same few statements."""
    for i in range(30):
        scenario(db, f"LPG-2025-{i:06d}", str(300 + i))
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        recompute(db)
    finally:
        db.conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 5


def test_a_scan_recomputes_only_tickets_whose_facts_changed(db: sqlite_utils.Database) -> None:
    first = scenario(db, "LPG-2025-000001", "101")
    second = scenario(db, "LPG-2025-000002", "102")
    now = at(2025, 4, 16)
    assert scan(db, RULES, CAL, now).recompute.tickets == 2  # the first scan sees all
    assert scan(db, RULES, CAL, now).recompute.tickets == 0  # nothing changed since
    # a follow-up pulled from SP4N-LAPOR! for one complaint names only its ticket
    add_remote_followup(db, "102", "9001", "institution", at(2025, 4, 17))
    summary = scan(db, RULES, CAL, at(2025, 4, 18))
    assert summary.recompute.tickets == 1
    assert rows(db, second)["followup"]["met_at"] == to_db(at(2025, 4, 17))
    assert rows(db, first)["followup"]["met_at"] is None
    # a changed rule is a new fingerprint: everything is looked at again
    longer = dataclasses.replace(RULES, followup_days=RULES.followup_days + 2)
    assert scan(db, longer, CAL, at(2025, 4, 18)).recompute.tickets == 2

"""The sandbox world without HTTP: clock, process rules, seeding, determinism."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from lapor_sync.sandbox import SandboxWorld, UnknownComplaintError, seed_world
from lapor_sync.sandbox.records import ReporterRecord
from lapor_sync.timeutil import WIB
from lapor_sync.working_days import WorkingCalendar


def new_complaint(world: SandboxWorld, **kw: object) -> int:
    return world.add_complaint("Jalan rusak", "Lubang besar di jalan.", **kw)  # type: ignore[arg-type]


def answered(world: SandboxWorld) -> int:
    cid = new_complaint(world)
    world.verify(cid, "18003")
    world.add_followup(cid, "Sudah kami tinjau.", institution_from_id="18003")
    return cid


def test_new_complaint_starts_unverified_and_invisible_until_dispositioned() -> None:
    world = SandboxWorld()
    cid = new_complaint(world, disposition_id="18003")
    c = world.complaint(cid)
    assert (c.status_code, c.status_name) == ("0", "Belum Terverifikasi")
    assert c.disposition_id is None and c.requested_disposition_id == "18003"
    assert world.visible_ids("18") == []
    world.verify(cid)
    c = world.complaint(cid)
    assert (c.status_code, c.disposition_id) == ("1", "18003")
    assert [(d.from_id, d.to_id) for d in c.disposition_logs] == [(None, "18"), ("18", "18003")]
    assert world.visible_ids("18") == [cid]
    assert world.visible_ids("1871") == []


def test_created_by_account_is_visible_to_it_at_once() -> None:
    world = SandboxWorld()
    cid = new_complaint(world, created_by="1871", tags=["#LPG-2026-000001", "callcenter"])
    assert world.visible_ids("1871") == [cid]
    assert world.complaint(cid).tags == ["LPG-2026-000001", "callcenter"]
    assert world.find_by_tag("#LPG-2026-000001") == [cid]


def test_every_change_bumps_updated_at_and_moves_to_end_of_listing() -> None:
    world = SandboxWorld()
    first, second = answered(world), answered(world)
    world.advance(timedelta(minutes=5))
    assert world.visible_ids("18") == [first, second]
    world.touch(first)
    assert world.visible_ids("18") == [second, first]
    assert world.complaint(first).updated_at == world.now()
    world.advance(timedelta(seconds=30))
    world.reply_as_reporter(second, "Belum diperbaiki")
    assert world.visible_ids("18") == [first, second]


def test_instansi_followup_moves_to_dalam_proses_and_closes_after_10_working_days() -> None:
    world = SandboxWorld()
    cid = answered(world)
    assert world.complaint(cid).status_name == "Dalam Proses"
    due = WorkingCalendar().deadline(world.now(), 10) + timedelta(seconds=1)
    assert world.closure_due(cid) == due
    world.set_time(due - timedelta(seconds=1))
    assert world.complaint(cid).status_code == "2"
    world.advance(timedelta(seconds=1))
    c = world.complaint(cid)
    assert (c.status_code, c.status_name) == ("3", "Selesai")
    assert c.updated_at == due
    assert c.status_logs[-1].at == due


def test_closure_counts_holidays() -> None:
    world = SandboxWorld(start=datetime(2026, 3, 13, 10, 0, tzinfo=WIB))  # before Nyepi/Lebaran
    cid = answered(world)
    due = world.closure_due(cid)
    assert due == datetime(2026, 4, 7, 0, 0, 0, tzinfo=WIB)
    world.advance(timedelta(days=24))
    assert world.complaint(cid).status_code == "2"
    world.advance(timedelta(days=1))
    assert world.complaint(cid).status_code == "3"


def test_reply_stops_the_closure_clock_and_a_new_followup_restarts_it() -> None:
    world = SandboxWorld()
    cid = answered(world)
    world.advance(timedelta(days=3))
    world.reply_as_reporter(cid, "Belum ada perbaikan.")
    assert world.closure_due(cid) is None
    world.advance(timedelta(days=30))
    assert world.complaint(cid).status_code == "2"
    world.add_followup(cid, "Perbaikan dijadwalkan.", institution_from_id="18003")
    restarted = world.closure_due(cid)
    assert restarted is not None and restarted > world.now()
    world.set_time(restarted)
    assert world.complaint(cid).status_code == "3"


def test_admin_reply_also_stops_closure() -> None:
    world = SandboxWorld()
    cid = answered(world)
    world.reply_as_admin(cid, "Mohon segera ditindaklanjuti.")
    world.advance(timedelta(days=40))
    c = world.complaint(cid)
    assert c.status_code == "2"
    assert c.followups[-1].author_type == "admin"


def test_reply_reopens_a_closed_complaint() -> None:
    world = SandboxWorld()
    cid = answered(world)
    world.advance(timedelta(days=30))
    assert world.complaint(cid).status_code == "3"
    world.reply_as_reporter(cid, "Ternyata belum selesai.")
    c = world.complaint(cid)
    assert (c.status_code, c.status_name) == ("2", "Dalam Proses")
    assert c.followups[-1].author_type == "pelapor"


def test_archive_postpone_unknown_status_and_forward() -> None:
    world = SandboxWorld()
    a, b, c, d = (answered(world) for _ in range(4))
    world.archive(a)
    world.postpone(b)
    world.set_status(c, "9", "Menunggu Konfirmasi Pelapor")
    assert world.complaint(a).status_name == "Diarsipkan"
    assert world.complaint(b).status_name == "Ditunda"
    assert (world.complaint(c).status_code, world.complaint(c).status_name) == (
        "9", "Menunggu Konfirmasi Pelapor")
    with pytest.raises(ValueError):
        world.set_status(c, "42")
    world.forward(d, "1871")
    assert world.status_seen_by(d, "18") == ("5", "Ditolak")
    assert world.status_seen_by(d, "1871") == ("1", "Terverifikasi")
    assert d in world.visible_ids("1871") and d in world.visible_ids("18")
    world.advance(timedelta(days=40))  # a forward cancels the forwarder's closure clock
    assert world.complaint(d).status_code == "1"


def test_unknown_complaint_and_bad_input() -> None:
    world = SandboxWorld()
    with pytest.raises(UnknownComplaintError):
        world.touch(12345)
    with pytest.raises(ValueError):
        new_complaint(world, disposition_id="99999")
    with pytest.raises(ValueError):
        world.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        world.set_time(datetime(2026, 1, 1))  # naive


def test_clock_can_jump_back_without_firing_events() -> None:
    world = SandboxWorld()
    cid = answered(world)
    start = world.now()
    world.set_time(start - timedelta(days=2))
    assert world.now() == start - timedelta(days=2)
    world.touch(cid)
    assert world.complaint(cid).updated_at == start - timedelta(days=2)


def test_verbatim_text_is_kept() -> None:
    world = SandboxWorld()
    text = "x'); DROP TABLE complaints;-- 🙏🏽 日本語 \u0000 " + "a" * 50_000
    cid = world.add_complaint(" spasi di depan ", text)
    assert world.complaint(cid).content == text
    assert world.complaint(cid).title == " spasi di depan "


def test_seed_is_deterministic() -> None:
    one, two, other = SandboxWorld(seed=5), SandboxWorld(seed=5), SandboxWorld(seed=6)
    ids = seed_world(one, complaints=300)
    assert seed_world(two, complaints=300) == ids
    seed_world(other, complaints=300)
    assert [one.complaint(i) for i in ids] == [two.complaint(i) for i in ids]
    assert [one.complaint(i).content for i in ids] != [other.complaint(i).content for i in ids]
    one.advance(timedelta(days=20))
    two.advance(timedelta(days=20))
    assert [one.complaint(i) for i in ids] == [two.complaint(i) for i in ids]


def test_seed_histories_are_consistent() -> None:
    world = SandboxWorld(seed=2)
    ids = seed_world(world, complaints=800)
    now = world.now()
    statuses = set()
    for cid in ids:
        c = world.complaint(cid)
        statuses.add(c.status_code)
        times = [s.at for s in c.status_logs] + [f.created_at for f in c.followups]
        assert c.created_at <= min(times) and max(times) <= c.updated_at <= now
        assert c.status_logs[-1].code == c.status_code
        if c.status_code == "2" and c.closure_anchor is not None:
            due = world.closure_due(cid)
            assert due is not None and due > now  # anything due is already closed
    assert {"0", "1", "2", "3", "4", "6"} <= statuses
    authors = {f.author_type for i in ids for f in world.complaint(i).followups}
    assert authors == {"instansi", "pelapor"}
    assert any(world.complaint(i).reporter is not None and world.complaint(i).is_anonymous
               for i in ids)
    assert any(world.complaint(i).is_secret for i in ids)
    assert any(world.complaint(i).forwarded_by for i in ids)
    assert all(len(world.visible_ids(a)) > 50 for a in ("18", "1871", "1801"))


def test_seed_personal_data_is_realistic_and_listed() -> None:
    world = SandboxWorld(seed=3)
    seed_world(world, complaints=300)
    personal = world.personal_data()
    assert any(re.fullmatch(r"\d{16}", p) for p in personal)  # NIK-like
    assert any(re.fullmatch(r"08\d\d-\d{4}-\d{4}", p) for p in personal)
    assert any(p.startswith("+628") for p in personal)
    assert any(p.endswith("@example.id") for p in personal)
    contents = " ".join(world.complaint(i).content for i in world.complaint_ids())
    assert any(p in contents for p in personal if re.fullmatch(r"\d{16}", p))


def test_same_updated_at_ties() -> None:
    world = SandboxWorld(seed=4)
    seed_world(world, complaints=400, same_updated_at=150)
    stamps = [world.complaint(i).updated_at for i in world.complaint_ids()]
    most = max(set(stamps), key=stamps.count)
    assert stamps.count(most) >= 150


def test_seeding_5000_complaints() -> None:
    # Speed is measured by scripts/bench.py, not asserted here.
    world = SandboxWorld(seed=1)
    seed_world(world, complaints=5000)
    assert world.count() == 5000


def test_auto_simulation_runs_the_process() -> None:
    world = SandboxWorld(seed=9)
    world.configure(arrivals_per_working_day=20, auto_verify=True,
                    instansi_followup_probability=1.0, reply_probability=0.5)
    world.advance(timedelta(days=45))
    complaints = [world.complaint(i) for i in world.complaint_ids()]
    assert len(complaints) > 300
    statuses = {c.status_code for c in complaints}
    assert {"1", "2", "3"} <= statuses
    assert any(f.author_type == "pelapor" for c in complaints for f in c.followups)
    assert all(c.created_by is None for c in complaints)
    # verification within 1-3 working days of arrival
    cal = WorkingCalendar()
    for c in complaints:
        if c.status_code != "0":
            verified = c.status_logs[1].at
            assert verified <= cal.deadline(c.created_at, 3)


def test_auto_verify_routes_requested_disposition() -> None:
    world = SandboxWorld()
    world.configure(auto_verify=True)
    cid = new_complaint(world, created_by="18", disposition_id="18002")
    world.advance(timedelta(days=7))
    c = world.complaint(cid)
    assert (c.status_code, c.disposition_id) == ("1", "18002")


def test_reporter_shown_as_author_name_unless_anonymous() -> None:
    world = SandboxWorld()
    person = ReporterRecord("Siti Lestari", "0812-7000-1111", "siti@example.id")
    named = new_complaint(world, reporter=person)
    hidden = new_complaint(world, reporter=person, is_anonymous=True)
    for cid in (named, hidden):
        world.verify(cid, "18001")
        world.reply_as_reporter(cid, "Mohon dicek.")
    assert world.complaint(named).followups[-1].from_name == "Siti Lestari"
    assert world.complaint(hidden).followups[-1].from_name == "Pelapor"
    assert "0812-7000-1111" in world.personal_data()

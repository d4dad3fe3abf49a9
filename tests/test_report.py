"""The liaison report: figures, CSV, JSON and HTML files, privacy, atomic writes, the CLI.

Most tests use the hand-built store of ``test_report_support`` (known figures, see its
docstring); the privacy and cross-check tests also use a store built by the sandbox.
"""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
import threading
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from lapor_sync.cli import common
from lapor_sync.cli.common import CliState
from lapor_sync.cli.report_cmd import report_command
from lapor_sync.config import Settings
from lapor_sync.report.figures import WorkdayCounter, compute_figures
from lapor_sync.report.html import ReportError, generate_report
from lapor_sync.report.html import generate as generate_module
from lapor_sync.report.html.charts import nice_max
from lapor_sync.report.html.numbers import compact, decimal, number, percent
from lapor_sync.report.html.render import opd_file
from lapor_sync.report.period import Period, month_period, parse_period, period_weeks
from lapor_sync.sla.deadlines import DeadlineRules, DueDates, recompute_deadlines
from lapor_sync.sla.timeline import load_timelines
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB, to_db
from lapor_sync.working_days import WorkingCalendar
from tests.test_report_support import (
    NOW,
    PERSONAL,
    SCRIPT_TITLE,
    SECRET_TITLE,
    Page,
    SandboxReport,
    build_hand_store,
    hand_settings,
    rows_of,
    sandbox_report,
)

APRIL = month_period(2025, 4)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return hand_settings(tmp_path)


@pytest.fixture
def db(settings: Settings) -> sqlite_utils.Database:
    store = open_database(settings.store.path)
    build_hand_store(store)
    recompute_deadlines(store, settings, settings.calendar(), NOW)
    return store


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> SandboxReport:
    return sandbox_report(tmp_path_factory.mktemp("sandbox-report"))


def files_text(out: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir())}


# --- figures ---------------------------------------------------------------------------------


def test_figures_per_opd_for_a_month(db: sqlite_utils.Database, settings: Settings) -> None:
    figures = compute_figures(db, settings, NOW, APRIL)
    by_key = {f.key: f for f in figures.opds}
    assert [f.key for f in figures.opds] == [o.code for o in settings.opd]  # no "no OPD" row
    dinkes, bmbk, disdik = by_key["DINKES"], by_key["BMBK"], by_key["DISDIK"]
    assert (dinkes.received, dinkes.followup_on_time, dinkes.assessed) == (3, 2, 3)
    assert dinkes.followup_late == 1 and dinkes.on_time_pct == 66.7
    assert sorted(dinkes.days_to_followup) == [2, 5, 6] and dinkes.median_days == 5
    assert (dinkes.late, dinkes.open, dinkes.conflicts, dinkes.backlog_late) == (0, 2, 0, 0)

    assert (bmbk.received, bmbk.dispositioned, bmbk.followup_on_time, bmbk.assessed) == (3, 2, 1, 2)
    assert bmbk.followup_missed == 1 and bmbk.on_time_pct == 50.0
    assert bmbk.days_to_followup == [1]  # Sat 19 Apr after Thu 17 Apr, Good Friday between
    assert (bmbk.late, bmbk.open, bmbk.backlog_late) == (2, 2, 2)

    assert (disdik.received, disdik.dispositioned, disdik.assessed) == (3, 3, 1)
    assert disdik.followup_pending == 1 and disdik.on_time_pct == 100.0
    assert disdik.days_to_followup == [1]  # Thu 3 Apr (cuti bersama) counts as day 1
    assert (disdik.late, disdik.open, disdik.conflicts, disdik.backlog_late) == (0, 1, 1, 1)

    total = figures.total
    assert (total.received, total.followup_on_time, total.assessed) == (9, 4, 6)
    assert total.on_time_pct == 66.7 and total.median_days == 2
    assert (total.late, total.open, total.conflicts, total.backlog_late) == (2, 5, 1, 3)
    assert by_key["DLH"].received == 0 and by_key["DLH"].on_time_pct is None


def test_weeks_of_the_month_and_weekly_counts(
    db: sqlite_utils.Database, settings: Settings
) -> None:
    figures = compute_figures(db, settings, NOW, APRIL)
    assert [w.label for w in figures.weeks] == [
        "1–6 Apr",
        "7–13 Apr",
        "14–20 Apr",
        "21–27 Apr",
        "28–30 Apr",
    ]
    assert figures.opd("DINKES").weekly == [0, 1, 2, 0, 0]
    assert figures.opd("BMBK").weekly == [0, 0, 1, 2, 0]
    assert figures.opd("DISDIK").weekly == [1, 1, 0, 0, 1]
    assert figures.total.weekly == [1, 2, 3, 2, 1]


def test_period_all_counts_everything_and_charts_twelve_weeks(
    db: sqlite_utils.Database, settings: Settings
) -> None:
    figures = compute_figures(db, settings, NOW, parse_period("all", NOW))
    assert figures.total.received == 10  # T9 (March) too
    assert figures.opd("DISDIK").late == 1  # T9 is now in the cohort
    assert len(figures.weeks) == 12 and figures.weeks[-1].start == date(2025, 5, 5)
    assert figures.weeks[0].start == date(2025, 2, 17) and sum(figures.total.weekly) == 10


def test_one_opd_only(db: sqlite_utils.Database, settings: Settings) -> None:
    figures = compute_figures(db, settings, NOW, APRIL, opd="bmbk")
    assert [f.key for f in figures.opds] == ["BMBK"]
    assert figures.total.received == 3 and figures.total.name == "Jumlah"
    assert figures.filtered


def test_figures_agree_with_the_timelines(db: sqlite_utils.Database, settings: Settings) -> None:
    assert_agrees_with_timelines(db, settings, NOW, APRIL)


def test_figures_agree_with_the_timelines_on_a_sandbox_store(sandbox: SandboxReport) -> None:
    settings = sandbox.settings
    store = open_database(settings.store.path)
    try:
        now = sandbox.result.figures.generated_at
        assert_agrees_with_timelines(store, settings, now, parse_period("all", now))
    finally:
        store.close()


def assert_agrees_with_timelines(
    db: sqlite_utils.Database, settings: Settings, now: datetime, period: Period
) -> None:
    """The figures read from ``deadlines`` equal those derived from ``load_timelines``."""
    rules = DeadlineRules.from_settings(settings)
    calendar = settings.calendar()
    due = DueDates(rules, calendar)
    counts: Counter[tuple[str, str]] = Counter()
    days: dict[str, list[int]] = {}
    for tl in load_timelines(db, rules.state_for):
        if not period.contains_day(tl.submitted_at[:10]):
            continue
        key = (tl.opd_code or "").strip().upper() or "unassigned"
        counts[key, "received"] += 1
        if tl.dispositioned_at is None:
            continue
        first = next((t for t in tl.institution_followups if t >= tl.dispositioned_at), None)
        due_at = due.working(tl.dispositioned_at, rules.followup_days)
        if first is not None and (tl.closed_at is None or first < tl.closed_at):
            counts[key, "on_time" if first <= due_at else "late"] += 1
            done = date.fromisoformat(first[:10])
            began = date.fromisoformat(tl.dispositioned_at[:10])
            taken = 0 if done <= began else calendar.working_days_between(began, done)
            if done > began and not calendar.is_working_day(done):
                taken += 1
            days.setdefault(key, []).append(taken)
        elif tl.closed_at is not None:
            counts[key, "missed" if tl.closed_at > due_at else "ended"] += 1
        else:
            counts[key, "missed" if to_db(now) > due_at else "pending"] += 1
    figures = compute_figures(db, settings, now, period)
    assert figures.total.received == sum(v for (_, what), v in counts.items() if what == "received")
    for f in figures.opds:
        assert f.received == counts[f.key, "received"], f.key
        assert f.followup_on_time == counts[f.key, "on_time"], f.key
        assert f.followup_late == counts[f.key, "late"], f.key
        assert f.followup_missed == counts[f.key, "missed"], f.key
        assert f.followup_pending == counts[f.key, "pending"], f.key
        assert sorted(f.days_to_followup) == sorted(days.get(f.key, [])), f.key
        if f.days_to_followup:
            assert f.median_days == statistics.median(days[f.key])


def test_on_time_is_exactly_days_taken_within_the_limit() -> None:
    """``days_taken`` ≤ N ⇔ the follow-up came by the deadline of N working days."""
    calendar = WorkingCalendar()
    counter = WorkdayCounter(calendar, date(2025, 3, 1), date(2025, 5, 31))
    for start_day in range(1, 40):
        start = date(2025, 3, 1).toordinal() + start_day
        for offset in range(0, 25):
            begin, done = date.fromordinal(start), date.fromordinal(start + offset)
            taken = counter.days_taken(begin, done)
            for n in (1, 5):
                deadline = calendar.add_working_days(begin, n)
                assert (taken <= n) == (done <= deadline), (begin, done, n)
            assert counter.between(begin, done) == calendar.working_days_between(begin, done)


def test_workday_counter_grows_both_ways() -> None:
    calendar = WorkingCalendar()
    counter = WorkdayCounter(calendar, date(2025, 4, 10), date(2025, 4, 11))
    assert counter.between(date(2025, 3, 27), date(2025, 4, 14)) == calendar.working_days_between(
        date(2025, 3, 27), date(2025, 4, 14)
    )
    assert counter.between(date(2025, 12, 20), date(2026, 1, 5)) == calendar.working_days_between(
        date(2025, 12, 20), date(2026, 1, 5)
    )


# --- periods, numbers, charts --------------------------------------------------------------------


def test_periods() -> None:
    now = datetime(2026, 11, 30, 23, 30, tzinfo=WIB)
    assert parse_period(None, now) == month_period(2026, 11)
    assert parse_period("2026-02", now).end == date(2026, 3, 1)
    assert parse_period("2026-12", now).end == date(2027, 1, 1)
    assert parse_period("ALL", now).is_all and parse_period("all", now).label == "Semua periode"
    assert month_period(2026, 11).label == "November 2026"
    for bad in ("2026-13", "26-11", "November", "2026/11", "2026-1-1"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            parse_period(bad, now)
    # a month in progress ends today; weeks still to come are left out
    weeks = period_weeks(month_period(2026, 11), datetime(2026, 11, 11, 9, tzinfo=WIB))
    assert [w.label for w in weeks] == ["1 Nov", "2–8 Nov", "9–11 Nov"]


def test_indonesian_numbers() -> None:
    assert number(1234567) == "1.234.567"
    assert decimal(83.333) == "83,3" and decimal(100.0) == "100,0" and decimal(1234.5) == "1.234,5"
    assert compact(3.0) == "3" and compact(2.5) == "2,5" and compact(None) == "–"
    assert percent(66.7) == "66,7%" and percent(None) == "–"


def test_chart_axis_maximum_is_round() -> None:
    assert [nice_max(v) for v in (0, 1, 3, 7, 11, 35, 43, 99, 260)] == [
        1, 1, 3, 8, 15, 40, 50, 100, 300,
    ]  # fmt: skip


def test_opd_file_names_are_safe() -> None:
    assert opd_file("DINKES") == "opd-DINKES.html"
    assert opd_file("unassigned") == "opd-unassigned.html"
    odd = opd_file("../etc/passwd")
    assert odd.startswith("opd-x") and "/" not in odd and ".." not in odd


# --- the files -----------------------------------------------------------------------------


def test_generate_writes_every_file(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "laporan"
    result = generate_report((db, settings), out, period="2025-04", now=NOW)
    names = sorted(p.name for p in out.iterdir())
    expected = ["index.html", "laporan.csv", "laporan.json"]
    expected += [f"opd-{o.code}.html" for o in settings.opd]
    assert names == sorted(expected)
    assert sorted(p.name for p in result.files) == names
    assert result.figures.total.received == 9
    assert result.out_dir == out and result.duration_s < 5


def test_csv_opens_in_excel_with_indonesian_settings(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    generate_report((db, settings), tmp_path / "r", period="2025-04", now=NOW)
    raw = (tmp_path / "r" / "laporan.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    by_code = {r["Kode OPD"]: r for r in rows}
    assert list(by_code) == [o.code for o in settings.opd] + ["JUMLAH"]
    dinkes = by_code["DINKES"]
    assert dinkes["Nama OPD"] == "Dinas Kesehatan" and dinkes["Periode"] == "2025-04"
    assert dinkes["Diterima"] == "3" and dinkes["Ditindaklanjuti dalam 5 hari kerja"] == "2"
    assert dinkes["% dalam 5 hari kerja"] == "66,7"
    assert dinkes["Median hari kerja ke tindak lanjut pertama"] == "5"
    assert by_code["BMBK"]["% dalam 5 hari kerja"] == "50,0"
    assert by_code["BMBK"]["Terlambat (laporan periode ini)"] == "2"
    assert by_code["DISDIK"]["Konflik menunggu"] == "1"
    assert by_code["DLH"]["% dalam 5 hari kerja"] == ""  # nothing to judge: empty, not 0
    total = by_code["JUMLAH"]
    assert (total["Diterima"], total["% dalam 5 hari kerja"]) == ("9", "66,7")
    assert total["Median hari kerja ke tindak lanjut pertama"] == "2"
    assert total["Terlambat (semua periode)"] == "3"


def test_json_has_the_same_figures(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    generate_report((db, settings), tmp_path / "r", period="2025-04", now=NOW)
    document = json.loads((tmp_path / "r" / "laporan.json").read_text(encoding="utf-8"))
    assert document["period"] == {
        "code": "2025-04",
        "label": "April 2025",
        "start": "2025-04-01",
        "end": "2025-04-30",
    }
    assert document["generated_at"] == "2025-05-06T09:00:00+07:00"
    assert document["followup_days"] == 5 and len(document["weeks"]) == 5
    bmbk = next(o for o in document["opd"] if o["opd_code"] == "BMBK")
    assert bmbk["followup_on_time_pct"] == 50.0 and bmbk["late"] == 2
    assert bmbk["median_working_days_to_first_followup"] == 1.0
    dlh = next(o for o in document["opd"] if o["opd_code"] == "DLH")
    assert (
        dlh["followup_on_time_pct"] is None and dlh["median_working_days_to_first_followup"] is None
    )
    assert document["total"]["received"] == 9 and document["total"]["followup_on_time_pct"] == 66.7


def test_html_pages_show_figures_lists_and_labels(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    generate_report((db, settings), tmp_path / "r", period="2025-04", now=NOW)
    index = Page((tmp_path / "r" / "index.html").read_text(encoding="utf-8"))
    assert "Laporan Pengaduan per OPD" in index.text and "Periode: April 2025" in index.text
    table = {row[0]: row for row in rows_of(index, "figures")}
    assert "Dinas Kesehatan DINKES" in table
    assert table["Dinas Kesehatan DINKES"][1:] == ["3", "66,7% 2 dari 3", "0", "2", "5", "0", "0"]
    assert table["Dinas Bina Marga dan Bina Konstruksi BMBK"][3] == "2"
    assert "Provinsi (semua OPD)" in index.text
    assert len(index.find("svg")) == 2 and len(index.find("figure", **{"class": "chart"})) == 2

    bmbk = Page((tmp_path / "r" / "opd-BMBK.html").read_text(encoding="utf-8"))
    assert "Untuk: Penghubung Dinas Bina Marga dan Bina Konstruksi" in bmbk.text
    work = list(rows_of(bmbk, "worklist"))
    assert work == [  # most late first
        ["terlambat 4 hari kerja", "TRK504", "LPG-2025-000004", SCRIPT_TITLE,
         "Tindak lanjut OPD", "Selasa, 29 April 2025"],
        ["terlambat 3 hari kerja", "(belum ada)", "LPG-2025-000006",
         "Lampu jalan mati, hubungi [TELEPON]", "Verifikasi SP4N-LAPOR!", "Rabu, 30 April 2025"],
    ]  # fmt: skip
    events = list(rows_of(bmbk, "events"))
    assert len(events) == 1 and events[0][3] == "Terlambat: Tindak lanjut OPD"  # April only

    disdik = Page((tmp_path / "r" / "opd-DISDIK.html").read_text(encoding="utf-8"))
    work = list(rows_of(disdik, "worklist"))
    assert [row[0] for row in work] == ["terlambat 26 hari kerja", "jatuh tempo dalam 1 hari kerja"]
    conflicts = list(rows_of(disdik, "conflicts"))
    assert conflicts[0][1:6] == [
        "LPG-2025-000008", "TRK507", "status berubah di kedua sisi", "Ditunda", "Selesai",
    ]  # fmt: skip


def test_a_script_title_is_escaped_everywhere(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    generate_report((db, settings), tmp_path / "r", period="2025-04", now=NOW)
    texts = files_text(tmp_path / "r")
    for name, text in texts.items():
        assert "<script" not in text.lower(), name
    page = texts["opd-BMBK.html"]
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Jalan berlubang &amp; licin" in page
    assert SCRIPT_TITLE in Page(page).text


def test_no_personal_data_and_no_secret_title_in_any_file(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    generate_report((db, settings), tmp_path / "r", period="2025-04", now=NOW)
    generate_report((db, settings), tmp_path / "all", period="all", now=NOW)
    for out in (tmp_path / "r", tmp_path / "all"):
        for name, text in files_text(out).items():
            for value in (*PERSONAL, SECRET_TITLE, "Isi pengaduan", "0812-3456-7890"):
                assert value not in text, (name, value)


def test_sandbox_report_holds_no_personal_data(sandbox: SandboxReport) -> None:
    assert sandbox.personal
    for path in sandbox.result.files:
        text = path.read_text(encoding="utf-8")
        leaked = [value for value in sandbox.personal if value in text]
        assert not leaked, (path.name, leaked[:3])


def test_sandbox_report_hides_every_rahasia_title(sandbox: SandboxReport) -> None:
    shown = 0
    for path in sandbox.result.files:
        if not path.name.startswith("opd-"):
            continue
        page = Page(path.read_text(encoding="utf-8"))
        for row in rows_of(page, "worklist") if page.find("table", **{"class": "worklist"}) else []:
            if row[2] in sandbox.secret_refs:
                assert row[3] == "(rahasia)", row
                shown += 1
    assert shown >= 1


def test_reads_a_fixed_number_of_statements(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        generate_report((db, settings), tmp_path / "r", period="2025-04", now=NOW)
    finally:
        db.conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # figures 4, work list 2, conflicts 1, events one per OPD page (9 here)
    assert len(selects) <= 8 + len(settings.opd) + 1


# --- atomic publication ---------------------------------------------------------------------------


def test_a_new_report_replaces_the_old_one_as_a_whole(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "report"
    generate_report((db, settings), out, period="2025-04", now=NOW)
    (out / "opd-GONE.html").write_text("an OPD removed from the configuration", "utf-8")
    generate_report((db, settings), out, period="2025-03", now=NOW)
    assert not (out / "opd-GONE.html").exists()
    assert "Maret 2025" in (out / "index.html").read_text(encoding="utf-8")
    # no temporary folder left; the replaced report is kept until the next run
    assert sorted(p.name for p in out.parent.iterdir()) == [".report.previous", "report"]
    assert oct(out.stat().st_mode & 0o777) == "0o700"  # owner-only, like every file it writes


def test_readers_never_see_a_partial_report(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    """Readers looking while reports are replaced see whole files, never a missing one.

    The replaced report is kept until the next run, so a reader is promised whole files
    when its look lasts less than one run to the next (the daemon's runs are minutes
    apart). Six runs back to back on a loaded machine could outlast a preempted reader's
    one look, so each run here waits until every reader has completed a look that began
    after the run before it: the promise, tested without depending on the scheduler.
    """
    out = tmp_path / "out" / "report"
    generate_report((db, settings), out, period="2025-04", now=NOW)
    expected = {p.name for p in out.iterdir()}
    stop = threading.Event()
    problems: list[str] = []
    reads = Counter[str]()
    looked = threading.Condition()
    looks = Counter[str]()  # completed looks per reader

    def finished(reader: str) -> None:
        with looked:
            looks[reader] += 1
            looked.notify_all()

    def list_folder() -> None:
        while not stop.is_set():
            names = set(os.listdir(out))
            if names != expected:
                problems.append(f"listing: {sorted(expected ^ names)}")
            reads["list"] += 1
            finished("list")

    def read_files() -> None:
        while not stop.is_set():
            for name in ("index.html", "opd-DINKES.html", "laporan.json"):
                try:
                    text = (out / name).read_text(encoding="utf-8")
                except FileNotFoundError:
                    problems.append(f"missing: {name}")
                    continue
                if name.endswith(".json"):
                    json.loads(text)
                elif not text.rstrip().endswith("</html>"):
                    problems.append(f"partial: {name}")
                reads["file"] += 1
            finished("file")

    def wait_for_fresh_looks() -> None:
        # Two more completions each: the second began after this call, so after the run.
        with looked:
            marks = dict(looks)
            assert looked.wait_for(
                lambda: all(looks[r] >= marks.get(r, 0) + 2 for r in ("list", "file")),
                timeout=60,
            ), "a reader stopped looking"

    readers = [threading.Thread(target=list_folder), threading.Thread(target=read_files)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(6):
            wait_for_fresh_looks()
            generate_report((db, settings), out, period="2025-04", now=NOW)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert reads["list"] and reads["file"]
    assert not problems, problems[:5]
    # the replaced report waits beside the new one until the next run
    assert sorted(p.name for p in out.parent.iterdir()) == [".report.previous", "report"]


def test_fallback_swap_without_renameat2(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate_module, "_exchange", lambda a, b: False)
    out = tmp_path / "out" / "report"
    generate_report((db, settings), out, period="2025-04", now=NOW)
    generate_report((db, settings), out, period="2025-03", now=NOW)
    assert "Maret 2025" in (out / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in out.parent.iterdir()) == [".report.previous", "report"]
    assert "April 2025" in (out.parent / ".report.previous" / "index.html").read_text("utf-8")


def test_a_symlinked_out_dir_keeps_its_link(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "report"
    link.symlink_to(real)
    generate_report((db, settings), link, period="2025-04", now=NOW)
    assert link.is_symlink() and (real / "index.html").exists()


def test_a_folder_holding_something_else_is_never_replaced(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ReportError, match="not empty and holds no lapor-sync report"):
        generate_report((db, settings), home, period="2025-04", now=NOW)
    assert [p.name for p in home.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".home")] == []
    empty = tmp_path / "empty"
    empty.mkdir()
    generate_report((db, settings), empty, period="2025-04", now=NOW)
    assert (empty / "index.html").exists()


def test_an_unwritable_folder_is_a_clear_error(
    db: sqlite_utils.Database, settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ReportError, match="cannot write the report"):
        generate_report((db, settings), blocker / "report", period="2025-04", now=NOW)


# --- the command ---------------------------------------------------------------------------------


@pytest.fixture
def run_cli(
    settings: Settings, db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    from lapor_sync.app import open_app

    def app_at_now(self: CliState, *, existing: bool = False):  # type: ignore[no-untyped-def]
        from contextlib import contextmanager

        @contextmanager
        def opened():  # type: ignore[no-untyped-def]
            app = open_app(settings, clock=lambda: NOW)
            try:
                yield app
            finally:
                app.close()

        return opened()

    monkeypatch.setattr(common.CliState, "settings", lambda self: settings)
    monkeypatch.setattr(common.CliState, "app", app_at_now)
    return CliRunner()


def test_cli_writes_the_report(run_cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "cli-report"
    state = CliState(None, None, None)
    result = run_cli.invoke(report_command, ["--out", str(out), "--period", "2025-04"], obj=state)
    assert result.exit_code == 0, result.output
    assert "Report for April 2025 written to" in result.output
    assert "8 OPD page(s)" in result.output
    assert (out / "index.html").exists() and (out / "laporan.csv").exists()


def test_cli_one_opd_and_default_folder(
    run_cli: CliRunner, settings: Settings, tmp_path: Path
) -> None:
    state = CliState(None, None, None)
    result = run_cli.invoke(report_command, ["--opd", "dinkes", "--period", "all"], obj=state)
    assert result.exit_code == 0, result.output
    out = Path(settings.report.out_dir)
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html", "laporan.csv", "laporan.json", "opd-DINKES.html",
    ]  # fmt: skip


def test_cli_rejects_an_unknown_opd_and_a_bad_period(run_cli: CliRunner, tmp_path: Path) -> None:
    state = CliState(None, None, None)
    result = run_cli.invoke(report_command, ["--opd", "NOPE", "--out", str(tmp_path)], obj=state)
    assert result.exit_code == 2 and "OPD 'NOPE' tidak dikenal" in result.output
    result = run_cli.invoke(report_command, ["--period", "11-2026"], obj=state)
    assert result.exit_code == 2 and "YYYY-MM" in result.output

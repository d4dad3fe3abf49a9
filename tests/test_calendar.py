"""The working-day calendar and the counting convention of docs/deadlines.md.

Day 1 is the first working day strictly after the WIB date of the start; a deadline of N
working days ends at 23:59:59 WIB of day N. Holidays and cuti bersama come from the
``holidays`` package (SKB 3 Menteri); the configuration adds or removes days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lapor_sync.timeutil import WIB
from lapor_sync.working_days import WorkingCalendar

CAL = WorkingCalendar()


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=WIB)


# --- the two worked examples of docs/deadlines.md --------------------------------------------


def test_domain_example_nyepi_and_idul_fitri_2025() -> None:
    # Fri 28 Mar 2025 is cuti bersama Nyepi; 29 Mar–7 Apr are weekend, Nyepi, Idul Fitri
    # and cuti bersama, so day 1 is Tue 8 Apr and day 5 Mon 14 Apr.
    assert CAL.next_working_day(date(2025, 3, 28)) == date(2025, 4, 8)
    assert CAL.deadline(at(2025, 3, 28, 14, 5), 5) == end_of(2025, 4, 14)


def test_domain_example_christmas_and_new_year_2025() -> None:
    # 25 and 26 Dec are Christmas and cuti bersama, 1 Jan is New Year.
    assert CAL.deadline(at(2025, 12, 23), 5) == end_of(2026, 1, 2)
    assert CAL.deadline(at(2025, 12, 23), 5).weekday() == 4  # Friday


def test_the_time_of_day_does_not_matter() -> None:
    assert CAL.deadline(at(2025, 3, 28, 0, 0), 5) == CAL.deadline(at(2025, 3, 28, 23, 59), 5)


def test_the_start_date_is_taken_in_wib() -> None:
    # 27 Mar 2025 20:00 UTC is already 28 Mar 03:00 in Lampung.
    started = datetime(2025, 3, 27, 20, 0, tzinfo=UTC)
    assert CAL.deadline(started, 5) == end_of(2025, 4, 14)
    # 8 Apr 2025 20:00 UTC is 9 Apr in WIB: day 1 is 10 Apr, not 9 Apr.
    assert CAL.deadline(datetime(2025, 4, 8, 20, 0, tzinfo=UTC), 1) == end_of(2025, 4, 10)


def test_deadline_is_end_of_day_in_wib() -> None:
    due = CAL.deadline(at(2025, 3, 28), 5)
    assert due.tzinfo is not None
    assert due.utcoffset() == WIB.utcoffset(due)
    assert (due.hour, due.minute, due.second) == (23, 59, 59)
    assert due.astimezone(UTC) == datetime(2025, 4, 14, 16, 59, 59, tzinfo=UTC)


# --- 2026 and 2027 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 3, 18),  # cuti bersama Nyepi
        date(2026, 3, 19),  # Nyepi
        date(2026, 3, 20),  # cuti bersama Idul Fitri
        date(2026, 3, 23),  # cuti bersama Idul Fitri
        date(2026, 3, 24),  # cuti bersama Idul Fitri
        date(2026, 12, 24),  # cuti bersama Natal
        date(2026, 12, 25),  # Natal
        date(2027, 1, 1),  # Tahun Baru
    ],
)
def test_holidays_and_cuti_bersama_are_not_working_days(day: date) -> None:
    assert not CAL.is_working_day(day)
    assert CAL.holiday_name(day)


def test_holiday_names_are_indonesian() -> None:
    assert "Nyepi" in (CAL.holiday_name(date(2026, 3, 19)) or "")
    assert "Idul Fitri" in (CAL.holiday_name(date(2026, 3, 23)) or "")
    assert CAL.holiday_name(date(2026, 3, 25)) is None


def test_across_nyepi_and_idul_fitri_2026() -> None:
    # Tue 17 Mar 2026: 18–24 Mar are Nyepi, Idul Fitri, weekend and cuti bersama.
    assert CAL.deadline(at(2026, 3, 17), 1) == end_of(2026, 3, 25)
    assert CAL.deadline(at(2026, 3, 17), 3) == end_of(2026, 3, 27)
    # 5 working days from Tue 17 Mar: 25, 26, 27, 30, 31 Mar.
    assert CAL.deadline(at(2026, 3, 17), 5) == end_of(2026, 3, 31)
    # The follow-up clock of a disposition on Mon 16 Mar 2026: 17, 25, 26, 27, 30 Mar.
    assert CAL.deadline(at(2026, 3, 16), 5) == end_of(2026, 3, 30)


def test_across_christmas_and_new_year_2026_to_2027() -> None:
    # Wed 23 Dec 2026: 24 (cuti bersama), 25 (Natal), weekend, 28–31 Dec, 1 Jan (Tahun
    # Baru), weekend: day 5 is Mon 4 Jan 2027.
    assert CAL.deadline(at(2026, 12, 23), 5) == end_of(2027, 1, 4)
    assert CAL.deadline(at(2026, 12, 23), 4) == end_of(2026, 12, 31)


def test_start_on_a_weekend() -> None:
    # Sat 12 Apr 2025: day 1 is Mon 14 Apr.
    assert CAL.deadline(at(2025, 4, 12), 1) == end_of(2025, 4, 14)
    assert CAL.deadline(at(2025, 4, 13), 5) == end_of(2025, 4, 21)  # Good Friday 18 Apr


def test_start_on_a_holiday() -> None:
    # Mon 31 Mar 2025 is Idul Fitri: day 1 is Tue 8 Apr, as for any start in the break.
    assert CAL.deadline(at(2025, 3, 31), 1) == end_of(2025, 4, 8)
    assert CAL.deadline(at(2025, 3, 31), 5) == end_of(2025, 4, 14)


def test_zero_days_ends_on_the_start_date() -> None:
    assert CAL.deadline(at(2025, 4, 9), 0) == end_of(2025, 4, 9)


# --- overrides --------------------------------------------------------------------------------


def test_an_extra_holiday_moves_the_due_date_later() -> None:
    regional = WorkingCalendar(extra_holidays=[date(2025, 4, 10)])
    assert not regional.is_working_day(date(2025, 4, 10))
    assert regional.holiday_name(date(2025, 4, 10)) == "Libur daerah / tambahan"
    assert regional.deadline(at(2025, 3, 28), 5) == end_of(2025, 4, 15)


def test_an_extra_working_saturday_moves_the_due_date_earlier() -> None:
    decree = WorkingCalendar(extra_working_days=[date(2025, 4, 12)])
    assert decree.is_working_day(date(2025, 4, 12))
    # 8, 9, 10, 11 Apr and the working Saturday 12 Apr.
    assert decree.deadline(at(2025, 3, 28), 5) == end_of(2025, 4, 12)


def test_an_extra_working_day_can_cancel_a_national_holiday() -> None:
    decree = WorkingCalendar(extra_working_days=[date(2025, 4, 7)])  # cuti bersama
    assert decree.holiday_name(date(2025, 4, 7)) is None
    assert decree.next_working_day(date(2025, 3, 28)) == date(2025, 4, 7)


def test_overrides_change_the_fingerprint() -> None:
    plain = WorkingCalendar()
    assert plain.fingerprint == WorkingCalendar().fingerprint
    assert WorkingCalendar(extra_holidays=[date(2025, 4, 10)]).fingerprint != plain.fingerprint
    assert WorkingCalendar(extra_working_days=[date(2025, 4, 12)]).fingerprint != plain.fingerprint


def test_remembered_due_dates_follow_each_calendars_overrides() -> None:
    # Results are remembered per calendar value: asking the plain calendar first must not
    # hand its answer to calendars with other overrides, in either order.
    start = date(2025, 3, 28)
    assert CAL.add_working_days(start, 5) == date(2025, 4, 14)
    assert WorkingCalendar(extra_holidays=[date(2025, 4, 10)]).add_working_days(
        start, 5
    ) == date(2025, 4, 15)
    assert WorkingCalendar(extra_working_days=[date(2025, 4, 12)]).add_working_days(
        start, 5
    ) == date(2025, 4, 12)
    assert WorkingCalendar().add_working_days(start, 5) == date(2025, 4, 14)
    assert WorkingCalendar() == CAL != WorkingCalendar(extra_holidays=[date(2025, 4, 10)])


def test_a_date_cannot_be_both_holiday_and_working_day() -> None:
    with pytest.raises(ValueError, match="2025-04-10"):
        WorkingCalendar(extra_holidays=[date(2025, 4, 10)], extra_working_days=[date(2025, 4, 10)])


# --- calendar days and counting ---------------------------------------------------------------


def test_calendar_day_deadline_counts_every_day() -> None:
    # Settlement in calendar days: day 1 is the day after the start, holidays count.
    assert CAL.calendar_deadline(at(2025, 3, 28), 60) == end_of(2025, 5, 27)
    assert CAL.calendar_deadline(at(2025, 12, 23), 10) == end_of(2026, 1, 2)


def test_sixty_working_days() -> None:
    # From Fri 28 Mar 2025: 60 working days, skipping Idul Fitri, Good Friday, May Day,
    # Waisak, Ascension and their cuti bersama.
    due = CAL.deadline(at(2025, 3, 28), 60)
    assert CAL.working_days_between(date(2025, 3, 28), due.date()) == 60
    assert CAL.is_working_day(due.date())


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2025, 3, 28), date(2025, 4, 14)) == 5
    assert CAL.working_days_between(date(2025, 3, 28), date(2025, 4, 7)) == 0
    assert CAL.working_days_between(date(2025, 4, 14), date(2025, 4, 14)) == 0
    assert CAL.working_days_between(date(2025, 4, 14), date(2025, 3, 28)) == -5
    assert CAL.working_days_between(date(2025, 12, 23), date(2026, 1, 2)) == 5
    # A weekend after a Friday adds nothing.
    assert CAL.working_days_between(date(2025, 4, 11), date(2025, 4, 13)) == 0


def _walked(calendar: WorkingCalendar, start: date, end: date) -> int:
    """The definition, day by day: working days in (start, end]."""
    if end < start:
        return -_walked(calendar, end, start)
    return sum(
        calendar.is_working_day(date.fromordinal(n))
        for n in range(start.toordinal() + 1, end.toordinal() + 1)
    )


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2023, 1, 1), max_value=date(2028, 12, 31)),
    span=st.integers(min_value=-800, max_value=800),
    holidays=st.sets(
        st.dates(min_value=date(2023, 1, 1), max_value=date(2028, 12, 31)), max_size=6
    ),
    working=st.sets(st.dates(min_value=date(2023, 1, 1), max_value=date(2028, 12, 31)), max_size=6),
)
def test_working_days_between_equals_the_day_by_day_count(
    start: date, span: int, holidays: set[date], working: set[date]
) -> None:
    """The arithmetic count agrees with walking the days, overrides on weekdays and weekends."""
    calendar = WorkingCalendar(extra_holidays=holidays - working, extra_working_days=working)
    end = date.fromordinal(start.toordinal() + span)
    assert calendar.working_days_between(start, end) == _walked(calendar, start, end)


def test_working_days_between_across_a_moved_day_and_a_regional_holiday() -> None:
    # (Mon 14 April 2025, Mon 21 April]: Tue, Wed, Thu, Good Friday (national), Mon = 4.
    # Making Wednesday a regional holiday and Saturday the 19th a working day keeps 4.
    calendar = WorkingCalendar(
        extra_holidays=[date(2025, 4, 16)], extra_working_days=[date(2025, 4, 19)]
    )
    assert CAL.working_days_between(date(2025, 4, 14), date(2025, 4, 21)) == 4
    assert calendar.working_days_between(date(2025, 4, 14), date(2025, 4, 21)) == 4
    assert calendar.working_days_between(date(2025, 4, 18), date(2025, 4, 20)) == 1  # Sat

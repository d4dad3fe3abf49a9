"""Indonesian words the liaison-facing texts share: dates and the "no OPD" labels."""

from __future__ import annotations

from datetime import date

DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")

NO_OPD_NAME = "Belum didisposisikan ke OPD terdaftar"
NO_OPD_LIAISON = "Admin SP4N-LAPOR! instansi"


def indonesian_date(day: date) -> str:
    """``Senin, 14 April 2025``."""
    return f"{DAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"

"""THE glossary: every Indonesian word and phrase that liaison-facing output shares.

Liaisons (OPD penghubung) and Call Center operators read Bahasa Indonesia; every text
written for them — the CLI's ``log``, ``overdue``, ``conflicts``, ``local …``, the HTML/CSV
report, the portal and notifications — takes its names from here, so one thing has one
name everywhere. Admin output (logs, ``status``, ``outbox``, ``check-config``) may stay
English and does not need this module.

Invariants:

- one Indonesian name per internal value: every :class:`~lapor_sync.domain.ComplaintState`,
  deadline stage, outbox kind and state, conflict kind and channel has exactly one label,
  and no two values of one kind share a label (``tests/test_glossary.py`` checks both);
- a raw internal name (``in_progress``, ``create_complaint``, ``pending``) never reaches a
  liaison: the ``*_label`` functions turn an unknown value into a labelled Indonesian
  phrase that quotes it, never into the bare value;
- no personal data: the module holds words only, and its functions format identifiers,
  dates and counts — never a name, a phone number or complaint text;
- pure: no I/O, no configuration; only the standard library, ``lapor_sync.domain`` and
  ``lapor_sync.redact``.

API (stable; other modules import these names):

- dates: :data:`DAYS`, :data:`MONTHS`, :data:`SHORT_MONTHS`, :func:`indonesian_date`,
  :func:`indonesian_datetime`;
- states: :data:`STATE_LABELS`, :func:`state_label`;
- deadlines: :data:`STAGE_LABELS`, :func:`stage_label`, :data:`LATE`, :data:`NEAR_DUE`,
  :data:`LATE_DEFINITION`, :func:`lateness_text`, :func:`late_count_text`;
- the outbox: :data:`OUTBOX_KIND_LABELS`, :func:`outbox_kind_label`,
  :data:`OUTBOX_STATE_LABELS`, :func:`outbox_state_label`;
- conflicts: :data:`CONFLICT_LABELS`, :func:`conflict_label`, :data:`DECISION_LABELS`;
- channels and origins: :data:`CHANNEL_LABELS`, :func:`channel_label`,
  :data:`ORIGIN_LABELS`, :func:`origin_label`;
- OPDs: :data:`NO_OPD_NAME`, :data:`NO_OPD_LIAISON`, :func:`unknown_opd_text`;
- titles and misc: :data:`SECRET_TITLE`, :func:`shown_title`, :func:`yes_no`, :func:`csv_line`;
- the portal: :data:`ROLE_LABELS`, :data:`SHOWN_LABELS`, :data:`PASSWORD_TEXTS`,
  :data:`MENU_LABELS`, :data:`TILE_FILTER_TEXTS`,
  :data:`ATTACHMENT_TEXTS`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from lapor_sync.domain import ComplaintState
from lapor_sync.redact import redact_text
from lapor_sync.timeutil import from_db

_WIB = ZoneInfo("Asia/Jakarta")

# --- dates ------------------------------------------------------------------------------------

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


def indonesian_date(day: date) -> str:
    """``Senin, 14 April 2025``."""
    return f"{DAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


def indonesian_datetime(value: datetime) -> str:
    """``Kamis, 17 April 2025 pukul 09.00 WIB`` (the instant shown in WIB)."""
    local = value.astimezone(_WIB)
    return f"{indonesian_date(local.date())} pukul {local.hour:02d}.{local.minute:02d} WIB"


# A stamp exactly as ``timeutil.to_db`` writes it, in WIB (+07:00, Asia/Jakarta's only
# offset since 1964): its WIB wall time is its own text, no zone conversion needed.
_WIB_STAMP = re.compile(r"(19[7-9]\d|2\d{3})-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d\+07:00")


@functools.lru_cache(maxsize=4096)
def _stored_date_text(day: str) -> str:
    """``indonesian_date`` of ``YYYY-MM-DD`` (ValueError if no such day). Cached: a page's
    stamps share a few days (a list's 50 rows, a complaint's history)."""
    return indonesian_date(date.fromisoformat(day))


def stored_datetime_text(value: str | None) -> str:
    """A stamp as the store keeps it, shown as :func:`indonesian_datetime`; ``-`` for none.

    A value that does not parse (another program wrote it) is shown as it is, never an error.
    The same text as ``indonesian_datetime(from_db(value))`` for every value (a test holds
    them equal); the store's own format is read without parsing a datetime (a list page
    shows 50 of them: this was a third of building its cards).
    """
    if not value:
        return "-"
    text = str(value)
    if _WIB_STAMP.fullmatch(text):
        try:
            return f"{_stored_date_text(text[:10])} pukul {text[11:13]}.{text[14:16]} WIB"
        except ValueError:
            return text  # 2026-02-30: as from_db, not a day
    try:
        return indonesian_datetime(from_db(text))
    except ValueError:
        return text


# --- complaint states -------------------------------------------------------------------------

STATE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        ComplaintState.RECEIVED: "Diterima (belum di SP4N-LAPOR!)",
        ComplaintState.AWAITING_VERIFICATION: "Menunggu verifikasi",
        ComplaintState.DISPOSITIONED: "Terdisposisi",
        ComplaintState.IN_PROGRESS: "Sedang diproses",
        ComplaintState.ANSWERED: "Sudah ditindaklanjuti",
        ComplaintState.CLOSED: "Selesai",
        ComplaintState.ARCHIVED: "Diarsipkan",
        ComplaintState.FORWARDED: "Diteruskan ke instansi lain",
        ComplaintState.POSTPONED: "Ditunda",
    }
)


def _label(labels: Mapping[str, str], value: str | None, what: str) -> str:
    """``labels[value]``; ``-`` for no value; a value not in ``labels`` (another program
    wrote it into the register) quoted under "<what> tidak dikenal", never shown bare."""
    if not value:
        return "-"
    return labels.get(value) or f"{what} tidak dikenal ({value!r})"


def state_label(value: str | None) -> str:
    """The one Indonesian name of an internal state; ``-`` for none.

    A value that is not a state (another program wrote it into the register) is quoted
    under an Indonesian phrase instead of being shown bare.
    """
    return _label(STATE_LABELS, value, "status")


# --- deadlines --------------------------------------------------------------------------------

STAGE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "verification": "Verifikasi SP4N-LAPOR!",
        "followup": "Tindak lanjut OPD",
        "reply": "Tanggapan atas balasan pelapor",
        "closure": "Penutupan",
        "settlement": "Penyelesaian",
    }
)


def stage_label(stage: str, settlement_days: int | None = 60) -> str:
    """The Indonesian name of a deadline stage; settlement carries its length in days."""
    label = STAGE_LABELS.get(stage)
    if label is None:
        return f"tahap tidak dikenal ({stage!r})"
    if stage == "settlement" and settlement_days is not None:
        return f"{label} ({settlement_days} hari)"
    return label


LATE = "terlambat"
"""The one word for a complaint with at least one stage past its deadline."""
NEAR_DUE = "mendekati batas waktu"
"""The one phrase for a complaint with no late stage but one due within near_due_days."""
LATE_DEFINITION = (
    "Terlambat: laporan yang masih terbuka dengan sedikitnya satu tahap yang melewati batas "
    "waktunya (hari kerja, berakhir pukul 23.59 WIB). Satu laporan dihitung satu kali, "
    "berapa pun tahapnya yang terlambat."
)
"""The definition of "late" shown under every late figure (docs/deadlines.md says the same)."""


def lateness_text(days_late: int) -> str:
    """``terlambat 3 hari kerja``, ``jatuh tempo hari ini``, ``jatuh tempo dalam 2 hari kerja``."""
    if days_late > 0:
        return f"{LATE} {days_late} hari kerja"
    if days_late == 0:
        return "jatuh tempo hari ini"
    return f"jatuh tempo dalam {-days_late} hari kerja"


def late_count_text(late: int, near_due: int) -> str:
    """``3 laporan terlambat, 2 laporan mendekati batas waktu`` (complaints, not stages)."""
    parts = []
    if late:
        parts.append(f"{late} laporan {LATE}")
    if near_due:
        parts.append(f"{near_due} laporan {NEAR_DUE}")
    return ", ".join(parts) if parts else f"tidak ada laporan {LATE} atau {NEAR_DUE}"


# --- the outbox (what waits to reach SP4N-LAPOR!) ---------------------------------------------

OUTBOX_KIND_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "create_complaint": "laporan",
        "post_followup": "tindak lanjut",
        "forward": "penerusan",
    }
)
OUTBOX_STATE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "pending": "menunggu dikirim",
        "sending": "sedang dikirim",
        "unknown": "menunggu kepastian dari SP4N-LAPOR!",
        "done": "terkirim",
        "dead": "gagal dikirim, perlu admin",
    }
)


def outbox_kind_label(kind: str | None) -> str:
    return _label(OUTBOX_KIND_LABELS, kind, "jenis kiriman")


def outbox_state_label(state: str | None) -> str:
    return _label(OUTBOX_STATE_LABELS, state, "keadaan kiriman")


# --- conflicts --------------------------------------------------------------------------------

CONFLICT_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "unknown_status": "status SP4N-LAPOR! belum dikenal",
        "both_changed": "status berubah di kedua sisi",
        "backwards_lapor": "status di SP4N-LAPOR! mundur",
        "backwards_local": "status lokal mundur",
        "lapor_decides": "status ini diputuskan SP4N-LAPOR!",
    }
)
DECISION_LABELS: Mapping[str, str] = MappingProxyType(
    {"lapor": "ikut SP4N-LAPOR!", "local": "ikut data lokal"}
)


def conflict_label(kind: str | None) -> str:
    return _label(CONFLICT_LABELS, kind, "jenis konflik")


# --- channels and origins ---------------------------------------------------------------------

CHANNEL_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "sms": "SMS",
        "whatsapp": "WhatsApp",
        "telepon": "Telepon",
        "walk-in": "Datang langsung",
        "media-sosial": "Media sosial",
        "web": "Situs web",
        "lapor": "SP4N-LAPOR!",
    }
)
ORIGIN_LABELS: Mapping[str, str] = MappingProxyType(
    {"local": "dicatat di daerah", "lapor": "masuk dari SP4N-LAPOR!"}
)


def channel_label(channel: str | None) -> str:
    return _label(CHANNEL_LABELS, channel, "saluran")


def origin_label(origin: str | None) -> str:
    return _label(ORIGIN_LABELS, origin, "asal")


# --- OPDs -------------------------------------------------------------------------------------

NO_OPD_NAME = "Belum didisposisikan ke OPD terdaftar"
NO_OPD_LIAISON = "Admin SP4N-LAPOR! instansi"


def unknown_opd_text(code: str, known: Iterable[str]) -> str:
    """The one sentence every liaison command gives for an ``--opd`` it does not know."""
    listed = ", ".join(known) or "(tidak ada; tambahkan [[opd]] di konfigurasi)"
    return f"OPD {code!r} tidak dikenal. OPD yang dikenal: {listed}."


# --- misc -------------------------------------------------------------------------------------

SECRET_TITLE = "(rahasia)"  # noqa: S105 (a label, not a password)


def shown_title(title: str | None, secret: bool) -> str:
    """A complaint title as liaison output shows it (the reports' rule, everywhere).

    A rahasia complaint shows :data:`SECRET_TITLE` only; any other title is put on one
    line and has whatever looks like a NIK, a phone number or an e-mail address masked
    (``redact.redact_text``) — reporters type those into titles.
    """
    if secret:
        return SECRET_TITLE
    return redact_text(" ".join(str(title or "-").split()))


def yes_no(value: object) -> str:
    return "ya" if value else "tidak"


def csv_line(line: int) -> str:
    """How a line of an imported file is named under an Indonesian heading: ``baris 7``."""
    return f"baris {line}"


# --- the portal (lapor-sync web) --------------------------------------------------------------

ROLE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "admin": "Admin (Diskominfotik)",
        "liaison": "Penghubung OPD",
        "operator": "Operator Call Center",
        "viewer": "Pemantau (monev)",
    }
)
SHOWN_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "identity": "identitas pelapor",
        "content": "isi laporan",
        "secret_content": "isi rahasia",
    }
)
# The change-password page (lapor_sync/web/password.py). ``too_short`` takes ``{count}``.
# The portal's main menu, in its order: (route endpoint, label). The password entry's label
# is PASSWORD_TEXTS["menu"].
MENU_LABELS: tuple[tuple[str, str], ...] = (
    ("pages.home", "Beranda"),
    ("complaints.complaint_list_page", "Pengaduan"),
    ("intake.intake", "Pengaduan baru"),
    ("actions.conflicts", "Konflik"),
    ("pages.log", "Log"),
    ("pages.report", "Laporan"),
    ("actions.outbox", "Outbox"),
    ("pages.users", "Pengguna"),
)

# The complaint list's filters that only the home's tiles set (no field in the form): how
# the list says they are on.
TILE_FILTER_TEXTS: Mapping[str, str] = MappingProxyType(
    {
        "near_due": "Hanya yang mendekati batas waktu (belum terlambat).",
        "created_after": "Hanya yang baru tercatat sejak {since}.",
        "clear": "Tampilkan tanpa saringan ini",
    }
)

PASSWORD_TEXTS: Mapping[str, str] = MappingProxyType(
    {
        "title": "Ganti kata sandi",
        "must_change": "Anda masuk dengan kata sandi sekali pakai dari admin. Buat kata sandi "
        "baru Anda sendiri sebelum melanjutkan; halaman lain terbuka setelah itu.",
        "intro": "Kata sandi baru paling sedikit {count} karakter. Setelah diganti, sesi akun "
        "ini di perangkat lain berakhir.",
        "old": "Kata sandi saat ini",
        "new": "Kata sandi baru",
        "confirm": "Ulangi kata sandi baru",
        "submit": "Simpan kata sandi baru",
        "old_missing": "Isi kata sandi saat ini.",
        "old_wrong": "Kata sandi saat ini salah.",
        "new_missing": "Isi kata sandi baru.",
        "too_short": "Kata sandi baru paling sedikit {count} karakter.",
        "spaces": "Kata sandi baru tidak boleh diawali atau diakhiri spasi, dan tidak boleh "
        "memuat karakter kontrol.",
        "same": "Kata sandi baru harus berbeda dari kata sandi saat ini.",
        "mismatch": "Kedua isian kata sandi baru tidak sama. Ketik ulang.",
        "changed": "Kata sandi sudah diganti. Sesi akun ini di perangkat lain telah berakhir.",
        "locked": "Terlalu banyak percobaan yang gagal. Demi keamanan, penggantian kata sandi "
        "untuk akun ini ditutup sampai {until}. Hubungi admin bila Anda lupa kata sandi.",
        "menu": "Kata sandi",
    }
)


# --- notifications (lapor_sync/notify) ---------------------------------------------------------

NOTIFY_SUBJECTS: Mapping[str, str] = MappingProxyType(
    {
        "opd_batch": "[SP4N-LAPOR!] {count} hal baru untuk {opd}",
        "opd_digest": "[SP4N-LAPOR!] Ringkasan harian {opd}: {summary}",
        "admin_alert": "[lapor-sync] {opened} kondisi baru, {cleared} pulih",
        "monitoring_weekly": "[SP4N-LAPOR!] Angka mingguan Provinsi: {period}",
    }
)
NOTIFY_HEADINGS: Mapping[str, str] = MappingProxyType(
    {
        "followup": "Pengaduan baru didisposisikan ke OPD (menunggu tindak lanjut)",
        "reply": "Balasan pelapor menunggu tanggapan",
        "conflict": "Konflik status menunggu keputusan",
        "opened": "Kondisi baru",
        "cleared": "Sudah pulih",
    }
)
NOTIFY_COLUMNS = ("Tracking ID", "Ref. lokal", "Tahap", "Batas waktu", "Keterangan", "Tautan")
NOTIFY_FOOTER = (
    "Pesan ini dikirim otomatis oleh lapor-sync. Pesan ini tidak memuat data pelapor "
    "maupun isi pengaduan; buka tautan di portal untuk rinciannya."
)
NOTIFY_NONE = "-"


def due_text(due: datetime | None) -> str:
    """``Jumat, 4 Desember 2026`` or ``-`` when there is no due date."""
    return indonesian_date(due.astimezone(_WIB).date()) if due is not None else NOTIFY_NONE


NOTIFY_KIND_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "opd_batch": "pemberitahuan segera ke OPD",
        "opd_digest": "ringkasan harian OPD",
        "admin_alert": "peringatan admin",
        "monitoring_weekly": "angka mingguan monitoring",
        "test": "pesan uji",
    }
)


def notify_kind_label(kind: str | None) -> str:
    """The Indonesian name of a notification kind (an unknown one is quoted, not bare)."""
    return NOTIFY_KIND_LABELS.get(kind or "", f"notifikasi tidak dikenal ({kind!r})")


# The intake form's notes on the SP4N-LAPOR! create fields (lapor_sync/web/intake.py).
INTAKE_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "default": "Bawaan dari konfigurasi: {value}. Ubah bila perlu.",
        "category": "Kosongkan untuk kategori OPD tujuan (lihat daftar); tanpa OPD: {value}.",
        "category_needed": "Kosongkan untuk kategori OPD tujuan; tanpa OPD wajib diisi.",
        "disposition": "Kosongkan untuk instansi OPD tujuan (tanpa OPD: instansi akun).",
        "incident_received": "Contoh: 01/11/2026. Kosongkan untuk tanggal diterima.",
        "no_opd": "tanpa OPD",
        "required": "wajib",
    }
)


# What an operator is told about an attachment that cannot be taken (local/attachments.py
# builds these; the CLI shows the English twin). ``{file}`` is the name as given.
ATTACHMENT_TEXTS: Mapping[str, str] = MappingProxyType(
    {
        "label": "Lampiran (foto atau dokumen)",
        "hint": "JPEG, PNG, PDF, DOC atau DOCX; paling besar {mib} MB per berkas, paling "
        "banyak {count} berkas. Berkas ikut dikirim ke SP4N-LAPOR! bersama pengaduan.",
        "empty": "{file} kosong",
        "too_large": "{file} berukuran {size}, melebihi batas {limit}: lampirkan berkas yang "
        "lebih kecil",
        "not_allowed": "{file} bukan berkas JPEG, PNG, PDF, DOC atau DOCX (dilihat dari "
        "isinya, apa pun namanya): lampirkan salah satu jenis itu",
        "wrong_extension": "{file} berisi berkas {found} tetapi namanya berakhiran {extension}: "
        "ganti namanya menjadi …{expected}",
        "no_extension": "(tanpa ekstensi)",
        "not_a_file": "{file} bukan berkas biasa",
        "missing": "{file}: berkas tidak ditemukan",
        "unreadable": "{file} tidak dapat dibaca",
        "too_many": "Paling banyak {count} lampiran sekaligus",
        "choose_again": "Berkas lampiran tidak disimpan karena isian lain belum benar: pilih "
        "lagi berkasnya sebelum mengirim.",
    }
)

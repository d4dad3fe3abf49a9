"""Fixed master data of the sandbox: accounts, institutions, statuses, channels, categories.

The configuration file, the demo and other code refer to these ids, keys and tokens, so
they never change. They are sandbox credentials, published on purpose; no real system
accepts them.

Invariants:

- every institution id is a numeric string and unique across ``INSTITUTIONS``;
- every unit (OPD) belongs to exactly one account (``UNIT_PARENT``), and no account is a
  unit of another, so ``scope_of`` maps an institution to at most one account.
"""

from __future__ import annotations

from dataclasses import dataclass

ADMIN_NAME = "Admin SP4N-LAPOR!"


@dataclass(frozen=True, slots=True)
class Account:
    """One instansi account: the pair of credentials every request must carry."""

    institution_id: str
    name: str
    api_key: str
    token: str

    def __repr__(self) -> str:  # keep credentials out of test failure output
        return f"Account({self.institution_id!r}, {self.name!r})"


ACCOUNTS: tuple[Account, ...] = (
    Account(
        "18",
        "Pemerintah Provinsi Lampung",
        "sandbox-key-pemprov",
        "5b1f3c2e-0000-4000-8000-000000000018",
    ),
    Account(
        "1871",
        "Pemerintah Kota Bandar Lampung",
        "sandbox-key-bandarlampung",
        "5b1f3c2e-0000-4000-8000-000000001871",
    ),
    Account(
        "1801",
        "Pemerintah Kabupaten Lampung Selatan",
        "sandbox-key-lampungselatan",
        "5b1f3c2e-0000-4000-8000-000000001801",
    ),
)

ACCOUNT_BY_ID: dict[str, Account] = {a.institution_id: a for a in ACCOUNTS}

# OPD units, each under one account.
UNITS: dict[str, tuple[str, str]] = {
    "18001": ("18", "Dinas Pendidikan dan Kebudayaan"),
    "18002": ("18", "Dinas Kesehatan"),
    "18003": ("18", "Dinas Bina Marga dan Bina Konstruksi"),
    "18004": ("18", "Dinas Komunikasi, Informatika dan Statistik"),
    "18005": ("18", "Dinas Perhubungan"),
    "18006": ("18", "Dinas Sosial"),
    "18007": ("18", "Badan Penanggulangan Bencana Daerah"),
    "18008": ("18", "Dinas Lingkungan Hidup"),
    "187101": ("1871", "Dinas Pendidikan Kota Bandar Lampung"),
    "187102": ("1871", "Dinas Kesehatan Kota Bandar Lampung"),
    "187103": ("1871", "Dinas Pekerjaan Umum Kota Bandar Lampung"),
    "180101": ("1801", "Dinas Pendidikan Kabupaten Lampung Selatan"),
    "180102": ("1801", "Dinas Kesehatan Kabupaten Lampung Selatan"),
    "180103": ("1801", "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Lampung Selatan"),
}

UNIT_PARENT: dict[str, str] = {uid: parent for uid, (parent, _) in UNITS.items()}

# Institutions outside the sandbox's accounts: targets for forwards ("bukan wewenang").
EXTERNAL: dict[str, str] = {
    "101": "Kementerian Pendidikan Dasar dan Menengah",
    "102": "Kementerian Kesehatan",
    "103": "Kementerian Pekerjaan Umum",
    "104": "Kementerian Sosial",
    "105": "BPJS Kesehatan",
    "106": "PT PLN (Persero)",
    "107": "Kepolisian Daerah Lampung",
    "1802": "Pemerintah Kabupaten Lampung Tengah",
    "1872": "Pemerintah Kota Metro",
}

INSTITUTIONS: dict[str, str] = {
    **{a.institution_id: a.name for a in ACCOUNTS},
    **{uid: name for uid, (_, name) in UNITS.items()},
    **EXTERNAL,
}

STATUS_NAMES: dict[str, str] = {
    "0": "Belum Terverifikasi",
    "1": "Terverifikasi",
    "2": "Dalam Proses",
    "3": "Selesai",
    "4": "Diarsipkan",
    "5": "Ditolak",
    "6": "Ditunda",
}
UNVERIFIED, VERIFIED, IN_PROGRESS, DONE, ARCHIVED, REJECTED, POSTPONED = (
    "0", "1", "2", "3", "4", "5", "6",
)

CHANNELS: dict[int, str] = {
    1: "Website",
    2: "SMS 1708",
    3: "Aplikasi Mobile",
    4: "Media Sosial",
    7: "WhatsApp",
    8: "Telepon",
    9: "Tatap Muka",
}

# Locations a create may name (BPS codes: the province and its kabupaten/kota here).
LOCATIONS: dict[int, str] = {
    18: "Provinsi Lampung",
    1801: "Kabupaten Lampung Selatan",
    1802: "Kabupaten Lampung Tengah",
    1871: "Kota Bandar Lampung",
    1872: "Kota Metro",
}

CLASSIFICATIONS: dict[int, str] = {1: "Pengaduan", 2: "Aspirasi", 3: "Permintaan Informasi"}

# (id, parent, name); parent 0 is a root.
CATEGORIES: tuple[tuple[int, int, str], ...] = (
    (1, 0, "Pendidikan"),
    (2, 0, "Kesehatan"),
    (3, 0, "Infrastruktur"),
    (31, 3, "Jalan"),
    (32, 3, "Jembatan"),
    (33, 3, "Drainase dan Banjir"),
    (34, 3, "Air Bersih dan Sanitasi"),
    (4, 0, "Lingkungan Hidup"),
    (5, 0, "Perhubungan"),
    (6, 0, "Sosial"),
    (61, 6, "Bantuan Sosial"),
    (7, 0, "Bencana"),
    (8, 0, "Perizinan"),
    (9, 0, "Kependudukan"),
    (10, 0, "Lainnya"),
)
# Reply templates (``GET /masters/templates``): id, code, name, text. The codes are the
# ``template_code`` values follow-ups and disposition logs carry.
TEMPLATES: tuple[tuple[int, str, str, str], ...] = (
    (1, "followup", "Tindak lanjut", "Laporan Anda sedang kami tindak lanjuti."),
    (2, "disposition", "Disposisi", "Laporan didisposisikan ke {{institution_to}}."),
    (3, "reply_lmw", "Balasan", "Terima kasih, laporan Anda telah kami terima."),
    (4, "closed", "Selesai", "Laporan Anda telah selesai ditindaklanjuti."),
)

CATEGORY_IDS: frozenset[int] = frozenset(c[0] for c in CATEGORIES)
_CATEGORY_PARENT: dict[int, int] = {c[0]: c[1] for c in CATEGORIES}

# Which province OPD handles a category; kab/kota use their own three units.
_PROVINCE_UNIT_BY_CATEGORY: dict[int, str] = {
    1: "18001", 2: "18002", 3: "18003", 31: "18003", 32: "18003", 33: "18003",
    34: "18003", 4: "18008", 5: "18005", 6: "18006", 61: "18006", 7: "18007",
    8: "18004", 9: "18004", 10: "18004",
}


def scope_of(institution_id: str | None) -> str | None:
    """The account whose scope holds ``institution_id`` (itself or a parent), or None."""
    if institution_id is None:
        return None
    if institution_id in ACCOUNT_BY_ID:
        return institution_id
    return UNIT_PARENT.get(institution_id)


def in_scope(account_id: str, institution_id: str | None) -> bool:
    return scope_of(institution_id) == account_id


def unit_for(account_id: str, category_id: int | None) -> str:
    """The OPD of ``account_id`` that would receive a complaint of ``category_id``."""
    if account_id == "18":
        return _PROVINCE_UNIT_BY_CATEGORY.get(category_id or 10, "18004")
    root = _CATEGORY_PARENT.get(category_id or 10) or category_id
    suffix = {1: "01", 2: "02", 3: "03"}.get(root or 0)
    return account_id + suffix if suffix else account_id


def institution_name(institution_id: str | None) -> str | None:
    if institution_id is None:
        return None
    return INSTITUTIONS.get(institution_id)

"""The columns of a Call Center CSV file.

Pure functions, no database: header names and their aliases and the ``import_key`` that
makes importing the same row twice add nothing. How each cell's value is read (channels,
yes/no, dates) is ``local.values``, shared with the flags; whether it is acceptable is
``local.intake``, shared with every other writer.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from lapor_sync.local.intake import TicketInput
from lapor_sync.local.values import (
    BOOL_HINT,
    CHANNEL_ALIASES,
    CHANNEL_HINT,
    DATE_HINT,
    DATETIME_HINT,
    FUTURE_TOLERANCE,
    MIN_YEAR,
    normalize_channel,
    parse_bool,
    parse_date,
    parse_received,
)
from lapor_sync.timeutil import to_db

__all__ = [
    "BOOL_HINT",
    "CHANNEL_ALIASES",
    "CHANNEL_HINT",
    "DATETIME_HINT",
    "DATE_HINT",
    "FIELD_ALIASES",
    "FUTURE_TOLERANCE",
    "HEADER_TO_FIELD",
    "MIN_YEAR",
    "REQUIRED_FIELDS",
    "SEPARATORS",
    "import_key",
    "normalize_channel",
    "normalize_header",
    "parse_bool",
    "parse_date",
    "parse_received",
]

# Canonical field -> accepted header names (compared case-insensitively, with spaces and
# dashes read as underscores). The first name is the one the documentation uses.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "channel": ("saluran", "channel"),
    "received_at": ("diterima", "tanggal_diterima", "received_at", "waktu_diterima"),
    "reporter_name": ("nama_pelapor", "nama", "reporter_name"),
    "reporter_phone": ("telepon", "no_hp", "hp", "phone", "reporter_phone"),
    "reporter_email": ("email", "reporter_email"),
    "is_anonymous": ("anonim", "anonymous"),
    "is_secret": ("rahasia", "secret"),
    "title": ("judul", "title"),
    "content": ("isi", "isi_laporan", "content"),
    "category_id": ("kategori", "category_id"),
    "opd_code": ("opd", "opd_code"),
    "date_of_incident": ("tanggal_kejadian", "date_of_incident"),
    "location_id": ("lokasi", "location_id"),
    "classification_id": ("klasifikasi", "classification_id"),
    "disposition_id": ("disposisi", "instansi_tujuan", "disposition_id"),
}
REQUIRED_FIELDS = ("channel", "received_at", "title", "content")
HEADER_TO_FIELD = {alias: field for field, names in FIELD_ALIASES.items() for alias in names}

SEPARATORS = (";", ",", "\t")


def normalize_header(text: str) -> str:
    """``"No. HP"`` → ``no_hp``, ``"Tanggal Diterima"`` → ``tanggal_diterima``."""
    return re.sub(r"[\s\-.]+", "_", text.strip().lower()).strip("_")


def _key_text(text: str | None) -> str:
    folded = unicodedata.normalize("NFC", text or "").casefold()
    return " ".join(folded.split())


def _key_phone(text: str | None) -> str:
    digits = re.sub(r"\D", "", text or "")
    return "0" + digits[2:] if digits.startswith("62") else digits


def import_key(ticket: TicketInput) -> str:
    """Hash of what identifies a complaint; unchanged by file name, row order, spacing, case."""
    parts = [
        "csv-v1",
        ticket.channel,
        to_db(ticket.received_at),
        _key_phone(ticket.reporter_phone),
        _key_text(ticket.title),
        _key_text(ticket.content),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

"""The intake's checks of one field at a time, and the rules they read.

Each ``check_*`` takes the text as typed and the ``IntakeRules`` and returns the value
as it will be stored, or raises ``FieldError`` with the problem worded twice (Bahasa
Indonesia for operators, English for the admin's log), never quoting the value.
``VALIDATORS`` maps each ticket field to its check; ``validate_field`` is the entry point
for forms that re-ask one field. Whole records are judged in ``local.intake``, which
re-exports this module's public names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from lapor_sync.local.create_fields import CreateDefaults
from lapor_sync.local.values import (
    BOOL_HINT,
    BOOL_HINT_ID,
    CHANNEL_HINT,
    FUTURE_TOLERANCE,
    MIN_YEAR,
    normalize_channel,
    parse_bool,
    parse_date,
    parse_received,
)
from lapor_sync.timeutil import Clock, now_wib

if TYPE_CHECKING:
    from lapor_sync.config import Settings

MAX_TITLE = 150
DATE_HINT_ID = "tulis dd/mm/yyyy, dd-mm-yyyy atau yyyy-mm-dd"
DATETIME_HINT_ID = f"{DATE_HINT_ID}, boleh diikuti jam HH:MM (WIB)"
PHONE_HINT = "write it as 08xx-xxxx-xxxx or +62 8xx xxxx xxxx"
PHONE_HINT_ID = "tulis seperti 08xx-xxxx-xxxx atau +62 8xx xxxx xxxx"

# Canonical field -> how operators call it (prompts, the portal's labels, problems).
LABELS: dict[str, str] = {
    "opd_code": "OPD",
    "channel": "Saluran",
    "received_at": "Waktu diterima",
    "reporter_name": "Nama pelapor",
    "reporter_phone": "Telepon pelapor",
    "reporter_email": "Email pelapor",
    "is_anonymous": "Anonim",
    "is_secret": "Rahasia",
    "title": "Judul laporan",
    "content": "Isi laporan",
    "date_of_incident": "Tanggal kejadian",
    "category_id": "Kategori (id SP4N-LAPOR!)",
    "location_id": "Lokasi (id SP4N-LAPOR!)",
    "classification_id": "Klasifikasi (id SP4N-LAPOR!)",
    "disposition_id": "Instansi tujuan disposisi (id SP4N-LAPOR!)",
    "ref": "Referensi tiket",
    "target_institution_id": "Instansi tujuan (id SP4N-LAPOR!)",
    "reason": "Alasan",
}
@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field. No message quotes the value that was refused.

    ``kind`` is ``"required"`` when the field is missing or empty, ``"invalid"`` otherwise,
    so a writer can word "missing" its own way (a flag, a column, a form field).
    """

    field: str
    message: str  # Bahasa Indonesia
    message_en: str
    kind: Literal["required", "invalid"] = "invalid"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class FieldError(ValueError):
    """A single field's value is refused; raised by ``validate_field``."""

    def __init__(self, message: str, message_en: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en
        self.kind = kind

    def problem(self, name: str) -> FieldProblem:
        kind: Literal["required", "invalid"] = "required" if self.kind == "required" else "invalid"
        return FieldProblem(name, self.message, self.message_en, kind)


@dataclass(frozen=True)
class IntakeRules:
    """What validation needs from the configuration, as plain values.

    ``opd_codes`` are upper case. ``now`` is the clock "in the future" is judged by.
    """

    opd_codes: frozenset[str] = frozenset()
    now: Clock = now_wib
    create: CreateDefaults = field(default_factory=CreateDefaults)

    @classmethod
    def of(
        cls,
        opd_codes: Collection[str],
        now: Clock = now_wib,
        create: CreateDefaults | None = None,
    ) -> IntakeRules:
        codes = frozenset(c.strip().upper() for c in opd_codes)
        return cls(codes, now, create or CreateDefaults())

    @classmethod
    def from_settings(cls, settings: Settings, now: Clock = now_wib) -> IntakeRules:
        """The configuration's rules: its OPDs, and the create fields it requires."""
        return cls.of([o.code for o in settings.opd], now, CreateDefaults.from_settings(settings))


def rules_of(rules: IntakeRules | Settings) -> IntakeRules:
    return rules if isinstance(rules, IntakeRules) else IntakeRules.from_settings(rules)


# --- one field at a time ----------------------------------------------------------------------


def _no_nul(text: str) -> None:
    if "\x00" in text:
        raise FieldError(
            "mengandung karakter NUL (biasanya dari berkas yang rusak); hapus karakter itu",
            "contains a NUL character (usually from a damaged file); remove it",
        )


def _required(text: str) -> str:
    _no_nul(text)
    if not text.strip():
        raise FieldError("wajib diisi", "must not be empty", "required")
    return text


def _not_before_min_year(year: int) -> None:
    if year < MIN_YEAR:
        raise FieldError(
            f"tahun sebelum {MIN_YEAR}; periksa tanggalnya",
            f"year before {MIN_YEAR}; check the date",
        )


def check_channel(text: str, rules: IntakeRules) -> str:
    channel = normalize_channel(_required(text))
    if channel is None:
        raise FieldError(
            f"saluran tidak dikenal; pilih salah satu: {CHANNEL_HINT}",
            f"unknown channel; use one of {CHANNEL_HINT}",
        )
    return channel


def check_title(text: str, rules: IntakeRules) -> str:
    title = _required(text).strip()
    if len(title) > MAX_TITLE:
        raise FieldError(
            f"paling banyak {MAX_TITLE} karakter (ada {len(title)})",
            f"at most {MAX_TITLE} characters (has {len(title)})",
        )
    return title


def check_content(text: str, rules: IntakeRules) -> str:
    return _required(text)  # verbatim: no length limit, line breaks kept


def check_received_at(text: str, rules: IntakeRules) -> datetime:
    _no_nul(text)
    if not text.strip():
        return rules.now()
    try:
        received = parse_received(text)
    except ValueError as exc:
        raise FieldError(f"bukan tanggal dan jam; {DATETIME_HINT_ID}", str(exc)) from None
    _not_before_min_year(received.year)
    if received > rules.now() + FUTURE_TOLERANCE:
        raise FieldError(
            "waktunya di masa depan (waktu dalam WIB)", "is in the future (times are WIB)"
        )
    return received


def check_incident_date(text: str, rules: IntakeRules) -> date | None:
    _no_nul(text)
    if not text.strip():
        return None
    try:
        day = parse_date(text)
    except ValueError as exc:
        raise FieldError(f"bukan tanggal yang valid; {DATE_HINT_ID}", str(exc)) from None
    _not_before_min_year(day.year)
    return day


def check_name(text: str, rules: IntakeRules) -> str | None:
    _no_nul(text)
    return text.strip() or None


def check_phone(text: str, rules: IntakeRules) -> str | None:
    """An Indonesian (or ``+``-prefixed foreign) number that can exist; see the module doc."""
    _no_nul(text)
    phone = text.strip()
    if not phone:
        return None
    if re.fullmatch(r"8\d{8,11}", phone):  # Excel dropped the leading zero of 08…
        phone = "0" + phone
    if not re.fullmatch(r"\+?[0-9 .()\-]+", phone):
        raise FieldError(
            f"bukan nomor telepon: hanya angka, spasi dan tanda -; {PHONE_HINT_ID}",
            f"not a phone number: digits, spaces and dashes only; {PHONE_HINT}",
        )
    try:
        number = phonenumbers.parse(phone, "ID")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise FieldError(
            f"bukan nomor telepon yang mungkin ada (periksa jumlah digit); {PHONE_HINT_ID}",
            f"not a possible phone number (check the number of digits); {PHONE_HINT}",
        )
    return phone


def check_email(text: str, rules: IntakeRules) -> str | None:
    _no_nul(text)
    email = text.strip()
    if not email:
        return None
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise FieldError(
            "bukan alamat email yang valid; tulis seperti nama@contoh.go.id",
            "not a valid e-mail address; write it as name@example.go.id",
        ) from None
    return email


def check_flag(text: str, rules: IntakeRules) -> bool:
    flag = parse_bool(text)
    if flag is None:
        raise FieldError(f"bukan ya/tidak; {BOOL_HINT_ID}", f"not a yes/no value; {BOOL_HINT}")
    return flag


def check_opd(text: str, rules: IntakeRules) -> str | None:
    _no_nul(text)
    code = text.strip().upper()
    if not code:
        return None
    if code not in rules.opd_codes:
        known = ", ".join(sorted(rules.opd_codes)) or "(none)"
        raise FieldError(
            f"kode OPD tidak dikenal; yang dikenal: {known}",
            f"unknown OPD code; known: {known}",
        )
    return code


def check_remote_id(text: str, rules: IntakeRules) -> str | None:
    """An optional SP4N-LAPOR! master id (category, location, instansi): digits only."""
    _no_nul(text)
    value = text.strip()
    if not value:
        return None
    if not value.isdigit() or not value.isascii():
        raise FieldError("id SP4N-LAPOR! hanya berisi angka", "an SP4N-LAPOR! id is digits only")
    return value


VALIDATORS: dict[str, Callable[[str, IntakeRules], Any]] = {
    "opd_code": check_opd,
    "channel": check_channel,
    "received_at": check_received_at,
    "reporter_name": check_name,
    "reporter_phone": check_phone,
    "reporter_email": check_email,
    "is_anonymous": check_flag,
    "is_secret": check_flag,
    "title": check_title,
    "content": check_content,
    "date_of_incident": check_incident_date,
    "category_id": check_remote_id,
    "location_id": check_remote_id,
    "classification_id": check_remote_id,
    "disposition_id": check_remote_id,
}


def validate_field(name: str, text: str, rules: IntakeRules | Settings) -> Any:
    """The value of one field as it will be stored; raises FieldError naming what to fix."""
    return VALIDATORS[name](text, rules_of(rules))


# --- the fields of a follow-up and a forward ---------------------------------------------------


def check_ref(text: str, rules: IntakeRules) -> str:
    return _required(text).strip()


def check_required_opd(text: str, rules: IntakeRules) -> str:
    code = check_opd(_required(text), rules)
    assert code is not None
    return code


def check_required_id(text: str, rules: IntakeRules) -> str:
    value = check_remote_id(_required(text), rules)
    assert value is not None
    return value


def check_reason(text: str, rules: IntakeRules) -> str:
    _no_nul(text)
    return text.strip() or "Diteruskan ke Instansi Tujuan"

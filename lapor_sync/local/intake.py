"""One intake: every new ticket, follow-up and forward is validated here, and only here.

Every writer of the register goes through this module: ``local add`` (flags or the
interactive form), ``local import`` (the Call Center CSV), ``local edit`` and the web
portal. They only parse their own input into a mapping of *field name -> text* and show
the problems this module returns; none of them judges a value itself.

The API, for those writers:

- ``validate_field(name, text, rules)`` checks one field as it is typed and returns its
  value, or raises ``FieldError`` (for forms that re-ask only the wrong field);
- ``validate_ticket(raw, rules)`` / ``validate_followup`` / ``validate_forward`` check a
  whole record and return the record ready to store, or the list of *every*
  ``FieldProblem`` (never only the first);
- ``rules`` is an ``IntakeRules`` (what the configuration says: known OPDs, accounts) or
  the ``Settings`` themselves.

The checks of single fields live in ``local.intake_fields``; this module judges whole
records and re-exports what writers use of that one.

Invariants:

- a problem names its field and says what to write; it never quotes the refused value
  (values are personal data: names, phone numbers, complaint text), so a problem can be
  printed, logged or shown in a browser as it is;
- each problem is worded twice: ``message`` in Bahasa Indonesia for operators and
  liaisons, ``message_en`` for admin logs and the CSV report;
- what passes is what is stored: text is kept verbatim apart from trimming, except that a
  phone number Excel stripped of its leading zero gets it back (``81234567890`` ->
  ``081234567890``); NUL characters are refused everywhere, never stored or sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from lapor_sync.local.create_fields import missing_message, resolve
from lapor_sync.local.intake_fields import (
    LABELS,
    MAX_TITLE,
    VALIDATORS,
    FieldError,
    FieldProblem,
    IntakeRules,
    check_content,
    check_flag,
    check_reason,
    check_ref,
    check_required_id,
    check_required_opd,
    rules_of,
    validate_field,
)
from lapor_sync.local.values import LOCAL_CHANNELS

if TYPE_CHECKING:
    from lapor_sync.config import Settings

__all__ = [
    "LABELS",
    "MAX_TITLE",
    "TICKET_FIELDS",
    "TICKET_REQUIRED",
    "FieldError",
    "FieldProblem",
    "FollowUpInput",
    "ForwardInput",
    "IntakeRules",
    "TicketInput",
    "validate_field",
    "validate_followup",
    "validate_forward",
    "validate_ticket",
]

TICKET_FIELDS = (
    "opd_code",
    "channel",
    "received_at",
    "reporter_name",
    "reporter_phone",
    "reporter_email",
    "is_anonymous",
    "is_secret",
    "title",
    "content",
    "date_of_incident",
    "category_id",
    "location_id",
    "classification_id",
    "disposition_id",
)
TICKET_REQUIRED = ("channel", "title", "content")  # received_at defaults to now


@dataclass(frozen=True)
class TicketInput:
    """A complaint taken outside SP4N-LAPOR! (Call Center, walk-in, social media)."""

    channel: str
    title: str
    content: str
    received_at: datetime
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    is_anonymous: bool = False
    is_secret: bool = False
    category_id: str | None = None
    opd_code: str | None = None
    location_id: str | None = None
    date_of_incident: date | None = None
    import_key: str | None = None
    classification_id: str | None = None
    disposition_id: str | None = None

    def problems(self) -> list[str]:
        """The register's own last check (``field: reason``), for writers that skip the intake.

        The intake's checks are the full ones; this repeats those a stored row must pass.
        """
        found = []
        if self.channel not in LOCAL_CHANNELS:
            found.append(f"channel: must be one of {', '.join(LOCAL_CHANNELS)}")
        if not self.title.strip():
            found.append("title: must not be empty")
        elif len(self.title) > MAX_TITLE:
            found.append(f"title: at most {MAX_TITLE} characters (has {len(self.title)})")
        if not self.content.strip():
            found.append("content: must not be empty")
        if self.received_at.tzinfo is None:
            found.append("received_at: needs a time zone")
        for name in ("title", "content", "reporter_name", "reporter_phone", "reporter_email"):
            if "\x00" in (getattr(self, name) or ""):
                found.append(f"{name}: contains a NUL character")
        return found

    def __repr__(self) -> str:
        return f"TicketInput(channel={self.channel!r}, <personal data redacted>)"


@dataclass(frozen=True)
class FollowUpInput:
    """An OPD's follow-up (tindak lanjut) on ticket ``ref``."""

    ref: str
    opd_code: str
    content: str
    is_secret: bool = False

    def __repr__(self) -> str:
        return f"FollowUpInput(ref={self.ref!r}, opd_code={self.opd_code!r}, <text redacted>)"


@dataclass(frozen=True)
class ForwardInput:
    """A forward of ticket ``ref`` to another instansi ("bukan wewenang")."""

    ref: str
    target_institution_id: str
    reason: str


# --- whole records ----------------------------------------------------------------------------


Check = Callable[[str, IntakeRules], Any]
FOLLOWUP_CHECKS: tuple[tuple[str, Check], ...] = (
    ("ref", check_ref),
    ("opd_code", check_required_opd),
    ("content", check_content),
    ("is_secret", check_flag),
)
FORWARD_CHECKS: tuple[tuple[str, Check], ...] = (
    ("ref", check_ref),
    ("target_institution_id", check_required_id),
    ("reason", check_reason),
)


def _collect(
    raw: Mapping[str, str], checks: Iterable[tuple[str, Check]], rules: IntakeRules
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Every field's value, or its problem; a missing key is read as empty."""
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name, check in checks:
        try:
            values[name] = check(raw.get(name) or "", rules)
        except FieldError as exc:
            problems.append(exc.problem(name))
    return values, problems


def validate_ticket(
    raw: Mapping[str, str], rules: IntakeRules | Settings
) -> TicketInput | list[FieldProblem]:
    """A new ticket from ``field -> text`` (names as in ``TICKET_FIELDS``), or every problem.

    A missing key is read as empty. ``received_at`` empty means now. A create field that
    SP4N-LAPOR! requires (``[local.create] required``) and that neither the ticket, its
    OPD nor the configuration's defaults fill is a problem of that field, ``"required"``.
    """
    intake = rules_of(rules)
    values, problems = _collect(raw, ((n, VALIDATORS[n]) for n in TICKET_FIELDS), intake)
    incident, received = values.get("date_of_incident"), values.get("received_at")
    if incident is not None and received is not None and incident > received.date():
        problems.append(
            FieldProblem(
                "date_of_incident",
                "sesudah tanggal laporan diterima",
                "is after the received date",
            )
        )
    if not problems:
        create = intake.create
        fields = resolve(
            create,
            opd_code=values["opd_code"],
            account=create.account_for(values["opd_code"]),
            received_at=values["received_at"],
            classification_id=values["classification_id"],
            category_id=values["category_id"],
            disposition_id=values["disposition_id"],
            location_id=values["location_id"],
            date_of_incident=values["date_of_incident"],
        )
        for name in fields.missing(create.required):
            message, message_en = missing_message([name])
            problems.append(FieldProblem(name, message, message_en, "required"))
    if problems:
        return problems
    return TicketInput(**values)


def validate_followup(
    raw: Mapping[str, str], rules: IntakeRules | Settings
) -> FollowUpInput | list[FieldProblem]:
    """A follow-up from ``ref``, ``opd_code``, ``content`` and ``is_secret``, or every problem."""
    values, problems = _collect(raw, FOLLOWUP_CHECKS, rules_of(rules))
    return problems or FollowUpInput(**values)


def validate_forward(
    raw: Mapping[str, str], rules: IntakeRules | Settings
) -> ForwardInput | list[FieldProblem]:
    """A forward from ``ref``, ``target_institution_id`` and ``reason``, or every problem.

    An empty reason is the contract's default text, "Diteruskan ke Instansi Tujuan".
    """
    values, problems = _collect(raw, FORWARD_CHECKS, rules_of(rules))
    return problems or ForwardInput(**values)

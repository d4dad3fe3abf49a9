"""The fields a complaint created on SP4N-LAPOR! carries, and where each value comes from.

The contract (docs/lapor-api.md) lists, for a create: classification, category, target
institution (disposition), location and date of incident, besides title, content,
channel and the anonim/rahasia flags (always sent, as 0/1). A ticket may give each of the
five itself; what it leaves empty comes from the configuration (``[local.create]`` and
each ``[[opd]]``'s ``category_id``), resolved by ``resolve`` below. The intake uses the
same function to refuse, at the moment a ticket is recorded, a ticket that would lack a
field SP4N-LAPOR! requires (``[local.create] required``); the push uses it to build what
it sends. So a missing field is an error an operator sees at once, not a 422 later.

Invariants:

- one resolution order for every writer and the push: the ticket's own value, then the
  OPD's (category; the disposition target is the OPD's instansi), then the
  ``[local.create]`` default (for the target: the pushing account's own instansi);
- the register keeps what the ticket *gave*; defaults are applied when the complaint is
  sent, so a corrected default also corrects tickets still waiting in the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lapor_sync.config import Settings

# The create fields a province may declare required; title, content and channel always are.
CREATE_FIELDS = (
    "classification_id",
    "category_id",
    "disposition_id",
    "location_id",
    "date_of_incident",
)


@dataclass(frozen=True)
class CreateDefaults:
    """What fills a create field a ticket left empty, and which fields must end up filled."""

    classification_id: str | None = None
    category_id: str | None = None
    location_id: str | None = None
    incident_date_from_received: bool = False
    category_by_opd: Mapping[str, str] = field(default_factory=dict)
    institution_by_opd: Mapping[str, str] = field(default_factory=dict)
    institution_by_account: Mapping[str, str] = field(default_factory=dict)
    account_by_opd: Mapping[str, str] = field(default_factory=dict)
    default_account: str | None = None
    required: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> CreateDefaults:
        create = settings.local.create
        return cls(
            classification_id=create.classification_id,
            category_id=create.category_id,
            location_id=create.location_id,
            incident_date_from_received=create.incident_date == "received",
            category_by_opd={o.code: o.category_id for o in settings.opd if o.category_id},
            institution_by_opd={o.code: o.institution_id for o in settings.opd},
            institution_by_account={a.name: a.institution_id for a in settings.accounts},
            account_by_opd={o.code: o.account for o in settings.opd},
            default_account=settings.default_account.name,
            required=frozenset(create.required),
        )

    def account_for(self, opd_code: str | None) -> str | None:
        """The account a ticket is pushed through: its OPD's, else the default account."""
        return self.account_by_opd.get(opd_code or "", self.default_account)


@dataclass(frozen=True)
class CreateFields:
    """The five create fields as they will be sent (None = not sent)."""

    classification_id: str | None
    category_id: str | None
    disposition_id: str | None
    location_id: str | None
    date_of_incident: date | None

    def missing(self, required: frozenset[str]) -> list[str]:
        """Required fields that resolved to nothing, in ``CREATE_FIELDS`` order."""
        return [name for name in CREATE_FIELDS if name in required and getattr(self, name) is None]


def resolve(
    defaults: CreateDefaults,
    *,
    opd_code: str | None,
    account: str | None,
    received_at: datetime | None,
    classification_id: str | None = None,
    category_id: str | None = None,
    disposition_id: str | None = None,
    location_id: str | None = None,
    date_of_incident: date | None = None,
) -> CreateFields:
    """The create fields of one ticket: its own values, else the OPD's, else the defaults."""
    opd = opd_code or ""
    incident = date_of_incident
    if incident is None and defaults.incident_date_from_received and received_at is not None:
        incident = received_at.date()
    return CreateFields(
        classification_id=classification_id or defaults.classification_id,
        category_id=category_id or defaults.category_by_opd.get(opd) or defaults.category_id,
        disposition_id=disposition_id
        or defaults.institution_by_opd.get(opd)
        or defaults.institution_by_account.get(account or ""),
        location_id=location_id or defaults.location_id,
        date_of_incident=incident,
    )


def missing_message(missing: list[str]) -> tuple[str, str]:
    """(Bahasa Indonesia, English) for required create fields with no value and no default."""
    names = ", ".join(missing)
    return (
        f"wajib untuk SP4N-LAPOR! ({names}) dan tidak ada nilai bawaan di [local.create] "
        "config.toml; isi kolom ini",
        f"SP4N-LAPOR! requires {names} and [local.create] in config.toml gives no default; "
        "give a value",
    )

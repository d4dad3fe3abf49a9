"""One pydantic model per section of config.toml.

Every model is frozen, forbids unknown keys and hides input values in errors. Checks that
involve two fields of one section live here (as field validators that read earlier fields
from ``info.data``, so they still run when an unrelated field of the section is wrong);
checks across sections live in the loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationInfo,
    field_validator,
)

from lapor_sync import __version__
from lapor_sync.config.auth_section import AccountAuth
from lapor_sync.config.contract_section import AccountContract
from lapor_sync.config.fields import (
    ChannelName,
    ConfigDate,
    Email,
    LocalTime,
    NonEmptyStr,
    NonNegativeFloat,
    NumericId,
    OpdCode,
    PositiveDuration,
    PositiveFloat,
    ResolvedPath,
    Slug,
    check_base_url,
    int_between,
    is_loopback_host,
    loopback_unless_allowed,
    url_host,
)
from lapor_sync.config.secret_sources import SecretOrigin, SecretSpec
from lapor_sync.domain import ComplaintState
from lapor_sync.lapor.profiles import Profile, ProfileName

DEFAULT_CHANNELS: Mapping[ChannelName, str] = {
    "sms": "2",
    "whatsapp": "7",
    "telepon": "8",
    "walk-in": "9",
    "media-sosial": "4",
    "web": "1",
}

class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class StoreSettings(Section):
    """[store]: the local SQLite database."""

    path: ResolvedPath = Field(default=Path("var/lapor-sync.db"), validate_default=True)

    @field_validator("path", mode="before")
    @classmethod
    def _not_empty(cls, value: object) -> object:
        # An empty path would resolve to the config file's folder: refuse it by name.
        if isinstance(value, str) and not value.strip():
            raise ValueError('must name the database file, e.g. "var/lapor-sync.db"')
        return value


class _AccountBase(Section):
    name: Slug
    institution_id: NumericId
    base_url: str
    page_size: Annotated[int, int_between(1, 100)] = 100
    enabled: StrictBool = True
    auth: AccountAuth = Field(default_factory=AccountAuth)
    profile: ProfileName = "default"
    contract: AccountContract = Field(default_factory=AccountContract)

    @field_validator("contract")
    @classmethod
    def _page_size_within_limit(
        cls, value: AccountContract, info: ValidationInfo
    ) -> AccountContract:
        size, name = info.data.get("page_size"), info.data.get("profile")
        if isinstance(size, int) and isinstance(name, str):
            limit = value.apply(name).max_page_size
            if size > limit:
                raise ValueError(
                    f"the server's page-size limit ({limit}) is below page_size ({size}); "
                    "lower page_size"
                )
        return value

    @property
    def wire_profile(self) -> Profile:
        """The contract profile this account's client speaks, overrides applied."""
        return self.contract.apply(self.profile)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return check_base_url(value)

    @property
    def host(self) -> str:
        return url_host(self.base_url)

    @property
    def is_sandbox(self) -> bool:
        """True when base_url points at a loopback address (the built-in sandbox)."""
        return is_loopback_host(self.host)


class AccountConfig(_AccountBase):
    """One [[accounts]] table as written: secrets are still only references.

    ``api_key`` may be left out only with ``auth.scheme = "oauth2"`` (checked in the loader,
    where the error can name the key).
    """

    api_key: SecretSpec | None = None
    token: SecretSpec


class Account(_AccountBase):
    """A SP4N-LAPOR! instansi account with its secrets read.

    ``api_key`` and ``token`` are empty only for a disabled account whose secret source
    was missing at load time, or (``api_key``) when ``auth.scheme = "oauth2"`` and none was
    given. ``client_id``/``client_secret`` are set only for oauth2. ``*_origin`` says where
    each came from (no secret in it).
    """

    api_key: SecretStr
    token: SecretStr
    api_key_origin: SecretOrigin | None
    token_origin: SecretOrigin
    client_id: SecretStr = SecretStr("")
    client_secret: SecretStr = SecretStr("")
    client_id_origin: SecretOrigin | None = None
    client_secret_origin: SecretOrigin | None = None


class Opd(Section):
    """One [[opd]] table: a provincial agency that receives dispositions."""

    code: OpdCode
    name: NonEmptyStr
    institution_id: NumericId
    account: Slug
    liaison: NonEmptyStr
    email: Email | None = None
    # SP4N-LAPOR! category of complaints recorded for this OPD, unless a ticket gives one.
    category_id: NumericId | None = None


class HttpSettings(Section):
    """[http]: how the remote adapter talks to SP4N-LAPOR!. TLS is always verified."""

    connect_timeout: Annotated[PositiveFloat, Field(le=300)] = 5.0
    read_timeout: Annotated[PositiveFloat, Field(le=3600)] = 30.0
    retry_attempts: Annotated[int, int_between(1, 20)] = 5
    retry_initial_wait: Annotated[NonNegativeFloat, Field(le=3600)] = 1.0
    retry_max_wait: Annotated[NonNegativeFloat, Field(le=3600)] = 30.0
    retry_after_cap: Annotated[PositiveFloat, Field(le=86400)] = 300.0
    concurrency: Annotated[int, int_between(1, 32)] = 4
    # The whole of one attempt (connect, send, every byte of the answer): a server that
    # trickles bytes below read_timeout is cut off here.
    request_deadline: Annotated[PositiveFloat, Field(le=3600)] = 120.0
    # Per account, shared by its pull and push; 0 = no budget (Retry-After still holds).
    max_requests_per_minute: Annotated[int, int_between(0, 100_000)] = 0
    # Requests on the wire at once across all accounts (accounts are pulled in parallel).
    max_in_flight: Annotated[int, int_between(1, 256)] = 16
    # The largest answer read, decoded (a list page of 100 is a few hundred KB).
    max_answer_mib: Annotated[int, int_between(1, 1024)] = 16
    ca_bundle: ResolvedPath | None = None
    user_agent: NonEmptyStr = f"lapor-sync/{__version__}"

    @field_validator("retry_max_wait")
    @classmethod
    def _max_wait(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("retry_initial_wait")
        if isinstance(initial, float) and value < initial:
            raise ValueError("must be at least http.retry_initial_wait")
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"CA bundle file {value} does not exist")
        return value

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, value: str) -> str:
        if not value.isascii() or not value.isprintable():
            raise ValueError("must be printable ASCII on one line")
        return value

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read), as ``requests`` takes it."""
        return (self.connect_timeout, self.read_timeout)


class PullSettings(Section):
    """[pull]: reading complaints from SP4N-LAPOR!."""

    lookback_seconds: Annotated[int, int_between(0, 7 * 86400)] = 600
    backfill_since: ConfigDate | None = None
    max_verify_passes: Annotated[int, int_between(1, 100)] = 3
    mass_drop_ratio: Annotated[float, Field(ge=0, le=1, strict=True)] = 0.5
    download_attachments: bool = False  # metadata only unless true (docs/sync.md)

    @property
    def lookback(self) -> timedelta:
        return timedelta(seconds=self.lookback_seconds)


class PushSettings(Section):
    """[push]: the outbox of writes to SP4N-LAPOR!."""

    max_attempts: Annotated[int, int_between(1, 1000)] = 8
    backoff_initial_seconds: Annotated[PositiveFloat, Field(le=86400)] = 30.0
    backoff_max_seconds: Annotated[PositiveFloat, Field(le=7 * 86400)] = 3600.0
    # A row whose answer was lost and is still not settled after this long is an alarm.
    unknown_alarm_after: PositiveDuration = timedelta(hours=6)

    @field_validator("backoff_max_seconds")
    @classmethod
    def _max_backoff(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("backoff_initial_seconds")
        if isinstance(initial, float) and value < initial:
            raise ValueError("must be at least push.backoff_initial_seconds")
        return value


class ScheduleSettings(Section):
    """[schedule]: how often the daemon runs each job."""

    pull_every: PositiveDuration = timedelta(minutes=5)
    push_every: PositiveDuration = timedelta(minutes=1)
    reconcile_every: PositiveDuration = timedelta(minutes=5)
    deadlines_every: PositiveDuration = timedelta(minutes=15)
    daily_summary_at: LocalTime = time(7, 0)
    masters_at: LocalTime = time(5, 30)
    misfire_grace: PositiveDuration = timedelta(minutes=2)
    health_window_factor: Annotated[float, Field(ge=1, le=100, strict=True)] = 3.0


class DeadlineSettings(Section):
    """[deadlines]: service-level clocks, in working days unless stated."""

    verification_days: Annotated[int, int_between(1, 365)] = 3
    followup_days: Annotated[int, int_between(1, 365)] = 5
    closure_days: Annotated[int, int_between(1, 365)] = 10
    settlement_days: Annotated[int, int_between(1, 3650)] = 60
    settlement_unit: Literal["working", "calendar"] = "working"
    near_due_days: Annotated[int, int_between(0, 365)] = 1


class CalendarOverrides(Section):
    """[calendar]: corrections to the national holiday calendar."""

    extra_holidays: tuple[ConfigDate, ...] = ()
    extra_working_days: tuple[ConfigDate, ...] = ()

    @field_validator("extra_working_days")
    @classmethod
    def _no_overlap(cls, value: tuple[date, ...], info: ValidationInfo) -> tuple[date, ...]:
        holidays = info.data.get("extra_holidays", ())
        both = sorted(set(value) & set(holidays))
        if both:
            days = ", ".join(d.isoformat() for d in both)
            raise ValueError(
                f"{days} also in calendar.extra_holidays; a date cannot be both a holiday "
                "and a working day"
            )
        return value


CreateField = Literal[
    "classification_id", "category_id", "disposition_id", "location_id", "date_of_incident"
]


class CreateSettings(Section):
    """[local.create]: what a complaint created on SP4N-LAPOR! carries when its ticket is silent.

    ``required`` names the create fields SP4N-LAPOR! refuses a complaint without; a ticket
    that would lack one (no value, no default) is refused when it is recorded.
    """

    classification_id: NumericId | None = None
    category_id: NumericId | None = None
    location_id: NumericId | None = None
    incident_date: Literal["received", "none"] = "received"
    required: tuple[CreateField, ...] = (
        "classification_id",
        "category_id",
        "disposition_id",
        "location_id",
        "date_of_incident",
    )


class LocalSettings(Section):
    """[local]: the province's own register."""

    reference_format: NonEmptyStr = "LPG-{year}-{seq:06d}"
    default_account: Slug | None = None
    attachment_max_mib: Annotated[int, int_between(1, 100)] = 10  # per file (local/attachments.py)
    create: CreateSettings = Field(default_factory=CreateSettings)

    @field_validator("reference_format")
    @classmethod
    def _reference_format(cls, value: str) -> str:
        try:
            first = value.format(year=2026, seq=1)
            second = value.format(year=2026, seq=2)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError):
            raise ValueError(
                'must be a format string using only {year} and {seq}, e.g. "LPG-{year}-{seq:06d}"'
            ) from None
        if first == second:
            raise ValueError("must contain {seq}, or every ticket gets the same reference")
        if not first.isprintable() or " " in first:
            raise ValueError("must produce a reference without spaces or control characters")
        return value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class DaemonSettings(Section):
    """[daemon]: the long-running service."""

    allow_remote_health: StrictBool = False
    health_host: NonEmptyStr = Field(default="127.0.0.1", validate_default=True)
    health_port: Annotated[int, int_between(1, 65535)] = 9108
    log_format: Annotated[Literal["auto", "json", "console"], BeforeValidator(_lower)] = "auto"
    log_level: Annotated[
        Literal["debug", "info", "warning", "error", "critical"], BeforeValidator(_lower)
    ] = "info"

    @field_validator("health_host")
    @classmethod
    def _loopback_health(cls, value: str, info: ValidationInfo) -> str:
        return loopback_unless_allowed(
            value, info, "allow_remote_health", "daemon.allow_remote_health"
        )


Authority = Literal["lapor", "local"]

DEFAULT_AUTHORITY: Mapping[ComplaintState, Authority] = {
    # SP4N-LAPOR! decides verification, routing, postponement, archive and closure ...
    ComplaintState.AWAITING_VERIFICATION: "lapor",
    ComplaintState.DISPOSITIONED: "lapor",
    ComplaintState.POSTPONED: "lapor",
    ComplaintState.ARCHIVED: "lapor",
    ComplaintState.CLOSED: "lapor",
    # ... the OPD decides its own work: receiving, handling, answering, forwarding.
    ComplaintState.RECEIVED: "local",
    ComplaintState.IN_PROGRESS: "local",
    ComplaintState.ANSWERED: "local",
    ComplaintState.FORWARDED: "local",
}


class ReconcileSettings(Section):
    """[reconcile]: who decides which state when both sides disagree."""

    authority: Mapping[ComplaintState, Authority] = DEFAULT_AUTHORITY
    allow_backwards: StrictBool = False

    @field_validator("authority")
    @classmethod
    def _complete(
        cls, value: Mapping[ComplaintState, Authority]
    ) -> Mapping[ComplaintState, Authority]:
        # A partial table overrides the defaults state by state.
        return {**DEFAULT_AUTHORITY, **value}


class ReportSettings(Section):
    """[report]: where liaison reports are written."""

    out_dir: ResolvedPath = Field(default=Path("var/report"), validate_default=True)

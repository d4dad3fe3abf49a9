"""``profile`` and ``[accounts.contract]``: which contract an account's server speaks.

``profile`` picks a built-in profile (lapor/profiles.py: ``default`` or ``lmw``);
``[accounts.contract]`` overrides single choices of it: endpoint paths, the create and
follow-up body encodings, the listing page-size limit, the zone of timestamps
without an offset. docs/configuration.md lists them.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lapor_sync.lapor.profiles import PROFILES, Encoding, Paging, Profile, check_path


class AccountContract(BaseModel):
    """Overrides of the chosen profile; everything left out comes from the profile."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    paths: dict[str, str] = Field(default_factory=dict)
    create_encoding: Encoding | None = None
    followup_encoding: Encoding | None = None
    max_page_size: Annotated[int, Field(ge=1, le=1000, strict=True)] | None = None
    paging: Paging | None = None
    time_zone: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value.strip())
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(
                f"unknown time zone {value!r}; give an IANA name such as Asia/Jakarta or UTC"
            ) from None
        return value.strip()

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: dict[str, str]) -> dict[str, str]:
        checked: dict[str, str] = {}
        for endpoint, path in value.items():
            try:
                checked[endpoint] = check_path(endpoint, path)
            except ValueError as exc:
                raise ValueError(f"{endpoint}: {exc}") from None
        return checked

    def apply(self, profile_name: str) -> Profile:
        return PROFILES[profile_name].overridden(
            paths=self.paths,
            create_encoding=self.create_encoding,
            followup_encoding=self.followup_encoding,
            max_page_size=self.max_page_size,
            paging=self.paging,
            time_zone=self.time_zone,
        )

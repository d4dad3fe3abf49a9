"""``[accounts.auth]``: how an account authenticates at the government API gateway.

Two schemes (docs/configuration.md, docs/lapor-api.md):

- ``static`` (the default): ``api_key`` is sent as the gateway credential;
- ``oauth2``: an access token is fetched from ``token_url`` with ``client_id`` and
  ``client_secret`` (both secret sources, like ``api_key``) and sent instead.

The instansi ``token`` is sent in both schemes. The header names are settings because the
public clients used both ``Authorization`` and ``auth`` for the gateway credential.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from lapor_sync.config.fields import check_base_url
from lapor_sync.config.secret_sources import SecretSpec

_HEADER = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")
"""An HTTP field name (RFC 9110 token)."""


def _header_name(value: str) -> str:
    if not _HEADER.fullmatch(value):
        raise ValueError("must be an HTTP header name such as Authorization, auth or token")
    return value


class AccountAuth(BaseModel):
    """One account's gateway authentication; the defaults are today's static key."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    scheme: Literal["static", "oauth2"] = "static"
    token_url: str | None = None
    client_id: SecretSpec | None = None
    client_secret: SecretSpec | None = None
    scope: Annotated[str, Field(min_length=1, max_length=512)] | None = None
    client_auth: Literal["basic", "body"] = Field(default="basic", validate_default=True)
    renew_before_seconds: Annotated[float, Field(ge=0, le=3600, strict=True)] = 60.0
    key_header: str = "Authorization"
    key_scheme: Literal["Bearer", ""] = "Bearer"
    token_header: str = "token"  # noqa: S105 (a header name)

    @field_validator("key_header", "token_header")
    @classmethod
    def _names(cls, value: str) -> str:
        return _header_name(value)

    @field_validator("token_header")
    @classmethod
    def _distinct(cls, value: str, info: ValidationInfo) -> str:
        key = info.data.get("key_header")
        if isinstance(key, str) and key.lower() == value.lower():
            raise ValueError("must differ from auth.key_header: both credentials are sent")
        return value

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str | None) -> str | None:
        return None if value is None else check_base_url(value)

    @field_validator("client_auth")
    @classmethod
    def _oauth2_complete(cls, value: str, info: ValidationInfo) -> str:
        # Placed on a field after token_url/client_id/client_secret so it sees them.
        if info.data.get("scheme") == "oauth2":
            # A key absent from info.data failed its own check and is reported there.
            keys = ("token_url", "client_id", "client_secret")
            missing = [k for k in keys if k in info.data and info.data[k] is None]
            if missing:
                raise ValueError(
                    f'auth.scheme = "oauth2" needs {", ".join("auth." + m for m in missing)}'
                )
        return value

    @property
    def is_oauth2(self) -> bool:
        return self.scheme == "oauth2"

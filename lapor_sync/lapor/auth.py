"""Credentials an account's requests carry: a static API key, or OAuth2 client credentials.

SP4N-LAPOR! is reached through the government API gateway (SPLP). Every request carries
two credential headers: the gateway credential (``Authorization: Bearer …`` by default)
and the instansi token (``token: …`` by default). Both header names are settings because
public clients have used ``auth`` as well as ``Authorization`` (docs/lapor-api.md).

The gateway credential is either the configured API key (``StaticCredentials``) or an
access token fetched from ``token_url`` by the OAuth2 client-credentials grant
(``OAuth2Credentials``, RFC 6749 §4.4).

Invariants:

- an access token lives in memory only, never on disk, in a log line or an error;
- the client secret leaves this process only in the token request (HTTP Basic by default);
- a token is renewed ``renew_before`` seconds before it expires (from ``expires_in``, else
  the JWT ``exp`` claim; a token with neither is kept until a 401);
- concurrent workers share one renewal: the renewal runs under a lock and a worker whose
  401 was caused by a token another worker already replaced simply retries with the new one;
- after a 401 the caller may retry ONCE with a renewed token; a second 401 is bad credentials.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import requests

from lapor_sync.errors import AuthError, RetryableRemoteError

TOKEN_ENDPOINT = "token"  # noqa: S105 (an endpoint name)
"""The endpoint name the token request is counted under (stats, metrics)."""

_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")
"""RFC 6749 error codes are short lowercase words; anything else is not echoed."""


@dataclass(frozen=True)
class HeaderNames:
    """Names (and the gateway credential's scheme) of the two credential headers."""

    key_header: str = "Authorization"
    key_scheme: str = "Bearer"
    token_header: str = "token"  # noqa: S105 (a header name)

    def headers(self, gateway_credential: str, instansi_token: str) -> dict[str, str]:
        value = f"{self.key_scheme} {gateway_credential}" if self.key_scheme else gateway_credential
        return {self.key_header: value, self.token_header: instansi_token}


@dataclass(frozen=True)
class Presented:
    """The headers of one request and the token generation they came from."""

    headers: Mapping[str, str] = field(repr=False)
    generation: int


class Credentials(Protocol):
    """What the HTTP client asks of a credential source. Safe to share between threads."""

    scheme: str

    def current(self) -> Presented:
        """Headers for the next request; may fetch a token (RetryableRemoteError, AuthError)."""
        ...

    def after_unauthorized(self, presented: Presented) -> bool:
        """Called on a 401; True when a retry with fresh credentials is worth one attempt."""
        ...


class StaticCredentials:
    """The configured API key and instansi token, unchanged for the life of the process."""

    scheme = "static"

    def __init__(self, names: HeaderNames, api_key: str, token: str) -> None:
        self._presented = Presented(names.headers(api_key, token), 0)

    def __repr__(self) -> str:
        return "StaticCredentials()"

    def current(self) -> Presented:
        return self._presented

    def after_unauthorized(self, presented: Presented) -> bool:
        return False  # nothing would change on a retry


@dataclass(frozen=True)
class OAuth2Options:
    """Where and how to fetch access tokens. ``client_secret`` is hidden from repr."""

    token_url: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    scope: str | None = None
    client_auth: Literal["basic", "body"] = "basic"
    renew_before: float = 60.0


TokenPost = Callable[[str, Mapping[str, str], Mapping[str, str]], tuple[int, bytes]]
"""(url, form fields, headers) -> (HTTP status, body); raises requests.RequestException."""


class OAuth2Credentials:
    """Access tokens by the client-credentials grant, cached in memory and renewed in time."""

    scheme = "oauth2"

    def __init__(
        self,
        names: HeaderNames,
        options: OAuth2Options,
        instansi_token: str,
        post: TokenPost,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._names = names
        self._options = options
        self._instansi_token = instansi_token
        self._post = post
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._presented: Presented | None = None
        self._renew_at = 0.0
        self._generation = 0
        self.fetches = 0
        """How many tokens were fetched (for tests and the probe)."""

    def __repr__(self) -> str:
        return f"OAuth2Credentials(token_url={self._options.token_url!r})"

    def current(self) -> Presented:
        with self._lock:
            if self._presented is None or self._monotonic() >= self._renew_at:
                self._fetch()
            assert self._presented is not None
            return self._presented

    def after_unauthorized(self, presented: Presented) -> bool:
        with self._lock:
            if self._generation == presented.generation:
                # The token we sent is still the newest: it was refused early (revoked, or
                # the gateway's clock runs ahead). Renew once; another worker seeing a 401
                # for the same token finds the generation moved and just retries.
                self._fetch()
            return True

    def _fetch(self) -> None:
        """Fetch a token; the caller holds the lock. Raises AuthError or RetryableRemoteError."""
        opts = self._options
        form = {"grant_type": "client_credentials"}
        if opts.scope:
            form["scope"] = opts.scope
        headers = {"Accept": "application/json"}
        if opts.client_auth == "basic":
            pair = f"{opts.client_id}:{opts.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form["client_id"] = opts.client_id
            form["client_secret"] = opts.client_secret
        self.fetches += 1
        try:
            status, body = self._post(opts.token_url, form, headers)
        except requests.RequestException as exc:
            raise RetryableRemoteError(
                f"token endpoint unreachable ({type(exc).__name__})", endpoint=TOKEN_ENDPOINT
            ) from None
        answer = _json_object(body)
        if status in (400, 401, 403):
            code = answer.get("error") if answer else None
            said = f" ({code})" if isinstance(code, str) and _OAUTH_ERROR.fullmatch(code) else ""
            raise AuthError(
                f"token endpoint refused the client credentials{said}: check "
                "auth.client_id, auth.client_secret and auth.scope",
                endpoint=TOKEN_ENDPOINT,
                status=status,
            )
        if status >= 300 or answer is None:
            raise RetryableRemoteError(
                f"token endpoint answered HTTP {status} without a usable token",
                endpoint=TOKEN_ENDPOINT,
                status=status,
            )
        access = answer.get("access_token")
        if not isinstance(access, str) or not access.strip():
            raise RetryableRemoteError(
                "token endpoint answer has no access_token", endpoint=TOKEN_ENDPOINT
            )
        lifetime = token_lifetime(answer.get("expires_in"), access, self._wall_clock())
        now = self._monotonic()
        if lifetime is None:
            self._renew_at = float("inf")
        else:
            # Renew early, but never so early that a short-lived token is renewed at once.
            self._renew_at = now + max(lifetime - min(opts.renew_before, lifetime / 2), 0.0)
        self._generation += 1
        self._presented = Presented(
            self._names.headers(access.strip(), self._instansi_token), self._generation
        )


def token_lifetime(expires_in: object, access_token: str, now: float) -> float | None:
    """Seconds the token stays valid: ``expires_in`` if given, else the JWT ``exp``."""
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        return max(float(expires_in), 0.0)
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        return float(expires_in.strip())
    exp = jwt_expiry(access_token)
    return None if exp is None else max(exp - now, 0.0)


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (unverified: the gateway checks signatures, we only time)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError, RecursionError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return float(exp)
    return None


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # nested too deep to decode: no usable answer
        return None
    return value if isinstance(value, dict) else None

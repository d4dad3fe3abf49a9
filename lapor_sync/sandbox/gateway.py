"""The sandbox's API gateway: which credential headers it reads, and OAuth2 tokens.

Like the government API gateway in front of SP4N-LAPOR! (docs/lapor-api.md), it accepts
on every API request a gateway credential and the instansi token, in headers whose names
are settings (``key_header`` defaults to ``Authorization`` with ``Bearer``; ``auth`` was
seen too). The gateway credential is either the account's API key or an access token
issued by ``POST /oauth2/token`` with the client-credentials grant, where the client id is
``lapor-sync-<institution id>`` and the client secret is the account's API key.

Invariants: strict by default — a request with the credential under a header name other
than the configured one is refused (401); an expired or revoked token is refused; token
requests are counted here, never in ``world.stats`` (which counts the API only).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from lapor_sync.sandbox import masters

TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a secret)
CLIENT_ID_PREFIX = "lapor-sync-"


def client_id_of(institution_id: str) -> str:
    """The OAuth2 client id the sandbox gives an account."""
    return CLIENT_ID_PREFIX + institution_id


class SandboxGateway:
    """Credential checks of the sandbox API. Thread-safe. ``headers`` arguments are keyed by
    lower-cased header name."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.key_header = "Authorization"
        self.key_scheme = "Bearer"
        self.token_header = "token"  # noqa: S105 (a header name)
        self.token_lifetime = 3600.0
        # "opaque", or "jwt": the expiry is inside the token and there is no expires_in
        self.access_format = "opaque"
        self._issued: dict[str, tuple[str, float]] = {}
        self.token_requests = 0
        self.tokens_issued = 0

    def configure(
        self,
        *,
        key_header: str | None = None,
        key_scheme: str | None = None,
        token_header: str | None = None,
        token_lifetime: float | None = None,
        token_format: str | None = None,
    ) -> None:
        with self._lock:
            if key_header is not None:
                self.key_header = key_header
            if key_scheme is not None:
                self.key_scheme = key_scheme
            if token_header is not None:
                self.token_header = token_header
            if token_lifetime is not None:
                if token_lifetime <= 0:
                    raise ValueError("token_lifetime must be positive")
                self.token_lifetime = float(token_lifetime)
            if token_format is not None:
                if token_format not in ("opaque", "jwt"):
                    raise ValueError('token_format must be "opaque" or "jwt"')
                self.access_format = token_format

    def revoke_all(self) -> None:
        """Forget every issued token: the next request with one gets a 401."""
        with self._lock:
            self._issued.clear()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "key_header": self.key_header,
                "key_scheme": self.key_scheme,
                "token_header": self.token_header,
                "token_lifetime": self.token_lifetime,
                "token_format": self.access_format,
                "token_requests": self.token_requests,
                "tokens_issued": self.tokens_issued,
                "live_tokens": len(self._issued),
            }

    # ---- API requests ---------------------------------------------------------------------

    def authenticate(self, headers: Mapping[str, str]) -> masters.Account | None:
        """The account whose gateway credential AND instansi token both match, or None."""
        with self._lock:
            value = headers.get(self.key_header.lower(), "") or ""
            if self.key_scheme:
                scheme, _, credential = value.partition(" ")
                if scheme.lower() != self.key_scheme.lower():
                    return None
            else:
                credential = value
            credential = credential.strip()
            token = headers.get(self.token_header.lower(), "") or ""
            issued = self._issued.get(credential)
            if issued is not None and issued[1] <= self._clock():
                del self._issued[credential]
                issued = None
        found = None
        for account in masters.ACCOUNTS:
            if issued is not None:
                key_ok = issued[0] == account.institution_id
            else:
                key_ok = hmac.compare_digest(account.api_key.encode(), credential.encode())
            token_ok = hmac.compare_digest(account.token.encode(), token.encode())
            if key_ok and token_ok:
                found = account
        return found

    # ---- the token endpoint ---------------------------------------------------------------

    def token(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer ``POST /oauth2/token`` (RFC 6749 §4.4): status and JSON body."""
        with self._lock:
            self.token_requests += 1
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        client_id, client_secret = _client_credentials(headers, form)
        account = next(
            (a for a in masters.ACCOUNTS if client_id == client_id_of(a.institution_id)), None
        )
        if account is None or not hmac.compare_digest(
            account.api_key.encode(), client_secret.encode()
        ):
            return 401, {"error": "invalid_client"}
        with self._lock:
            lifetime = self.token_lifetime
            if self.access_format == "jwt":
                access = _jwt(account.institution_id, time.time() + lifetime)
            else:
                access = secrets.token_urlsafe(24)
            self._issued[access] = (account.institution_id, self._clock() + lifetime)
            self.tokens_issued += 1
            jwt = self.access_format == "jwt"
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
        if not jwt:
            answer["expires_in"] = int(lifetime)
        if form.get("scope"):
            answer["scope"] = form["scope"]
        return 200, answer


def _client_credentials(headers: Mapping[str, str], form: Mapping[str, str]) -> tuple[str, str]:
    value = headers.get("authorization", "") or ""
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, client_secret = pair.partition(":")
        return client_id, client_secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _jwt(subject: str, exp: float) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    signature = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': subject, 'exp': int(exp)})}." \
        f"{signature}"

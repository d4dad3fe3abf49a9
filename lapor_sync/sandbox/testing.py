"""Helpers for tests that talk to a sandbox with a plain ``requests`` client.

    with SandboxServer(world) as server:
        client = SandboxClient(server.base_url, "18")
        client.get("/complaints", page_size=100).json()
"""

from __future__ import annotations

from typing import Any

import requests

from lapor_sync.sandbox.masters import ACCOUNT_BY_ID


def auth_headers(institution_id: str = "18") -> dict[str, str]:
    """The headers an account's requests carry."""
    account = ACCOUNT_BY_ID[institution_id]
    return {
        "Authorization": f"Bearer {account.api_key}",
        "token": account.token,
        "Accept": "application/json",
    }


class SandboxClient:
    """A keep-alive session for one account; paths are relative to the base URL."""

    def __init__(self, base_url: str, institution_id: str = "18", timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(auth_headers(institution_id))

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url(path), params=params or None, timeout=self.timeout)

    def post(self, path: str, payload: Any) -> requests.Response:
        return self.session.post(self.url(path), json=payload, timeout=self.timeout)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

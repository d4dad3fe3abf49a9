"""Helpers for tests: a plain ``requests`` client of a sandbox, and a comparison of a
lapor-sync mirror with what the sandbox shows.

    with SandboxServer(world) as server:
        client = SandboxClient(server.base_url, "18")
        client.get("/complaints", page_size=100).json()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import requests

from lapor_sync.sandbox.masters import ACCOUNT_BY_ID
from lapor_sync.sandbox.world import SandboxWorld


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


class _Reader(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


def mirror_differences(
    store: _Reader, world: SandboxWorld, account: str, institution_id: str
) -> list[str]:
    """How an account's mirror differs from what the sandbox shows that account: missing
    or extra complaint ids, another version or status, another number of follow-ups.
    Empty when they are equal. ``store`` is any connection to a lapor-sync store (only
    read); the lines name ids and counts, never contents."""
    rows = store.execute(
        "SELECT remote_id, updated_at, status_name FROM remote_complaints WHERE account = ?",
        [account],
    ).fetchall()
    mirrored = {str(r[0]): (str(r[1]), str(r[2])) for r in rows}
    counts = dict(
        store.execute(
            "SELECT complaint_id, count(*) FROM remote_followups WHERE account = ? "
            "GROUP BY complaint_id",
            [account],
        ).fetchall()
    )
    out: list[str] = []
    visible = {str(i) for i in world.visible_ids(institution_id)}
    out += [f"complaint {i} mirrored but not visible" for i in sorted(set(mirrored) - visible)]
    for cid in world.visible_ids(institution_id):
        key = str(cid)
        if key not in mirrored:
            out.append(f"complaint {cid} missing")
            continue
        record = world.record(cid)  # only read (a deep copy per complaint was the cost)
        stamp, status = mirrored[key]
        if stamp != record.updated_at.isoformat():
            out.append(f"complaint {cid} at version {stamp}, sandbox {record.updated_at}")
        seen = world.status_seen_by(cid, institution_id)[1]
        if status != seen:
            out.append(f"complaint {cid} status {status!r}, sandbox {seen!r}")
        if counts.get(key, 0) != len(record.followups):
            out.append(
                f"complaint {cid}: {counts.get(key, 0)} follow-ups, sandbox {len(record.followups)}"
            )
    return out

"""Run the sandbox in a child process, so the connector's CPU and memory figures are its own.

Used by the benchmark and chaos scripts:

    with SandboxProcess(seed=1, complaints=5000) as sandbox:
        sandbox.control("POST", "/faults", {"kind": "*", "latency_ms": 20})
        ... pull from sandbox.base_url ...
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.connection import Connection
from typing import Any

import requests


def _serve(conn: Connection, seed: int, complaints: int, same_updated_at: int) -> None:
    from lapor_sync.sandbox import SandboxServer, SandboxWorld, seed_world

    world = SandboxWorld(seed=seed)
    seed_world(world, complaints=complaints, same_updated_at=same_updated_at)
    with SandboxServer(world) as server:
        conn.send((server.base_url, server.control_url))
        conn.recv()  # block until the parent says stop


class SandboxProcess:
    def __init__(self, *, seed: int = 1, complaints: int = 200, same_updated_at: int = 0) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(child, seed, complaints, same_updated_at), daemon=True
        )
        self.base_url = ""
        self.control_url = ""
        self._session = requests.Session()

    def __enter__(self) -> SandboxProcess:
        self._proc.start()
        self.base_url, self.control_url = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
        finally:
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.kill()
            self._session.close()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._session.request(
            method, self.control_url.rstrip("/") + path, json=body, timeout=60
        )
        response.raise_for_status()
        return response.json()

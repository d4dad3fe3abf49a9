"""Shared fixtures: a sandbox on loopback and a lapor-sync wired to it, with no real waits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from lapor_sync.app import App, open_app
from lapor_sync.config import Settings, load_settings
from lapor_sync.sandbox import SandboxServer, SandboxWorld
from lapor_sync.sandbox.testing import SandboxClient

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = ROOT / "config.toml"


def settings_for(
    tmp_path: Path, base_url: str, *, page_size: int = 100, extra: str = ""
) -> Settings:
    """The shipped config.toml, pointed at ``base_url`` and a store in ``tmp_path``."""
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{tmp_path / "store.db"}"', 1)
    text = text.replace("http://127.0.0.1:8765/api", base_url)
    text = text.replace("page_size = 100", f"page_size = {page_size}")
    path = tmp_path / "config.toml"
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return load_settings(path, env={})


@dataclass
class Env:
    """A sandbox world and server, and a lapor-sync App talking to it."""

    world: SandboxWorld
    server: SandboxServer
    settings: Settings
    app: App
    tmp_path: Path
    sleeps: list[float]

    def reopen(self, **overrides: Any) -> App:
        """A fresh App on the same store (as after a restart)."""
        self.app.close()
        self.app = open_app(self.settings, sleep=self.sleeps.append, clock=self.world_clock)
        return self.app

    def world_clock(self) -> datetime:
        return self.world.now()


@pytest.fixture
def server(world: SandboxWorld) -> Iterator[SandboxServer]:
    """A sandbox server on the requesting module's ``world``; no internal errors allowed."""
    with SandboxServer(world) as server:
        yield server
    assert world.stats.internal_errors == []


@pytest.fixture
def client(server: SandboxServer) -> Iterator[SandboxClient]:
    """A plain HTTP client of the province's account on ``server``."""
    with SandboxClient(server.base_url, "18") as client:
        yield client


@pytest.fixture
def make_env(tmp_path: Path) -> Iterator[Any]:
    created: list[Env] = []

    def factory(world: SandboxWorld | None = None, *, page_size: int = 100, extra: str = "") -> Env:
        world = world or SandboxWorld(seed=7)
        world.contract.strict = True  # the strict reading of the contract (#10.3)
        server = SandboxServer(world)
        server.start()
        settings = settings_for(tmp_path, server.base_url, page_size=page_size, extra=extra)
        sleeps: list[float] = []
        env = Env(world, server, settings, None, tmp_path, sleeps)  # type: ignore[arg-type]
        env.app = open_app(settings, sleep=sleeps.append, clock=env.world_clock)
        created.append(env)
        return env

    yield factory
    for env in created:
        env.app.close()
        env.server.stop()

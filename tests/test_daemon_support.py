"""Helpers shared by the daemon, health and metrics tests (this module holds no tests).

Every wait here is a bounded poll: at most ``timeout`` seconds, in short steps.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from lapor_sync.app import App, open_app
from lapor_sync.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent

# The daemon's commands are registered on the CLI group by cli/__init__.py; registering
# them here too (idempotent) lets these tests run whatever the group holds.
CLI = (
    "from lapor_sync.cli import cli; "
    "from lapor_sync.cli.daemon_cmds import register_daemon_commands; "
    "register_daemon_commands(cli); cli(prog_name='lapor-sync')"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def edit_config(path: Path, **values: object) -> Settings:
    """Set ``key = value`` lines of a config file (first match each); reload it."""
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        literal = json.dumps(value) if isinstance(value, str) else str(value)
        text, count = re.subn(
            rf"^{re.escape(key)} = [^#\n]*", f"{key} = {literal}   ", text, count=1, flags=re.M
        )
        assert count == 1, f"no {key} in {path}"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env={})


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def start_cli(config: Path, *args: str, log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    """``lapor-sync --config CONFIG ARGS…`` as a child process, its stderr into ``log``."""
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "--config", str(config), *args],
        cwd=ROOT,
        stdout=log or subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"},
    )


def run_cli(config: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"},
    )


def endpoint_up(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    return check


def app_factory(env: Any) -> Callable[[Any], App]:
    """Apps on the env's store with its world clock and recorded (not slept) waits."""

    def factory(on_request: Any) -> App:
        return open_app(
            env.settings, clock=env.world_clock, sleep=env.sleeps.append, on_request=on_request
        )

    return factory


def runs_finished(db_path: Path, job: str, count: int = 1) -> Callable[[], bool]:
    import sqlite3

    def check() -> bool:
        conn = sqlite3.connect(db_path, timeout=5)
        try:
            row = conn.execute(
                "SELECT count(*) FROM runs WHERE job = ? AND outcome != 'running'", [job]
            ).fetchone()
        finally:
            conn.close()
        return int(row[0]) >= count

    return check

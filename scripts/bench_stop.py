"""SIGTERM while every account's pull is stuck on a server trickling bytes (issue #11.5).

    .venv/bin/python scripts/bench_stop.py

Runs ``lapor-sync run`` as a child process against a loopback server that sends one byte
every 0.5 s (below ``http.read_timeout`` = 3 s, so only the total deadline or a stop ends
a request), waits until the pulls are in flight, sends SIGTERM and prints how long the
daemon took to exit, and its exit code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slow_server import SlowServer  # noqa: E402
from tests.test_daemon_support import CLI  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, SlowServer("body", gap=0.5) as slow:
        tmp = Path(folder)
        text = (ROOT / "config.toml").read_text(encoding="utf-8")
        text = text.replace("http://127.0.0.1:8765/api", slow.base_url)
        text = text.replace('path = "var/lapor-sync.db"', f'path = "{tmp}/store.db"')
        text = text.replace('out_dir = "var/report"', f'out_dir = "{tmp}/report"')
        text = text.replace("read_timeout = 30.0", "read_timeout = 3.0")
        (tmp / "config.toml").write_text(text, encoding="utf-8")
        child = subprocess.Popen(
            [sys.executable, "-c", CLI, "--config", str(tmp / "config.toml"), "run"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.monotonic() + 60
        while slow.requests < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # the trickle is well under way
        began = time.monotonic()
        child.send_signal(signal.SIGTERM)
        code = child.wait(120)
        print(
            f"requests in flight: {slow.requests}; SIGTERM to exit: "
            f"{time.monotonic() - began:.2f} s; exit code {code}"
        )


if __name__ == "__main__":
    main()

"""``lapor-sync demo --serve``: sandbox, daemon and portal running; every printed account works."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import requests

from lapor_sync.web.demo_serve import DEMO_ACCOUNTS, serve_demo
from tests.conftest import settings_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serve_prints_one_account_per_role_and_each_can_sign_in(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "http://127.0.0.1:9/api")
    port, lines, stop = free_port(), [], threading.Event()
    thread = threading.Thread(
        target=serve_demo,
        args=(settings, tmp_path / "demo-portal.db", lines.append),
        kwargs={"complaints": 20, "port": port, "stop": stop},
        daemon=True,
    )
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(lines) < 4 + len(DEMO_ACCOUNTS) and time.monotonic() < deadline:
            time.sleep(0.1)
        text = "\n".join(lines)
        assert f"Portal: http://127.0.0.1:{port}/" in text
        accounts = dict(re.findall(r"^  (\S+)\s+(\S+)\s{3}", text, re.M))
        assert set(accounts) == {name for name, _, _ in DEMO_ACCOUNTS}
        for name, password in accounts.items():
            with requests.Session() as browser:
                page = browser.get(f"http://127.0.0.1:{port}/masuk", timeout=10)
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
                assert token
                home = browser.post(
                    f"http://127.0.0.1:{port}/masuk",
                    data={"csrf_token": token.group(1), "name": name, "password": password},
                    timeout=10,
                )
                assert home.status_code == 200 and "Yang perlu ditangani hari ini" in home.text
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()

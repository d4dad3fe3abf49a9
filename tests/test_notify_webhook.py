"""The webhook channel against a loopback HTTP server, with its faults."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from lapor_sync.config.notify_section import Webhook
from lapor_sync.notify.deliver import RetryPolicy, deliver_due
from lapor_sync.notify.webhook import WebhookChannel
from lapor_sync.store import notify_outbox as box
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import WIB
from tests.smtp_server import free_port

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=WIB)
SECRET = "gateway-secret-7f3a"


class Gateway:
    """Answers POSTs by ``mode``: an HTTP status (``200``, ``503`` …) or ``drop``."""

    def __init__(self) -> None:
        self.mode = "200"
        self.received: list[tuple[dict[str, str], bytes]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                gateway.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if gateway.mode == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(int(gateway.mode))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Gateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Any]:
    database = open_database(tmp_path / "store.db")
    yield database
    database.close()


def queue(db: Any, key: str = "w1") -> int:
    payload = json.dumps({"kind": "opd_batch", "opd": "DINKES", "items": [{"ref": "LPG-1"}]})
    [row_id] = box.enqueue(
        db,
        [
            box.NewNotification(
                dedupe_key=key,
                kind="opd_batch",
                channel="webhook",
                subject="s",
                body_text="t",
                body_html="h",
                payload=payload,
                opd_code="DINKES",
            )
        ],
        NOW,
    )
    return row_id


def run(db: Any, port: int) -> Any:
    hook = Webhook(url=f"http://127.0.0.1:{port}/kirim", secret=SecretStr(SECRET), timeout=5.0)
    channel = WebhookChannel(hook)
    try:
        return deliver_due(
            db, {"webhook": channel}, policy=RetryPolicy(), clock=lambda: NOW, rng=random.Random(1)
        )
    finally:
        channel.close()


def test_posts_json_with_the_header_secret(db: Any) -> None:
    row_id = queue(db)
    with Gateway() as gw:
        assert run(db, gw.port).sent == 1
    [(headers, body)] = gw.received
    assert headers["x-lapor-sync-secret"] == SECRET
    assert headers["content-type"].startswith("application/json")
    assert headers["idempotency-key"] == f"lapor-sync-notify-{row_id}"
    assert json.loads(body)["items"] == [{"ref": "LPG-1"}]
    assert SECRET not in gw.received[0][1].decode()


@pytest.mark.parametrize(
    ("mode", "state"), [("503", "pending"), ("429", "pending"), ("400", "dead")]
)
def test_status_answers(db: Any, mode: str, state: str) -> None:
    row_id = queue(db)
    with Gateway() as gw:
        gw.mode = mode
        run(db, gw.port)
    row = box.get(db, row_id)
    assert row is not None and row.state == state and f"HTTP {mode}" in (row.last_error or "")


def test_gateway_down_is_retried(db: Any) -> None:
    row_id = queue(db)
    summary = run(db, free_port())
    row = box.get(db, row_id)
    assert summary.retry_later == 1
    assert (
        row is not None
        and row.state == "pending"
        and "connection refused" in (row.last_error or "")
    )


def test_answer_lost_is_unknown(db: Any) -> None:
    row_id = queue(db)
    with Gateway() as gw:
        gw.mode = "drop"
        assert run(db, gw.port).unknown == 1
        assert run(db, gw.port).sent == 0
    row = box.get(db, row_id)
    assert row is not None and row.state == "unknown"
    assert len(gw.received) == 1


def test_no_answer_in_time_is_unknown(db: Any) -> None:
    import time

    row_id = queue(db)
    with Gateway() as gw:
        gw.mode = "200"
        original = gw.server.RequestHandlerClass.do_POST  # type: ignore[attr-defined]

        def slow(handler: Any) -> None:
            time.sleep(1.0)  # longer than the channel's timeout below
            original(handler)

        gw.server.RequestHandlerClass.do_POST = slow  # type: ignore[attr-defined]
        hook = Webhook(
            url=f"http://127.0.0.1:{gw.port}/kirim", secret=SecretStr(SECRET), timeout=0.2
        )
        channel = WebhookChannel(hook)
        summary = deliver_due(
            db, {"webhook": channel}, policy=RetryPolicy(), clock=lambda: NOW, rng=random.Random(1)
        )
        channel.close()
    row = box.get(db, row_id)
    assert summary.unknown == 1
    assert (
        row is not None
        and row.state == "unknown"
        and "did not answer in time" in (row.last_error or "")
    )

"""Benchmark sections for issue #16: quiet cycles, tie groups, a rate budget, many accounts.

Run through ``scripts/bench.py --section NAME`` (each section in its own process):

- ``quiet-cycle``: N accounts (``--accounts``, default 1,100,500) on one sandbox serving
  them all, at ``--latency-ms``; after a backfill and the cursor's second settling, one
  quiet cycle of ``pull_all``: requests per account and wall;
- ``tie-group``: 250 complaints changed within the newest second, then 5 quiet cycles
  five minutes apart (sandbox time): requests each;
- ``rate-limit``: a backfill under ``http.max_requests_per_minute`` (``--budget``, 600)
  against a sandbox gateway that answers 429 beyond that many a minute: achieved rate
  against the budget, 429s received.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import ACCOUNT, emit, write_config

CYCLE = timedelta(minutes=5)


def _settings(
    tmp: Path, base_url: str, *, accounts: int = 1, edits: dict[str, str] | None = None
) -> Any:
    """The shipped config on ``base_url``; ``accounts`` copies of the province's account
    (distinct names and institution ids, the province's credentials: the sandbox serves
    them all the same instansi, as one gateway serves many), and no other account."""
    from lapor_sync.config import load_settings

    path = write_config(tmp, base_url)
    text = path.read_text(encoding="utf-8")
    for old, new in (edits or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    settings = load_settings(path, env={})
    province = settings.account(ACCOUNT)
    copies = tuple(
        province.model_copy(update={"name": f"acct-{i:03d}", "institution_id": str(900000 + i)})
        for i in range(accounts)
    )
    return settings.model_copy(update={"accounts": copies})


def _advance(sandbox: Any, delta: timedelta) -> None:
    sandbox.control("POST", "/clock/advance", {"minutes": delta.total_seconds() / 60})


def section_quiet(args: argparse.Namespace) -> None:
    from sandbox_proc import SandboxProcess

    from lapor_sync.app import open_app, pull_all
    from lapor_sync.logs import configure_logging

    configure_logging(fmt="console", level="error")
    for count in [int(n) for n in args.accounts.split(",")]:
        with SandboxProcess(seed=3, complaints=40) as sandbox, tempfile.TemporaryDirectory() as tmp:
            settings = _settings(Path(tmp), sandbox.base_url, accounts=count)
            app = open_app(settings)
            pull_all(app)  # the backfill
            _advance(sandbox, settings.pull.lookback + CYCLE)
            pull_all(app)  # reads the cursor's second once more, a lookback later: settled
            _advance(sandbox, CYCLE)
            sandbox.control("POST", "/faults", {"kind": "*", "latency_ms": args.latency_ms})
            before = sum(c.stats.total for c in app.clients.values())
            by_before = [dict(c.stats.by_endpoint) for c in app.clients.values()]
            wall0 = time.perf_counter()
            results = pull_all(app)
            wall = time.perf_counter() - wall0
            requests = sum(c.stats.total for c in app.clients.values()) - before
            failed = sum(1 for r in results.values() if isinstance(r, Exception))
            by_endpoint: dict[str, int] = {}
            for client, old in zip(app.clients.values(), by_before, strict=True):
                for name, n in client.stats.by_endpoint.items():
                    by_endpoint[name] = by_endpoint.get(name, 0) + n - old.get(name, 0)
            app.close()
            emit(
                f"quiet-cycle-{count}",
                accounts=count,
                latency_ms=args.latency_ms,
                requests=requests,
                requests_per_account=round(requests / count, 2),
                by_endpoint=by_endpoint,
                wall_s=round(wall, 2),
                failed=failed,
                max_in_flight=settings.http.max_in_flight,
            )


def section_ties(args: argparse.Namespace) -> None:
    from sandbox_proc import SandboxProcess

    from lapor_sync.app import open_app, pull_account
    from lapor_sync.logs import configure_logging

    configure_logging(fmt="console", level="error")
    with SandboxProcess(seed=4, complaints=600) as sandbox, tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp), sandbox.base_url)
        app = open_app(settings)
        account = next(iter(app.clients))
        pull_account(app, account)
        ids = [r[0] for r in app.db.execute("SELECT remote_id FROM remote_complaints LIMIT 250")]
        for rid in ids:  # the sandbox clock stands still: all in one second
            sandbox.control("POST", f"/complaints/{rid}/touch", {})
        first = pull_account(app, account).requests
        cycles = []
        for _ in range(5):
            _advance(sandbox, CYCLE)
            cycles.append(pull_account(app, account).requests)
        app.close()
        emit("tie-group", tied=len(ids), pull_after_the_change=first, quiet_cycles=cycles)


def section_rate(args: argparse.Namespace) -> None:
    from sandbox_proc import SandboxProcess

    from lapor_sync.app import open_app, pull_account
    from lapor_sync.logs import configure_logging

    configure_logging(fmt="console", level="error")
    budget = args.budget
    with (
        SandboxProcess(seed=5, complaints=args.rate_complaints) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        sandbox.control(
            "POST",
            "/faults",
            {"kind": "*", "latency_ms": args.latency_ms, "limit_per_minute": budget},
        )
        settings = _settings(
            Path(tmp),
            sandbox.base_url,
            edits={"max_requests_per_minute = 0": f"max_requests_per_minute = {budget}"},
        )
        statuses: dict[str, int] = {}

        def on_request(endpoint: str, outcome: str, seconds: float) -> None:
            statuses[outcome] = statuses.get(outcome, 0) + 1

        app = open_app(settings, on_request=on_request)
        account = next(iter(app.clients))
        client = app.clients[account]
        wall0 = time.perf_counter()
        summary = pull_account(app, account)
        wall = time.perf_counter() - wall0
        app.close()
        achieved = summary.requests / wall * 60
        emit(
            "rate-limit",
            complaints=summary.new,
            requests=summary.requests,
            budget_per_minute=budget,
            achieved_per_minute=round(achieved, 1),
            achieved_over_budget=round(achieved / budget, 3),
            wall_s=round(wall, 1),
            http_429=statuses.get("429", 0),
            eta_from_budget_s=round(client.budget.eta(summary.requests) or 0, 1),
        )

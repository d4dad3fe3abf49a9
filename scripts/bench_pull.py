"""Benchmark the pull: a backfill, then an incremental pull with a few changed complaints.

    .venv/bin/python scripts/bench_pull.py [--complaints 9400] [--latency-ms 20] [--changed 100]

The sandbox runs in its own process with a simulated latency on every request, so the
figures printed are the connector's own: wall time, requests made against the minimum
this API allows, the ratio of wall time to the lower bound (requests × latency ÷
concurrency), CPU time per complaint and peak memory (RSS).

The minimum: one list page per page_size complaints, plus one detail request and the
follow-up pages (10 follow-ups a page on the sandbox) of every changed complaint.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox_proc import SandboxProcess

from lapor_sync.app import open_app, pull_account
from lapor_sync.config import load_settings
from lapor_sync.logs import configure_logging
from lapor_sync.sync.pull import PullSummary

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "pemprov-lampung"
FOLLOWUP_PAGE = 10


@dataclass
class Figures:
    label: str
    complaints: int
    requests: int
    minimum: int
    wall_s: float
    lower_bound_s: float
    cpu_s: float

    def show(self) -> None:
        per = self.cpu_s / self.complaints * 1000 if self.complaints else 0.0
        print(f"\n{self.label}")
        print(f"  complaints fetched        {self.complaints}")
        print(
            f"  requests made / minimum   {self.requests} / {self.minimum}"
            f"  (x{self.requests / self.minimum:.3f})"
        )
        print(f"  wall time                 {self.wall_s:.2f} s")
        print(
            f"  lower bound               {self.lower_bound_s:.2f} s"
            "  (requests x latency / concurrency)"
        )
        print(f"  wall / lower bound        {self.wall_s / self.lower_bound_s:.2f}")
        print(f"  CPU per complaint         {per:.2f} ms")


def minimum_requests(app: object, changed_ids: set[str] | None, listed: int, page_size: int) -> int:
    db = app.db  # type: ignore[attr-defined]
    rows = db.execute(
        "SELECT c.remote_id, count(f.remote_id) FROM remote_complaints c "
        "LEFT JOIN remote_followups f ON f.account = c.account AND f.complaint_id = c.remote_id "
        "WHERE c.account = ? GROUP BY c.remote_id",
        [ACCOUNT],
    ).fetchall()
    per_complaint = {
        rid: 1 + max(1, math.ceil(count / FOLLOWUP_PAGE))
        for rid, count in rows
        if changed_ids is None or rid in changed_ids
    }
    return math.ceil(max(listed, 1) / page_size) + sum(per_complaint.values())


def measure(
    label: str, app: object, latency_s: float, concurrency: int, changed: set[str] | None
) -> tuple[Figures, PullSummary]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    summary = pull_account(app, ACCOUNT)  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    fetched = summary.new + summary.changed
    minimum = minimum_requests(app, changed, fetched, 100)
    figures = Figures(
        label=label,
        complaints=fetched,
        requests=summary.requests,
        minimum=minimum,
        wall_s=wall,
        lower_bound_s=summary.requests * latency_s / concurrency,
        cpu_s=cpu,
    )
    return figures, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--complaints",
        type=int,
        default=9400,
        help="complaints seeded (about 53%% are visible to the province)",
    )
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    configure_logging(fmt="console", level="warning")

    with (
        SandboxProcess(seed=1, complaints=args.complaints) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        sandbox.control("POST", "/faults", {"kind": "*", "latency_ms": args.latency_ms})
        config = (ROOT / "config.toml").read_text(encoding="utf-8")
        config = config.replace("http://127.0.0.1:8765/api", sandbox.base_url)
        config = config.replace('path = "var/lapor-sync.db"', f'path = "{tmp}/bench.db"')
        (Path(tmp) / "config.toml").write_text(config, encoding="utf-8")
        settings = load_settings(Path(tmp) / "config.toml", env={})
        concurrency = settings.http.concurrency
        app = open_app(settings)
        latency = args.latency_ms / 1000
        print(
            f"sandbox: {args.complaints} complaints seeded, latency {args.latency_ms:.0f} ms, "
            f"concurrency {concurrency}, page size {settings.account(ACCOUNT).page_size}"
        )

        backfill, _ = measure("backfill", app, latency, concurrency, None)
        backfill.show()

        visible = [
            r[0]
            for r in app.db.execute(
                "SELECT remote_id FROM remote_complaints WHERE account = ? ORDER BY remote_id",
                [ACCOUNT],
            )
        ]
        changed = set(visible[:: max(1, len(visible) // args.changed)][: args.changed])
        sandbox.control("POST", "/clock/advance", {"hours": 1})
        for rid in changed:
            sandbox.control(
                "POST", f"/complaints/{rid}/reply", {"content": "Mohon kabar perkembangannya."}
            )
        incremental, summary = measure(
            f"incremental pull, {len(changed)} changed", app, latency, concurrency, changed
        )
        incremental.show()
        if summary.changed != len(changed):
            print(
                f"  WARNING: {summary.changed} changed complaints pulled, {len(changed)} expected"
            )
        app.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (RSS of this process): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()

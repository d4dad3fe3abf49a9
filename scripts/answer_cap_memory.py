"""Memory taken by hostile answers: a 300 MB gzip bomb, an endless chunked body, JSON nested
200,000 deep, each read by LaporClient with the default cap (http.max_answer_mib = 16).

Prints, per answer: the outcome, the peak of Python allocations while reading it
(tracemalloc) and the process's peak RSS so far. ``--uncapped`` also reads the bomb with a
plain ``requests.get`` (what the client did before the cap) for comparison; that needs
about 700 MB of memory.

    .venv/bin/python scripts/answer_cap_memory.py [--uncapped]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from lapor_sync.domain import ListQuery
from lapor_sync.errors import LaporSyncError, describe
from lapor_sync.lapor.client import ClientOptions, LaporClient
from lapor_sync.timeutil import WIB
from tests.hostile_server import gzip_bomb, serve

QUERY = ListQuery(updated_from=datetime(2026, 1, 1, tzinfo=WIB))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uncapped", action="store_true", help="also read the bomb uncapped")
    args = parser.parse_args()
    bomb = gzip_bomb()
    print(f"gzip bomb: {len(bomb) / 1024:.0f} KB on the wire, inflating to 300 MB")
    with serve() as server:
        port = server.server_address[1]
        for route in ("bomb", "endless", "deep"):
            options = ClientOptions(
                base_url=f"http://127.0.0.1:{port}/api/{route}",
                api_key="k" * 12,
                token="t" * 12,
                retry_attempts=1,
            )
            client = LaporClient(options, sleep=lambda _s: None)
            tracemalloc.start()
            started = time.perf_counter()
            try:
                client.list_complaints(QUERY)
                outcome = "accepted (!)"
            except LaporSyncError as exc:
                outcome = describe(exc)
            seconds = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"{route:8} peak allocated {peak / 2**20:6.1f} MiB  peak RSS {rss_mb():6.0f} MB"
                f"  {seconds:5.2f} s  -> {outcome}"
            )
        if args.uncapped:
            started = time.perf_counter()
            body = requests.get(f"http://127.0.0.1:{port}/api/bomb/complaints", timeout=60).content
            print(
                f"uncapped requests.get of the bomb: {len(body) / 2**20:.0f} MiB decoded, "
                f"peak RSS {rss_mb():.0f} MB, {time.perf_counter() - started:.2f} s"
            )


if __name__ == "__main__":
    main()

"""Benchmark attachments: checking and keeping a file, and a push that uploads first.

    .venv/bin/python scripts/bench_attachments.py                       # defaults below
    .venv/bin/python scripts/bench_attachments.py --tickets 200 --files 3 --kib 500

1. **check and keep**: ``check_bytes`` (type by content, size) and ``store_bytes`` (sha256,
   owner-only write, fsync, rename) of one file of ``--store-mib`` MB, ``--repeat`` times
   into a fresh folder: MB/s.
2. **push with uploads**: ``--tickets`` tickets with ``--files`` attachments of ``--kib``
   KiB each, pushed to a sandbox in its own process with ``--latency-ms`` on every request.
   The minimum is one upload per file plus one create per ticket; the network lower bound is
   requests × latency ÷ ``http.concurrency``.

Prints one ``RESULT {json}`` line per part; nothing is asserted (figures, not tests).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench import ACCOUNT, emit, write_config  # noqa: E402


def part_store(args: argparse.Namespace) -> None:
    from lapor_sync.local.attachments import check_bytes, store_bytes

    size = args.store_mib * 1024 * 1024
    data = b"%PDF-1.4\n" + os.urandom(size - 9)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        for i in range(args.repeat):
            unique = data[:-8] + i.to_bytes(8, "big")  # a new hash each time: a real write
            checked = check_bytes("surat.pdf", unique, size, shown="surat.pdf")
            store_bytes(Path(tmp) / "attachments", checked.data)
        wall = time.perf_counter() - started
    emit(
        "attachments-check-and-keep",
        files=args.repeat,
        mib_each=args.store_mib,
        wall_s=round(wall, 3),
        ms_per_file=round(wall / args.repeat * 1000, 1),
        mib_per_s=round(args.repeat * args.store_mib / wall, 1),
    )


def part_push(args: argparse.Namespace) -> None:
    from sandbox_proc import SandboxProcess

    from lapor_sync.app import open_app, push_outbox
    from lapor_sync.config import load_settings
    from lapor_sync.local.attachments import add_ticket_with_files, check_bytes
    from lapor_sync.local.register import TicketInput
    from lapor_sync.logs import configure_logging
    from lapor_sync.timeutil import now_wib

    configure_logging(fmt="console", level="warning")
    body = os.urandom(args.kib * 1024)
    with SandboxProcess(seed=1, complaints=0) as sandbox, tempfile.TemporaryDirectory() as tmp:
        sandbox.control("POST", "/faults", {"kind": "*", "latency_ms": args.latency_ms})
        settings = load_settings(write_config(Path(tmp), sandbox.base_url), env={})
        app = open_app(settings)
        opds = [o.code for o in settings.opd]
        for i in range(args.tickets):
            files = [
                check_bytes(
                    f"foto-{i}-{k}.jpg",
                    b"\xff\xd8\xff\xe0" + i.to_bytes(4, "big") + k.to_bytes(4, "big") + body,
                    64 * 1024 * 1024,
                    shown="bench",
                )
                for k in range(args.files)
            ]
            add_ticket_with_files(
                app.db,
                TicketInput(
                    channel="whatsapp",
                    title=f"Keluhan nomor {i}",
                    content="Isi keluhan " * 20,
                    received_at=now_wib(),
                    opd_code=opds[i % len(opds)],
                    reporter_phone="081200000000",
                ),
                "LPG-{year}-{seq:06d}",
                ACCOUNT,
                files,
                app.attachments_folder,
            )
        cpu0, wall0 = time.process_time(), time.perf_counter()
        summary = push_outbox(app)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        requests = sum(c.stats.total for c in app.clients.values())
        uploaded = app.db.execute(
            "SELECT count(*) FROM local_attachments WHERE upload_id IS NOT NULL"
        ).fetchone()[0]
        app.close()
    minimum = args.tickets * (args.files + 1)
    bound = requests * args.latency_ms / 1000 / settings.http.concurrency
    emit(
        "attachments-push",
        tickets=args.tickets,
        files_per_ticket=args.files,
        kib_each=args.kib,
        pushed=summary.sent,
        uploaded=uploaded,
        requests=requests,
        minimum_requests=minimum,
        wall_s=round(wall, 2),
        network_bound_s=round(bound, 2),
        wall_over_bound=round(wall / bound, 2),
        cpu_ms_per_ticket=round(cpu / max(summary.sent, 1) * 1000, 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store-mib", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--kib", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    part_store(args)
    part_push(args)


if __name__ == "__main__":
    main()

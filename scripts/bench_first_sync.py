"""Benchmark section for issue #16 (c): the first ``sync --once`` over a large pulled store.

Run through ``scripts/bench.py --section first-sync [--large N]`` (its own process):

A store as a backfill of N complaints leaves it (``--large``, default 100,000: pulled
complaints, their dispositions and follow-ups, the change journal the triggers filled; no
local ticket yet) is built by a child process, so its building is not counted. Then the
jobs ``sync --once`` runs after the pull, in its order: reconcile (adoption of every
complaint into the register, then reconciliation of every linked ticket), push (nothing
to push: adopted tickets have no outbox rows) and the deadline scan. Printed: wall and
CPU of each job, CPU per complaint, the process's peak RSS after each job (the peak is
monotone: the first job whose figure jumps is the one that holds the memory), how many
transactions adoption and reconciliation made and the longest (how long one page holds
the write lock that other writers, such as the portal, wait for), and the
result counts (tickets adopted, follow-ups adopted, deadline rows), which must not depend
on the page size.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench import ACCOUNT, emit, peak_mb, timed_transactions, write_config

_WORDS = ["jalan", "rusak", "berlubang", "depan", "sekolah", "mohon", "segera", "warga"]
_WORDS += ["resah", "air", "tergenang", "saat", "hujan", "lampu", "mati", "sejak", "lalu"]


def build_pulled_store(path: Path, complaints: int) -> None:
    """Pulled complaints (about 600 characters of text each), 0–3 follow-ups and a
    disposition for most, as the pull writes them; the triggers fill the journal."""
    from lapor_sync.store.db import open_database
    from lapor_sync.timeutil import WIB, to_db

    db = open_database(path)
    rng = random.Random(11)
    start = datetime(2025, 1, 2, 8, 0, tzinfo=WIB)
    insts = ["18001", "18002", "18003", "18006"]
    statuses = [
        ("2", "Terverifikasi"),
        ("3", "Dalam Proses"),
        ("4", "Selesai"),
        ("0", "Belum Terverifikasi"),
    ]
    c_rows, d_rows, f_rows = [], [], []
    fid = 0
    for i in range(1, complaints + 1):
        created = start + timedelta(minutes=7 * i)
        inst = insts[i % len(insts)]
        code, name = statuses[rng.randrange(len(statuses))]
        text = " ".join(rng.choice(_WORDS) for _ in range(90))
        stamp = to_db(created)
        c_rows.append(
            (
                *(ACCOUNT, str(i), f"TRK{i}", f"Aduan {i}: {text[:60]}", text, code, name),
                *(inst, "OPD", "7", "1", "web", 0, 0, "[]", "18.71", None, f"Warga {i}"),
                *(f"0812{i:08d}", None, stamp, stamp, stamp, stamp),
            )
        )
        if code == "0":
            continue
        d_at = to_db(created + timedelta(days=rng.randint(0, 4)))
        d_rows.append(
            (ACCOUNT, str(i), "18", "Pemprov", inst, "OPD", "disposition", None, d_at, f"fp{i}")
        )
        for k in range(rng.randint(0, 3)):
            fid += 1
            f_at = to_db(created + timedelta(days=rng.randint(5, 16)))
            author = "reporter" if k == 1 else "institution"
            f_rows.append(
                (
                    *(ACCOUNT, str(fid), str(i), author, inst, "OPD", None, None, text[:300]),
                    *("followup", 0, None, 0, f_at, f_at),
                )
            )
    conn = db.conn
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO remote_complaints VALUES ({','.join('?' * 24)})", c_rows)
    conn.executemany(
        "INSERT INTO remote_dispositions (account, complaint_id, from_id, from_name, to_id, "
        "to_name, template_code, content, at, fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?)",
        d_rows,
    )
    conn.executemany(f"INSERT INTO remote_followups VALUES ({','.join('?' * 15)})", f_rows)
    conn.execute("COMMIT")
    db.close()


def section_first_sync(args: argparse.Namespace) -> dict[str, object]:
    from lapor_sync.app import open_app, push_outbox, reconcile_all, scan_deadlines
    from lapor_sync.config import load_settings
    from lapor_sync.logs import configure_logging
    from lapor_sync.sync import adopt, reconcile

    configure_logging(fmt="console", level="warning")
    figures: dict[str, object] = {"complaints": args.large}
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(write_config(Path(tmp)), env={})
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--build", str(settings.store.path), str(args.large)],
            check=True,
        )
        figures["build_s"] = round(time.perf_counter() - started, 1)
        app = open_app(settings)
        figures["peak_mb_open"] = round(peak_mb(), 1)
        wall_all = cpu_all = 0.0
        for job, run in (
            ("reconcile", lambda: reconcile_all(app)),
            ("push", lambda: push_outbox(app)),
            ("deadlines", lambda: scan_deadlines(app)),
        ):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            with timed_transactions(adopt) as adopting, timed_transactions(reconcile) as deciding:
                run()
            if job == "reconcile":
                # How long one page holds the write lock (other writers wait that long).
                for name, spent in (("adopt", adopting), ("reconcile", deciding)):
                    figures[f"{name}_transactions"] = len(spent)
                    figures[f"{name}_longest_transaction_s"] = round(max(spent, default=0), 2)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            wall_all, cpu_all = wall_all + wall, cpu_all + cpu
            figures[f"{job}_s"] = round(wall, 2)
            figures[f"{job}_cpu_s"] = round(cpu, 2)
            figures[f"peak_mb_after_{job}"] = round(peak_mb(), 1)
        figures["first_sync_s"] = round(wall_all, 2)
        figures["cpu_ms_per_complaint"] = round(cpu_all / args.large * 1000, 3)
        db = app.db
        for name, sql in (
            ("tickets", "SELECT count(*) FROM local_tickets"),
            ("linked", "SELECT count(*) FROM links"),
            ("followups", "SELECT count(*) FROM local_followups"),
            ("bases", "SELECT count(*) FROM sync_base"),
            ("conflicts", "SELECT count(*) FROM conflicts"),
            ("deadline_rows", "SELECT count(*) FROM deadlines"),
        ):
            figures[name] = db.execute(sql).fetchone()[0]
        app.close()
    return figures


if __name__ == "__main__" and sys.argv[1:2] == ["--build"]:
    build_pulled_store(Path(sys.argv[2]), int(sys.argv[3]))
elif __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", type=int, default=100_000)
    emit("first-sync", **section_first_sync(parser.parse_args()))

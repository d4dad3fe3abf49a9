"""The benchmark report: what each job costs, against the least it could cost.

    .venv/bin/python scripts/bench.py                 # every section, each in its own process
    .venv/bin/python scripts/bench.py --section push  # one section

Sections and their lower bounds (measured in the same run):
- pull-backfill, pull-incremental: requests against the minimum the API allows; wall time
  against requests × latency ÷ concurrency; the storage part against a bare ``sqlite3``
  ``executemany`` of the same rows;
- push: N local tickets created on the sandbox; wall against requests × latency ÷
  concurrency;
- deadlines: a scan over a large synthetic store; against a bare ``executemany`` of the
  deadline rows it produced;
- report: the liaisons' HTML/CSV/JSON report over the same large store; against a bare
  read of the rows it summarises.
- quiet-cycle, tie-group, rate-limit (``scripts/bench_cycles.py``): requests of a quiet
  cycle for many accounts, a tie group's cost over quiet cycles, a backfill under a rate
  budget against a gateway that enforces it.
- first-sync (``scripts/bench_first_sync.py``): the first ``sync --once`` after a backfill
  of ``--large`` complaints: adoption, reconciliation, push and the deadline scan.
Each prints wall time, CPU time per complaint and peak memory (RSS of its process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

SECTIONS = ["pull-backfill", "pull-incremental", "push", "deadlines", "report", "notify"]
SECTIONS += ["quiet-cycle", "tie-group", "rate-limit"]  # scripts/bench_cycles.py
SECTIONS += ["first-sync"]  # scripts/bench_first_sync.py
ACCOUNT = "pemprov-lampung"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(name: str, **figures: Any) -> None:
    figures["peak_mb"] = round(peak_mb(), 1)
    print("RESULT " + json.dumps({"section": name, **figures}), flush=True)


def write_config(tmp: Path, base_url: str = "http://127.0.0.1:9/api") -> Path:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace("http://127.0.0.1:8765/api", base_url)
    text = text.replace('path = "var/lapor-sync.db"', f'path = "{tmp}/bench.db"')
    text = text.replace('out_dir = "var/report"', f'out_dir = "{tmp}/report"')
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def timed_transactions(module: Any) -> Iterator[list[float]]:
    """Time every ``transaction()`` block a module opens: its storage work."""
    spent: list[float] = []
    original = module.transaction

    @contextlib.contextmanager
    def timing(db: Any) -> Iterator[Any]:
        started = time.perf_counter()
        with original(db) as inner:
            yield inner
        spent.append(time.perf_counter() - started)

    module.transaction = timing
    try:
        yield spent
    finally:
        module.transaction = original


def bare_copy_seconds(source: Path, tables: list[str], batches: int) -> float:
    """Insert the same rows into an empty copy of the schema with plain executemany."""
    from lapor_sync.store.db import open_database

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "bare.db"
        open_database(target).close()  # same schema, same pragmas
        src = sqlite3.connect(source)
        dst = sqlite3.connect(target, isolation_level=None)
        dst.execute("PRAGMA journal_mode=WAL")
        dst.execute("PRAGMA synchronous=FULL")
        data = {t: src.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
        started = time.perf_counter()
        for i in range(max(batches, 1)):
            dst.execute("BEGIN")
            for table, rows in data.items():
                chunk = rows[i :: max(batches, 1)]
                if chunk:
                    marks = ",".join("?" * len(chunk[0]))
                    dst.executemany(f"INSERT INTO {table} VALUES ({marks})", chunk)
            dst.execute("COMMIT")
        return time.perf_counter() - started


# --- pull -------------------------------------------------------------------------------------


def section_pull(incremental: bool, args: argparse.Namespace) -> None:
    from bench_pull import minimum_requests
    from sandbox_proc import SandboxProcess

    from lapor_sync.app import open_app, pull_account
    from lapor_sync.config import load_settings
    from lapor_sync.logs import configure_logging
    from lapor_sync.sync import pull as pull_module

    configure_logging(fmt="console", level="warning")
    with (
        SandboxProcess(seed=1, complaints=args.complaints) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        sandbox.control("POST", "/faults", {"kind": "*", "latency_ms": args.latency_ms})
        settings = load_settings(write_config(Path(tmp), sandbox.base_url), env={})
        app = open_app(settings)
        changed: set[str] | None = None
        if incremental:
            pull_account(app, ACCOUNT)
            ids = [
                r[0]
                for r in app.db.execute(
                    "SELECT remote_id FROM remote_complaints WHERE account=? ORDER BY remote_id",
                    [ACCOUNT],
                )
            ]
            changed = set(ids[:: max(1, len(ids) // args.changed)][: args.changed])
            sandbox.control("POST", "/clock/advance", {"hours": 1})
            for rid in changed:
                sandbox.control("POST", f"/complaints/{rid}/reply", {"content": "Mohon kabar."})
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with timed_transactions(pull_module) as storage:
            summary = pull_account(app, ACCOUNT)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        pull_peak = peak_mb()  # before the bare copy below, which holds every row it copies
        fetched = summary.new + summary.changed
        minimum = minimum_requests(app, changed, fetched, 100)
        bare = (
            bare_copy_seconds(
                settings.store.path,
                [
                    "remote_complaints",
                    "remote_followups",
                    "remote_status_history",
                    "remote_dispositions",
                ],
                summary.pages,
            )
            if not incremental
            else None
        )
        app.close()
        latency = args.latency_ms / 1000
        bound = summary.requests * latency / settings.http.concurrency
        emit(
            "pull-incremental" if incremental else "pull-backfill",
            complaints=fetched,
            requests=summary.requests,
            minimum_requests=minimum,
            wall_s=round(wall, 2),
            network_bound_s=round(bound, 2),
            wall_over_bound=round(wall / bound, 2) if bound else None,  # --latency-ms 0
            storage_s=round(sum(storage), 3),
            bare_storage_s=round(bare, 3) if bare is not None else None,
            storage_over_bare=round(sum(storage) / bare, 1) if bare else None,
            cpu_ms_per_complaint=round(cpu / max(fetched, 1) * 1000, 2),
            peak_mb_pull=round(pull_peak, 1),
        )


# --- push ---------------------------------------------------------------------------------------


def section_push(args: argparse.Namespace) -> None:
    from sandbox_proc import SandboxProcess

    from lapor_sync.app import open_app, push_outbox
    from lapor_sync.config import load_settings
    from lapor_sync.local.register import TicketInput, insert_ticket
    from lapor_sync.logs import configure_logging
    from lapor_sync.store.db import transaction
    from lapor_sync.timeutil import now_wib

    configure_logging(fmt="console", level="warning")
    with SandboxProcess(seed=1, complaints=0) as sandbox, tempfile.TemporaryDirectory() as tmp:
        sandbox.control("POST", "/faults", {"kind": "*", "latency_ms": args.latency_ms})
        settings = load_settings(write_config(Path(tmp), sandbox.base_url), env={})
        app = open_app(settings)
        opds = [o.code for o in settings.opd]
        # --push-accounts N: the tickets spread over N accounts, pushed in parallel
        accounts = [a.name for a in settings.enabled_accounts][: args.push_accounts]
        with transaction(app.db):
            for i in range(args.tickets):
                account = accounts[i % len(accounts)]
                insert_ticket(
                    app.db,
                    TicketInput(
                        channel=random.choice(["sms", "whatsapp", "telepon"]),
                        title=f"Keluhan nomor {i}",
                        content="Isi keluhan " * 20,
                        received_at=now_wib(),
                        opd_code=opds[i % len(opds)] if account == ACCOUNT else None,
                        reporter_phone="081200000000",
                    ),
                    "LPG-{year}-{seq:06d}",
                    account,
                )
        cpu0, wall0 = time.process_time(), time.perf_counter()
        summary = push_outbox(app)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        requests = sum(c.stats.total for c in app.clients.values())
        app.close()
        in_flight = min(settings.http.concurrency * len(accounts), settings.http.max_in_flight)
        bound = requests * args.latency_ms / 1000 / in_flight
        emit(
            "push",
            tickets=args.tickets,
            accounts=len(accounts),
            in_flight=in_flight,
            pushed=summary.sent,
            requests=requests,
            minimum_requests=args.tickets,
            wall_s=round(wall, 2),
            network_bound_s=round(bound, 2),
            wall_over_bound=round(wall / bound, 2) if bound else None,  # --latency-ms 0
            cpu_ms_per_ticket=round(cpu / max(summary.sent, 1) * 1000, 2),
        )


# --- a large store for deadlines and the report -------------------------------------------


def build_large_store(path: Path, tickets: int) -> None:
    """Synthetic but realistic: linked tickets with dispositions, follow-ups and replies."""
    from lapor_sync.store.db import open_database

    db = open_database(path)
    rng = random.Random(7)
    from datetime import datetime

    from lapor_sync.timeutil import WIB, to_db

    start = datetime(2025, 1, 2, 8, 0, tzinfo=WIB)
    opds = [("DISDIK", "18001"), ("DINKES", "18002"), ("BMBK", "18003"), ("DINSOS", "18006")]
    t_rows, l_rows, c_rows, d_rows, f_rows = [], [], [], [], []
    statuses = [
        ("Terverifikasi", "dispositioned"),
        ("Dalam Proses", "in_progress"),
        ("Selesai", "closed"),
        ("Belum Terverifikasi", "awaiting_verification"),
    ]
    fid = 0
    for i in range(1, tickets + 1):
        created = start + timedelta(minutes=7 * i)
        code, inst = opds[i % len(opds)]
        name, state = statuses[rng.randrange(len(statuses))]
        t_rows.append(
            (
                i,
                f"LPG-{created.year}-{i:06d}",
                "lapor",
                ACCOUNT,
                "lapor",
                None,
                None,
                None,
                0,
                int(rng.random() < 0.1),
                f"Judul {i}",
                "Isi",
                None,
                code,
                None,
                None,
                to_db(created),
                state,
                None,
                to_db(created),
                to_db(created),
            )
        )
        l_rows.append((i, ACCOUNT, str(i), f"TRK{i}", to_db(created)))
        c_rows.append(
            (
                ACCOUNT,
                str(i),
                f"TRK{i}",
                f"Judul {i}",
                "Isi",
                "0",
                name,
                inst,
                code,
                None,
                None,
                "1",
                0,
                0,
                "[]",
                None,
                None,
                None,
                None,
                None,
                to_db(created),
                to_db(created),
                to_db(created),
                to_db(created),
            )
        )
        if state != "awaiting_verification":
            d_at = created + timedelta(days=rng.randint(0, 4))
            d_rows.append(
                (
                    i,
                    ACCOUNT,
                    str(i),
                    "18",
                    "Pemprov",
                    inst,
                    code,
                    "disposition",
                    None,
                    to_db(d_at),
                    f"fp{i}",
                )
            )
            for k in range(rng.randint(0, 3)):
                fid += 1
                author = "reporter" if k == 1 else "institution"
                f_at = d_at + timedelta(days=rng.randint(1, 12))
                f_rows.append(
                    (
                        ACCOUNT,
                        str(fid),
                        str(i),
                        author,
                        inst,
                        code,
                        None,
                        None,
                        "Isi",
                        "followup",
                        0,
                        None,
                        0,
                        to_db(f_at),
                        to_db(f_at),
                    )
                )
    conn = db.conn
    conn.execute("BEGIN")
    conn.execute("DROP TRIGGER local_ticket_created")  # synthetic rows need no outbox
    # Named columns: later migrations add columns to local_tickets (with defaults).
    columns = (
        "id, ref, origin, account, channel, reporter_name, reporter_phone, reporter_email, "
        "is_anonymous, is_secret, title, content, category_id, opd_code, location_id, "
        "date_of_incident, received_at, status, import_key, created_at, updated_at"
    )
    conn.executemany(
        f"INSERT INTO local_tickets ({columns}) VALUES ({','.join('?' * 21)})", t_rows
    )
    conn.executemany("INSERT INTO links VALUES (?,?,?,?,?)", l_rows)
    conn.executemany(f"INSERT INTO remote_complaints VALUES ({','.join('?' * 24)})", c_rows)
    conn.executemany(f"INSERT INTO remote_dispositions VALUES ({','.join('?' * 11)})", d_rows)
    conn.executemany(f"INSERT INTO remote_followups VALUES ({','.join('?' * 15)})", f_rows)
    conn.execute("COMMIT")
    db.close()


def section_deadlines(args: argparse.Namespace) -> None:
    from lapor_sync.config import load_settings
    from lapor_sync.logs import configure_logging
    from lapor_sync.sla import deadlines as deadlines_module
    from lapor_sync.store.db import open_database
    from lapor_sync.timeutil import now_wib

    configure_logging(fmt="console", level="warning")
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(write_config(Path(tmp)), env={})
        build_large_store(settings.store.path, args.large)
        db = open_database(settings.store.path)
        calendar = settings.calendar()
        figures = {}
        for label in ("first", "again"):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            summary = deadlines_module.scan(db, settings, calendar, now_wib())
            figures[label] = (time.perf_counter() - wall0, time.process_time() - cpu0)
        rows = db.execute("SELECT count(*) FROM deadlines").fetchone()[0]
        db.close()
        bare = bare_copy_seconds(settings.store.path, ["deadlines"], 1)
        emit(
            "deadlines",
            tickets=args.large,
            deadline_rows=rows,
            overdue=sum(c.overdue for c in summary.per_opd.values()),
            first_scan_s=round(figures["first"][0], 2),
            unchanged_rescan_s=round(figures["again"][0], 2),
            bare_insert_s=round(bare, 3),
            first_over_bare=round(figures["first"][0] / bare, 1),
            cpu_ms_per_ticket=round(figures["first"][1] / args.large * 1000, 3),
        )


def section_report(args: argparse.Namespace) -> None:
    from lapor_sync.config import load_settings
    from lapor_sync.logs import configure_logging
    from lapor_sync.sla.deadlines import scan
    from lapor_sync.store.db import open_database
    from lapor_sync.timeutil import now_wib

    try:
        from lapor_sync.report.html import generate_report
    except ImportError:
        emit("report", skipped="report generation not available")
        return
    configure_logging(fmt="console", level="warning")
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(write_config(Path(tmp)), env={})
        build_large_store(settings.store.path, args.large)
        db = open_database(settings.store.path)
        scan(db, settings, settings.calendar(), now_wib())
        db.close()
        from lapor_sync.app import open_app

        app = open_app(settings)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        generate_report(app, Path(tmp) / "report", period="all", now=now_wib())
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        started = time.perf_counter()
        for table in ("local_tickets", "links", "remote_followups", "deadlines", "events"):
            app.db.execute(f"SELECT * FROM {table}").fetchall()
        bare = time.perf_counter() - started
        app.close()
        emit(
            "report",
            tickets=args.large,
            wall_s=round(wall, 2),
            bare_read_s=round(bare, 3),
            wall_over_bare_read=round(wall / bare, 1),
            cpu_ms_per_ticket=round(cpu / args.large * 1000, 3),
        )


# --- driver ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=SECTIONS)
    parser.add_argument(
        "--complaints",
        type=int,
        default=9400,
        help="complaints seeded for the pull sections (~53%% visible)",
    )
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--tickets", type=int, default=500, help="local tickets to push")
    parser.add_argument(
        "--push-accounts", type=int, default=1, help="push: accounts the tickets spread over"
    )
    parser.add_argument(
        "--large",
        type=int,
        default=100_000,
        help="tickets in the store for the deadlines, report and first-sync sections",
    )
    parser.add_argument("--accounts", default="1,100,500", help="quiet-cycle: account counts")
    parser.add_argument("--budget", type=int, default=600, help="rate-limit: requests/minute")
    parser.add_argument(
        "--rate-complaints", type=int, default=2000, help="rate-limit: complaints seeded"
    )
    args = parser.parse_args()
    if args.section:
        import bench_cycles

        {
            "pull-backfill": lambda: section_pull(False, args),
            "pull-incremental": lambda: section_pull(True, args),
            "push": lambda: section_push(args),
            "deadlines": lambda: section_deadlines(args),
            "report": lambda: section_report(args),
            "notify": lambda: emit("notify", **__import__("bench_notify").section_notify(args)),
            "quiet-cycle": lambda: bench_cycles.section_quiet(args),
            "tie-group": lambda: bench_cycles.section_ties(args),
            "rate-limit": lambda: bench_cycles.section_rate(args),
            "first-sync": lambda: emit(
                "first-sync", **__import__("bench_first_sync").section_first_sync(args)
            ),
        }[args.section]()
        return
    passthrough = [a for a in sys.argv[1:]]
    print(
        f"lapor-sync benchmark — {time.strftime('%Y-%m-%d %H:%M')}, "
        f"latency {args.latency_ms:.0f} ms, every section in its own process\n"
    )
    for section in SECTIONS:
        done = subprocess.run(
            [sys.executable, __file__, "--section", section, *passthrough],
            capture_output=True,
            text=True,
            check=False,
        )
        results = [
            json.loads(line[7:]) for line in done.stdout.splitlines() if line.startswith("RESULT ")
        ]
        if done.returncode != 0 or not results:
            print(f"{section}: FAILED\n{done.stderr[-2000:]}")
            continue
        result = results[-1]
        print(result.pop("section"))
        for key, value in result.items():
            if value is not None:
                print(f"  {key:22} {value}")
        print()


if __name__ == "__main__":
    main()

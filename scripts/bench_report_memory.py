"""Peak memory of ``lapor-sync report`` on a large store, and a digest of what it wrote.

    .venv/bin/python scripts/bench_report_memory.py [--tickets 100000] [--keep DIR]
        [--code DIR]

Builds the synthetic store of ``scripts/bench.py`` (100,000 linked tickets; kept in
``--keep DIR`` and reused by later runs), scans its deadlines, and then runs the report in
fresh child processes, each measured on its own (GNU ``time``'s maximum resident set
size of the child, not this builder's):

- ``cli``: ``lapor-sync report --period all`` exactly as an operator runs it (it
  recomputes the deadlines first, then writes the report);
- ``fixed``: the same two steps with the clock fixed, so two versions of the code can be
  compared file by file: ``sha256`` is a digest of every file's name and bytes.
  ``--code DIR`` runs the children on the lapor_sync package in DIR (e.g. a checkout of
  an earlier commit) instead of this one.

Prints one JSON line per run: peak RSS in MB, wall time, files written, sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

TIME = "/usr/bin/time"  # GNU time (Debian: apt-get install time)
FIXED_NOW = "2026-12-03T10:00:00+07:00"
FIXED_CHILD = """
import sys
from datetime import datetime
from lapor_sync.app import open_app
from lapor_sync.config import load_settings
from lapor_sync.report.html import generate_report
from lapor_sync.sla.deadlines import recompute_deadlines

now = datetime.fromisoformat(sys.argv[2])
settings = load_settings(sys.argv[1], env={})
app = open_app(settings, clock=lambda: now)
recompute_deadlines(app.db, settings, settings.calendar(), now)
generate_report(app, sys.argv[3], period="all", now=now)
app.close()
"""


def digest(folder: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    for name in names:
        sha.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return len(names), sha.hexdigest()


def run_child(argv: list[str], code: Path, out: Path, label: str) -> None:
    """Run ``argv`` on the package in ``code``: its folder is the child's working directory
    (``-c`` and ``-m`` put that first on ``sys.path``) and its ``PYTHONPATH``."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(code)}
    # Started by /usr/bin/time, whose own memory is tiny: a child started from this
    # process would report at least this process's peak (Linux keeps the high-water
    # mark of the memory it replaced at exec, and subprocess may vfork).
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        proc = subprocess.run(
            [TIME, "-f", "%M", "-o", rss.name, *argv],
            env=env, cwd=code, stdout=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        peak_kb = int(rss.read().split()[-1])
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{label}: the report exited with {proc.returncode}")
    files, sha = digest(out)
    print(
        json.dumps(
            {
                "run": label,
                "peak_rss_mb": round(peak_kb / 1024, 1),  # GNU time's %M: kilobytes
                "wall_s": round(wall, 2),
                "files": files,
                "sha256": sha,
            }
        ),
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the store here once, reuse it later")
    parser.add_argument("--code", type=Path, help="run the report on the package in this folder")
    parser.add_argument("--runs", choices=("cli", "fixed", "both"), default="both")
    args = parser.parse_args()

    from bench import build_large_store, write_config

    from lapor_sync.config import load_settings
    from lapor_sync.logs import configure_logging
    from lapor_sync.sla.deadlines import scan
    from lapor_sync.store.db import open_database
    from lapor_sync.timeutil import now_wib

    configure_logging(fmt="console", level="warning")
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    tmp.mkdir(parents=True, exist_ok=True)
    config = write_config(tmp)
    settings = load_settings(config, env={})
    if not Path(settings.store.path).exists():
        build_large_store(settings.store.path, args.tickets)
        db = open_database(settings.store.path)
        scan(db, settings, settings.calendar(), now_wib())
        db.close()
    db = open_database(settings.store.path)
    tickets = db.execute("SELECT count(*) FROM local_tickets").fetchone()[0]
    db.close()
    print(json.dumps({"store": str(settings.store.path), "tickets": tickets}), flush=True)

    code = (args.code or ROOT).resolve()
    if args.runs in ("cli", "both"):
        out = tmp / "report-cli"
        argv = [sys.executable, "-m", "lapor_sync", "--config", str(config), "report"]
        run_child([*argv, "--period", "all", "--out", str(out)], code, out, f"cli ({code})")
    if args.runs in ("fixed", "both"):
        out = tmp / f"report-fixed-{hashlib.sha256(str(code).encode()).hexdigest()[:8]}"
        argv = [sys.executable, "-c", FIXED_CHILD, str(config), FIXED_NOW, str(out)]
        run_child(argv, code, out, f"fixed ({code})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

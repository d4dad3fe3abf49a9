"""The model test's speed: examples per second of each machine, and where the time goes.

    .venv/bin/python scripts/bench_model.py                    # both machines, 20 examples
    .venv/bin/python scripts/bench_model.py --examples 50 --machine memory --profile
    TMPDIR=/tmp .venv/bin/python scripts/bench_model.py --store-dir default

Runs ``SyncMachine`` (HTTP to a SandboxServer on loopback) and ``MemorySyncMachine``
(sandbox/memory_remote.py, in-process) of tests/test_model.py with the ``ci`` profile's
settings (derandomized, 25 steps), and prints, per machine, examples, wall and CPU
seconds and examples per second. ``--profile`` adds cProfile's 25 most expensive
functions (internal time). ``--store-dir default`` keeps the examples' stores where
``tempfile`` puts them (``TMPDIR``) instead of where the test puts them (tmpfs when
present): the difference is the price of SQLite's fsyncs on that disk.

Figures depend on the machine and its load: compare runs made one after the other.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests import test_model


def run(name: str, examples: int, profile: bool) -> None:
    machine = test_model.MemorySyncMachine if name == "memory" else test_model.SyncMachine
    chosen = settings(
        max_examples=examples,
        stateful_step_count=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    profiler = cProfile.Profile() if profile else None
    # The test's own set-up (tests/test_model.py): the in-memory machine logs at warning,
    # and what exists before the machine starts is frozen out of the cycle collector.
    quiet = test_model.warnings_only() if name == "memory" else contextlib.nullcontext()
    with quiet, test_model.collector_spares_the_harness():
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        run_state_machine_as_test(machine, settings=chosen)
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{name:<6} {examples} examples: wall {wall:.1f} s, cpu {cpu:.1f} s, "
        f"{examples / wall:.2f} examples/s"
    )
    if profiler:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20)
    parser.add_argument("--machine", choices=["http", "memory", "both"], default="both")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--store-dir", choices=["test", "default"], default="test")
    args = parser.parse_args()
    if args.store_dir == "default":
        test_model.SCRATCH = None
    for name in ("http", "memory") if args.machine == "both" else (args.machine,):
        run(name, args.examples, args.profile)


if __name__ == "__main__":
    main()

"""``generate_report``: figures, lists and pages of the liaison report, published atomically.

The report is rendered in memory, written into a fresh temporary directory beside
``out_dir`` and then swapped into place, so a reader (the daemon serving ``out_dir``, a
liaison's browser) sees either the previous report or the new one, never a mix or a
half-written file:

- when ``out_dir`` does not exist yet, one ``rename``;
- on Linux, ``renameat2(RENAME_EXCHANGE)`` swaps the two directories in one step;
- where that is not available (another OS, a file system without it), ``out_dir`` is
  renamed aside and the new one renamed in: for a moment the directory is missing (a
  reader gets "not found", never a partial report).

The replaced report is kept beside it as ``.<name>.previous`` until the next run, so a
reader that looked up ``out_dir`` an instant before the swap still finds every file in the
directory it got. ``out_dir`` may be a symbolic link: the directory it points to is
replaced. A folder that is neither empty nor an earlier report is refused (``--out`` aimed
at the wrong folder must not swap it away). Temporary directories left by a crash
(``.<name>.tmp-*``, older than an hour) are removed on the next run. Nothing here writes to
the store.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from lapor_sync.config import Settings
from lapor_sync.errors import ReportError as ReportError
from lapor_sync.fsmodes import PRIVATE_DIR, make_private_dirs, open_private
from lapor_sync.report.figures import ReportFigures, compute_figures, wanted_key
from lapor_sync.report.html.pages import event_window, open_conflicts, recent_events, work_items
from lapor_sync.report.html.render import render_site
from lapor_sync.report.period import Period, parse_period
from lapor_sync.store.db import read_snapshot
from lapor_sync.timeutil import now_wib


class ReportSource(Protocol):
    """What the report needs of a configured lapor-sync (``lapor_sync.app.App`` is one)."""

    @property
    def db(self) -> sqlite_utils.Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

STALE_AFTER_S = 3600


@dataclass(frozen=True)
class ReportResult:
    out_dir: Path
    files: tuple[Path, ...]  # every file written, inside ``out_dir``
    figures: ReportFigures
    duration_s: float


def generate_report(
    source: ReportSource | tuple[sqlite_utils.Database, Settings],
    out_dir: Path | str | None = None,
    *,
    period: Period | str | None = None,
    opd: str | None = None,
    now: datetime | None = None,
) -> ReportResult:
    """Write the HTML report with its CSV and JSON into ``out_dir``, atomically.

    ``source`` is an ``App`` (any ``ReportSource``) or a ``(db, settings)`` pair.
    ``out_dir`` defaults to ``[report] out_dir``; ``period`` is a ``Period``, ``"2026-11"``,
    ``"all"`` or None (the month of ``now``); ``opd`` limits the report to one OPD (its
    code; ``unassigned`` for complaints without one); ``now`` defaults to the app's clock
    (else the current time).

    Reads the ``deadlines`` table as it is: run it after a deadline scan (the daemon) or a
    ``recompute_deadlines`` (the CLI), so "late" is current.
    """
    started = time.perf_counter()
    db, settings, clock = _unpack(source)
    now = now or clock()
    if not isinstance(period, Period):
        period = parse_period(period, now)
    target = Path(out_dir) if out_dir is not None else Path(settings.report.out_dir)
    calendar = settings.calendar()
    key = wanted_key(opd)
    with read_snapshot(db):
        figures = compute_figures(db, settings, now, period, opd=opd, calendar=calendar)
        work = work_items(db, settings, now, calendar, opd=opd)
        conflicts = open_conflicts(db)
        window = event_window(period, now)
        events = recent_events(
            db, window, [f.key for f in figures.opds], settings.state_for_status
        )
    if key is not None:
        work = {k: v for k, v in work.items() if k == key}
        conflicts = {k: v for k, v in conflicts.items() if k == key}
    files = render_site(figures, work, conflicts, events, window, now)
    publish(files, target)
    return ReportResult(
        out_dir=target,
        files=tuple(target / name for name in files),
        figures=figures,
        duration_s=time.perf_counter() - started,
    )


def _unpack(
    source: ReportSource | tuple[sqlite_utils.Database, Settings],
) -> tuple[sqlite_utils.Database, Settings, Callable[[], datetime]]:
    if isinstance(source, tuple):
        db, settings = source
        return db, settings, now_wib
    return source.db, source.settings, source.clock


# --- atomic publication ---------------------------------------------------------------------


def publish(files: Mapping[str, str], out_dir: Path) -> None:
    """Replace the contents of ``out_dir`` with ``files`` in one step (see module doc)."""
    target = Path(os.path.realpath(out_dir))
    _check_replaceable(target)
    try:
        make_private_dirs(target.parent)
        _remove_stale(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as exc:
        raise ReportError(f"cannot write the report beside {target}: {exc.strerror}") from None
    try:
        for name, text in files.items():
            _write(staging / name, text)
        # Owner-only like everything lapor-sync writes: the report names complaints and
        # OPD work; it is served by the daemon (loopback) and the portal, not by the file
        # system. mkdtemp made it 0700 already; said explicitly, whatever the umask.
        os.chmod(staging, PRIVATE_DIR)
        _swap_into_place(staging, target)
        # The staging name now holds the report that was replaced. It is kept until the
        # next run: a reader that looked up ``out_dir`` just before the swap still finds
        # every file of it (deleting it now could pull a file from under that reader).
        previous = target.with_name(f".{target.name}.previous")
        shutil.rmtree(previous, ignore_errors=True)
        if staging.exists():
            os.rename(staging, previous)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target}: {exc.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after a failure: the unfinished one


# What marks a folder as holding a report (so replacing it loses nothing else).
REPORT_MARKERS = frozenset({"index.html", "laporan.json"})


def _check_replaceable(target: Path) -> None:
    """Refuse to replace a folder that is neither empty nor a previous report.

    ``--out`` pointed at the wrong folder (a home directory, a web root) must not be
    swapped away: the report replaces its folder as a whole.
    """
    if not target.exists():
        return
    if not target.is_dir():
        raise ReportError(f"{target} is a file, not a folder for the report")
    try:
        names = set(os.listdir(target))
    except OSError as exc:
        raise ReportError(f"cannot read {target}: {exc.strerror}") from None
    if names and not REPORT_MARKERS.issubset(names):
        raise ReportError(
            f"{target} is not empty and holds no lapor-sync report; the report replaces its "
            "folder as a whole, so choose an empty or new folder"
        )


def _write(path: Path, text: str) -> None:
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "wb") as handle:
        handle.write(text.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def _swap_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        try:
            os.rename(staging, target)
            return
        except OSError as exc:  # created meanwhile by another writer: swap instead
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    if _exchange(staging, target):
        return
    aside = staging.with_name(staging.name + "-old")
    os.rename(target, aside)
    os.rename(staging, target)
    os.rename(aside, staging)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@lru_cache(maxsize=1)
def _renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    function.restype = ctypes.c_int
    return function


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically; False when the system cannot."""
    function = _renameat2()
    if function is None:
        return False
    result = function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _remove_stale(target: Path) -> None:
    cutoff = time.time() - STALE_AFTER_S
    for path in target.parent.glob(f".{target.name}.tmp-*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue

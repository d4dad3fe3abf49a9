"""``GET /healthz``: is every job succeeding on time, and what is waiting.

A watched job is healthy when its last successful run finished within its window:
``interval × schedule.health_window_factor``. The daemon's start counts as a success for
the first window, so a fresh daemon is not reported unhealthy before its first run ends;
a daemon that has never succeeded becomes unhealthy one window after it started. For a
per-account job (pull), every enabled account must have succeeded within the window.

The answer is 200 when every watched job is healthy and no failed pull has left part of
an account's feed unread (``store/pull_gaps.py``: open until a later pull covered that
range), 503 otherwise, with the reasons.
The body also shows, for the admin and for alerts: per account the last pull, the outbox
backlog (pending + unknown + sending), dead rows, conflicts waiting and overdue counts per
OPD. Read from the store on a connection of its own; nothing personal in it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lapor_sync import __version__
from lapor_sync.config import Settings
from lapor_sync.daemon import queries
from lapor_sync.daemon.jobs import JobSpec
from lapor_sync.store import pull_gaps
from lapor_sync.sync.masters import masters_warnings
from lapor_sync.timeutil import Clock, from_db, now_wib, to_db

__all__ = ["HealthCheck", "HealthReport"]


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    body: dict[str, Any]

    @property
    def status(self) -> int:
        return 200 if self.healthy else 503


class HealthCheck:
    """Computes :class:`HealthReport` on demand; ``clock`` is injectable for tests."""

    def __init__(
        self,
        db_path: Path | str,
        jobs: Sequence[JobSpec],
        accounts: Sequence[str],
        *,
        window_factor: float,
        started_at: datetime,
        clock: Clock = now_wib,
        unknown_alarm_after: timedelta = timedelta(hours=6),
        settings: Settings | None = None,
    ) -> None:
        self._settings = settings  # for the masters warnings (sync/masters.py)
        self._db_path = db_path
        self._jobs = [j for j in jobs if j.every is not None and j.watched]
        self._accounts = list(accounts)
        self._factor = window_factor
        self.started_at = started_at
        self._clock = clock
        self._unknown_after = unknown_alarm_after

    def window(self, spec: JobSpec) -> timedelta:
        assert spec.every is not None
        return spec.every * self._factor

    def report(self) -> HealthReport:
        now = self._clock()
        body: dict[str, Any] = {
            "status": "ok",
            "checked_at": to_db(now),
            "started_at": to_db(self.started_at),
            "version": __version__,
            "pid": os.getpid(),
        }
        try:
            with queries.open_reader(self._db_path) as conn:
                reasons = self._fill(conn, now, body)
        except Exception as exc:
            reasons = [f"the store cannot be read ({type(exc).__name__})"]
        body["reasons"] = reasons
        if reasons:
            body["status"] = "unhealthy"
        return HealthReport(not reasons, body)

    def _fill(self, conn: sqlite3.Connection, now: datetime, body: dict[str, Any]) -> list[str]:
        reasons: list[str] = []
        jobs: dict[str, Any] = {}
        for spec in self._jobs:
            window = self.window(spec)
            entry: dict[str, Any] = {
                "every_s": spec.every.total_seconds() if spec.every else None,
                "window_s": window.total_seconds(),
            }
            if spec.per_account:
                entry["accounts"] = {}
                for account in self._accounts:
                    last = queries.last_success(conn, spec.name, account)
                    ok = self._recent(last, now, window)
                    entry["accounts"][account] = {"last_success": last, "ok": ok}
                    if not ok:
                        reasons.append(self._reason(f"{spec.name} ({account})", last, window))
                entry["ok"] = all(a["ok"] for a in entry["accounts"].values())
            else:
                last = queries.last_success(conn, spec.name)
                entry["last_success"] = last
                entry["ok"] = self._recent(last, now, window)
                if not entry["ok"]:
                    reasons.append(self._reason(spec.name, last, window))
            jobs[spec.name] = entry
        body["jobs"] = jobs
        accounts: dict[str, Any] = {}
        for account in self._accounts:
            run = queries.last_run(conn, "pull", account)
            accounts[account] = {
                "last_pull": (run.finished_at or run.started_at) if run else None,
                "outcome": run.outcome if run else None,
                "last_success": queries.last_success(conn, "pull", account),
                "cursor": queries.cursor_of(conn, account),
                "failed_pulls": [],
            }
            for gap in pull_gaps.open_gaps(conn, account):
                accounts[account]["failed_pulls"].append(vars(gap) | {"range": gap.range_text})
                reasons.append(f"pull ({account}): {gap.sentence}")
        body["accounts"] = accounts
        figures = queries.store_figures(conn, now)
        body["outbox"] = {
            "backlog": figures.backlog,
            "dead": figures.dead,
            "by_state": figures.outbox,
        }
        # A dead row is an alarm, not a statistic: it never reaches SP4N-LAPOR! by itself.
        stuck = queries.stuck_rows(conn, now, self._unknown_after)
        dead = [r for r in stuck if r.state == "dead"]
        unknown = [r for r in stuck if r.state == "unknown"]
        body["outbox"]["stuck"] = [
            {"id": r.id, "kind": r.kind, "ref": r.ref, "state": r.state, "since": r.since}
            for r in stuck
        ]
        if dead:
            reasons.append(
                f"outbox: {len(dead)} dead row(s) will not reach SP4N-LAPOR! without a person "
                f"(lapor-sync outbox --state dead), oldest #{dead[0].id} since {dead[0].since}"
            )
        if unknown:
            hours = self._unknown_after.total_seconds() / 3600
            reasons.append(
                f"outbox: {len(unknown)} row(s) unknown (answer lost) for more than {hours:g} h, "
                f"oldest #{unknown[0].id} since {unknown[0].since}"
            )
        body["conflicts_waiting"] = figures.conflicts_waiting
        # Warnings, not reasons: a renamed or unlisted institution needs a person, but the
        # sync itself is healthy (docs/operations.md).
        body["warnings"] = masters_warnings(conn, self._settings) if self._settings else []
        body["overdue"] = figures.overdue
        return reasons

    def _recent(self, last: str | None, now: datetime, window: timedelta) -> bool:
        newest = self.started_at
        if last is not None:
            newest = max(newest, from_db(last))
        return now - newest <= window

    @staticmethod
    def _reason(what: str, last: str | None, window: timedelta) -> str:
        minutes = round(window.total_seconds() / 60, 1)
        if last is None:
            return f"{what}: no successful run yet, and the {minutes} min window has passed"
        return f"{what}: last success {last}, older than its {minutes} min window"

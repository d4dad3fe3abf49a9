"""``lapor-sync status``: one screen for the admin, read from the store without writing.

Per account the last pull (time, outcome, figures), the cursor and every failed pull
whose range no later pull has covered yet; the last push; the
outbox backlog by state and dead rows; conflicts waiting; overdue per OPD; the other jobs'
last runs; whether a daemon holds the database (its PID). English: an admin view.

Invariant: nothing personal is shown. Figures are numbers; errors are the program's own
``describe`` sentences from ``runs.error``, masked once more; OPDs are codes.
"""

from __future__ import annotations

from datetime import datetime

from lapor_sync import __version__
from lapor_sync.config import Settings
from lapor_sync.daemon import queries
from lapor_sync.daemon.lock import lock_holder
from lapor_sync.redact import redact_text
from lapor_sync.store import pull_gaps
from lapor_sync.sync.masters import masters_warnings
from lapor_sync.timeutil import from_db

__all__ = ["status_lines"]

PULL_FIGURES = ("fetched", "new", "changed", "followups_new", "quarantined", "requests")
PUSH_FIGURES = ("pushed", "recovered", "retry_later", "unknown", "dead", "waiting")
OTHER_JOBS = ("reconcile", "deadlines", "daily_summary")
ERROR_WIDTH = 160


def _ago(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "never"
    seconds = int((now - from_db(stamp)).total_seconds())
    if seconds < 0:
        return f"{stamp} (in the future: check the clock)"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        age = f"{days}d {hours}h"
    elif hours:
        age = f"{hours}h {minutes}m"
    else:
        age = f"{minutes}m" if minutes else f"{seconds}s"
    return f"{stamp} ({age} ago)"


def _run_text(run: queries.RunInfo | None, figures: tuple[str, ...] | None, now: datetime) -> str:
    """``figures``: which to show, in order (None: all the run recorded)."""
    if run is None:
        return "never run"
    when = _ago(run.finished_at or run.started_at, now)
    text = f"{when}, {run.outcome}"
    names = tuple(run.figures) if figures is None else figures
    shown = ", ".join(f"{k}={run.figures[k]}" for k in names if k in run.figures)
    if shown:
        text += f": {shown}"
    if run.error:
        error = redact_text(run.error).replace("\n", " ")
        text += f"\n      reason: {error[:ERROR_WIDTH]}"
    return text


def status_lines(settings: Settings, now: datetime) -> list[str]:
    """The status screen as lines of text. Raises ``StoreError`` if there is no store."""
    db_path = settings.store.path
    holder = lock_holder(db_path)
    if holder is None:
        daemon = "no lapor-sync holds the database (the daemon is not running)"
    elif holder:
        daemon = f"held by lapor-sync pid {holder}"
    else:
        daemon = "held by a lapor-sync that is starting"
    lines = [f"lapor-sync {__version__}", f"database: {db_path}", f"lock:     {daemon}", ""]
    with queries.open_reader(db_path) as conn:
        stuck = queries.stuck_rows(conn, now, settings.push.unknown_alarm_after)
        if stuck:  # alarms first: these never reach SP4N-LAPOR! without a person
            lines.append(f"NEEDS A PERSON: {len(stuck)} outbox row(s) dead or long unknown")
            for row in stuck:
                reason = redact_text(row.reason or "")[:ERROR_WIDTH]
                lines.append(
                    f"  #{row.id} {row.kind} {row.ref or '-'} {row.state} since {row.since}: "
                    f"{reason}"
                )
            lines.append(
                "  (fix the ticket: lapor-sync local edit REF ...; "
                "replay: lapor-sync outbox retry ID)"
            )
            lines.append("")
        lines.append("Pull, per account:")
        for account in settings.enabled_accounts:
            run = queries.last_run(conn, "pull", account.name)
            lines.append(f"  {account.name}")
            lines.append(f"    last pull:    {_run_text(run, PULL_FIGURES, now)}")
            success = queries.last_success(conn, "pull", account.name)
            if run is not None and run.outcome != "ok":
                lines.append(f"    last success: {_ago(success, now)}")
            lines.append(f"    cursor:       {queries.cursor_of(conn, account.name) or 'none'}")
            for gap in pull_gaps.open_gaps(conn, account.name):
                when = f"{gap.failures}x, last {gap.last_failed_at}"
                lines.append(f"    FAILED PULL:  {when}; left {gap.range_text} unread")
                lines.append("      (open until a later pull covers that range)")
                reason = redact_text(gap.reason)[:ERROR_WIDTH]
                lines.append(f"      reason: {reason}")
        lines.append("")
        lines.append(
            f"Last push:        {_run_text(queries.last_run(conn, 'push'), PUSH_FIGURES, now)}"
        )
        for job in OTHER_JOBS:
            label = f"Last {job}:"
            lines.append(f"{label:<17} {_run_text(queries.last_run(conn, job), None, now)}")
        figures = queries.store_figures(conn, now)
        warnings = masters_warnings(conn, settings)
        notify_counts = queries.notify_counts(conn)
        notify_failed = queries.notify_failed(conn)
    lines.append("")
    states = ", ".join(f"{s} {figures.outbox[s]}" for s in queries.BACKLOG_STATES)
    lines.append(f"Outbox backlog:   {figures.backlog} ({states})")
    dead = f"Dead outbox rows: {figures.dead}"
    if figures.dead:
        dead += (
            "  (see: lapor-sync outbox --state dead; replay: lapor-sync outbox retry --all-dead)"
        )
    lines.append(dead)
    if figures.waiting_for_disposition:
        lines.append(
            f"Waiting:          {figures.waiting_for_disposition} follow-up/forward row(s) for "
            "their complaint's disposition to this instansi (see: lapor-sync outbox "
            "--state pending)"
        )
    lines.append(f"Conflicts:        {figures.conflicts_waiting} waiting for a decision")
    if figures.overdue:
        overdue = ", ".join(f"{opd} {n}" for opd, n in figures.overdue.items())
        lines.append(f"Overdue:          {figures.overdue_total} ({overdue})")
    else:
        lines.append("Overdue:          none")
    if notify_counts is not None and settings.notify.enabled:
        counts = ", ".join(f"{s} {n}" for s, n in notify_counts.items())
        lines.append(f"Notifications:    {counts}")
    for row_id, what, state, reason in notify_failed:
        # Shown even while notifications are off: what was decided still waits.
        reason = redact_text(reason)[:ERROR_WIDTH]
        lines.append(f"  notification {row_id} ({what}) {state}: {reason}")
    if notify_failed:
        lines.append("  (see: lapor-sync notify outbox; send again: notify outbox --retry ID)")
    for warning in warnings:
        lines.append(f"WARNING (masters): {warning}")
    return lines

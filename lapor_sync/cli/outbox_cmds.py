"""``lapor-sync outbox``: what waits to reach SP4N-LAPOR!, and replaying what died.

The listing shows ids, kinds, the ticket's local reference, states and the reason of the
last failure (``last_error``, which push never fills with personal data; it is masked once
more here as a last line of defence). It never reads the reporter's columns.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from typing import Any

import click
import sqlite_utils

from lapor_sync.cli.common import LIMIT_OR_ZERO, ROW_ID, CliState, handle_errors, pass_state
from lapor_sync.redact import redact_text
from lapor_sync.sync.push import retry_rows
from lapor_sync.timeutil import from_db, now_wib

STATES = ("pending", "sending", "unknown", "done", "dead")
OPEN_STATES = ("pending", "sending", "unknown", "dead")
COLUMNS = ("id", "kind", "reference", "state", "attempts", "age", "next attempt", "reason")
REASON_WIDTH = 70


def format_age(seconds: float) -> str:
    """A short duration: ``45s``, ``12m``, ``3h 5m``, ``2d 4h``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def _next_attempt(row: dict[str, Any], now: datetime) -> str:
    if row["state"] in ("done", "dead"):
        return "-"
    if row["state"] == "sending":
        return "in progress"
    if not row["next_attempt_at"]:
        return "next push"
    due = from_db(row["next_attempt_at"])
    if due <= now:
        return "next push"
    return f"in {format_age((due - now).total_seconds())}"


def outbox_rows(
    db: sqlite_utils.Database,
    states: tuple[str, ...],
    limit: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The listing's rows, oldest first. Only outbox columns and the ticket's reference."""
    marks = ",".join("?" for _ in states)
    sql = (
        "SELECT o.id, o.kind, t.ref AS reference, o.state, o.attempts, o.created_at, "
        "o.next_attempt_at, o.last_error FROM outbox o "
        "JOIN local_tickets t ON t.id = o.ticket_id "
        f"WHERE o.state IN ({marks}) ORDER BY o.id"
    )
    params: list[Any] = list(states)
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    rows = []
    for row in db.query(sql, params):
        created = from_db(row["created_at"])
        rows.append(
            {
                "id": row["id"],
                "kind": row["kind"],
                "reference": row["reference"] or "",
                "state": row["state"],
                "attempts": row["attempts"],
                "age": format_age((now - created).total_seconds()),
                "age_seconds": max(0, int((now - created).total_seconds())),
                "created_at": row["created_at"],
                "next attempt": _next_attempt(row, now),
                "next_attempt_at": row["next_attempt_at"] or None,
                "reason": redact_text(row["last_error"] or ""),
            }
        )
    return rows


def _table(rows: list[dict[str, Any]]) -> None:
    def cell(row: dict[str, Any], column: str) -> str:
        text = " ".join(str(row[column]).split())
        if column == "reason" and len(text) > REASON_WIDTH:
            text = text[: REASON_WIDTH - 1] + "…"
        return text

    cells = [[cell(row, c) for c in COLUMNS] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(COLUMNS)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


@click.group("outbox", invoke_without_command=True)
@click.option(
    "--state",
    "states",
    type=click.Choice(STATES),
    multiple=True,
    help="Only rows in this state (repeatable). Default: every state but done.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--limit", type=LIMIT_OR_ZERO, default=500, show_default=True, help="0 = no limit."
)
@click.pass_context
@handle_errors
def outbox_group(ctx: click.Context, states: tuple[str, ...], fmt: str, limit: int) -> None:
    """List what waits to be sent to SP4N-LAPOR! (no personal data is shown).

    Ages and waits are written 45s, 12m, 3h 5m, 2d 4h (d = days, h = hours).
    """
    if ctx.invoked_subcommand is not None:
        return
    state = ctx.find_object(CliState)
    assert state is not None, "the lapor-sync CLI group sets the state"
    now = now_wib()
    with state.app(existing=True) as app:
        rows = outbox_rows(app.db, states or OPEN_STATES, limit or None, now)
        totals = dict(
            app.db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall()
        )
    fields = ["id", "kind", "reference", "state", "attempts", "age", "age_seconds"]
    fields += ["created_at", "next_attempt_at", "reason"]
    if fmt == "json":
        data = [{k: r[k] for k in fields} for r in rows]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return
    if rows:
        _table(rows)
    else:
        click.echo("(no rows)")
    summary = ", ".join(f"{s} {totals[s]}" for s in STATES if totals.get(s))
    click.echo(f"outbox: {summary or 'empty'}")


@outbox_group.command("retry")
@click.argument("ids", nargs=-1, type=ROW_ID)
@click.option("--all-dead", is_flag=True, help="Put every dead row back in the queue.")
@pass_state
@handle_errors
def retry_command(state: CliState, ids: tuple[int, ...], all_dead: bool) -> None:
    """Put outbox rows back in the queue (by id, or every dead one) with a fresh budget.

    A row that may already have reached SP4N-LAPOR! comes back as 'unknown': the next push
    looks it up before sending, so a retry never creates a duplicate. Done rows stay done.
    """
    if bool(ids) == all_dead:
        raise click.UsageError("give outbox row ids or --all-dead (not both)")
    with state.app(existing=True) as app:
        if ids:
            marks = ",".join("?" for _ in ids)
            found = dict(
                app.db.execute(
                    f"SELECT id, state FROM outbox WHERE id IN ({marks})", list(ids)
                ).fetchall()
            )
            unknown = sorted(set(ids) - set(found))
            if unknown:
                raise click.UsageError(
                    f"no outbox row with id {', '.join(str(i) for i in unknown)}; nothing changed"
                )
            done = sorted(i for i, s in found.items() if s == "done")
            if done:
                click.echo(f"already done, left alone: {', '.join(str(i) for i in done)}", err=True)
        changed = retry_rows(app.db, ids=list(ids) or None, all_dead=all_dead)
    click.echo(f"{changed} row(s) put back in the queue; they go out on the next push.")

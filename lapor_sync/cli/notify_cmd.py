"""``lapor-sync notify``: preview what would be sent, test the SMTP settings, the outbox.

``notify outbox`` reads the store without changing it (a read-only connection; no
migration, no file created). ``--retry`` is the admin's decision to send ``unknown`` or
``dead`` rows again. ``--send-test`` sends one message straight to the address given,
outside the outbox, and says what the server answered.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

import click
import sqlite_utils

from lapor_sync.cli.common import LIMIT, ROW_ID, CliState, handle_errors
from lapor_sync.cli.outbox_cmds import format_age
from lapor_sync.config import load_settings
from lapor_sync.config.fields import Email
from lapor_sync.daemon.queries import open_reader
from lapor_sync.redact import redact_text
from lapor_sync.store import notify_outbox as box
from lapor_sync.store.db import open_database
from lapor_sync.timeutil import from_db, now_wib

REASON_WIDTH = 70


def _state(ctx: click.Context) -> CliState:
    state = ctx.find_object(CliState)
    assert state is not None, "the lapor-sync CLI group sets the state"
    return state


@click.group("notify", invoke_without_command=True)
@click.option("--preview", is_flag=True, help="Print what would be sent now; send nothing.")
@click.option("--opd", "opd_code", metavar="CODE", help="With --preview: only this OPD.")
@click.option("--send-test", "address", metavar="ADDRESS", help="Send one test e-mail there.")
@click.pass_context
@handle_errors
def notify_group(
    ctx: click.Context, preview: bool, opd_code: str | None, address: str | None
) -> None:
    """Notifications to liaisons, admins and monitoring (see docs/operations.md).

    --preview shows the messages a pass would queue now, with the daily digests and the
    weekly figures as if it were their time; it sends nothing and changes nothing.
    """
    if ctx.invoked_subcommand is not None:
        if address is not None or preview:
            raise click.UsageError("--send-test and --preview are not combined with a subcommand")
        return
    if preview == (address is not None):
        raise click.UsageError("give --preview, --send-test ADDRESS or a subcommand (outbox)")
    if opd_code is not None and not preview:
        raise click.UsageError("--opd goes with --preview")
    if preview:
        _preview(_state(ctx), opd_code)
    else:
        assert address is not None
        _send_test(_state(ctx), address)


def _preview(state: CliState, opd_code: str | None) -> None:
    from lapor_sync.glossary import unknown_opd_text
    from lapor_sync.notify.run import preview

    settings = state.settings()
    if opd_code is not None:
        opd_code = opd_code.strip().upper()
        if settings.opd_by_code(opd_code) is None:
            raise click.BadParameter(
                unknown_opd_text(opd_code, [o.code for o in settings.opd]), param_hint="--opd"
            )
    if not settings.notify.smtp and not settings.notify.webhook:
        click.echo("no channel is configured ([notify.smtp] or [notify.webhook]): nothing to send")
        return
    with open_reader(settings.store.path) as conn:
        rows = preview(sqlite_utils.Database(conn), settings, now_wib(), opd=opd_code)
    if not settings.notify.enabled:
        click.echo("([notify] enabled = false: the daemon sends none of this until enabled)\n")
    for row in rows:
        to = ", ".join(row.recipients) if row.channel == "email" else "(webhook)"
        click.echo(f"=== {row.kind} via {row.channel} to {to}")
        click.echo(f"Subject: {row.subject}")
        click.echo(row.body_text)
    click.echo(f"{len(rows)} message(s) would be queued.")


def _send_test(state: CliState, address: str) -> None:
    from pydantic import TypeAdapter, ValidationError

    from lapor_sync.notify.probe import probe_row
    from lapor_sync.notify.smtp import SmtpChannel

    try:
        TypeAdapter(Email).validate_python(address)
    except ValidationError:
        raise click.BadParameter(
            "must be an e-mail address such as pengaduan@example.go.id", param_hint="--send-test"
        ) from None
    # The SMTP password is needed here even though other notify commands work without it.
    settings = load_settings(state.config_path, resolve_secrets=True)
    state.settings()  # logging as configured
    smtp = settings.notify.smtp
    if smtp is None:
        raise click.UsageError("[notify.smtp] is not configured in the configuration file")
    outcome = SmtpChannel(smtp, ca_bundle=settings.http.ca_bundle).send(probe_row(address))
    where = f"{smtp.host}:{smtp.effective_port}"
    if outcome.state == "sent":
        click.echo(f"sent: {where} accepted the test message for {address}")
        if outcome.reason:
            click.echo(f"note: {outcome.reason}")
        return
    click.echo(f"not sent ({outcome.state}): {outcome.reason}", err=True)
    raise SystemExit(1)


def _listing(
    db: sqlite_utils.Database, state_filter: str | None, limit: int, now: datetime
) -> list[dict[str, Any]]:
    rows = []
    for row in box.listing(db, state=state_filter, limit=limit):
        created = from_db(row.created_at)
        rows.append(
            {
                "id": row.id,
                "kind": row.kind,
                "opd": row.opd_code or "",
                "channel": row.channel,
                "recipients": len(row.recipients),
                "state": row.state,
                "attempts": row.attempts,
                "age": format_age((now - created).total_seconds()),
                "created_at": row.created_at,
                "sent_at": row.sent_at,
                "subject": row.subject,
                "reason": redact_text(row.last_error or ""),
            }
        )
    return rows


@notify_group.command("outbox")
@click.option("--state", "state_filter", type=click.Choice(box.STATES), help="Only this state.")
@click.option("--retry", "retry_ids", type=ROW_ID, multiple=True, metavar="ID", help="Send again.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--limit", type=LIMIT, default=200, show_default=True)
@click.pass_context
@handle_errors
def outbox_command(
    ctx: click.Context,
    state_filter: str | None,
    retry_ids: tuple[int, ...],
    fmt: str,
    limit: int,
) -> None:
    """List the notification outbox, newest first; --retry ID sends unknown/dead rows again."""
    settings = _state(ctx).settings()
    now = now_wib()
    if retry_ids:
        db = open_database(settings.store.path)
        try:
            changed = box.retry(db, list(retry_ids), now)
        finally:
            db.close()
        if changed != len(set(retry_ids)):
            click.echo("only unknown or dead rows can be sent again; others left alone", err=True)
        click.echo(f"{changed} notification(s) put back in the queue.")
        return
    with open_reader(settings.store.path) as conn:
        db = sqlite_utils.Database(conn)
        try:
            rows = _listing(db, state_filter, limit, now)
            totals = box.counts(db)
        except sqlite3.OperationalError:
            click.echo("no notification outbox in this store yet (it is created on the next run)")
            return
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    columns = ("id", "kind", "opd", "channel", "recipients", "state", "attempts", "age", "reason")
    cells = [[_cell(r, c) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
        for r in cells:
            click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    else:
        click.echo("(no rows)")
    summary = ", ".join(f"{s} {n}" for s, n in totals.items() if n)
    click.echo(f"notifications: {summary or 'none'}")


def _cell(row: dict[str, Any], column: str) -> str:
    text = " ".join(str(row[column]).split())
    if column == "reason" and len(text) > REASON_WIDTH:
        text = text[: REASON_WIDTH - 1] + "…"
    return text

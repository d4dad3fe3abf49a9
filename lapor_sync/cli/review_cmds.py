"""``log`` and ``conflicts``: what OPD liaisons read and decide (Bahasa Indonesia)."""

from __future__ import annotations

import sys
from typing import Any

import click

from lapor_sync.cli.common import LIMIT, ROW_ID, CliState, checked_opd, handle_errors, pass_state
from lapor_sync.glossary import DECISION_LABELS, NO_OPD_NAME, conflict_label
from lapor_sync.report.log_view import (
    COLUMNS,
    LogFilter,
    conflict_value_label,
    log_rows,
    parse_since,
)
from lapor_sync.report.tabular import Format, render
from lapor_sync.sla.deadlines import NO_OPD
from lapor_sync.sync.reconcile import ConflictError, resolve_conflict

_FORMAT = click.Choice(["table", "csv", "json"])


@click.command("log")
@click.option("--opd", help="Hanya OPD ini (kode, mis. DISDIK).")
@click.option(
    "--since", default="7d", show_default=True, help="7d, 24h, 2w, 01/11/2026 atau 2026-11-01."
)
@click.option("--ticket", help="Hanya tiket ini (referensi lokal atau Tracking ID).")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
@click.option("--limit", default=1000, show_default=True, type=LIMIT)
@pass_state
@handle_errors
def log_command(
    state: CliState, opd: str | None, since: str, ticket: str | None, fmt: Format, limit: int
) -> None:
    """Log rekonsiliasi: apa yang masuk, terkirim, berubah, konflik dan terlambat."""
    opd = checked_opd(state.settings(), opd)
    with state.app(existing=True) as app:
        try:
            start = parse_since(since, app.clock())
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
        rows = log_rows(
            app.db,
            LogFilter(
                since=start,
                opd=opd,
                ticket=ticket,
                limit=limit,
                state_for=app.settings.state_for_status,
            ),
        )
    if fmt == "table":
        scope = _scope(opd)
        click.echo(f"Log rekonsiliasi lapor-sync — {scope}, sejak {start:%d-%m-%Y %H:%M} WIB")
        if not rows:
            click.echo("Tidak ada kejadian pada periode ini.")
            return
    click.echo(render(rows, COLUMNS, fmt), nl=False)


@click.group("conflicts", invoke_without_command=True)
@click.option("--opd", help="Hanya OPD ini.")
@click.option("--all", "show_all", is_flag=True, help="Termasuk yang sudah diselesaikan.")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
@click.pass_context
@handle_errors
def conflicts_group(ctx: click.Context, opd: str | None, show_all: bool, fmt: Format) -> None:
    """Konflik status yang menunggu keputusan penghubung/admin."""
    if ctx.invoked_subcommand is not None:
        return
    state: CliState = ctx.obj
    opd = checked_opd(state.settings(), opd)
    with state.app(existing=True) as app:
        rows = _conflict_rows(app.db, opd, show_all)
    if fmt == "table" and not rows:
        click.echo(f"Tidak ada konflik yang menunggu keputusan ({_scope(opd)}).")
        return
    columns = (
        ("id", "ID"),
        ("opd", "OPD"),
        ("tiket", "Tiket"),
        ("tracking_id", "Tracking ID"),
        ("jenis", "Jenis"),
        ("lapor", "Di SP4N-LAPOR!"),
        ("lokal", "Di data lokal"),
        ("sejak", "Sejak"),
        ("keputusan", "Keputusan"),
    )
    click.echo(render(rows, columns, fmt), nl=False)
    if fmt == "table":
        click.echo("\nPutuskan dengan: lapor-sync conflicts resolve ID --take lapor|local")


def _scope(opd: str | None) -> str:
    if opd == NO_OPD:
        return NO_OPD_NAME.lower()
    return f"OPD {opd}" if opd else "semua OPD"


def _conflict_rows(db: Any, opd: str | None, show_all: bool) -> list[dict[str, Any]]:
    where = "1 = 1" if show_all else "c.resolved_at IS NULL"
    params: list[Any] = []
    if opd == NO_OPD:
        where += " AND t.opd_code IS NULL"
    elif opd:
        where += " AND upper(t.opd_code) = upper(?)"
        params.append(opd)
    rows = db.query(
        "SELECT c.*, t.ref, t.opd_code, l.tracking_id FROM conflicts c "
        "JOIN local_tickets t ON t.id = c.ticket_id LEFT JOIN links l ON l.ticket_id = t.id "
        f"WHERE {where} ORDER BY c.opened_at, c.id",
        params,
    )
    return [
        {
            "id": r["id"],
            "opd": r["opd_code"] or "-",
            "tiket": r["ref"],
            "tracking_id": r["tracking_id"] or "-",
            "jenis": conflict_label(r["kind"]),
            "lapor": conflict_value_label(r["lapor_value"]),
            "lokal": conflict_value_label(r["local_value"]),
            "sejak": r["opened_at"][:16].replace("T", " "),
            "keputusan": DECISION_LABELS.get(r["resolution"] or "", "-"),
        }
        for r in rows
    ]


@conflicts_group.command("resolve")
@click.argument("conflict_id", type=ROW_ID)
@click.option("--take", type=click.Choice(["lapor", "local"]), required=True)
@click.option("--note", help="Catatan keputusan (tanpa data pribadi).")
@pass_state
@handle_errors
def resolve_command(state: CliState, conflict_id: int, take: str, note: str | None) -> None:
    """Selesaikan konflik: ikut SP4N-LAPOR! (lapor) atau data lokal (local)."""
    with state.app(existing=True) as app:
        try:
            resolve_conflict(
                app.db,
                conflict_id,
                take,
                app.settings.state_for_status,
                clock=app.clock,
                note=note,
            )
        except ConflictError as exc:
            click.echo(f"Tidak dapat diselesaikan: {exc}", err=True)
            sys.exit(1)
    side = "SP4N-LAPOR!" if take == "lapor" else "data lokal"
    click.echo(f"Konflik {conflict_id} diselesaikan: mengikuti {side}.")

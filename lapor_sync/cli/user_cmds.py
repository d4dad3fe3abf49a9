"""``lapor-sync user …`` (portal accounts) and ``lapor-sync audit`` (the access journal).

Admin commands, in English. A password is typed at a hidden prompt (twice), or, with
``--one-time``, generated and printed exactly once; it is never logged. ``user list`` and
``audit`` only read: on a missing store they say so and create nothing.
"""

from __future__ import annotations

import sys

import click

from lapor_sync.cli.common import CliState, fail, handle_errors, pass_state
from lapor_sync.report.tabular import Format, render
from lapor_sync.store.access_journal import list_access
from lapor_sync.store.db import open_database
from lapor_sync.store.users import (
    Role,
    UserError,
    add_user,
    disable_user,
    list_users,
    one_time_password,
    set_password,
)

_FORMAT = click.Choice(["table", "csv", "json"])


def _existing_store(state: CliState) -> None:
    state.require_store()


def _password(one_time: bool) -> tuple[str, bool]:
    if one_time:
        return one_time_password(), True
    if not sys.stdin.isatty():
        fail("error: no terminal to ask for a password; use --one-time", 2)
    return click.prompt("Password", hide_input=True, confirmation_prompt=True), False


@click.group("user")
def user_group() -> None:
    """Accounts of the portal (lapor-sync web): add, list, disable, reset-password."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--opd", "opds", multiple=True, help="OPD code of a liaison (repeatable).")
@click.option("--one-time", is_flag=True, help="Generate a password and print it once.")
@pass_state
@handle_errors
def add_command(
    state: CliState, name: str, role: str, opds: tuple[str, ...], one_time: bool
) -> None:
    """Create an account. A liaison needs --opd; other roles take none."""
    settings = state.settings()
    unknown = [c for c in opds if settings.opd_by_code(c) is None]
    if unknown:
        known = ", ".join(o.code for o in settings.opd) or "none"
        fail(f"error: --opd: unknown OPD {', '.join(unknown)} (known: {known})", 2)
    password, generated = _password(one_time)
    with state.app() as app:
        try:
            user = add_user(
                app.db,
                name,
                Role(role),
                tuple(c.upper() for c in opds),
                password,
                app.clock(),
                must_change_password=generated,
            )
        except UserError as exc:
            fail(f"error: {exc}", 2)
            return
    scope = f" for {', '.join(user.opds)}" if user.opds else ""
    click.echo(f"Added {user.role.value} {user.name}{scope}.")
    if generated:
        click.echo(f"One-time password (shown only now): {password}")


@user_group.command("list")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
@pass_state
@handle_errors
def list_command(state: CliState, fmt: Format) -> None:
    """Every account with its role, OPDs and last login (no passwords, no hashes)."""
    _existing_store(state)
    db = open_database(state.settings().store.path)
    try:
        users = list_users(db)
    finally:
        db.close()
    if fmt == "table" and not users:
        click.echo("No accounts yet: lapor-sync user add NAME --role admin")
        return
    rows = [
        {
            "name": u.name,
            "role": u.role.value,
            "opds": " ".join(u.opds) or "-",
            "state": "disabled" if u.disabled else "active",
            "last_login": (u.last_login_at or "-")[:16].replace("T", " "),
        }
        for u in users
    ]
    columns = (
        ("name", "Name"),
        ("role", "Role"),
        ("opds", "OPDs"),
        ("state", "State"),
        ("last_login", "Last login (WIB)"),
    )
    click.echo(render(rows, columns, fmt), nl=False)


@user_group.command("disable")
@click.argument("name")
@pass_state
@handle_errors
def disable_command(state: CliState, name: str) -> None:
    """Disable an account: it cannot log in, its open sessions end at once."""
    with state.app() as app:
        try:
            user = disable_user(app.db, name, app.clock())
        except UserError as exc:
            fail(f"error: {exc}", 2)
            return
    click.echo(f"Disabled {user.name}; its sessions are ended.")


@user_group.command("reset-password")
@click.argument("name")
@click.option("--one-time", is_flag=True, help="Generate a password and print it once.")
@pass_state
@handle_errors
def reset_password_command(state: CliState, name: str, one_time: bool) -> None:
    """Set a new password (prompted, or generated with --one-time); sessions end."""
    password, generated = _password(one_time)
    with state.app() as app:
        try:
            user = set_password(app.db, name, password, must_change_password=generated)
        except UserError as exc:
            fail(f"error: {exc}", 2)
            return
    click.echo(f"New password set for {user.name}; its sessions are ended.")
    if generated:
        click.echo(f"One-time password (shown only now): {password}")


@click.command("audit")
@click.option("--since", default="30d", show_default=True, help="30d, 24h, 2w or 2026-11-01.")
@click.option("--user", "user_name", help="Only views by this account.")
@click.option("--ticket", help="Only views of this complaint (local reference).")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
@pass_state
@handle_errors
def audit_command(
    state: CliState,
    since: str,
    user_name: str | None,
    ticket: str | None,
    limit: int,
    fmt: Format,
) -> None:
    """The access journal: who saw which complaint's personal data, when, and what."""
    from lapor_sync.report.log_view import parse_since
    from lapor_sync.timeutil import now_wib

    _existing_store(state)
    try:
        start = parse_since(since, now_wib())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    db = open_database(state.settings().store.path)
    try:
        rows = list_access(db, since=start, user_name=user_name, ticket_ref=ticket, limit=limit)
    finally:
        db.close()
    if fmt == "table" and not rows:
        click.echo(f"No views of personal data since {start:%Y-%m-%d %H:%M} WIB.")
        return
    table = [
        {
            "at": r.at[:19].replace("T", " "),
            "user": r.user_name,
            "role": r.role,
            "ticket": r.ticket_ref,
            "view": r.view,
            "shown": " ".join(r.shown),
            "address": r.address or "-",
        }
        for r in rows
    ]
    columns = (
        ("at", "When (WIB)"),
        ("user", "User"),
        ("role", "Role"),
        ("ticket", "Complaint"),
        ("view", "View"),
        ("shown", "Shown"),
        ("address", "Address"),
    )
    click.echo(render(table, columns, fmt), nl=False)


__all__ = ["audit_command", "user_group"]

"""``lapor-sync local edit REF --field value``: correct a ticket before it reaches SP4N-LAPOR!.

The use: a create refused by SP4N-LAPOR! (a 422 names the fields it did not accept) left
the ticket's outbox row ``dead``. The operator corrects the ticket here, the intake checks
the whole corrected ticket as it checks a new one, and ``lapor-sync outbox retry ID``
sends the corrected content (the push reads the ticket when it sends). A ticket already on
SP4N-LAPOR! is refused: what the remote holds is corrected through a follow-up.
"""

from __future__ import annotations

from typing import Any

import click

from lapor_sync.cli.common import CliState, fail, handle_errors, pass_state
from lapor_sync.local.intake import IntakeRules, validate_ticket
from lapor_sync.local.register import RegisterError, ticket_row, update_ticket

# Intake field -> (flag, help).
_OPTIONS: dict[str, tuple[str, str]] = {
    "channel": ("--channel", "Intake channel."),
    "title": ("--title", "Short title (at most 150 characters)."),
    "content": ("--content", "The complaint text."),
    "reporter_name": ("--reporter-name", "Reporter's name (personal data)."),
    "reporter_phone": ("--phone", "Reporter's phone number (personal data)."),
    "reporter_email": ("--email", "Reporter's e-mail address (personal data)."),
    "is_anonymous": ("--anonymous", "Anonim: ya/tidak."),
    "is_secret": ("--secret", "Rahasia: ya/tidak."),
    "opd_code": ("--opd", "OPD code."),
    "category_id": ("--category", "SP4N-LAPOR! category id."),
    "classification_id": ("--classification", "SP4N-LAPOR! classification id."),
    "location_id": ("--location", "SP4N-LAPOR! location id."),
    "disposition_id": ("--disposition", "SP4N-LAPOR! id of the target instansi."),
    "date_of_incident": ("--incident-date", "Date of the incident: dd/mm/yyyy or yyyy-mm-dd."),
}


def _raw_of(row: dict[str, Any]) -> dict[str, str]:
    """The stored ticket as the intake's ``field -> text`` mapping."""
    raw = {name: "" if row.get(name) is None else str(row[name]) for name in _OPTIONS}
    raw["is_anonymous"] = "ya" if row["is_anonymous"] else "tidak"
    raw["is_secret"] = "ya" if row["is_secret"] else "tidak"
    raw["received_at"] = str(row["received_at"])
    return raw


def _with_options(command: Any) -> Any:
    for name, (flag, text) in reversed(_OPTIONS.items()):
        command = click.option(flag, name, help=text)(command)
    return command


@click.command("edit")
@click.argument("ref")
@_with_options
@pass_state
@handle_errors
def edit_command(state: CliState, /, ref: str, **given: str | None) -> None:
    """Correct ticket REF before it is on SP4N-LAPOR! (then: lapor-sync outbox retry ID)."""
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        flags = ", ".join(flag for flag, _ in _OPTIONS.values())
        raise click.UsageError(f"nothing to change; give at least one of {flags}")
    settings = state.settings()
    with state.app() as app:
        try:
            row = ticket_row(app.db, ref.strip())
        except RegisterError as exc:
            fail(f"error: {exc}", 1)
            return
        checked = validate_ticket(_raw_of(row) | changes, IntakeRules.from_settings(settings))
        if isinstance(checked, list):
            click.echo(f"Tidak diubah; {len(checked)} masalah:", err=True)
            for problem in checked:
                flag = _OPTIONS.get(problem.field, (problem.field, ""))[0]
                click.echo(f"  - {flag}: {problem.message}", err=True)
            raise SystemExit(2)
        try:
            update_ticket(app.db, str(row["ref"]), checked)
        except RegisterError as exc:
            fail(f"error: {exc}", 1)
        dead = [
            r[0]
            for r in app.db.execute(
                "SELECT id FROM outbox WHERE ticket_id = ? AND state = 'dead' ORDER BY id",
                [row["id"]],
            ).fetchall()
        ]
    click.echo(f"Tiket {row['ref']} diperbaiki.")
    if dead:
        ids = " ".join(str(i) for i in dead)
        click.echo(f"Kirim ulang: lapor-sync outbox retry {ids}")

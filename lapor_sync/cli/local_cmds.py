"""``lapor-sync local …``: the province's own register, for Call Center operators and OPDs.

Every command here writes through ``lapor_sync.local`` (so the push is queued in the same
transaction) and never talks to SP4N-LAPOR!; the next ``push`` sends what was recorded.
Nothing printed here contains a reporter's personal data unless the operator asks for it
(``local show --with-personal-data``). Exit codes follow ``cli.common``: 2 for input an
operator must fix before trying again, 1 when the work failed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from lapor_sync.cli.common import CliState, fail, handle_errors, pass_state
from lapor_sync.cli.local_attach import (
    ATTACH_HELP,
    attach_command,
    checked_files,
    detach_command,
)
from lapor_sync.cli.local_edit import edit_command
from lapor_sync.cli.local_form import FORM, ask, fill_in
from lapor_sync.config import Settings
from lapor_sync.domain import ComplaintState
from lapor_sync.glossary import (
    channel_label,
    origin_label,
    outbox_kind_label,
    outbox_state_label,
    shown_title,
    state_label,
    yes_no,
)
from lapor_sync.local.attachments import add_ticket_with_files, summary_line
from lapor_sync.local.create_fields import CreateDefaults
from lapor_sync.local.csv_import import CsvImportError, import_csv
from lapor_sync.local.intake import (
    LABELS,
    TICKET_REQUIRED,
    IntakeRules,
    validate_followup,
    validate_forward,
    validate_ticket,
)
from lapor_sync.local.register import (
    RegisterError,
    add_followup,
    add_forward,
    set_status,
)
from lapor_sync.local.values import CHANNEL_HINT

# Intake field names -> the flags an operator types.
_FLAG_OF = {
    "channel": "--channel",
    "title": "--title",
    "content": "--content",
    "received_at": "--received-at",
    "reporter_name": "--reporter-name",
    "reporter_phone": "--phone",
    "reporter_email": "--email",
    "is_anonymous": "--anonymous",
    "is_secret": "--secret",
    "category_id": "--category",
    "opd_code": "--opd",
    "location_id": "--location",
    "date_of_incident": "--incident-date",
    "classification_id": "--classification",
    "disposition_id": "--disposition",
}


def _interactive() -> bool:
    """Prompt only when a person sits at the terminal (not in scripts, pipes or tests)."""
    return sys.stdin.isatty()


def _account_for(settings: Settings, opd_code: str | None) -> str:
    """The account a ticket is pushed through: its OPD's account, else ``local.default_account``."""
    opd = settings.opd_by_code(opd_code) if opd_code else None
    return opd.account if opd else settings.default_account.name


def _read_text_file(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.UsageError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise click.UsageError(f"cannot read {path}: {exc.strerror}") from None


def _show_problems(problems: list[str]) -> None:
    click.echo(f"Tidak dicatat; {len(problems)} masalah:", err=True)
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(2)


@click.group("local")
def local_group() -> None:
    """The local register: tickets, follow-ups and forwards recorded in the province."""


# --- add --------------------------------------------------------------------------------------


@local_group.command("add")
@click.option("--channel", help=f"Intake channel: {CHANNEL_HINT}.")
@click.option("--title", help="Short title (at most 150 characters).")
@click.option("--content", help="The complaint text.")
@click.option(
    "--content-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read the complaint text from this UTF-8 file ('-' for stdin).",
)
@click.option("--reporter-name", help="Reporter's name (personal data).")
@click.option("--phone", help="Reporter's phone number (personal data).")
@click.option("--email", help="Reporter's e-mail address (personal data).")
@click.option("--anonymous", is_flag=True, help="Anonim: hide the reporter's identity.")
@click.option("--secret", is_flag=True, help="Rahasia: the content is not public.")
@click.option("--category", help="SP4N-LAPOR! category id.")
@click.option("--opd", help="OPD code the complaint belongs to (see config.toml [[opd]]).")
@click.option("--location", help="SP4N-LAPOR! location id.")
@click.option("--incident-date", help="Date of the incident: dd/mm/yyyy or yyyy-mm-dd.")
@click.option("--classification", help="SP4N-LAPOR! classification id (default: [local.create]).")
@click.option(
    "--disposition", help="SP4N-LAPOR! id of the target instansi (default: the OPD's instansi)."
)
@click.option(
    "--received-at",
    help="When the complaint was received, WIB: 'dd/mm/yyyy HH:MM' or ISO (default: now).",
)
@click.option("--attach", multiple=True, type=click.Path(dir_okay=False), help=ATTACH_HELP)
@pass_state
@handle_errors
def add_command(
    state: CliState,
    channel: str | None,
    title: str | None,
    content: str | None,
    content_file: str | None,
    reporter_name: str | None,
    phone: str | None,
    email: str | None,
    anonymous: bool,
    secret: bool,
    category: str | None,
    opd: str | None,
    location: str | None,
    incident_date: str | None,
    classification: str | None,
    disposition: str | None,
    received_at: str | None,
    attach: tuple[str, ...],
) -> None:
    """Record a complaint taken outside SP4N-LAPOR! (Call Center, walk-in, social media).

    It is pushed to SP4N-LAPOR! on the next push. Without a terminal, --channel, --title and
    --content (or --content-file) are required. At a terminal, when one of them is missing,
    a form asks for every field no option gave, checks each as it is typed and asks again
    only for a wrong one; the content may span several lines (end it with a line ".").
    """
    if content is not None and content_file is not None:
        raise click.UsageError("give --content or --content-file, not both")
    if content_file is not None:
        content = _read_text_file(content_file)
    given = {
        "channel": channel,
        "title": title,
        "content": content,
        "received_at": received_at,
        "reporter_name": reporter_name,
        "reporter_phone": phone,
        "reporter_email": email,
        "category_id": category,
        "opd_code": opd,
        "location_id": location,
        "date_of_incident": incident_date,
        "classification_id": classification,
        "disposition_id": disposition,
    }
    raw = {name: value for name, value in given.items() if value is not None}
    flags = {"is_anonymous": anonymous, "is_secret": secret}
    raw.update({name: "ya" for name, on in flags.items() if on})  # unset: asked at a terminal
    settings = state.settings()
    rules = IntakeRules.from_settings(settings)
    asked: set[str] = set()
    missing = [name for name in TICKET_REQUIRED if not (raw.get(name) or "").strip()]
    if missing and _interactive():
        fill_in(raw, asked, rules)
    elif missing:
        names = ", ".join(_FLAG_OF[name] for name in missing)
        raise click.UsageError(f"missing required option(s): {names}")
    checked = validate_ticket(raw, rules)
    while isinstance(checked, list) and asked and all(p.field in asked for p in checked):
        # Only a check across fields can fail here (each field passed on its own): ask again.
        for problem in checked:
            hint = dict(FORM)[problem.field]
            raw[problem.field] = ask(problem.field, hint, rules, problem)
        checked = validate_ticket(raw, rules)
    if isinstance(checked, list):
        _show_problems(
            [
                f"{LABELS[p.field] if p.field in asked else _FLAG_OF[p.field]}: {p.message}"
                for p in checked
            ]
        )
        return
    files = checked_files(settings, attach)  # every file checked before anything is written
    with state.app() as app:
        created = add_ticket_with_files(
            app.db,
            checked,
            settings.local.reference_format,
            _account_for(settings, checked.opd_code),
            files,
            app.attachments_folder,
        )
    click.echo(f"Tiket {created.ref} dicatat; akan dikirim ke SP4N-LAPOR! pada push berikutnya.")


# --- follow-up and forward ------------------------------------------------------------------


@local_group.command("follow-up")
@click.argument("ref")
@click.option("--opd", "opd_code", required=True, help="Code of the OPD that answers.")
@click.option("--text", help="The follow-up (tindak lanjut) text.")
@click.option(
    "--text-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read the text from this UTF-8 file ('-' for stdin).",
)
@click.option("--secret", is_flag=True, help="Rahasia: the follow-up is not public.")
@pass_state
@handle_errors
def followup_command(
    state: CliState,
    ref: str,
    opd_code: str,
    text: str | None,
    text_file: str | None,
    secret: bool,
) -> None:
    """Record an OPD's follow-up (tindak lanjut) on ticket REF; pushed on the next push."""
    if (text is None) == (text_file is None):
        raise click.UsageError("give exactly one of --text or --text-file")
    body = text if text is not None else _read_text_file(str(text_file))
    raw = {"ref": ref, "opd_code": opd_code, "content": body, "is_secret": "ya" if secret else ""}
    checked = validate_followup(raw, state.settings())
    if isinstance(checked, list):
        flags = {"ref": "REF", "opd_code": "--opd", "content": "--text", "is_secret": "--secret"}
        raise click.UsageError("; ".join(f"{flags[p.field]}: {p.message}" for p in checked))
    with state.app(existing=True) as app:
        try:
            followup_id = add_followup(
                app.db,
                checked.ref,
                checked.opd_code,
                checked.content,
                is_secret=checked.is_secret,
            )
        except RegisterError as exc:
            fail(f"error: {exc}", 1)
    click.echo(
        f"Tindak lanjut #{followup_id} untuk {ref} dicatat; "
        "akan dikirim ke SP4N-LAPOR! pada push berikutnya."
    )


@local_group.command("forward")
@click.argument("ref")
@click.option("--to", "target", required=True, help="SP4N-LAPOR! id of the instansi to forward to.")
@click.option(
    "--reason", default="Diteruskan ke Instansi Tujuan", show_default=True, help="Reason."
)
@pass_state
@handle_errors
def forward_command(state: CliState, ref: str, target: str, reason: str) -> None:
    """Forward ticket REF to another instansi (bukan wewenang); pushed on the next push."""
    raw = {"ref": ref, "target_institution_id": target, "reason": reason}
    checked = validate_forward(raw, state.settings())
    if isinstance(checked, list):
        flags = {"ref": "REF", "target_institution_id": "--to", "reason": "--reason"}
        raise click.UsageError("; ".join(f"{flags[p.field]}: {p.message}" for p in checked))
    with state.app(existing=True) as app:
        try:
            add_forward(app.db, checked.ref, checked.target_institution_id, checked.reason)
        except RegisterError as exc:
            fail(f"error: {exc}", 1)
    click.echo(
        f"Penerusan {ref} ke instansi {checked.target_institution_id} dicatat; "
        "akan dikirim ke SP4N-LAPOR! pada push berikutnya."
    )


@local_group.command("status")
@click.argument("ref")
@click.option(
    "--to",
    "new_state",
    required=True,
    type=click.Choice([s.value for s in ComplaintState]),
    help="The ticket's new state in the register.",
)
@pass_state
@handle_errors
def status_command(state: CliState, ref: str, new_state: str) -> None:
    """Set ticket REF's state by hand; the next reconciliation weighs it against LAPOR!."""
    with state.app(existing=True) as app:
        try:
            before = set_status(app.db, ref, new_state)
        except RegisterError as exc:
            fail(f"error: {exc}", 1)
    click.echo(
        f"Status {ref}: {state_label(before)} → {state_label(new_state)}. Rekonsiliasi "
        "berikutnya akan membandingkannya dengan SP4N-LAPOR!."
    )


# --- import -----------------------------------------------------------------------------------


@local_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and count; write nothing.")
@pass_state
@handle_errors
def import_command(state: CliState, file: Path, dry_run: bool) -> None:
    """Import a Call Center spreadsheet (CSV), all or nothing; see docs/local-records.md.

    Rows imported before (same channel, time, phone, title and content) are skipped, so
    importing the same file again adds nothing.
    """
    settings = state.settings()
    with state.app() as app:
        try:
            result = import_csv(
                app.db,
                file,
                reference_format=settings.local.reference_format,
                account=settings.default_account.name,
                known_opd_codes={o.code for o in settings.opd},
                opd_accounts={o.code: o.account for o in settings.opd},
                dry_run=dry_run,
                create=CreateDefaults.from_settings(settings),
            )
        except CsvImportError as exc:
            click.echo(
                f"{file.name}: {len(exc.problems)} masalah; tidak ada yang diimpor. "
                "Perbaiki lalu impor ulang:",
                err=True,
            )
            for problem in exc.problems:
                click.echo(f"  {problem.in_indonesian()}", err=True)
            sys.exit(1)
    verb = "akan diimpor (dry run, tidak ada yang ditulis)" if dry_run else "diimpor"
    line = f"{file.name}: {result.rows} baris; {result.imported} tiket baru {verb}"
    if result.skipped_duplicates:
        parts = []
        if result.already_imported:
            parts.append(f"{result.already_imported} sudah diimpor sebelumnya")
        if result.repeated_in_file:
            parts.append(f"{result.repeated_in_file} berulang di berkas ini")
        line += f"; {result.skipped_duplicates} duplikat dilewati ({', '.join(parts)})"
    click.echo(line + ".")
    if result.refs:
        span = result.refs[0] if len(result.refs) == 1 else f"{result.refs[0]} … {result.refs[-1]}"
        click.echo(f"Referensi: {span}")


# --- show -------------------------------------------------------------------------------------


def _find_ticket(db: sqlite_utils.Database, ref: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM local_tickets WHERE ref = ?", [ref.strip()]))
    if not rows:  # a Tracking ID works too
        rows = list(
            db.query(
                "SELECT t.* FROM local_tickets t JOIN links l ON l.ticket_id = t.id "
                "WHERE l.tracking_id = ?",
                [ref.strip()],
            )
        )
    return rows[0] if rows else None


@local_group.command("show")
@click.argument("ref")
@click.option(
    "--with-personal-data",
    is_flag=True,
    help="Also show the reporter's name, phone, e-mail and the complaint text.",
)
@pass_state
@handle_errors
def show_command(state: CliState, ref: str, with_personal_data: bool) -> None:
    """Summary of ticket REF (or a Tracking ID) for an operator: status, OPD, link, outbox."""
    settings = state.settings()
    with state.app(existing=True) as app:
        ticket = _find_ticket(app.db, ref)
        if ticket is None:
            fail(f"Tidak ada tiket dengan referensi atau Tracking ID {ref}.", 1)
            return
        link = app.db.execute(
            "SELECT account, remote_id, tracking_id, linked_at FROM links WHERE ticket_id = ?",
            [ticket["id"]],
        ).fetchone()
        followups = app.db.execute(
            "SELECT count(*), sum(origin = 'local') FROM local_followups WHERE ticket_id = ?",
            [ticket["id"]],
        ).fetchone()
        remote = (
            app.db.execute(
                "SELECT is_secret FROM remote_complaints WHERE account = ? AND remote_id = ?",
                [link[0], link[1]],
            ).fetchone()
            if link
            else None
        )
        outbox = list(
            app.db.query(
                "SELECT id, kind, state, attempts, next_attempt_at, last_error FROM outbox "
                "WHERE ticket_id = ? ORDER BY id",
                [ticket["id"]],
            )
        )
        attached = summary_line(app.db, int(ticket["id"]), with_names=with_personal_data)
    opd = settings.opd_by_code(ticket["opd_code"]) if ticket["opd_code"] else None
    # Rahasia on either side counts, as in the reports.
    secret = bool(ticket["is_secret"]) or bool(remote and remote[0])
    # Without --with-personal-data the title is shown as the reports show it.
    title = ticket["title"] if with_personal_data else shown_title(ticket["title"], secret)
    lines = [
        ("Referensi", ticket["ref"] or "(belum ada; diberikan sebelum push)"),
        (
            "Asal",
            f"{origin_label(ticket['origin'])}, saluran {channel_label(ticket['channel'])}",
        ),
        ("Diterima", ticket["received_at"]),
        ("Status", state_label(ticket["status"])),
        (
            "OPD",
            f"{opd.code} — {opd.name}" if opd else (ticket["opd_code"] or "(belum ditentukan)"),
        ),
        ("Akun", ticket["account"] or settings.default_account.name),
        ("Judul", title),
        ("Anonim", yes_no(ticket["is_anonymous"])),
        ("Rahasia", yes_no(secret)),
    ]
    if link:
        lines.append(
            (
                "SP4N-LAPOR!",
                f"laporan {link[1]} (akun {link[0]}), Tracking ID {link[2] or '-'}, "
                f"tertaut {link[3]}",
            )
        )
    else:
        lines.append(("SP4N-LAPOR!", "belum tertaut (belum terkirim)"))
    lines.append(("Tindak lanjut", f"{followups[0]} ({followups[1] or 0} dari OPD lokal)"))
    lines.append(("Lampiran", attached))
    if with_personal_data:
        lines += [
            ("Nama pelapor", ticket["reporter_name"] or "-"),
            ("Telepon", ticket["reporter_phone"] or "-"),
            ("Email", ticket["reporter_email"] or "-"),
            ("Isi", ticket["content"]),
        ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        click.echo(f"{label.ljust(width)}  {value}")
    click.echo(f"Kiriman ke SP4N-LAPOR! ({len(outbox)}):")
    if not outbox:
        click.echo("  (tidak ada)")
    for row in outbox:
        detail = (
            f"  #{row['id']} {outbox_kind_label(row['kind'])}: "
            f"{outbox_state_label(row['state'])}, percobaan {row['attempts']}"
        )
        if row["state"] in ("pending", "unknown") and row["next_attempt_at"]:
            detail += f", berikutnya {row['next_attempt_at']}"
        if row["last_error"]:
            # The reason is technical (English, for the admin): point to where it is read.
            detail += f"; alasan: lihat lapor-sync outbox (#{row['id']})"
        click.echo(detail)


local_group.add_command(edit_command)
local_group.add_command(attach_command)
local_group.add_command(detach_command)

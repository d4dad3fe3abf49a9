"""``lapor-sync local attach REF PATH…``, ``local detach REF N`` and ``local add --attach
PATH``: files a ticket carries to SP4N-LAPOR!.

Every file is checked (type by content, size, name) before anything is written; one bad
file means nothing is recorded, and the error names that file and what to fix (exit 2).
Files join a ticket only until its create is sent: SP4N-LAPOR! takes a complaint's
attachments with the create (docs/local-records.md, "Attachments").
"""

from __future__ import annotations

from pathlib import Path

import click

from lapor_sync.cli.common import CliState, fail, handle_errors, pass_state
from lapor_sync.config import Settings
from lapor_sync.local.attachments import (
    AttachmentError,
    CheckedFile,
    attach_to_ticket,
    check_file,
    detach_from_ticket,
)
from lapor_sync.local.register import RegisterError

ATTACH_HELP = (
    "Attach this file (JPEG, PNG, PDF, DOC or DOCX, at most local.attachment_max_mib); "
    "repeat for more."
)


def max_bytes(settings: Settings) -> int:
    return settings.local.attachment_max_mib * 1024 * 1024


def checked_files(settings: Settings, paths: tuple[str, ...]) -> list[CheckedFile]:
    """Every file checked, or exit 2 listing each one refused (nothing written)."""
    limit = max_bytes(settings)
    files: list[CheckedFile] = []
    problems: list[str] = []
    for path in paths:
        try:
            files.append(check_file(Path(path), limit))
        except AttachmentError as exc:
            problems.append(exc.message_en)
    if problems:
        click.echo(f"Tidak dicatat; {len(problems)} berkas ditolak:", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(2)
    return files


@click.command("attach")
@click.argument("ref")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@pass_state
@handle_errors
def attach_command(state: CliState, ref: str, paths: tuple[str, ...]) -> None:
    """Attach files to ticket REF before it goes to SP4N-LAPOR! (uploaded by the next push)."""
    settings = state.settings()
    files = checked_files(settings, paths)
    with state.app(existing=True) as app:
        try:
            added = attach_to_ticket(app.db, ref.strip(), files, app.attachments_folder)
        except RegisterError as exc:
            fail(f"error: {exc}", 1)
    repeated = len(files) - len(added)
    note = f" ({repeated} sudah terlampir sebelumnya)" if repeated else ""
    click.echo(
        f"{len(added)} lampiran untuk {ref.strip()} dicatat{note}; "
        "akan diunggah ke SP4N-LAPOR! pada push berikutnya."
    )


@click.command("detach")
@click.argument("ref")
@click.argument("number", type=click.IntRange(min=1))
@pass_state
@handle_errors
def detach_command(state: CliState, ref: str, number: int) -> None:
    """Take attachment NUMBER (as 'local show REF' lists them) off ticket REF before it is
    pushed; e.g. to replace a file SP4N-LAPOR! refused, then 'lapor-sync outbox retry'."""
    with state.app(existing=True) as app:
        try:
            detach_from_ticket(app.db, ref.strip(), number, app.attachments_folder)
        except RegisterError as exc:
            fail(f"error: {exc}", 1)
    click.echo(f"Lampiran {number} dilepas dari {ref.strip()}.")

"""Attachments of local tickets: checking a file, keeping its bytes, attaching it.

A file is accepted when its *content* is one of the allowed types (JPEG, PNG, PDF, DOC,
DOCX, told by their magic bytes, not by the name), its name's extension agrees with that
content, it is not empty and not larger than ``local.attachment_max_mib``. The bytes are
kept once per content in ``<store folder>/attachments/<sha256>`` (folder ``0700``, files
``0600``, written to a temporary name and renamed, so a file there is always whole), and
the ticket's row (``store/attachments.py``) names them by hash.

Invariants: nothing is half-saved — every file is checked before anything is written,
and a file this call stored is removed again when the database write fails (unless some
row names it); an attachment can join a ticket only while its create has not gone to
SP4N-LAPOR! (the create carries the upload ids; nothing can be added afterwards). Error
messages name the file the operator gave and say what to fix; nothing here logs a file
name or content.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlite_utils

from lapor_sync.errors import AttachmentError as AttachmentError
from lapor_sync.fsmodes import make_private_dirs, open_private
from lapor_sync.glossary import ATTACHMENT_TEXTS as TEXTS
from lapor_sync.local.intake import TicketInput
from lapor_sync.local.register import RegisterError, Ticket, insert_ticket
from lapor_sync.store import attachments as attachment_rows
from lapor_sync.store import outbox as outbox_rows
from lapor_sync.store import tickets as register_rows
from lapor_sync.store.db import transaction
from lapor_sync.timeutil import now_wib, to_db

DEFAULT_MAX_MIB = 10
FOLDER_NAME = "attachments"


@dataclass(frozen=True)
class FileType:
    label: str
    media_type: str
    kind: str  # "image" | "doc": where SP4N-LAPOR! answers an upload's id
    extensions: tuple[str, ...]


TYPES: tuple[FileType, ...] = (
    FileType("JPEG", "image/jpeg", "image", (".jpg", ".jpeg")),
    FileType("PNG", "image/png", "image", (".png",)),
    FileType("PDF", "application/pdf", "doc", (".pdf",)),
    FileType("DOC", "application/msword", "doc", (".doc",)),
    FileType(
        "DOCX",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "doc",
        (".docx",),
    ),
)
TYPE_LIST = "JPEG, PNG, PDF, DOC or DOCX"


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed every check, with its bytes."""

    file_name: str
    file_type: FileType
    sha256: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


def folder_of(store_path: Path | str) -> Path:
    """Where the store's attachment bytes live: beside the database file."""
    return Path(store_path).parent / FOLDER_NAME


def sniff(data: bytes) -> FileType | None:
    """The allowed type the content is, by its first bytes; None for anything else."""
    by_label = {t.label: t for t in TYPES}
    if data.startswith(b"\xff\xd8\xff"):
        return by_label["JPEG"]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return by_label["PNG"]
    if data.startswith(b"%PDF-"):
        return by_label["PDF"]
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: Word 97-2003
        return by_label["DOC"]
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return by_label["DOCX"]
    return None


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def too_large(shown: str, size: int, max_bytes: int) -> AttachmentError:
    return AttachmentError(
        f"{shown} is {_mib(size)}, over the limit of {_mib(max_bytes)} "
        "(local.attachment_max_mib): attach a smaller file",
        TEXTS["too_large"].format(file=shown, size=_mib(size), limit=_mib(max_bytes)),
    )


def check_bytes(file_name: str, data: bytes, max_bytes: int, *, shown: str) -> CheckedFile:
    """Check content already read (the portal's upload); ``shown`` names it in errors."""
    if not data:
        raise AttachmentError(f"{shown} is empty", TEXTS["empty"].format(file=shown))
    if len(data) > max_bytes:
        raise too_large(shown, len(data), max_bytes)
    found = sniff(data)
    if found is None:
        raise AttachmentError(
            f"{shown} is not a {TYPE_LIST} file (told by its content, whatever its name): "
            "attach one of those",
            TEXTS["not_allowed"].format(file=shown),
        )
    extension = Path(file_name).suffix.lower()
    if extension not in found.extensions:
        raise AttachmentError(
            f"{shown} holds a {found.label} file but its name ends in "
            f"{extension or '(no extension)'}: rename it to end in {found.extensions[0]}",
            TEXTS["wrong_extension"].format(
                file=shown,
                found=found.label,
                extension=extension or TEXTS["no_extension"],
                expected=found.extensions[0],
            ),
        )
    return CheckedFile(_clean_name(file_name), found, hashlib.sha256(data).hexdigest(), data)


def check_file(path: Path, max_bytes: int) -> CheckedFile:
    """Read and check a file the operator named; errors name it as given."""
    shown = str(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise AttachmentError(
                f"{shown} is not a regular file: give the path of a file",
                TEXTS["not_a_file"].format(file=shown),
            )
        if size > max_bytes:  # refused before reading it all
            raise too_large(shown, size, max_bytes)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise AttachmentError(
            f"{shown}: no such file", TEXTS["missing"].format(file=shown)
        ) from None
    except OSError as exc:
        raise AttachmentError(
            f"cannot read {shown}: {exc.strerror}", TEXTS["unreadable"].format(file=shown)
        ) from None
    return check_bytes(path.name, data, max_bytes, shown=shown)


def _clean_name(name: str) -> str:
    """The base name, without control characters, at most 200 characters (kept suffix)."""
    base = "".join(c for c in Path(name.replace("\\", "/")).name if c.isprintable()).strip()
    base = base or "lampiran"
    if len(base) > 200:
        suffix = Path(base).suffix[:20]
        base = base[: 200 - len(suffix)] + suffix
    return base


# --- the bytes -------------------------------------------------------------------------------


def stored_path(folder: Path, sha256: str) -> Path:
    return folder / sha256


def read_stored(folder: Path, sha256: str) -> bytes | None:
    """The bytes kept under ``sha256``, or None when missing or not matching their hash."""
    try:
        data = stored_path(folder, sha256).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def store_bytes(folder: Path, data: bytes) -> tuple[str, bool]:
    """Keep ``data`` under its hash: (sha256, whether this call wrote it)."""
    sha = hashlib.sha256(data).hexdigest()
    make_private_dirs(folder)
    target = stored_path(folder, sha)
    if read_stored(folder, sha) is not None:
        return sha, False
    temporary = folder / f".{sha}.{os.getpid()}.tmp"
    fd = open_private(temporary, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return sha, True


@contextlib.contextmanager
def _stored(
    db: sqlite_utils.Database, folder: Path, files: Sequence[CheckedFile]
) -> Iterator[None]:
    """Keep the files' bytes for the block; the ones written here go again if it fails."""
    written: list[str] = []
    try:
        for f in files:
            sha, new = store_bytes(folder, f.data)
            if new:
                written.append(sha)
        yield
    except BaseException:
        for sha in written:
            if not attachment_rows.hash_in_use(db, sha):
                with contextlib.suppress(OSError):
                    stored_path(folder, sha).unlink()
        raise


def _add_rows(
    db: sqlite_utils.Database, ticket_id: int, files: Sequence[CheckedFile], stamp: str
) -> list[int]:
    ids: list[int] = []
    for f in files:
        row_id = attachment_rows.add_local(
            db,
            ticket_id,
            sha256=f.sha256,
            file_name=f.file_name,
            media_type=f.file_type.media_type,
            kind=f.file_type.kind,
            size=f.size,
            stamp=stamp,
        )
        if row_id is not None:
            ids.append(row_id)
    return ids


def distinct(files: Sequence[CheckedFile]) -> list[CheckedFile]:
    """The files without repeats of the same content (the first name is kept)."""
    seen: set[str] = set()
    out: list[CheckedFile] = []
    for f in files:
        if f.sha256 not in seen:
            seen.add(f.sha256)
            out.append(f)
    return out


def add_ticket_with_files(
    db: sqlite_utils.Database,
    ticket: TicketInput,
    reference_format: str,
    account: str,
    files: Sequence[CheckedFile],
    folder: Path,
    *,
    now: datetime | None = None,
) -> Ticket:
    """``register.add_ticket`` with attachments: the ticket, its push and its files are
    recorded in one transaction (the files' bytes just before it)."""
    problems = ticket.problems()
    if problems:
        raise RegisterError("; ".join(problems))
    stamp = to_db(now or now_wib())
    with _stored(db, folder, files), transaction(db):
        created = insert_ticket(db, ticket, reference_format, account, now=now)
        _add_rows(db, created.id, distinct(files), stamp)
    return created


def attach_to_ticket(
    db: sqlite_utils.Database,
    ref: str,
    files: Sequence[CheckedFile],
    folder: Path,
    *,
    now: datetime | None = None,
) -> list[int]:
    """Attach files to an existing local ticket whose create has not gone yet.

    Returns the new rows' ids (a file the ticket holds already is not added twice).
    Raises ``RegisterError`` saying why not. The check and the insert are one write
    transaction, so a push claiming the create meanwhile either sees the files or
    makes this refuse.
    """
    stamp = to_db(now or now_wib())
    with _stored(db, folder, files), transaction(db):
        ticket = register_rows.ticket_by_ref(db, ref)
        if ticket is None:
            raise RegisterError(f"no ticket with reference {ref}")
        if ticket["origin"] != "local":
            raise RegisterError(
                f"{ref} came from SP4N-LAPOR!; only tickets recorded here carry attachments"
            )
        if outbox_rows.create_may_have_gone(db, int(ticket["id"])):
            raise RegisterError(
                f"{ref} is already on SP4N-LAPOR! (or being sent): attachments go only with "
                "a complaint's create, so they cannot be added any more"
            )
        return _add_rows(db, int(ticket["id"]), distinct(files), stamp)


def detach_from_ticket(
    db: sqlite_utils.Database, ref: str, position: int, folder: Path
) -> dict[str, object]:
    """Take attachment number ``position`` (1 = first added) off a ticket whose create has
    not gone; its bytes go too unless another row names them. Returns the removed row."""
    with transaction(db):
        ticket = register_rows.ticket_by_ref(db, ref)
        if ticket is None:
            raise RegisterError(f"no ticket with reference {ref}")
        rows = attachment_rows.of_ticket(db, int(ticket["id"]))
        if not 1 <= position <= len(rows):
            raise RegisterError(
                f"{ref} has {len(rows)} attachment(s); give a number from 1 to {len(rows)}"
                if rows
                else f"{ref} has no attachments"
            )
        if outbox_rows.create_may_have_gone(db, int(ticket["id"])):
            raise RegisterError(
                f"{ref} is already on SP4N-LAPOR! (or being sent): its attachments went with "
                "the create and cannot be taken back here"
            )
        row = rows[position - 1]
        attachment_rows.remove_local(db, int(ticket["id"]), int(row["id"]))
        in_use = attachment_rows.hash_in_use(db, str(row["sha256"]))
    if not in_use:
        with contextlib.suppress(OSError):
            stored_path(folder, str(row["sha256"])).unlink()
    return row


def summary_line(db: sqlite_utils.Database, ticket_id: int, *, with_names: bool) -> str:
    """A ticket's attachments in one line for ``local show`` (names only on request:
    a file name may identify a person)."""
    rows = attachment_rows.of_ticket(db, ticket_id)
    if not rows:
        return "(tidak ada)"
    uploaded = sum(1 for r in rows if r["upload_id"] is not None)
    parts = [
        f"{i}. {r['file_name'] if with_names else r['media_type']} ({_mib(int(r['size']))})"
        for i, r in enumerate(rows, start=1)
    ]
    return f"{len(rows)}, {uploaded} terunggah: " + "; ".join(parts)

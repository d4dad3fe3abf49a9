"""Uploads before a create: each attachment of the ticket reaches SP4N-LAPOR! once.

Called by the push (``Pusher._deliver``) after the create's row was claimed and after any
look-up found nothing, i.e. right before the create is sent. For each of the ticket's
attachments (``store/attachments.py``), in the order they were added:

1. one with an ``upload_id`` is not uploaded again: its id is used as it is;
2. otherwise its bytes are read from the store's folder and checked again (still there,
   still matching their hash, within ``local.attachment_max_mib``): a file that fails is
   ``UploadRefused``, the create does not go and the row says which attachment and what
   to do;
3. it is uploaded alone (``Remote.upload_attachment``) and its id is committed, in its own
   transaction, before the next upload and before the create is sent.

A lost answer to an upload (``AmbiguousWriteError``) is harmless: the row stays
``pending`` (not ambiguous — the create was not sent) and the next attempt uploads the
file again, leaving the first upload unreferenced on the remote. A refusal by the server
(403/404/422: too large, a refused type) is ``UploadRefused`` too, with its answer.
Reasons name the attachment by its position and hash prefix, never by its file name.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from lapor_sync.domain import NewUpload
from lapor_sync.errors import (
    AmbiguousWriteError,
    FatalRemoteError,
    RetryableRemoteError,
    describe,
)
from lapor_sync.lapor.remote import Remote
from lapor_sync.local.attachments import AttachmentError, check_bytes, read_stored
from lapor_sync.store import attachments as attachment_rows
from lapor_sync.store.db import transaction
from lapor_sync.timeutil import Clock, to_db


class UploadRefused(Exception):
    """An attachment cannot go as it is; the message says which one and what to do."""


@dataclass(frozen=True)
class UploadIds:
    images: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()


def _label(ref: str, position: int, row: Mapping[str, Any]) -> str:
    return f"attachment {position} of {ref} (sha256 {str(row['sha256'])[:12]}…)"


def _bytes_of(
    row: Mapping[str, Any], folder: Path | None, max_bytes: int, label: str
) -> bytes:
    data = read_stored(folder, str(row["sha256"])) if folder is not None else None
    if data is None:
        raise UploadRefused(
            f"{label}: its file is missing from the store's attachments folder or changed; "
            f"restore it, or remove the attachment, then 'lapor-sync outbox retry'"
        )
    try:
        check_bytes(str(row["file_name"]), data, max_bytes, shown=label)
    except AttachmentError as exc:
        raise UploadRefused(
            f"{exc.message_en}; then 'lapor-sync outbox retry'"
        ) from None
    return data


def upload_attachments(
    db: sqlite_utils.Database,
    lock: threading.Lock,
    client: Remote,
    *,
    ticket_id: int,
    ref: str,
    account: str,
    folder: Path | None,
    max_bytes: int,
    clock: Clock,
) -> UploadIds:
    """Upload what is not uploaded yet; the ids the create refers to, by list.

    Call without holding ``lock``: the database work takes it, the HTTP happens outside.
    """
    with lock:
        rows = attachment_rows.of_ticket(db, ticket_id)
    images: list[str] = []
    docs: list[str] = []
    for position, row in enumerate(rows, start=1):
        upload_id, kind = row["upload_id"], str(row["kind"])
        if upload_id is None:
            label = _label(ref, position, row)
            data = _bytes_of(row, folder, max_bytes, label)
            upload = NewUpload(str(row["file_name"]), str(row["media_type"]), kind, data)
            try:
                uploaded = client.upload_attachment(upload)
            except AmbiguousWriteError as exc:
                raise RetryableRemoteError(
                    f"the answer to the upload of {label} was lost ({describe(exc)}); it "
                    "is uploaded again next time (the lost upload stays unreferenced)",
                    endpoint="upload",
                ) from None
            except FatalRemoteError as exc:
                raise UploadRefused(
                    f"SP4N-LAPOR! refused the upload of {label}: {describe(exc)}; the "
                    "create waits: replace the file (lapor-sync local detach, then local "
                    "attach), then 'lapor-sync outbox retry'"
                ) from None
            upload_id, kind = uploaded.upload_id, uploaded.kind
            with lock, transaction(db):
                attachment_rows.set_uploaded(
                    db, int(row["id"]), account, upload_id, kind, to_db(clock())
                )
        (images if kind == "image" else docs).append(str(upload_id))
    return UploadIds(tuple(images), tuple(docs))

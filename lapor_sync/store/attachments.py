"""Owner of ``local_attachments`` and ``remote_attachments``: every statement on them.

``local_attachments``: the files a local ticket carries to SP4N-LAPOR!. The bytes are not
here: they live by content hash in the owner-only folder beside the store
(``local/attachments.py``); a row names them by ``sha256`` with their name, type and
size. A ticket holds one file once (``UNIQUE (ticket_id, sha256)``).

Upload invariants (docs/sync.md, "Attachments"): ``upload_id`` is set, in its own
transaction, as soon as SP4N-LAPOR! answered the upload, and before the create that refers
to it is sent; a row with an ``upload_id`` is never uploaded again and the id is never
replaced. A lost answer leaves the row without one: the file is uploaded again and the
first upload stays unreferenced on the remote, which is harmless.

``remote_attachments``: what the pull saw attached to a complaint (``followup_id = ''``)
or a follow-up; replaced as a whole set per record on every read, so it always shows the
last answer. ``sha256`` is set once the bytes were downloaded into the same store.

Names and URLs are personal data as far as logs go: nothing here logs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from lapor_sync.domain import Attachment

# --- local ---------------------------------------------------------------------------------


def add_local(
    db: sqlite_utils.Database,
    ticket_id: int,
    *,
    sha256: str,
    file_name: str,
    media_type: str,
    kind: str,
    size: int,
    stamp: str,
) -> int | None:
    """Attach a stored file to a ticket; its row id, or None when the ticket holds it already."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO local_attachments "
        "(ticket_id, sha256, file_name, media_type, kind, size, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [ticket_id, sha256, file_name, media_type, kind, size, stamp],
    )
    return cursor.lastrowid if cursor.rowcount else None


def of_ticket(db: sqlite_utils.Database, ticket_id: int) -> list[dict[str, Any]]:
    """The ticket's attachments, in the order they were added."""
    return list(
        db.query(
            "SELECT * FROM local_attachments WHERE ticket_id = ? ORDER BY id", [ticket_id]
        )
    )


def remove_local(db: sqlite_utils.Database, ticket_id: int, attachment_id: int) -> bool:
    """Take an attachment off its ticket; True when one was removed. Only while the create
    has not gone (the caller checks): an upload already made then stays unreferenced on
    the remote, which is harmless."""
    cursor = db.execute(
        "DELETE FROM local_attachments WHERE id = ? AND ticket_id = ?",
        [attachment_id, ticket_id],
    )
    return cursor.rowcount > 0


def hash_in_use(db: sqlite_utils.Database, sha256: str) -> bool:
    """True while any local or downloaded attachment names these bytes."""
    row = db.execute(
        "SELECT 1 FROM local_attachments WHERE sha256 = ? "
        "UNION ALL SELECT 1 FROM remote_attachments WHERE sha256 = ? LIMIT 1",
        [sha256, sha256],
    ).fetchone()
    return row is not None


def referenced_hashes(db: sqlite_utils.Database) -> list[str]:
    """Every content hash a row names (local files, and downloaded remote ones), sorted.

    A store from before the attachment tables (migration 0013) names none."""
    try:
        rows = db.execute(
            "SELECT sha256 FROM local_attachments UNION "
            "SELECT sha256 FROM remote_attachments WHERE sha256 IS NOT NULL ORDER BY 1"
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    return [str(row[0]) for row in rows]


def set_uploaded(
    db: sqlite_utils.Database,
    attachment_id: int,
    account: str,
    upload_id: str,
    kind: str,
    stamp: str,
) -> None:
    """Record the upload's id and the list SP4N-LAPOR! answered it in (``kind``, what the
    create refers to it by); a row that has an id already keeps it (never replaced)."""
    db.execute(
        "UPDATE local_attachments SET upload_account = ?, upload_id = ?, kind = ?, "
        "uploaded_at = ? WHERE id = ? AND upload_id IS NULL",
        [account, upload_id, kind, stamp, attachment_id],
    )


# --- remote --------------------------------------------------------------------------------


def replace_remote(
    db: sqlite_utils.Database,
    account: str,
    complaint_id: str,
    followup_id: str | None,
    attachments: Sequence[Attachment],
    stamp: str,
) -> None:
    """The record's attachments as just read; a download already made is kept when the
    same URL is still listed at the same place."""
    key = [account, complaint_id, followup_id or ""]
    kept = {
        (int(r[0]), r[1]): (r[2], r[3])
        for r in db.execute(
            "SELECT position, url, sha256, downloaded_at FROM remote_attachments "
            "WHERE account = ? AND complaint_id = ? AND followup_id = ?",
            key,
        ).fetchall()
    }
    if not kept and not attachments:
        return  # the common case: nothing attached, nothing was
    db.execute(
        "DELETE FROM remote_attachments WHERE account = ? AND complaint_id = ? "
        "AND followup_id = ?",
        key,
    )
    for position, a in enumerate(attachments, start=1):
        sha, downloaded = kept.get((position, a.url), (None, None))
        db.execute(
            "INSERT INTO remote_attachments (account, complaint_id, followup_id, position, "
            "file_name, media_type, size, url, sha256, pulled_at, downloaded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*key, position, a.name, a.media_type, a.size, a.url, sha, stamp, downloaded],
        )


def remote_of(
    db: sqlite_utils.Database, account: str, complaint_id: str
) -> list[dict[str, Any]]:
    """A complaint's pulled attachments, its own first, then by follow-up and position."""
    return list(
        db.query(
            "SELECT * FROM remote_attachments WHERE account = ? AND complaint_id = ? "
            "ORDER BY followup_id != '', followup_id, position",
            [account, complaint_id],
        )
    )


def not_downloaded(
    db: sqlite_utils.Database, account: str, limit: int
) -> list[dict[str, Any]]:
    """An account's pulled attachments with a URL whose bytes are not in the store yet."""
    return list(
        db.query(
            "SELECT * FROM remote_attachments WHERE account = ? AND sha256 IS NULL "
            "AND url IS NOT NULL AND url != '' "
            "ORDER BY pulled_at, complaint_id, followup_id, position LIMIT ?",
            [account, limit],
        )
    )


def set_downloaded(
    db: sqlite_utils.Database, row: dict[str, Any], sha256: str, stamp: str
) -> None:
    db.execute(
        "UPDATE remote_attachments SET sha256 = ?, downloaded_at = ? WHERE account = ? "
        "AND complaint_id = ? AND followup_id = ? AND position = ?",
        [sha256, stamp, row["account"], row["complaint_id"], row["followup_id"], row["position"]],
    )

"""``pull.download_attachments = true``: the bytes of pulled attachments, into the store.

After an account's pull, the attachments it recorded (``remote_attachments``) that have a
URL and no bytes yet are fetched (``lapor/download.py``: no credentials, size-limited) and
kept like local ones, by SHA-256 in the store's owner-only ``attachments/`` folder
(``local/attachments.py``); the row then names its hash. At most ``limit`` files per run,
oldest first, so a backlog is worked off over several pulls without holding one up.

A file that fails (HTTP error, too large, connection) stays without bytes and is tried
again on a later pull; the run counts it and logs the complaint id and the reason only,
never the URL or the file name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from lapor_sync.lapor.download import DownloadError
from lapor_sync.local.attachments import store_bytes
from lapor_sync.logs import get_logger
from lapor_sync.store import attachments as attachment_rows
from lapor_sync.store.db import transaction
from lapor_sync.timeutil import Clock, to_db

log = get_logger(__name__)

Fetch = Callable[[str, int], bytes]
"""(url, max_bytes) → the bytes, or ``DownloadError``."""


@dataclass
class DownloadSummary:
    downloaded: int = 0
    failed: int = 0


def download_attachments(
    db: sqlite_utils.Database,
    account: str,
    fetch: Fetch,
    *,
    folder: Path,
    max_bytes: int,
    clock: Clock,
    limit: int = 200,
) -> DownloadSummary:
    summary = DownloadSummary()
    for row in attachment_rows.not_downloaded(db, account, limit):
        try:
            data = fetch(str(row["url"]), max_bytes)
        except DownloadError as exc:
            summary.failed += 1
            log.warning(
                "attachment_download_failed",
                account=account,
                complaint_id=row["complaint_id"],
                reason=str(exc),
            )
            continue
        sha, _ = store_bytes(folder, data)
        with transaction(db):
            attachment_rows.set_downloaded(db, row, sha, to_db(clock()))
        summary.downloaded += 1
    return summary

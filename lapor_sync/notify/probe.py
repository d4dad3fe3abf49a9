"""The message of ``notify --send-test``: proves the SMTP settings, says nothing else."""

from __future__ import annotations

from lapor_sync import __version__
from lapor_sync.store.notify_outbox import NotificationRow
from lapor_sync.timeutil import Clock, now_wib, to_db

SUBJECT = "[lapor-sync] Uji pengiriman notifikasi"
TEXT = (
    "Ini pesan uji dari lapor-sync {version}.\n\n"
    "Jika pesan ini sampai, pengaturan SMTP di [notify.smtp] sudah benar: notifikasi "
    "untuk penghubung OPD, admin dan monitoring dapat dikirim.\n"
)


def probe_row(address: str, clock: Clock = now_wib) -> NotificationRow:
    """A row that is never stored (id 0): the test goes straight to the server."""
    stamp = to_db(clock())
    text = TEXT.format(version=__version__)
    html = "<p>" + text.strip().replace("\n\n", "</p><p>") + "</p>"
    return NotificationRow(
        id=0,
        dedupe_key=f"test:{stamp}",
        kind="test",
        opd_code=None,
        channel="email",
        recipients=(address,),
        subject=SUBJECT,
        body_text=text,
        body_html=html,
        payload="{}",
        state="sending",
        attempts=0,
        next_attempt_at="",
        last_error=None,
        created_at=stamp,
        updated_at=stamp,
        sent_at=None,
    )

"""The channels the settings configure, by the outbox's channel name."""

from __future__ import annotations

from lapor_sync.config import Settings
from lapor_sync.notify.outcome import Channel
from lapor_sync.notify.smtp import SmtpChannel
from lapor_sync.notify.webhook import WebhookChannel
from lapor_sync.timeutil import Clock, now_wib


def configured_channels(settings: Settings, clock: Clock = now_wib) -> dict[str, Channel]:
    """``email`` when ``[notify.smtp]`` is set, ``webhook`` when ``[notify.webhook]`` is."""
    notify = settings.notify
    ca_bundle = settings.http.ca_bundle
    channels: dict[str, Channel] = {}
    if notify.smtp is not None:
        channels["email"] = SmtpChannel(notify.smtp, ca_bundle=ca_bundle, clock=clock)
    if notify.webhook is not None:
        channels["webhook"] = WebhookChannel(notify.webhook, ca_bundle=ca_bundle)
    return channels

"""The generic webhook: one stored notification → one JSON POST → one :class:`Outcome`.

For a province's WhatsApp or Telegram gateway. The body is the row's ``payload`` (the
same identifiers as the e-mail, as JSON); the secret goes in the configured header, never
in the URL. ``https://`` with verified certificates; ``http://`` only for loopback.

Answers: 2xx ``sent``; 408, 429 and 5xx ``retry`` (the gateway says it did not take it);
any other status ``dead`` with the status; no connection ``retry``; a connection lost or
timed out after the request went out ``unknown`` (the gateway may have forwarded it).
"""

from __future__ import annotations

from pathlib import Path

import requests

from lapor_sync import __version__
from lapor_sync.config.notify_section import Webhook
from lapor_sync.notify.outcome import Outcome
from lapor_sync.store.notify_outbox import NotificationRow

_RETRY_STATUSES = frozenset({408, 429})


class WebhookChannel:
    """Sends rows whose channel is ``webhook``."""

    def __init__(
        self,
        settings: Webhook,
        *,
        ca_bundle: Path | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._settings = settings
        self._verify: bool | str = str(ca_bundle) if ca_bundle else True
        self._session = session or requests.Session()

    def send(self, row: NotificationRow) -> Outcome:
        s = self._settings
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"lapor-sync/{__version__}",
            "Idempotency-Key": f"lapor-sync-notify-{row.id}",
            s.header: s.secret.get_secret_value(),
        }
        try:
            answer = self._session.post(
                s.url,
                data=row.payload.encode("utf-8"),
                headers=headers,
                timeout=(min(s.timeout, 10.0), s.timeout),
                verify=self._verify,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError:
            return Outcome.dead("the webhook's TLS certificate was refused")
        except requests.exceptions.ConnectTimeout:
            return Outcome.retry("cannot connect to the webhook (timed out)")
        except requests.exceptions.ConnectionError as exc:
            if _never_connected(exc):
                return Outcome.retry("cannot connect to the webhook (connection refused)")
            return Outcome.unknown("the webhook's answer was lost; it may have been delivered")
        except requests.exceptions.Timeout:
            return Outcome.unknown("the webhook did not answer in time; it may have been delivered")
        except requests.exceptions.RequestException as exc:
            return Outcome.dead(f"the webhook request failed ({type(exc).__name__})")
        status = answer.status_code
        answer.close()
        if 200 <= status < 300:
            return Outcome.sent()
        reason = f"the webhook answered HTTP {status}"
        if status in _RETRY_STATUSES or status >= 500:
            return Outcome.retry(reason)
        return Outcome.dead(reason)

    def close(self) -> None:
        self._session.close()


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when no connection was made (so the request cannot have been read)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        name = type(cause).__name__
        if name in ("NewConnectionError", "ConnectionRefusedError", "NameResolutionError"):
            return True
        reason = getattr(cause, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            cause = reason
            continue
        cause = (
            cause.__cause__
            or cause.__context__
            or (cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None)
        )
    return False

"""E-mail over SMTP: one stored notification → one message → one :class:`Outcome`.

The conversation is driven step by step (``MAIL``, ``RCPT``, ``DATA``, the body, the
final ``.``) instead of ``sendmail()``, because the outcome depends on *where* it failed:

- before the body's final ``.`` has been handed to the connection, nothing was accepted:
  a temporary failure (connection refused, 4xx) is ``retry``, a permanent one (5xx, TLS
  or login refused) ``dead``;
- once the final ``.`` has been sent, the server may have queued the message even if its
  answer never comes: a lost connection or a timeout then is ``unknown``, and the row is
  not resent by itself (a duplicate in a liaison's inbox is cheaper to avoid than a lost
  notice is to detect; the admin sees ``unknown`` and decides).

TLS: ``starttls`` (default, port 587) or implicit ``tls`` (465) with the system's CAs
(plus ``http.ca_bundle``) and host-name checking; ``none`` only for a loopback server.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path

from lapor_sync.config.notify_section import Smtp
from lapor_sync.notify.outcome import Outcome
from lapor_sync.store.notify_outbox import NotificationRow
from lapor_sync.timeutil import Clock, now_wib

_CRLF = b"\r\n"


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """Certificates and host names always checked; ``ca_bundle`` adds a CA."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


def build_message(row: NotificationRow, sender: str, clock: Clock = now_wib) -> EmailMessage:
    """The e-mail of a row: text part, HTML alternative; Message-ID fixed by the row's id."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = ", ".join(row.recipients)
    message["Subject"] = row.subject
    message["Date"] = format_datetime(clock())
    domain = sender.rpartition("@")[2] or "lapor-sync.invalid"
    message["Message-ID"] = make_msgid(f"notify-{row.id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    return message


def _code_outcome(code: int, what: str, text: bytes | str) -> Outcome:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    said = " ".join(said.split())[:200]
    reason = f"SMTP server answered {code} to {what}: {said}"
    if 400 <= code < 500:
        return Outcome.retry(reason)
    return Outcome.dead(reason)


class SmtpChannel:
    """Sends rows whose channel is ``email``. One connection per message (batches are few)."""

    def __init__(
        self, settings: Smtp, *, ca_bundle: Path | None = None, clock: Clock = now_wib
    ) -> None:
        self._settings = settings
        self._context = tls_context(ca_bundle)
        self._clock = clock

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        if s.security == "tls":
            return smtplib.SMTP_SSL(
                s.host, s.effective_port, timeout=s.timeout, context=self._context
            )
        return smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout)

    def send(self, row: NotificationRow) -> Outcome:
        s = self._settings
        where = f"{s.host}:{s.effective_port}"
        if not row.recipients:
            return Outcome.dead("no recipients")
        try:
            conn = self._connect()
        except ssl.SSLCertVerificationError as exc:
            return Outcome.dead(f"TLS certificate of {where} refused: {exc.verify_message}")
        except smtplib.SMTPResponseException as exc:
            return _code_outcome(exc.smtp_code, "the greeting", exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            return Outcome.retry(f"cannot connect to {where}: {_os_reason(exc)}")
        try:
            return self._converse(conn, row, where)
        finally:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()

    def _converse(self, conn: smtplib.SMTP, row: NotificationRow, where: str) -> Outcome:
        s = self._settings
        sent_final_dot = False
        try:
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    return Outcome.dead(f'{where} does not offer STARTTLS; set security = "tls"')
                conn.starttls(context=self._context)
                conn.ehlo()
            if s.username:
                password = s.password.get_secret_value() if s.password else ""
                conn.login(s.username, password)
            code, text = conn.mail(s.sender)
            if code != 250:
                return _code_outcome(code, "MAIL FROM", text)
            refused: list[tuple[str, int]] = []
            for address in row.recipients:
                code, text = conn.rcpt(address)
                if code not in (250, 251):
                    refused.append((address, code))
            if len(refused) == len(row.recipients):
                temporary = any(400 <= c < 500 for _, c in refused)
                reason = "every recipient refused: " + _refused_text(refused)
                return Outcome.retry(reason) if temporary else Outcome.dead(reason)
            code, text = conn.docmd("DATA")
            if code != 354:
                return _code_outcome(code, "DATA", text)
            body = build_message(row, s.sender, self._clock).as_bytes()
            body = re.sub(rb"(?m)^\.", b"..", body)
            if not body.endswith(_CRLF):
                body += _CRLF
            conn.send(body + b"." + _CRLF)
            sent_final_dot = True
            code, text = conn.getreply()
        except ssl.SSLCertVerificationError as exc:
            return Outcome.dead(f"TLS certificate of {where} refused: {exc.verify_message}")
        except smtplib.SMTPAuthenticationError as exc:
            return Outcome.dead(f"login refused by {where} ({exc.smtp_code}); check the password")
        except smtplib.SMTPNotSupportedError as exc:
            return Outcome.dead(f"{where}: {exc}")
        except smtplib.SMTPResponseException as exc:
            return _code_outcome(exc.smtp_code, "the conversation", exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            if sent_final_dot:
                return Outcome.unknown(
                    f"connection to {where} lost after the message was sent "
                    f"({_os_reason(exc)}); it may have been delivered"
                )
            return Outcome.retry(f"connection to {where} lost before the end of the message")
        if code == 250:
            note = "refused: " + _refused_text(refused) if refused else None
            return Outcome.sent(note)
        return _code_outcome(code, "the end of the message", text)


def _refused_text(refused: list[tuple[str, int]]) -> str:
    return ", ".join(f"{address} ({code})" for address, code in refused)


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__

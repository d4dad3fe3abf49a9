"""Fetching an attachment's bytes from the URL SP4N-LAPOR! lists (``pull.download_attachments``).

An attachment URL points at file storage, which may be another host than the API: so the
request carries **no credentials** (no gateway key, no token), only the User-Agent. It is
a plain GET under the same TLS rules as the API (``http.ca_bundle``, verification always
on; ``http`` only for a loopback address), with the HTTP timeouts, redirects followed,
and the body read through :func:`lapor_sync.lapor.body.read_body`, so never more than the
size limit is held. Invariant: no error quotes the URL (it may name a person's file).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import requests.utils

from lapor_sync.lapor.body import UnreadableBody, read_body


class DownloadError(Exception):
    """The file could not be fetched; the reason names no URL."""


@dataclass(frozen=True)
class DownloadOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    ca_bundle: str | None = None
    user_agent: str = "lapor-sync"


def _allowed(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def fetch_file(
    session: requests.Session, url: str, max_bytes: int, options: DownloadOptions
) -> bytes:
    """The file at ``url``, at most ``max_bytes``; raises ``DownloadError`` otherwise."""
    if not _allowed(url):
        raise DownloadError("not an https URL (http only on a loopback address)")
    try:
        response = session.get(
            url,
            headers={"User-Agent": options.user_agent, "Accept-Encoding": "identity"},
            timeout=(options.connect_timeout, options.read_timeout),
            verify=options.ca_bundle or requests.utils.DEFAULT_CA_BUNDLE_PATH,
            stream=True,
        )
        if response.status_code != 200:
            response.close()
            raise DownloadError(f"HTTP {response.status_code}")
        return read_body(response, max_bytes)
    except UnreadableBody as exc:
        if "larger than" in exc.reason:
            too_large = f"larger than {max_bytes} bytes (local.attachment_max_mib)"
            raise DownloadError(too_large) from None
        raise DownloadError(exc.reason) from None
    except requests.RequestException as exc:
        raise DownloadError(f"connection problem ({type(exc).__name__})") from None

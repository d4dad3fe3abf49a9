"""The SP4N-LAPOR! answer envelope: status codes and bodies turned into results or errors.

``{"success": true, "message": ..., "results": {...}}`` on success; on failure HTTP
4xx/5xx with ``{"success": false, "errors": {...}}`` — or, on some servers, HTTP 200 with
``"success": false``. Bodies may be HTML, truncated or ``null``; ``Content-Type`` is not
trusted. Invariant: no error raised here quotes a body (bodies hold personal data).

Every body that cannot be decoded is a bad answer (``RetryableRemoteError``), never another
exception: not JSON, not UTF-8, an integer too long to convert, or JSON nested deeper than
``MAX_NESTING`` (the decoder would hit Python's recursion limit at about 1,000 levels, and
anything that walks the value later could too). Real answers are a handful of levels deep.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from lapor_sync.errors import (
    AuthError,
    FatalRemoteError,
    ForbiddenError,
    NotFoundError,
    RejectedError,
    RetryableRemoteError,
)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds, from either delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


MAX_NESTING = 64
"""The deepest JSON nesting accepted in an answer (objects and arrays; real ones: < 10)."""


def _too_deep(value: Any, limit: int = MAX_NESTING) -> bool:
    """True when ``value`` nests objects/arrays deeper than ``limit``; iterative, no recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        children = current.values() if isinstance(current, dict) else current
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def _field_errors(envelope: Mapping[str, Any]) -> dict[str, Sequence[str]]:
    errors = envelope.get("errors")
    if not isinstance(errors, Mapping):
        return {}
    out: dict[str, Sequence[str]] = {}
    for key, value in errors.items():
        messages = value if isinstance(value, list) else [value]
        out[str(key)] = [str(m) for m in messages]
    return out


def decode_envelope(
    endpoint: str, status: int, body: bytes, retry_after: float | None = None
) -> dict[str, Any]:
    """Turn an HTTP answer into the envelope dict, or raise the error it means.

    Order matters: the status code is judged before the body, because a 502 from the
    gateway carries HTML, and a 401 may carry anything.
    """
    if status == 401:
        raise AuthError("HTTP 401", endpoint=endpoint, status=status)
    if status == 403:
        raise ForbiddenError("HTTP 403", endpoint=endpoint, status=status)
    if status == 429:
        raise RetryableRemoteError(
            "rate limited", endpoint=endpoint, status=status, retry_after=retry_after
        )
    if status >= 500:
        raise RetryableRemoteError(f"server error HTTP {status}", endpoint=endpoint, status=status)
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RetryableRemoteError(
            "answer is not JSON (HTML page or truncated body)", endpoint=endpoint, status=status
        ) from None
    except RecursionError:
        envelope = None  # nested deeper than the decoder can go: refused just below
        deep = True
    else:
        deep = isinstance(envelope, dict | list) and _too_deep(envelope)
    if deep:
        raise RetryableRemoteError(
            f"answer's JSON is nested deeper than {MAX_NESTING} levels",
            endpoint=endpoint,
            status=status,
        )
    if not isinstance(envelope, dict):
        raise RetryableRemoteError("answer is not a JSON object", endpoint=endpoint, status=status)
    if status == 404:
        raise NotFoundError("HTTP 404", endpoint=endpoint, status=status)
    if status == 422:
        raise RejectedError(
            "invalid input", endpoint=endpoint, status=status, field_errors=_field_errors(envelope)
        )
    if status >= 400:
        raise FatalRemoteError(f"HTTP {status}", endpoint=endpoint, status=status)
    if envelope.get("success") is False or envelope.get("success") in (0, "false"):
        field_errors = _field_errors(envelope)
        if field_errors:
            raise RejectedError(
                "success:false with field errors",
                endpoint=endpoint,
                status=status,
                field_errors=field_errors,
            )
        raise RetryableRemoteError(
            f"success:false inside HTTP {status}", endpoint=endpoint, status=status
        )
    return envelope


def results_of(endpoint: str, status: int, envelope: Mapping[str, Any]) -> dict[str, Any]:
    results = envelope.get("results")
    if not isinstance(results, dict):
        raise RetryableRemoteError(
            "answer has no 'results' object", endpoint=endpoint, status=status
        )
    return results

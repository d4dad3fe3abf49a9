"""Masking of personal data and secrets in text that is about to leave the process.

This is the *last* line of defence of invariant 7 (privacy): the first line is that code
never puts names, NIK, phone numbers, e-mail, complaint text or credentials into a log
call, a metric or an error message. These functions catch what slips through anyway
(an exception message quoting a response, a URL in a urllib3 warning, a careless f-string).

What :func:`redact_text` masks, and with which marker:

========================  ===============================================  ============
what                      forms recognised                                 marker
========================  ===============================================  ============
NIK (and KK numbers)      16 digits in a row; ``3201 0123 4567 0001``,      ``[NIK]``
                          ``320101-234567-0001``, ``32.01.01.234567.0001``
mobile phone              ``08`` + 7..11 digits (9..13 in all);            ``[TELEPON]``
                          ``+62``/``(+62)`` + 8..14 digits; bare ``62`` +
                          ``8`` + 8..12 digits; spaces, dots and dashes
                          inside (``0812-3456-7890``, ``+62 812 3456 7890``)
landline phone            ``(021) 1234567``, ``021-1234-5678``              ``[TELEPON]``
e-mail address            ``someone@example.co.id``                        ``[EMAIL]``
credentials               ``Bearer <token>``; ``token: …``,                ``[RAHASIA]``
                          ``api_key=…``, ``password=…``, ``Authorization:
                          …``; JWTs; GUID-like tokens
                          (``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``)
free-text query values    ``?search=…`` / ``&q=…`` in URLs                 ``[disaring]``
registered secrets        every value given to :func:`register_secret`     ``[RAHASIA]``
========================  ===============================================  ============

What it deliberately leaves alone, because the program logs it: complaint and follow-up
ids (up to ~10 digits, never starting with ``0``), tracking ids, local references
(``LPG-2026-000123``), dates (``2026-11-28``, ``28-03-2025``), times, ISO timestamps,
counts, durations, HTTP status codes, ports, pids, hex run ids without dashes.
Consequence for callers: do not make run ids or other loggable ids GUID-shaped (they
would be masked); ``uuid4().hex[:12]`` is fine.

Speed (it runs on every string of every log line): precompiled patterns behind cheap gates
(a lower-cased keyword search, ``"@" in text``, a dash count); numbers are found as maximal
runs of digits and separators by a pattern that starts with a character class, so the
engine skips ordinary text at C speed, and only those short runs meet the detailed NIK and
phone patterns. Look-arounds refuse to start or end inside a longer run of digits, so
``2026-11-01 2026-11-28`` stays a pair of dates and ``3.0812345678`` stays a number.

Invariants: pure functions of their input plus the secret registry; no imports beyond the
standard library; thread-safe (the registry is swapped atomically under a lock).
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

__all__ = [
    "EMAIL_MARK",
    "FILTERED_MARK",
    "MIN_SECRET_LENGTH",
    "NIK_MARK",
    "PHONE_MARK",
    "SECRET_MARK",
    "clear_secrets",
    "redact_secrets",
    "redact_text",
    "register_secret",
]

NIK_MARK = "[NIK]"
PHONE_MARK = "[TELEPON]"
EMAIL_MARK = "[EMAIL]"
SECRET_MARK = "[RAHASIA]"  # noqa: S105 (a marker, not a password)
FILTERED_MARK = "[disaring]"

MIN_SECRET_LENGTH = 6
"""Registered values shorter than this are ignored: masking them would mangle ordinary text."""

# A separator people put inside a NIK or a phone number.
_SEP = r"[ .\-]"
# Not in the middle of a run of digits: no digit, and no "digit + separator", just before.
_NUM_START = r"(?<!\d)(?<!\d[ .\-])"

# Credentials given as key/value (the key is kept, the value masked), bearer tokens, JWTs,
# and free-text query parameters (they can hold a reporter's words or name).
_CREDENTIALS = re.compile(
    r"""
    (?P<kv>(?i:\b(?:authorization|proxy-authorization|x-api-key|api[_-]?key|apikey
        |access[_-]?token|refresh[_-]?token|id[_-]?token|client[_-]?secret|token|secret
        |password|passwd|pwd)\b)["']?[ \t]*[:=][ \t]*["']?)
        (?:(?i:bearer|basic|token)[ \t]+)?[^\s"'&,;)\]}]+
    | (?P<query>[?&](?i:search|q|query|keyword)=)[^&#\s"']+
    | (?P<bearer>(?i:\bbearer)[ \t]+)[A-Za-z0-9\-._~+/]+=*
    | (?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*
    """,
    re.VERBOSE,
)
# Cheap gate, run on the lower-cased text, before the (slower) pattern above.
_CREDENTIAL_GATE = re.compile(
    r"bearer|token|secret|passw|pwd|authoriz|api.?key|eyj|[?&](?:search|q|query|keyword)="
)

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
    r"\.[A-Za-z]{2,}\b"
)

_GUID = re.compile(
    r"(?<![0-9A-Fa-f\-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}"
    r"-[0-9A-Fa-f]{12}(?![0-9A-Fa-f])"
)

# Maximal runs of digits and the characters written inside numbers. Starting with a
# character class lets the regex engine skip ordinary text at C speed; the detailed
# patterns below then only look at these short runs. Because a run is maximal, the
# character around it is never a digit or separator, so the look-arounds of the detailed
# patterns see the same context inside the run as in the whole text.
_NUMBER_RUN = re.compile(r"[\d+(][\d .\-()+]{6,}")

_NUMBER = re.compile(
    rf"""
    (?P<nik>{_NUM_START}
        (?:\d{{16}}
          | \d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}
          | \d{{6}}{_SEP}\d{{6}}{_SEP}\d{{4}}
          | \d{{6}}{_SEP}\d{{10}}
          | \d{{2}}{_SEP}\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{6}}{_SEP}\d{{4}}
        )(?!\d))
    | (?P<phone>(?<!\+){_NUM_START}
        (?:(?:\+62|\(\+?62\))[ .\-]?(?:\(0\)[ .\-]?)?\d{{2,4}}(?:{_SEP}?\d){{6,10}}
          | 62{_SEP}?8\d{{2,3}}(?:{_SEP}?\d){{6,9}}
          | 08\d{{2}}(?:{_SEP}?\d){{5,9}}
          | \(0[2-9]\d{{1,2}}\)[ ]?\d{{3,4}}{_SEP}?\d{{3,4}}
          | 0[2-9]\d{{1,2}}{_SEP}\d{{3,4}}{_SEP}?\d{{3,4}}
        )(?!\d))
    """,
    re.VERBOSE,
)


def _credential(match: re.Match[str]) -> str:
    for group in ("kv", "bearer", "query"):
        kept = match.group(group)
        if kept is not None:
            return kept + (FILTERED_MARK if group == "query" else SECRET_MARK)
    return SECRET_MARK  # a JWT


def _number(match: re.Match[str]) -> str:
    return NIK_MARK if match.lastgroup == "nik" else PHONE_MARK


def _number_run(match: re.Match[str]) -> str:
    return _NUMBER.sub(_number, match.group())


# --- registry of known secret values ---------------------------------------------------

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
# Rebuilt on every registration and swapped in one assignment, so readers need no lock.
_secret_pattern: re.Pattern[str] | None = None


def register_secret(value: str) -> None:
    """Mask ``value`` (and its URL-encoded form) wherever it appears from now on.

    Call it for every credential as soon as it is loaded (API key, instansi token,
    passwords). Values shorter than :data:`MIN_SECRET_LENGTH` are ignored.
    """
    global _secrets, _secret_pattern, _clean_texts
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH:
        return
    candidates = {value, quote(value, safe=""), quote(value)}
    with _lock:
        if candidates <= _secrets:
            return
        _secrets = _secrets | candidates
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(re.escape(s) for s in ordered))
        _clean_texts = set()


def clear_secrets() -> None:
    """Forget every registered secret (for tests)."""
    global _secrets, _secret_pattern, _clean_texts
    with _lock:
        _secrets = frozenset()
        _secret_pattern = None
        _clean_texts = set()


def redact_secrets(text: str) -> str:
    """``text`` with every registered secret replaced by ``[RAHASIA]``."""
    pattern = _secret_pattern
    if pattern is None:
        return text
    return pattern.sub(SECRET_MARK, text)


def redact_text(text: str) -> str:
    """``text`` with registered secrets, NIK, phone numbers, e-mail and tokens masked."""
    if not text:
        return text
    clean = _clean_texts  # this set, even if a secret is registered meanwhile
    if text in clean:
        return text
    masked = _redact(text)
    if masked == text and len(text) <= CLEAN_TEXT_MAX:
        if len(clean) >= CLEAN_TEXTS_MAX:
            clean.clear()
        clean.add(text)
    return masked


# Short texts found to hold nothing to mask (event names, accounts, jobs, timestamps: most
# of a log line's values, again and again), so the patterns are not run on them twice.
# Only texts left unchanged are kept, so no personal data stays here; a new secret starts
# a new set, as a kept text may contain it.
CLEAN_TEXT_MAX = 80
CLEAN_TEXTS_MAX = 4096
_clean_texts: set[str] = set()


def _redact(text: str) -> str:
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(SECRET_MARK, text)
    # Cheap gates first: most log strings hold none of these and skip the patterns.
    if _CREDENTIAL_GATE.search(text.lower()):
        text = _CREDENTIALS.sub(_credential, text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MARK, text)
    if text.count("-") >= 4:
        text = _GUID.sub(SECRET_MARK, text)
    return _NUMBER_RUN.sub(_number_run, text)

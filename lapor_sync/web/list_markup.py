"""The complaint list's markup, made in Python: its cards, the filter form's options and
its links (``web/complaints.py`` renders the page around them).

Invariant: every text that goes into the markup is escaped here, as ``markupsafe.escape``
does (``& < > ' "``); the templates print the results as they are. Titles are shown
masked (NIK, phone, e-mail) and a rahasia title hidden, for every role.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from lapor_sync.domain import ComplaintState
from lapor_sync.glossary import (
    CHANNEL_LABELS,
    STAGE_LABELS,
    channel_label,
    outbox_state_label,
    shown_title,
    state_label,
    stored_datetime_text,
)
from lapor_sync.sla.stages import STAGES


def masked_title(row: dict[str, Any]) -> str:
    """A title as lists show it: rahasia hidden, NIK/phone/e-mail masked."""
    return shown_title(row.get("title"), bool(row.get("is_secret")))


# The filter form's fixed choices, (value, label) in the glossary's order.
STATE_CHOICES = tuple((s.value, state_label(s.value)) for s in ComplaintState)
STAGE_CHOICES = tuple((s, STAGE_LABELS.get(s, s)) for s in STAGES)
CHANNEL_CHOICES = tuple(CHANNEL_LABELS.items())


@functools.lru_cache(maxsize=64)
def _option_parts(choices: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    """Each choice's ``<option>`` split where `` selected`` goes, escaped once."""
    return tuple(
        (value, f'<option value="{escape(value)}"', f">{escape(label)}</option>")
        for value, label in choices
    )


def options_html(choices: tuple[tuple[str, str], ...], chosen: str) -> Markup:
    """The ``<option>`` elements of ``choices``, the one whose value is ``chosen`` selected.

    Built from markup made once per set of choices (the form's options were a loop of
    template calls per request); every value and label is escaped.
    """
    # S704: the parts were escaped when made (``_option_parts``); nothing is added here.
    return Markup(  # noqa: S704
        "".join(
            f"{head} selected{tail}" if value == chosen else head + tail
            for value, head, tail in _option_parts(choices)
        )
    )


# What may stand in a URL path segment as it is (``quote(..., safe="")`` leaves these).
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_.~-]+")
_LATE_BADGE = '<span class="badge warn">terlambat</span>'


def _html(text: str) -> str:
    """``text`` escaped for HTML exactly as ``markupsafe.escape`` does (``& < > ' "``),
    as a plain str: a card has four fields, and a Markup object per field cost more than
    the escaping."""
    return (
        text.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


def list_cards(rows: list[dict[str, Any]], list_url: str) -> Markup:
    """The list's rows -> its cards' HTML (the ``<li>`` of each, as one piece of markup).

    Made in Python in one pass, every text field escaped here (``_html``, markupsafe's
    rule): the template only prints the result. The labels and dates are made once per
    row, not by template filters and ``url_for`` per cell, and the card's markup not by
    Jinja per field: at 50 rows those were most of the page's time. The markup is the
    template's as it was (the same elements, classes and whitespace).
    """
    base = _html(list_url)
    parts = []
    for r in rows:
        if r["tracking_id"]:
            sent = f"Tracking ID {r['tracking_id']}"
        elif r["create_state"]:
            sent = outbox_state_label(r["create_state"])
        else:
            sent = "belum ada Tracking ID"
        ref = str(r["ref"])
        # A plain reference is its own path segment; any other is percent-encoded, which
        # leaves nothing to escape either.
        segment = ref if _PLAIN_SEGMENT.fullmatch(ref) else quote(ref, safe="")
        late = r["late"]
        facts = (
            f"{state_label(r['status'])} · {channel_label(r['channel'])} · "
            f"diterima {stored_datetime_text(r['received_at'])} · {sent}"
        )
        parts.append(
            f'\n  <li class="card{" late" if late else ""}">\n'
            f'    <a class="ref" href="{base}/{segment}">{_html(ref)}</a>\n'
            f'    <span class="badge">{_html(str(r["opd_code"] or "-"))}</span>\n'
            f"    {_LATE_BADGE if late else ''}\n"
            f'    <p class="title">{_html(masked_title(r))}</p>\n'
            f'    <p class="muted">{_html(facts)}</p>\n'
            "  </li>\n"
        )
    return Markup("".join(parts))  # noqa: S704 (each field escaped above)


# werkzeug's query encoding (``werkzeug.urls._urlencode``: what ``url_for`` writes).
_QUERY_SAFE = "!$'()*,/:;?@"


def with_query(base: str, args: dict[str, str]) -> str:
    """``base`` with ``args`` as its query string, as ``url_for(endpoint, **args)`` writes
    it for a route without variables (a test holds them equal); none: ``base`` alone."""
    return f"{base}?{urlencode(list(args.items()), safe=_QUERY_SAFE)}" if args else base

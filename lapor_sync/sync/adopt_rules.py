"""The adoption rules as pure functions: pulled records in, actions out.

- A pulled complaint with no link becomes a local ticket (origin 'lapor') and is linked —
  unless it is an **echo**: it carries the ``[Ref: …]`` marker or ref tag of a local ticket
  that lapor-sync pushed itself (for example after a lost answer). An echo is linked to its
  ticket, never imported again; an echo of a ticket linked already (perhaps through another
  account) is skipped.
- A pulled follow-up of a linked complaint becomes a local follow-up (origin 'lapor'), so
  the OPD sees reporter replies — unless it carries the marker of a local follow-up that
  lapor-sync pushed: then that local follow-up is completed with the remote id instead, or,
  when it is completed already (or is another ticket's), the pulled one is skipped.

The functions take a page of records, in the order they are applied, with what the store
said about the local tickets and follow-ups their markers name when the page was read;
what an earlier action of the same page changes (a ticket linked, a follow-up completed)
is carried forward, so a page's plan is what applying the records one by one would do.
Nothing here reads or writes the store. Actions that carry personal data (the new
ticket's or follow-up's columns) hold it in fields left out of ``repr``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lapor_sync.domain import ComplaintState
from lapor_sync.local.register import MARKER_RE

StateResolver = Callable[[str], ComplaintState | None]
OpdResolver = Callable[[str | None], str | None]

AUTHORS: Mapping[str, str] = {"institution": "opd", "reporter": "reporter", "admin": "admin"}


def marker_refs(text: str | None) -> list[tuple[str, int | None]]:
    """The ``[Ref: …]`` markers in ``text``: (ticket ref, follow-up id or None)."""
    found = []
    for match in MARKER_RE.finditer(text or ""):
        fu = match.group("fu")
        found.append((match.group("ref"), int(fu) if fu else None))
    return found


def echo_candidates(content: str | None, tags: str | None) -> list[str]:
    """Refs a pulled complaint may echo, in the order they are tried: its complaint
    markers, then its tags."""
    refs = [ref for ref, fu in marker_refs(content) if fu is None]
    return refs + [str(tag) for tag in json.loads(tags or "[]")]


def own_followup_id(content: str | None, ticket_ref: str | None) -> int | None:
    """The local follow-up a pulled follow-up's marker names for its own ticket, if any."""
    own = [fu for ref, fu in marker_refs(content) if fu is not None and ref == ticket_ref]
    return own[0] if own else None


# --- complaints ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EchoTarget:
    """The first local-origin ticket an echo's refs name, as the store had it."""

    ticket_id: int
    linked: bool


@dataclass(frozen=True, slots=True)
class ComplaintFacts:
    """A pulled complaint without a link; ``record`` holds its columns (personal data)."""

    account: str
    remote_id: str
    tracking_id: str | None
    status_name: str
    created_at: str
    disposition_id: str | None
    echo: EchoTarget | None
    record: Mapping[str, object] = field(repr=False)


@dataclass(frozen=True, slots=True)
class AdoptComplaint:
    """A new local ticket (origin 'lapor') in ``state``, linked to the complaint; its
    reference is issued when applied, in the year of ``created_at``."""

    account: str
    remote_id: str
    tracking_id: str | None
    state: ComplaintState
    opd_code: str | None
    created_at: str
    columns: Mapping[str, object] = field(repr=False)

    @property
    def year(self) -> int:
        return datetime.fromisoformat(self.created_at).year


@dataclass(frozen=True, slots=True)
class LinkEcho:
    """The complaint is our own ticket's echo: link it, import nothing."""

    ticket_id: int
    account: str
    remote_id: str
    tracking_id: str | None


@dataclass(frozen=True, slots=True)
class SkipEcho:
    """The complaint echoes a ticket that is linked already: nothing happens."""

    ticket_id: int
    account: str
    remote_id: str


ComplaintAction = AdoptComplaint | LinkEcho | SkipEcho


def decide_complaints(
    page: Sequence[ComplaintFacts], state_for: StateResolver, opd_for: OpdResolver
) -> list[ComplaintAction]:
    """One action per complaint of the page, in the page's order."""
    linked: set[int] = set()  # tickets an earlier echo of this page links
    actions: list[ComplaintAction] = []
    for c in page:
        if c.echo is not None:
            if c.echo.linked or c.echo.ticket_id in linked:
                actions.append(SkipEcho(c.echo.ticket_id, c.account, c.remote_id))
            else:
                linked.add(c.echo.ticket_id)
                actions.append(LinkEcho(c.echo.ticket_id, c.account, c.remote_id, c.tracking_id))
            continue
        state = state_for(c.status_name) or ComplaintState.AWAITING_VERIFICATION
        opd = opd_for(c.disposition_id)
        actions.append(
            AdoptComplaint(
                c.account,
                c.remote_id,
                c.tracking_id,
                state,
                opd,
                c.created_at,
                _ticket_columns(c, state, opd),
            )
        )
    return actions


def _ticket_columns(c: ComplaintFacts, state: ComplaintState, opd: str | None) -> dict[str, object]:
    r = c.record
    return {
        "origin": "lapor",
        "account": c.account,
        "channel": "lapor",
        "reporter_name": r["reporter_name"],
        "reporter_phone": r["reporter_phone"],
        "reporter_email": r["reporter_email"],
        "is_anonymous": r["is_anonymous"],
        "is_secret": r["is_secret"],
        "title": str(r["title"] or "(tanpa judul)")[:150],
        "content": r["content"] or "(tanpa isi)",
        "category_id": r["category_id"],
        "opd_code": opd,
        "location_id": r["location_id"],
        "date_of_incident": r["date_of_incident"],
        "received_at": c.created_at,
        "status": state.value,
    }


# --- follow-ups ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnFollowup:
    """The local follow-up a pulled follow-up's marker names, as the store had it."""

    followup_id: int
    ticket_id: int
    has_remote_id: bool


@dataclass(frozen=True, slots=True)
class FollowupFacts:
    """A pulled follow-up of a linked ticket; ``content`` is personal data.

    ``own_id`` is the follow-up id its marker names for its own ticket (None: no marker);
    ``own`` that follow-up as stored (None: no such follow-up).
    """

    account: str
    remote_id: str
    ticket_id: int
    author_type: str | None
    is_secret: int
    created_at: str
    own_id: int | None
    own: OwnFollowup | None
    content: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class AdoptFollowup:
    """A new local follow-up (origin 'lapor') on the ticket, carrying the remote id."""

    ticket_id: int
    account: str
    remote_id: str
    author: str
    is_secret: int
    created_at: str
    content: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ClaimFollowupEcho:
    """Our own follow-up's echo: the local follow-up gets the remote id."""

    followup_id: int
    ticket_id: int
    account: str
    remote_id: str


@dataclass(frozen=True, slots=True)
class SkipFollowupEcho:
    """Our own follow-up, completed already under another id (or another ticket's):
    never imported twice."""

    followup_id: int
    account: str
    remote_id: str


FollowupAction = AdoptFollowup | ClaimFollowupEcho | SkipFollowupEcho


def decide_followups(page: Sequence[FollowupFacts]) -> list[FollowupAction]:
    """One action per follow-up of the page, in the page's order."""
    claimed: set[int] = set()  # local follow-ups an earlier echo of this page completes
    actions: list[FollowupAction] = []
    for f in page:
        own = f.own
        if f.own_id is not None and own is not None:
            if (
                own.ticket_id == f.ticket_id
                and not own.has_remote_id
                and own.followup_id not in claimed
            ):
                claimed.add(own.followup_id)
                actions.append(
                    ClaimFollowupEcho(own.followup_id, f.ticket_id, f.account, f.remote_id)
                )
            else:
                actions.append(SkipFollowupEcho(own.followup_id, f.account, f.remote_id))
            continue
        actions.append(
            AdoptFollowup(
                f.ticket_id,
                f.account,
                f.remote_id,
                AUTHORS.get(f.author_type or "", "admin"),
                f.is_secret,
                f.created_at,
                f.content or "(tanpa isi)",
            )
        )
    return actions

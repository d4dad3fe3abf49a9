"""The adoption rules as tables: pulled records in, actions out — no database, no HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from lapor_sync.domain import ComplaintState as S
from lapor_sync.sync.adopt_rules import (
    AdoptComplaint,
    AdoptFollowup,
    ClaimFollowupEcho,
    ComplaintFacts,
    EchoTarget,
    FollowupFacts,
    LinkEcho,
    OwnFollowup,
    SkipEcho,
    SkipFollowupEcho,
    decide_complaints,
    decide_followups,
    echo_candidates,
    own_followup_id,
)

ACC = "pemprov-lampung"
STATES = {"Belum Terverifikasi": S.AWAITING_VERIFICATION, "Selesai": S.CLOSED}
OPDS = {"18002": "DINKES"}


def state_for(name: str) -> S | None:
    return STATES.get(name)


def opd_for(disposition: str | None) -> str | None:
    return OPDS.get(disposition or "")


def complaint(
    remote_id: str,
    *,
    status: str = "Selesai",
    echo: EchoTarget | None = None,
    title: str | None = "Jalan rusak",
    content: str | None = "Isi aduan",
    disposition: str | None = "18002",
) -> ComplaintFacts:
    record = {
        "reporter_name": "Budi",
        "reporter_phone": "0812",
        "reporter_email": "b@example.org",
        "is_anonymous": 0,
        "is_secret": 1,
        "title": title,
        "content": content,
        "category_id": "7",
        "location_id": "18.71",
        "date_of_incident": "2026-11-01",
    }
    return ComplaintFacts(
        ACC,
        remote_id,
        f"TRK{remote_id}",
        status,
        "2026-11-02T09:00:00+07:00",
        disposition,
        echo,
        record,
    )


def test_a_plain_complaint_becomes_a_ticket_of_its_state_and_opd() -> None:
    (action,) = decide_complaints([complaint("11")], state_for, opd_for)
    assert isinstance(action, AdoptComplaint)
    assert (action.account, action.remote_id, action.tracking_id) == (ACC, "11", "TRK11")
    assert (action.state, action.opd_code, action.year) == (S.CLOSED, "DINKES", 2026)
    assert action.columns == {
        "origin": "lapor",
        "account": ACC,
        "channel": "lapor",
        "reporter_name": "Budi",
        "reporter_phone": "0812",
        "reporter_email": "b@example.org",
        "is_anonymous": 0,
        "is_secret": 1,
        "title": "Jalan rusak",
        "content": "Isi aduan",
        "category_id": "7",
        "opd_code": "DINKES",
        "location_id": "18.71",
        "date_of_incident": "2026-11-01",
        "received_at": "2026-11-02T09:00:00+07:00",
        "status": "closed",
    }
    for personal in ("Budi", "0812", "example.org", "Jalan rusak", "Isi aduan"):
        assert personal not in repr(action)


@pytest.mark.parametrize(
    ("given", "state", "opd", "title", "content"),
    [
        (complaint("1", status="Tak Dikenal"), S.AWAITING_VERIFICATION, "DINKES", None, None),
        (complaint("2", disposition=None), S.CLOSED, None, None, None),
        (complaint("3", disposition="99999"), S.CLOSED, None, None, None),
        (
            complaint("4", title=None, content=None),
            S.CLOSED,
            "DINKES",
            "(tanpa judul)",
            "(tanpa isi)",
        ),
        (complaint("5", title="x" * 200), S.CLOSED, "DINKES", "x" * 150, None),
    ],
    ids=["unknown-status", "no-disposition", "unknown-opd", "empty-texts", "long-title"],
)
def test_adopted_ticket_fields(
    given: ComplaintFacts, state: S, opd: str | None, title: str | None, content: str | None
) -> None:
    (action,) = decide_complaints([given], state_for, opd_for)
    assert isinstance(action, AdoptComplaint)
    assert (action.state, action.opd_code) == (state, opd)
    if title is not None:
        assert action.columns["title"] == title
    if content is not None:
        assert action.columns["content"] == content


COMPLAINT_PAGES: list[tuple[str, list[ComplaintFacts], list[type]]] = [
    (
        "echo of an unlinked ticket is linked",
        [complaint("1", echo=EchoTarget(5, False))],
        [LinkEcho],
    ),
    ("echo of a linked ticket is skipped", [complaint("1", echo=EchoTarget(5, True))], [SkipEcho]),
    (
        "two echoes of one ticket in a page: the first links, the second is skipped",
        [complaint("1", echo=EchoTarget(5, False)), complaint("2", echo=EchoTarget(5, False))],
        [LinkEcho, SkipEcho],
    ),
    (
        "echoes and new complaints keep the page's order",
        [complaint("1"), complaint("2", echo=EchoTarget(5, False)), complaint("3")],
        [AdoptComplaint, LinkEcho, AdoptComplaint],
    ),
]


@pytest.mark.parametrize(
    ("case", "page", "kinds"), COMPLAINT_PAGES, ids=[c for c, *_ in COMPLAINT_PAGES]
)
def test_complaint_pages(case: str, page: list[ComplaintFacts], kinds: list[type]) -> None:
    actions = decide_complaints(page, state_for, opd_for)
    assert [type(a) for a in actions] == kinds
    assert [a.remote_id for a in actions] == [c.remote_id for c in page]
    for action in actions:
        if isinstance(action, (LinkEcho, SkipEcho)):
            assert action.ticket_id == 5


@pytest.mark.parametrize(
    ("content", "tags", "expected"),
    [
        ("Aduan [Ref: LPG-2026-000001] lagi", "[]", ["LPG-2026-000001"]),
        ("Balasan [Ref: LPG-2026-000001/TL-4]", "[]", []),
        ("[Ref: A-1] dan [Ref: B-2]", '["C-3"]', ["A-1", "B-2", "C-3"]),
        (None, '["LPG-2026-000009"]', ["LPG-2026-000009"]),
        ("tanpa penanda", None, []),
    ],
    ids=["marker", "follow-up-marker-is-not-a-complaint-echo", "markers-then-tags", "tag", "none"],
)
def test_echo_candidates(content: str | None, tags: str | None, expected: list[str]) -> None:
    assert echo_candidates(content, tags) == expected


def followup(
    remote_id: str,
    *,
    own_id: int | None = None,
    own: OwnFollowup | None = None,
    author: str = "reporter",
    content: str | None = "Terima kasih",
) -> FollowupFacts:
    return FollowupFacts(ACC, remote_id, 7, author, 0, AT, own_id, own, content)


AT = "2026-11-03T10:00:00+07:00"
MINE = OwnFollowup(3, 7, False)


def adopted(author: str = "reporter", content: str = "Terima kasih") -> AdoptFollowup:
    return AdoptFollowup(7, ACC, "1", author, 0, AT, content)


FOLLOWUP_PAGES: list[tuple[str, list[FollowupFacts], list[Any]]] = [
    ("a reporter's reply is adopted", [followup("1")], [adopted()]),
    (
        "an institution's follow-up is the OPD's",
        [followup("1", author="institution")],
        [adopted("opd")],
    ),
    (
        "an unknown author counts as admin",
        [followup("1", author="robot", content=None)],
        [adopted("admin", "(tanpa isi)")],
    ),
    (
        "our own follow-up's echo completes it",
        [followup("1", own_id=3, own=MINE)],
        [ClaimFollowupEcho(3, 7, ACC, "1")],
    ),
    (
        "our own, completed already: skipped",
        [followup("1", own_id=3, own=OwnFollowup(3, 7, True))],
        [SkipFollowupEcho(3, ACC, "1")],
    ),
    (
        "a marker naming another ticket's follow-up: skipped",
        [followup("1", own_id=3, own=OwnFollowup(3, 8, False))],
        [SkipFollowupEcho(3, ACC, "1")],
    ),
    ("a marker naming no follow-up: adopted", [followup("1", own_id=3, own=None)], [adopted()]),
    (
        "two echoes of one follow-up in a page: the first completes it",
        [followup("1", own_id=3, own=MINE), followup("2", own_id=3, own=MINE)],
        [ClaimFollowupEcho(3, 7, ACC, "1"), SkipFollowupEcho(3, ACC, "2")],
    ),
]


@pytest.mark.parametrize(
    ("case", "page", "expected"), FOLLOWUP_PAGES, ids=[c for c, *_ in FOLLOWUP_PAGES]
)
def test_followup_pages(case: str, page: list[FollowupFacts], expected: list[Any]) -> None:
    assert decide_followups(page) == expected


@pytest.mark.parametrize(
    ("content", "ref", "expected"),
    [
        ("[Ref: LPG-1/TL-12] jawaban", "LPG-1", 12),
        ("[Ref: LPG-2/TL-12] jawaban", "LPG-1", None),
        ("[Ref: LPG-1] aduan", "LPG-1", None),
        (None, "LPG-1", None),
    ],
    ids=["own", "another-ticket", "complaint-marker", "no-content"],
)
def test_own_followup_id(content: str | None, ref: str, expected: int | None) -> None:
    assert own_followup_id(content, ref) == expected

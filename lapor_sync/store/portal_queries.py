"""Named reads of the portal (``lapor-sync web``): the complaint list and a complaint's page.

Only reads: nothing here writes. Every query takes the caller's *scope* (which complaints
the signed-in account may see) as a WHERE clause built here, so a complaint outside the
scope is simply not found (the portal answers 404, never "forbidden": existence does not
leak). Personal data is returned only by ``complaint_identity``, which the portal calls
only when the rules allow it to show the reporter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from lapor_sync.store.db import read_rows
from lapor_sync.timeutil import to_db


@dataclass(frozen=True, slots=True)
class Scope:
    """Which complaints a portal account may see.

    ``opds`` None = every OPD (admin, viewer); otherwise only these OPD codes (liaison).
    ``local_only``: only what was recorded in the province (origin 'local': the operator).
    """

    opds: tuple[str, ...] | None = None
    local_only: bool = False

    def where(self, alias: str = "t") -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        if self.opds is not None:
            if not self.opds:
                return "0", []
            parts.append(f"{alias}.opd_code IN ({', '.join('?' * len(self.opds))})")
            params.extend(self.opds)
        if self.local_only:
            parts.append(f"{alias}.origin = 'local'")
        return (" AND ".join(parts) or "1"), params


@dataclass(frozen=True, slots=True)
class ListFilter:
    """The complaint list's filters; every field optional. ``after``: the keyset cursor.

    ``near_due_by``: only complaints with no stage past due but one due by then (the home's
    near-due tile); ``created_after``: only those recorded after this stored stamp (the
    home's "new since my last visit" tile). Each selects exactly what its tile counts.
    """

    opd: str | None = None
    state: str | None = None
    stage: str | None = None
    late_only: bool = False
    near_due_by: datetime | None = None
    created_after: str | None = None  # a stored (``to_db``) stamp, compared as text
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    channel: str | None = None
    search: str | None = None  # a local reference or a Tracking ID, exact
    after: tuple[str, int] | None = None  # (received_at, id) of the last row shown
    limit: int = 50


# One row of the list: identifiers, flags and labels; no reporter field.
_LIST_COLUMNS = """
t.id, t.ref, t.origin, t.channel, t.opd_code, t.status, t.title, t.received_at,
max(t.is_secret, coalesce(rc.is_secret, 0)) AS is_secret,
max(t.is_anonymous, coalesce(rc.is_anonymous, 0)) AS is_anonymous,
coalesce(l.tracking_id, rc.tracking_id) AS tracking_id, rc.status_name AS lapor_status,
EXISTS (SELECT 1 FROM deadlines d WHERE d.ticket_id = t.id AND +d.met_at IS NULL
        AND +d.due_at < :now) AS late,
(SELECT o.state FROM outbox o WHERE o.ticket_id = t.id AND o.kind = 'create_complaint')
    AS create_state
"""

_JOINS = """
LEFT JOIN links l ON l.ticket_id = t.id
LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id
"""
_FROM = f"FROM local_tickets t {_JOINS}"

# A search's tickets: a local reference or a Tracking ID (the link's, or the mirror's when
# the link is not stamped yet), as three indexed lookups into one id set: an OR across the
# joined tables made SQLite scan every ticket (190 ms at 100,000 for a reference that does
# not exist).
_SEARCH_IDS = (
    "SELECT id FROM local_tickets WHERE ref = :search "
    "UNION SELECT ticket_id FROM links WHERE tracking_id = :search "
    "UNION SELECT l2.ticket_id FROM remote_complaints rc2 JOIN links l2 ON "
    "l2.account = rc2.account AND l2.remote_id = rc2.remote_id "
    "WHERE rc2.tracking_id = :search"
)


def _named(scope_sql: str, params: Sequence[Any], prefix: str) -> tuple[str, dict[str, Any]]:
    """Positional ``?`` of a scope clause -> named parameters (the list uses names)."""
    named: dict[str, Any] = {}
    out = scope_sql
    for i, value in enumerate(params):
        key = f"{prefix}{i}"
        out = out.replace("?", f":{key}", 1)
        named[key] = value
    return out, named


def complaint_list(
    db: sqlite_utils.Database, scope: Scope, flt: ListFilter, now: datetime
) -> tuple[list[dict[str, Any]], bool]:
    """One page of complaints, newest first, and whether another page follows."""
    sql, params = complaint_list_query(scope, flt, now)
    # One dict per row, without sqlite-utils' savepoint (``db.query`` made one per row in
    # a generator, and this a second copy: a tenth of a list page).
    rows = read_rows(db, sql, params)
    more = len(rows) > flt.limit
    return rows[: flt.limit], more


def complaint_list_query(
    scope: Scope, flt: ListFilter, now: datetime
) -> tuple[str, dict[str, Any]]:
    """The SELECT of ``complaint_list`` and its named parameters (one page + 1 row)."""
    scope_sql, scope_params = _named(*scope.where(), "s")
    where = [scope_sql]
    params: dict[str, Any] = {"now": to_db(now), "limit": flt.limit + 1, **scope_params}
    if flt.opd:
        where.append("t.opd_code = :opd")
        params["opd"] = flt.opd
    if flt.state:
        where.append("t.status = :state")
        params["state"] = flt.state
    if flt.channel:
        where.append("t.channel = :channel")
        params["channel"] = flt.channel
    if flt.since is not None:
        where.append("t.received_at >= :since")
        params["since"] = to_db(flt.since)
    if flt.until is not None:
        where.append("t.received_at < :until")
        params["until"] = to_db(flt.until)
    if flt.stage or flt.late_only:
        # The unary + keeps SQLite on the (ticket_id, stage) key: through deadlines_open it
        # would scan every open deadline once per ticket (measured: 150x slower).
        cond = ["d.ticket_id = t.id", "+d.met_at IS NULL"]
        if flt.stage:
            cond.append("d.stage = :stage")
            params["stage"] = flt.stage
        if flt.late_only:
            cond.append("+d.due_at < :now")
        where.append(f"EXISTS (SELECT 1 FROM deadlines d WHERE {' AND '.join(cond)})")
    near_due = flt.near_due_by is not None and not flt.search
    if flt.near_due_by is not None:
        # The complaint's earliest open deadline (ticket_due) is not past and falls by then.
        near = "u.first_open_due >= :now AND u.first_open_due <= :near_due_by"
        if not near_due:  # a search drives the query (below): test its few rows
            near = f"EXISTS (SELECT 1 FROM ticket_due u WHERE u.ticket_id = t.id AND {near})"
        where.append(near)
        params["near_due_by"] = to_db(flt.near_due_by)
    if flt.created_after is not None:
        where.append("t.created_at > :created_after")
        params["created_after"] = flt.created_after
    source = _FROM
    if flt.after is not None:
        where.append("(t.received_at, t.id) < (:after_at, :after_id)")
        params["after_at"], params["after_id"] = flt.after
    if near_due:
        # The near-due tickets (an index range of ticket_due: those due within the horizon,
        # whatever their OPD) drive the query: the page's ids are chosen and sorted among
        # them first, and only that page's rows get their columns. Tested per ticket in
        # list order instead, a filter matching few of them walked every ticket in scope
        # (50 ms at 100,000 when none matched); sorted with every column, the horizon's
        # 1,500 rows took 4.5 ms.
        source = (
            "FROM (SELECT t.id FROM ticket_due u CROSS JOIN local_tickets t ON "
            f"t.id = u.ticket_id WHERE {' AND '.join(where)} "
            "ORDER BY t.received_at DESC, t.id DESC LIMIT :limit) AS page "
            f"CROSS JOIN local_tickets t ON t.id = page.id {_JOINS}"
        )
        where = ["1"]
    if flt.search:
        # The search's few ids drive the query, and the scope and filters are checked on
        # those rows only. As ``t.id IN (...)`` beside an OPD scope or filter, SQLite walked
        # the OPD's every ticket in list order (its index saves the sort) testing each
        # against the set: 3.6 ms for a liaison's search that finds nothing, at 25,000
        # tickets per OPD, against 0.7 ms for the admin. CROSS JOIN fixes the order.
        source = (
            f"FROM ({_SEARCH_IDS}) AS found CROSS JOIN local_tickets t ON t.id = found.id {_JOINS}"
        )
        params["search"] = flt.search.strip()
    sql = (
        f"SELECT {_LIST_COLUMNS} {source} WHERE {' AND '.join(where)} "
        "ORDER BY t.received_at DESC, t.id DESC LIMIT :limit"
    )
    return sql, params


def complaint_by_ref(
    db: sqlite_utils.Database, scope: Scope, ref: str, now: datetime
) -> dict[str, Any] | None:
    """The complaint ``ref`` if the scope may see it, with its text; no reporter fields."""
    scope_sql, scope_params = _named(*scope.where(), "s")
    rows = list(
        read_rows(
            db,
            f"SELECT {_LIST_COLUMNS}, t.content, t.category_id, t.date_of_incident, "
            "t.account, l.account AS link_account, l.remote_id, t.updated_at "
            f"{_FROM} WHERE t.ref = :ref AND {scope_sql}",
            {"ref": ref, "now": to_db(now), **scope_params},
        )
    )
    return dict(rows[0]) if rows else None


def complaint_identity(db: sqlite_utils.Database, ticket_id: int) -> dict[str, Any]:
    """The reporter's name, phone and e-mail (register first, else the LAPOR! mirror)."""
    row = db.execute(
        "SELECT coalesce(t.reporter_name, rc.reporter_name), "
        "coalesce(t.reporter_phone, rc.reporter_phone), "
        "coalesce(t.reporter_email, rc.reporter_email) FROM local_tickets t "
        "LEFT JOIN links l ON l.ticket_id = t.id "
        "LEFT JOIN remote_complaints rc ON rc.account = l.account AND rc.remote_id = l.remote_id "
        "WHERE t.id = ?",
        [ticket_id],
    ).fetchone()
    return {"name": row[0], "phone": row[1], "email": row[2]} if row else {}


@dataclass
class ComplaintFacts:
    """Everything a complaint page lists besides the complaint itself."""

    lapor_history: list[dict[str, Any]] = field(default_factory=list)
    local_history: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    dispositions: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def complaint_facts(db: sqlite_utils.Database, complaint: dict[str, Any]) -> ComplaintFacts:
    ticket_id, ref = complaint["id"], complaint["ref"]
    account, remote_id = complaint.get("link_account"), complaint.get("remote_id")
    facts = ComplaintFacts()
    if account and remote_id:
        facts.lapor_history = [
            dict(r)
            for r in read_rows(
                db,
                "SELECT status_name, at FROM remote_status_history WHERE account = ? AND "
                "complaint_id = ? ORDER BY at, id",
                [account, remote_id],
            )
        ]
        facts.dispositions = [
            dict(r)
            for r in read_rows(
                db,
                "SELECT from_name, to_name, at FROM remote_dispositions WHERE account = ? "
                "AND complaint_id = ? ORDER BY at, id",
                [account, remote_id],
            )
        ]
    facts.local_history = [
        dict(r)
        for r in read_rows(
            db,
            "SELECT at, kind, side, detail FROM events WHERE ticket_ref = ? AND kind IN "
            "('status_changed', 'local_changed', 'conflict', 'resolved', 'pushed') "
            "ORDER BY at, id",
            [ref],
        )
    ]
    followups = [
        {**dict(r), "side": "lokal"}
        for r in read_rows(
            db,
            "SELECT id, author, opd_code AS who, content, is_secret, created_at, origin "
            "FROM local_followups WHERE ticket_id = ? ORDER BY created_at, id",
            [ticket_id],
        )
    ]
    if account and remote_id:
        followups += [
            {**dict(r), "side": "lapor", "origin": "lapor"}
            for r in read_rows(
                db,
                "SELECT remote_id AS id, author_type AS author, from_name AS who, content, "
                "is_secret, created_at FROM remote_followups WHERE account = ? AND "
                "complaint_id = ? AND remote_id NOT IN (SELECT remote_id FROM local_followups "
                "WHERE remote_account = ? AND remote_id IS NOT NULL) ORDER BY created_at",
                [account, remote_id, account],
            )
        ]
    facts.followups = sorted(followups, key=lambda f: str(f["created_at"]))
    facts.deadlines = [
        dict(r)
        for r in read_rows(
            db,
            "SELECT stage, started_at, due_at, met_at FROM deadlines WHERE ticket_id = ? "
            "ORDER BY started_at, stage",
            [ticket_id],
        )
    ]
    facts.outbox = [
        dict(r)
        for r in read_rows(
            db,
            "SELECT id, kind, subject_id, state, attempts, next_attempt_at, result_remote_id, "
            "created_at, updated_at FROM outbox WHERE ticket_id = ? ORDER BY id",
            [ticket_id],
        )
    ]
    facts.conflicts = [
        dict(r)
        for r in read_rows(
            db,
            "SELECT id, kind, lapor_value, local_value, opened_at, resolved_at, resolution, note "
            "FROM conflicts WHERE ticket_id = ? ORDER BY opened_at, id",
            [ticket_id],
        )
    ]
    return facts


def recent_reports_by_phone(
    db: sqlite_utils.Database, phone_digits: str, since: datetime
) -> list[str]:
    """References of complaints whose reporter phone has these digits, since ``since``.

    For the intake's duplicate warning (the same reporter within 20 days). Compares digits
    only, so "0812-3456 7890" and "081234567890" match.
    """
    if len(phone_digits) < 6:
        return []
    rows = db.execute(
        "SELECT ref FROM local_tickets WHERE reporter_phone IS NOT NULL AND received_at >= ? "
        "AND replace(replace(replace(replace(reporter_phone, ' ', ''), '-', ''), '.', ''), "
        "'+62', '0') = ? ORDER BY received_at DESC LIMIT 5",
        [to_db(since), phone_digits],
    ).fetchall()
    return [str(r[0]) for r in rows]


def recent_reports_by_text(db: sqlite_utils.Database, needle: str, since: datetime) -> list[str]:
    """References of complaints since ``since`` whose text contains ``needle`` (a NIK)."""
    rows = db.execute(
        "SELECT ref FROM local_tickets WHERE received_at >= ? AND instr(content, ?) > 0 "
        "ORDER BY received_at DESC LIMIT 5",
        [to_db(since), needle],
    ).fetchall()
    return [str(r[0]) for r in rows]

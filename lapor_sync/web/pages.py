"""Home per role, the liaison report behind login, the reconciliation log, accounts.

The report is the one of ``lapor-sync report`` (issue 6), rendered in memory for the
account's scope: a liaison gets only the pages of the OPDs on the account; admin and
viewer every OPD. It never holds reporter data (``report.html`` masks and hides).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from lapor_sync.glossary import indonesian_date, lateness_text, shown_title, stage_label
from lapor_sync.report.figures import compute_figures
from lapor_sync.report.html.pages import event_window, open_conflicts, recent_events, work_items
from lapor_sync.report.html.render import render_site
from lapor_sync.report.log_view import LogFilter, log_rows, parse_since
from lapor_sync.report.period import parse_period
from lapor_sync.store.db import read_snapshot
from lapor_sync.store.portal_queries import ListFilter, complaint_list
from lapor_sync.store.portal_work import home_counts, work_list
from lapor_sync.store.users import Role, list_users, record_home_seen
from lapor_sync.timeutil import WIB, from_db, to_db
from lapor_sync.web.access import Action, scope_of
from lapor_sync.web.auth import current_user, guard
from lapor_sync.web.context import db, portal

bp = Blueprint("pages", __name__)
WORK_SHOWN = 30  # complaints on the home's work list, each with all its due stages


def near_due_horizon(now: datetime) -> datetime:
    """The end of the last day that still counts as near due (``near_due_days``)."""
    settings = portal().settings
    day = settings.calendar().add_working_days(
        now.astimezone(WIB).date(), settings.deadlines.near_due_days
    )
    return datetime.combine(day, time(23, 59, 59), tzinfo=WIB)


@bp.route("/")
@guard(Action.HOME)
def home() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    ctx = portal()
    now = ctx.clock()
    scope = scope_of(user)
    with read_snapshot(db()):
        counts = home_counts(
            db(), scope, now, user.last_seen_home_at, near_due_horizon(now),
            deadlines=user.role is not Role.OPERATOR,  # the operator's home shows none
        )  # fmt: skip
        work: list[WorkCard] = []
        if user.role in (Role.ADMIN, Role.LIAISON):
            work = work_cards(work_list(db(), scope, near_due_horizon(now), WORK_SHOWN), now)
        recent: list[dict[str, Any]] = []
        if user.role is Role.OPERATOR:
            recent, _ = complaint_list(db(), scope, ListFilter(limit=15), now)
    record_home_seen(db(), user.id, now)
    return render_template(
        "home.html",
        counts=counts,
        work=work,
        work_total=counts["late"] + counts["near_due"],
        recent=recent,
        since=user.last_seen_home_at,
    )


@dataclass(frozen=True)
class WorkRow:
    """One late or near-due stage of a work card, named as the report's work list names it."""

    stage_label: str
    overdue: bool
    lateness: str
    due_text: str


@dataclass(frozen=True)
class WorkCard:
    """One complaint of the home's work list with every stage that is late or near due."""

    ref: str
    opd_code: str | None
    title: str
    rows: tuple[WorkRow, ...]

    @property
    def overdue(self) -> bool:
        return any(r.overdue for r in self.rows)


def work_cards(items: list[dict[str, Any]], now: datetime) -> list[WorkCard]:
    """Working days late (or left) for every stage of the complaints the home shows."""
    settings = portal().settings
    calendar, today = settings.calendar(), now.astimezone(WIB).date()
    cards = []
    for item in items:
        rows = []
        for stage in item["stages"]:
            due = from_db(stage["due_at"])
            day = due.astimezone(WIB).date()
            if due < now:
                days = max(1, calendar.working_days_between(day, today))
            else:
                days = -calendar.working_days_between(today, day)
            rows.append(WorkRow(
                stage_label=stage_label(stage["stage"], settings.deadlines.settlement_days),
                overdue=due < now, lateness=lateness_text(days), due_text=indonesian_date(day),
            ))  # fmt: skip
        title = shown_title(item["title"], bool(item["is_secret"]))
        cards.append(WorkCard(item["ref"], item["opd_code"], title, tuple(rows)))
    return cards


def _report_opd() -> str | None:
    """The OPD the report is rendered for: None = every OPD (admin, viewer)."""
    user = current_user()
    assert user is not None
    wanted = request.args.get("opd")
    if user.role is not Role.LIAISON:
        return wanted.upper() if wanted else None
    if wanted is None:
        return user.opds[0]
    if wanted.upper() not in user.opds:
        abort(404)
    return wanted.upper()


@bp.route("/laporan/", defaults={"name": "index.html"})
@bp.route("/laporan/<name>")
@guard(Action.REPORT)
def report(name: str) -> ResponseReturnValue:
    ctx = portal()
    now = ctx.clock()
    opd = _report_opd()
    if opd is not None and opd != "UNASSIGNED" and ctx.settings.opd_by_code(opd) is None:
        abort(404)
    try:
        period = parse_period(request.args.get("periode"), now)
    except ValueError:
        abort(400)
    calendar = ctx.settings.calendar()
    with read_snapshot(db()):
        figures = compute_figures(db(), ctx.settings, now, period, opd=opd, calendar=calendar)
        work = work_items(db(), ctx.settings, now, calendar, opd=opd)
        conflicts = open_conflicts(db())
        window = event_window(period, now)
        events = recent_events(
            db(), window, [f.key for f in figures.opds], ctx.settings.state_for_status
        )
    keys = {f.key for f in figures.opds}
    work = {k: v for k, v in work.items() if k in keys}
    conflicts = {k: v for k, v in conflicts.items() if k in keys}
    files = render_site(figures, work, conflicts, events, window, now)
    if name not in files:
        abort(404)
    kind = {"csv": "text/csv", "json": "application/json"}.get(name.rsplit(".", 1)[-1], "text/html")
    return Response(files[name], mimetype=kind)


@bp.route("/log")
@guard(Action.LOG)
def log() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    now = portal().clock()
    try:
        since = parse_since(request.args.get("sejak", "7d"), now)
    except ValueError:
        abort(400)
    opds: tuple[str | None, ...] = user.opds if user.role is Role.LIAISON else (None,)
    rows: list[dict[str, Any]] = []
    for code in opds:
        rows += log_rows(db(), LogFilter(since=since, opd=code, limit=500))
    rows.sort(key=lambda r: str(r.get("waktu")), reverse=True)
    return render_template("log.html", rows=rows, since=to_db(since))


@bp.route("/pengguna")
@guard(Action.USERS)
def users() -> ResponseReturnValue:
    return render_template("users.html", accounts=list_users(db()))

"""The complaint list (filters, search, keyset paging, CSV export) and a complaint's page.

A complaint's page is ``/aduan/<local reference>`` (fixed: notifications link there).
What it shows follows ``access``: the reporter only when ``sees_identity``; rahasia text
only when ``sees_secret``; a viewer gets no free text at all. Every view or
export that showed identity or text as written is journalled (``access_journal``) with
exactly what was shown. The list and its export never show personal data: titles are
masked and rahasia titles hidden for everyone, so they are not journalled.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from lapor_sync.domain import ComplaintState
from lapor_sync.glossary import (
    CHANNEL_LABELS,
    SECRET_TITLE,
    TILE_FILTER_TEXTS,
    shown_title,
    stored_datetime_text,
)
from lapor_sync.sla.stages import STAGES
from lapor_sync.store.access_journal import record_access
from lapor_sync.store.db import read_snapshot
from lapor_sync.store.portal_queries import (
    ListFilter,
    complaint_by_ref,
    complaint_facts,
    complaint_identity,
    complaint_list,
)
from lapor_sync.store.users import User
from lapor_sync.timeutil import WIB, from_db, to_db, wib_date
from lapor_sync.web.access import (
    Action,
    may_write,
    scope_of,
    sees_clear_text,
    sees_identity,
    sees_secret,
)
from lapor_sync.web.auth import client_address, current_user, guard
from lapor_sync.web.context import db, portal
from lapor_sync.web.list_markup import (
    CHANNEL_CHOICES,
    STAGE_CHOICES,
    STATE_CHOICES,
    list_cards,
    masked_title,
    options_html,
    with_query,
)
from lapor_sync.web.pages import near_due_horizon

bp = Blueprint("complaints", __name__)
PAGE_SIZE = 50
VIEWER_TEXT = "(Teks tidak ditampilkan untuk pemantau: dapat memuat data pribadi.)"
EXPORT_MAX = 10_000
FILTER_KEYS = ("cari", "opd", "status", "tahap", "saluran", "dari", "sampai", "terlambat")
TILE_KEYS = ("mendekati", "baru_sejak")  # set by the home's tiles, kept by the form


class FilterProblem(ValueError):
    pass


def _day(text: str, what: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=WIB)
    except ValueError:
        raise FilterProblem(f"{what}: tulis tanggal seperti 2026-11-01") from None


def parse_filter(args: Any, user: User) -> ListFilter:
    """The list's query string -> a ``ListFilter``; a wrong value is a ``FilterProblem``."""
    settings = portal().settings
    opd = (args.get("opd") or "").strip().upper() or None
    if opd and settings.opd_by_code(opd) is None:
        raise FilterProblem("OPD: kode tidak dikenal")
    if opd and user.opds and opd not in user.opds:
        raise FilterProblem("OPD: bukan OPD Anda")
    state = args.get("status") or None
    if state and state not in {s.value for s in ComplaintState}:
        raise FilterProblem("Status: pilih dari daftar")
    stage = args.get("tahap") or None
    if stage and stage not in STAGES:
        raise FilterProblem("Tahap: pilih dari daftar")
    channel = args.get("saluran") or None
    if channel and channel not in CHANNEL_LABELS:
        raise FilterProblem("Saluran: pilih dari daftar")
    since = _day(args["dari"], "Dari tanggal") if args.get("dari") else None
    until = (
        _day(args["sampai"], "Sampai tanggal") + timedelta(days=1) if args.get("sampai") else None
    )
    after = None
    if args.get("setelah"):
        stamp, _, ident = str(args["setelah"]).rpartition("|")
        try:
            from_db(stamp)
            after = (stamp, int(ident))
        except ValueError:
            raise FilterProblem("Halaman: tautan halaman tidak sah") from None
    search = (args.get("cari") or "").strip() or None
    near_due_by = None
    if args.get("mendekati") == "1":  # the home's near-due tile: the same horizon
        near_due_by = near_due_horizon(portal().clock())
    created_after = None
    if args.get("baru_sejak"):  # the home's "new since my last visit" tile
        try:
            created_after = to_db(from_db(str(args["baru_sejak"])))
        except ValueError:
            raise FilterProblem(
                "Baru sejak: tautan tidak sah; buka lagi dari beranda "
                "(waktu seperti 2026-11-01T08:00:00+07:00)"
            ) from None
    return ListFilter(
        opd=opd,
        state=state,
        stage=stage,
        late_only=args.get("terlambat") == "1",
        near_due_by=near_due_by,
        created_after=created_after,
        since=since,
        until=until,
        channel=channel,
        search=search,
        after=after,
        limit=PAGE_SIZE,
    )


def _choices(query: dict[str, str]) -> dict[str, Any]:
    user = current_user()
    assert user is not None
    opds = tuple(
        (o.code, o.code) for o in portal().settings.opd if not user.opds or o.code in user.opds
    )
    # The form's current values, read once (per option, a template call cost more).
    chosen = {key: query.get(key, "") for key in (*FILTER_KEYS, *TILE_KEYS)}
    chosen["opd"] = chosen["opd"].upper()
    return {
        "chosen": chosen,
        "options": {
            "opd": options_html(opds, chosen["opd"]),
            "status": options_html(STATE_CHOICES, chosen["status"]),
            "tahap": options_html(STAGE_CHOICES, chosen["tahap"]),
            "saluran": options_html(CHANNEL_CHOICES, chosen["saluran"]),
        },
    }


_LIST_URLS: dict[str, tuple[str, str]] = {}


def _list_urls() -> tuple[str, str]:
    """The list's and its export's paths, once per mount point (``url_for`` is 5-15 us)."""
    found = _LIST_URLS.get(request.script_root)
    if found is None:
        found = _LIST_URLS.setdefault(
            request.script_root,
            (
                url_for("complaints.complaint_list_page"),
                url_for("complaints.complaint_list_export"),
            ),
        )
    return found


@bp.route("/aduan")
@guard(Action.LIST)
def complaint_list_page() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    # The query string read once, first value per key (as ``args.get`` and ``to_dict``):
    # a missing key in a MultiDict costs an exception per ``get``, a dozen a page.
    query: dict[str, str] = request.args.to_dict()
    list_url, export_url = _list_urls()
    links = {"list": list_url, "export": with_query(export_url, query)}
    try:
        flt = parse_filter(query, user)
    except FilterProblem as exc:
        return render_template(
            "list.html",
            cards=Markup(""),
            empty=True,
            problem=str(exc),
            links=links,
            **_choices(query),
        ), 400
    rows, more = complaint_list(db(), scope_of(user), flt, portal().clock())
    cards = list_cards(rows, list_url)
    tile_notes = []  # the tiles' filters have no form field: say that they are on
    if flt.near_due_by is not None:
        tile_notes.append(TILE_FILTER_TEXTS["near_due"])
    if flt.created_after is not None:
        since = stored_datetime_text(flt.created_after)
        tile_notes.append(TILE_FILTER_TEXTS["created_after"].format(since=since))
    if tile_notes:
        kept = {k: v for k, v in query.items() if k not in (*TILE_KEYS, "setelah")}
        links["clear_tiles"] = with_query(list_url, kept)
    if more and rows:
        next_args = {**query, "setelah": f"{rows[-1]['received_at']}|{rows[-1]['id']}"}
        links["next"] = with_query(list_url, next_args)
    return render_template(
        "list.html",
        cards=cards,
        empty=not rows,
        links=links,
        tile_notes=tile_notes,
        clear_tiles_text=TILE_FILTER_TEXTS["clear"],
        problem=None,
        **_choices(query),
    )


@bp.route("/aduan/ekspor.csv")
@guard(Action.LIST)
def complaint_list_export() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    try:
        flt = parse_filter(request.args, user)
    except FilterProblem:
        abort(400)
    flt = replace(flt, limit=EXPORT_MAX)
    rows, _ = complaint_list(db(), scope_of(user), flt, portal().clock())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["referensi", "tracking_id", "opd", "saluran", "status", "terlambat", "diterima", "judul"]
    )
    for r in rows:
        writer.writerow(
            [
                r["ref"],
                r["tracking_id"] or "",
                r["opd_code"] or "",
                r["channel"],
                r["status"],
                "ya" if r["late"] else "tidak",
                r["received_at"],
                _csv_safe(masked_title(r)),
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=aduan.csv"},
    )


def _csv_safe(text: str) -> str:
    # A cell starting with = + - @ would be a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@dataclass
class ComplaintView:
    complaint: dict[str, Any]
    title: str
    content: str
    identity: dict[str, Any] | None
    facts: Any
    shown: tuple[str, ...]


def complaint_view(user: User, ref: str) -> ComplaintView:
    """What ``user`` may see of ``ref`` (404 outside the scope) and what of it is personal."""
    now = portal().clock()
    with read_snapshot(db()):
        complaint = complaint_by_ref(db(), scope_of(user), ref, now)
        if complaint is None:
            abort(404)
        facts = complaint_facts(db(), complaint)
        identity = (
            complaint_identity(db(), complaint["id"]) if sees_identity(user, complaint) else None
        )
    shown: list[str] = []
    if identity is not None and any(identity.values()):
        shown.append("identity")
    else:
        identity = None
    secret = bool(complaint["is_secret"])
    clear = sees_clear_text(user)
    if secret and sees_secret(user, complaint):
        title, content = complaint["title"], complaint["content"]
        shown.append("secret_content")
    elif secret:
        title, content = SECRET_TITLE, "(Isi laporan rahasia: hanya admin dan OPD tujuan.)"
    elif clear:
        title, content = complaint["title"], complaint["content"]
        shown.append("content")
    else:
        # Free text can name people in ways no mask catches: a viewer gets the title as
        # the report shows it, and no text.
        title, content = shown_title(complaint["title"], False), VIEWER_TEXT
    for f in facts.followups:
        f_secret = secret or bool(f["is_secret"])
        if f_secret and not sees_secret(user, complaint):
            f["content"] = "(Tindak lanjut rahasia.)"
        elif f_secret:
            if "secret_content" not in shown:
                shown.append("secret_content")
        elif not clear:
            f["content"] = VIEWER_TEXT
        elif "content" not in shown:
            shown.append("content")
    return ComplaintView(complaint, title, content, identity, facts, tuple(shown))


def journal(user: User, view: ComplaintView, kind: str) -> None:
    if view.shown:
        record_access(
            db(),
            now=portal().clock(),
            user_name=user.name,
            role=user.role.value,
            ticket_ref=view.complaint["ref"],
            view=kind,
            shown=view.shown,
            address=client_address(),
        )


def deadline_rows(facts: Any, now: datetime) -> list[dict[str, Any]]:
    """Each stage with its due date and working days left (or late)."""
    calendar = portal().settings.calendar()
    today = wib_date(now)
    out = []
    for d in facts.deadlines:
        due = from_db(d["due_at"])
        if d["met_at"]:
            text, late = "terpenuhi", False
        elif due < now:
            days = max(1, calendar.working_days_between(wib_date(due), today))
            text, late = f"terlambat {days} hari kerja", True
        else:
            days = calendar.working_days_between(today, wib_date(due))
            text, late = (f"sisa {days} hari kerja" if days else "jatuh tempo hari ini"), False
        out.append({**d, "text": text, "late": late})
    return out


@bp.route("/aduan/<ref>")
@guard(Action.VIEW)
def complaint_page(ref: str) -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    view = complaint_view(user, ref)
    journal(user, view, "complaint")
    settings = portal().settings
    # Where a forward may go: every other OPD, as the form's options (markup made once).
    targets = tuple(
        (str(o.institution_id), f"{o.name} ({o.code})")
        for o in settings.opd
        if o.code != view.complaint["opd_code"]
    )
    tracking = view.complaint["tracking_id"]
    return render_template(
        "complaint.html",
        v=view,
        c=view.complaint,
        deadlines=deadline_rows(view.facts, portal().clock()),
        writable=may_write(user, view.complaint),
        forward_options=options_html(targets, ""),
        tracking_url=settings.web.public_tracking_url(tracking) if tracking else None,
        export_url=url_for("complaints.complaint_export", ref=ref),
    )


@bp.route("/aduan/<ref>/ekspor.csv")
@guard(Action.VIEW)
def complaint_export(ref: str) -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    view = complaint_view(user, ref)
    journal(user, view, "export")
    c, ident = view.complaint, view.identity or {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["bagian", "nilai"])
    for key, value in (
        ("referensi", c["ref"]),
        ("tracking_id", c["tracking_id"] or ""),
        ("opd", c["opd_code"] or ""),
        ("status", c["status"]),
        ("saluran", c["channel"]),
        ("diterima", c["received_at"]),
        ("judul", view.title),
        ("isi", view.content),
        ("nama_pelapor", ident.get("name") or ""),
        ("telepon", ident.get("phone") or ""),
        ("email", ident.get("email") or ""),
    ):
        writer.writerow([key, _csv_safe(str(value))])
    for f in view.facts.followups:
        writer.writerow([f"tindak_lanjut {f['created_at']}", _csv_safe(str(f["content"]))])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={c['ref']}.csv"},
    )

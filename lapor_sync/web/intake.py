"""The Call Center's intake form: a complaint taken by SMS, WhatsApp, telephone or in person.

The same rules as ``local add`` and the CSV import: the one intake
(``local.intake.validate_ticket``) checks every field before ``add_ticket`` records the
ticket (its push is queued in the same transaction). Errors are shown beside
each field in Bahasa Indonesia and the form comes back filled. When the same phone number
(or a NIK quoted in the text) reported within the last ``DUPLICATE_DAYS`` days, the form
warns and lists those complaints; the operator records it anyway with a tick — it is never
merged silently.

Attachments (up to ``MAX_FILES``) are checked on the server as ``local attach`` checks a
file (``local.attachments``: type by content, extension, ``local.attachment_max_mib``) and
recorded with the ticket in one transaction; a refused file refuses the whole form, with
the reason in Bahasa Indonesia (``glossary.ATTACHMENT_TEXTS``). Only this route accepts a
request larger than the portal's 256 KiB.

The SP4N-LAPOR! create fields (classification, category, location, disposition target,
date of incident) can be given per complaint. The form comes pre-filled with the
``[local.create]`` defaults and says where an empty field's value comes from (the OPD's
``category_id`` and instansi); fields with no default that SP4N-LAPOR! requires are marked
"wajib", and a missing one is refused here by the one intake, never at push time.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from lapor_sync.config import Settings
from lapor_sync.glossary import ATTACHMENT_TEXTS, CHANNEL_LABELS, INTAKE_HINTS
from lapor_sync.local.attachments import (
    AttachmentError,
    CheckedFile,
    add_ticket_with_files,
    check_bytes,
    folder_of,
)
from lapor_sync.local.intake import LABELS, IntakeRules, TicketInput, validate_ticket
from lapor_sync.store import masters
from lapor_sync.store.portal_queries import recent_reports_by_phone, recent_reports_by_text
from lapor_sync.web.access import Action, allowed
from lapor_sync.web.auth import guard, load_user
from lapor_sync.web.context import db, portal

bp = Blueprint("intake", __name__)
DUPLICATE_DAYS = 20
MAX_FILES = 5  # per form: the request may then be MAX_FILES x local.attachment_max_mib
FORM_BYTES = 256 * 1024  # the rest of the form (as web/app.py's MAX_REQUEST_BYTES)
NIK_RE = re.compile(r"(?<!\d)\d{16}(?!\d)")


class IntakeForm(FlaskForm):  # type: ignore[misc]
    channel = SelectField(
        "Saluran",
        choices=[("", "— pilih —")] + [(k, v) for k, v in CHANNEL_LABELS.items() if k != "lapor"],
    )
    reporter_name = StringField("Nama pelapor", validators=[Optional()])
    phone = StringField("Nomor telepon", validators=[Optional()])
    email = StringField("E-mail", validators=[Optional()])
    anonymous = BooleanField("Anonim (identitas pelapor tidak dibuka ke OPD)")
    secret = BooleanField("Rahasia (isi laporan tidak untuk umum)")
    title = StringField("Judul laporan")
    content = TextAreaField("Isi laporan")
    opd = SelectField("OPD tujuan", validate_choice=False)
    category = StringField(LABELS["category_id"], validators=[Optional()])
    classification = StringField(LABELS["classification_id"], validators=[Optional()])
    location = StringField(LABELS["location_id"], validators=[Optional()])
    disposition = StringField(LABELS["disposition_id"], validators=[Optional()])
    incident_date = StringField("Tanggal kejadian", validators=[Optional()])
    received_at = StringField("Waktu diterima (WIB)")
    confirm_duplicate = BooleanField("Tetap catat sebagai laporan baru")
    attachments = MultipleFileField(
        ATTACHMENT_TEXTS["label"], render_kw={"accept": ".jpg,.jpeg,.png,.pdf,.doc,.docx"}
    )


# The intake's field names -> this form's fields (where each error is shown).
FORM_FIELD = {
    "opd_code": "opd",
    "reporter_phone": "phone",
    "reporter_email": "email",
    "is_anonymous": "anonymous",
    "is_secret": "secret",
    "category_id": "category",
    "classification_id": "classification",
    "location_id": "location",
    "disposition_id": "disposition",
    "date_of_incident": "incident_date",
}


def _ticket(form: IntakeForm) -> tuple[TicketInput | None, dict[str, str]]:
    """The form through the one intake (``local.intake.validate_ticket``)."""
    raw = {
        "channel": str(form.channel.data or ""),
        "received_at": str(form.received_at.data or ""),
        "reporter_name": str(form.reporter_name.data or ""),
        "reporter_phone": str(form.phone.data or ""),
        "reporter_email": str(form.email.data or ""),
        "is_anonymous": "ya" if form.anonymous.data else "tidak",
        "is_secret": "ya" if form.secret.data else "tidak",
        "title": str(form.title.data or ""),
        "content": str(form.content.data or ""),
        "opd_code": str(form.opd.data or ""),
        "category_id": str(form.category.data or ""),
        "classification_id": str(form.classification.data or ""),
        "location_id": str(form.location.data or ""),
        "disposition_id": str(form.disposition.data or ""),
        "date_of_incident": str(form.incident_date.data or ""),
    }
    ctx = portal()
    checked = validate_ticket(raw, IntakeRules.from_settings(ctx.settings, now=ctx.clock))
    if isinstance(checked, TicketInput):
        return checked, {}
    errors: dict[str, str] = {}
    for problem in checked:
        field = FORM_FIELD.get(problem.field, problem.field)
        text = problem.message[:1].upper() + problem.message[1:]
        errors.setdefault(field, f"{LABELS.get(problem.field, problem.field)}: {text}.")
    return None, errors


def raise_request_limit() -> None:
    """Before any other hook reads the body: this form's files may make it larger than the
    portal's usual request limit (web/app.py), up to ``MAX_FILES`` full-size files — only
    for a signed-in account that may record complaints, so nobody else can send that much."""
    if request.endpoint != "intake.intake":
        return
    load_user()
    user = g.user
    if user is not None and allowed(user, Action.INTAKE):
        max_bytes = portal().settings.local.attachment_max_mib * 1024 * 1024
        request.max_content_length = FORM_BYTES + MAX_FILES * (max_bytes + 4096)


def _files(form: IntakeForm, max_bytes: int) -> tuple[list[CheckedFile], str | None]:
    """The uploaded files, each checked on the server as ``local attach`` checks a file
    (type by content, extension, size); the first refusal, in Bahasa Indonesia."""
    given = [f for f in form.attachments.data or () if isinstance(f, FileStorage) and f.filename]
    if len(given) > MAX_FILES:
        return [], ATTACHMENT_TEXTS["too_many"].format(count=MAX_FILES) + "."
    checked: list[CheckedFile] = []
    for upload in given:
        name = str(upload.filename)
        data = upload.stream.read(max_bytes + 1)  # never more than the limit in memory
        try:
            checked.append(check_bytes(name, data, max_bytes, shown=name))
        except AttachmentError as exc:
            return [], exc.message[:1].upper() + exc.message[1:] + "."
    return checked, None


def _duplicates(ticket: TicketInput, now: datetime) -> list[str]:
    since = now - timedelta(days=DUPLICATE_DAYS)
    found: list[str] = []
    if ticket.reporter_phone:
        digits = re.sub(r"\D", "", ticket.reporter_phone.replace("+62", "0", 1))
        found += recent_reports_by_phone(db(), digits, since)
    for nik in NIK_RE.findall(ticket.content):
        found += recent_reports_by_text(db(), nik, since)
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class CreateHelp:
    """What the form tells the operator about the SP4N-LAPOR! create fields.

    ``required``: form fields that must be filled here because the configuration gives
    them no default (title, content and channel always). ``hints``: form field -> where an
    empty value comes from. ``categories`` / ``institutions``: (id, label) suggestions
    from ``[[opd]]`` and the synced institution masters (a ``<datalist>``: any id may be
    typed, the one intake checks it).
    """

    required: frozenset[str]
    hints: dict[str, str]
    categories: list[tuple[str, str]]
    institutions: list[tuple[str, str]]


def create_help(settings: Settings, conn: sqlite3.Connection) -> CreateHelp:
    """The create fields' defaults and requirements as ``[local.create]``/``[[opd]]`` say."""
    create = settings.local.create
    needed = set(create.required)
    required = {"channel", "title", "content"}
    hints: dict[str, str] = {}
    if create.classification_id:
        hints["classification"] = INTAKE_HINTS["default"].format(value=create.classification_id)
    elif "classification_id" in needed:
        required.add("classification")
    if create.location_id:
        hints["location"] = INTAKE_HINTS["default"].format(value=create.location_id)
    elif "location_id" in needed:
        required.add("location")
    by_opd = {o.code: o.category_id for o in settings.opd if o.category_id}
    if create.category_id:
        hints["category"] = INTAKE_HINTS["category"].format(value=create.category_id)
    elif "category_id" in needed:
        hints["category"] = INTAKE_HINTS["category_needed"]
        if not by_opd:
            required.add("category")
    hints["disposition"] = INTAKE_HINTS["disposition"]
    if create.incident_date == "received":
        hints["incident_date"] = INTAKE_HINTS["incident_received"]
    elif "date_of_incident" in needed:
        required.add("incident_date")
    categories: dict[str, list[str]] = {}
    for code, category in by_opd.items():
        categories.setdefault(category, []).append(code)
    if create.category_id:
        categories.setdefault(create.category_id, []).append(INTAKE_HINTS["no_opd"])
    institutions = {o.institution_id: f"{o.name} ({o.code})" for o in settings.opd}
    for entry in masters.institutions(conn, settings.default_account.name).values():
        institutions.setdefault(entry.remote_id, entry.name)
    return CreateHelp(
        frozenset(required),
        hints,
        sorted(((k, ", ".join(v)) for k, v in categories.items()), key=lambda c: int(c[0])),
        sorted(institutions.items(), key=lambda i: int(i[0]) if i[0].isdigit() else 0),
    )


@bp.route("/pengaduan-baru", methods=["GET", "POST"])
@guard(Action.INTAKE)
def intake() -> ResponseReturnValue:
    ctx = portal()
    max_bytes = ctx.settings.local.attachment_max_mib * 1024 * 1024
    form = IntakeForm()
    form.opd.choices = [("", "— belum ditentukan —")] + [
        (o.code, f"{o.name} ({o.code})") for o in ctx.settings.opd
    ]
    help_ = create_help(ctx.settings, db().conn)
    if not form.is_submitted():  # pre-filled with the defaults; the operator may change them
        form.classification.data = ctx.settings.local.create.classification_id or ""
        form.location.data = ctx.settings.local.create.location_id or ""
    errors: dict[str, str] = {}
    duplicates: list[str] = []
    mib = ctx.settings.local.attachment_max_mib
    page = {
        "days": DUPLICATE_DAYS,
        "create": help_,
        "attach_hint": ATTACHMENT_TEXTS["hint"].format(mib=mib, count=MAX_FILES),
        "choose_again": False,
        "choose_again_text": ATTACHMENT_TEXTS["choose_again"],
    }
    if form.validate_on_submit():
        now = ctx.clock()
        ticket, errors = _ticket(form)
        files, refused = _files(form, max_bytes)
        if refused is not None:
            errors["attachments"] = refused
        elif errors and files:
            page["choose_again"] = True  # a browser does not keep chosen files
        if ticket is not None and not errors:
            duplicates = [] if form.confirm_duplicate.data else _duplicates(ticket, now)
            if not duplicates:
                opd = ctx.settings.opd_by_code(ticket.opd_code) if ticket.opd_code else None
                account = opd.account if opd else ctx.settings.default_account.name
                created = add_ticket_with_files(
                    db(),
                    ticket,
                    ctx.settings.local.reference_format,
                    account,
                    files,
                    folder_of(ctx.path),  # beside the database the portal writes
                )
                flash(
                    f"Pengaduan {created.ref} dicatat; akan dikirim ke SP4N-LAPOR! pada "
                    "pengiriman berikutnya."
                )
                return redirect(url_for("complaints.complaint_page", ref=created.ref))
        status = 400 if errors else 200
        return render_template(
            "intake.html", form=form, errors=errors, duplicates=duplicates, **page
        ), status
    if form.is_submitted():
        return render_template("intake.html", form=form, errors=errors, duplicates=[], **page), 400
    return render_template("intake.html", form=form, errors=errors, duplicates=[], **page)

"""The Call Center's intake form: a complaint taken by SMS, WhatsApp, telephone or in person.

The same rules as ``local add`` and the CSV import: the one intake
(``local.intake.validate_ticket``) checks every field before ``add_ticket`` records the
ticket (its push is queued in the same transaction). Errors are shown beside
each field in Bahasa Indonesia and the form comes back filled. When the same phone number
(or a NIK quoted in the text) reported within the last ``DUPLICATE_DAYS`` days, the form
warns and lists those complaints; the operator records it anyway with a tick — it is never
merged silently.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from lapor_sync.glossary import CHANNEL_LABELS
from lapor_sync.local.intake import LABELS, IntakeRules, TicketInput, validate_ticket
from lapor_sync.local.register import add_ticket
from lapor_sync.store.portal_queries import recent_reports_by_phone, recent_reports_by_text
from lapor_sync.web.access import Action
from lapor_sync.web.auth import guard
from lapor_sync.web.context import db, portal

bp = Blueprint("intake", __name__)
DUPLICATE_DAYS = 20
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
    category = StringField("Kategori (ID SP4N-LAPOR!)", validators=[Optional()])
    incident_date = StringField("Tanggal kejadian", validators=[Optional()])
    received_at = StringField("Waktu diterima (WIB)")
    confirm_duplicate = BooleanField("Tetap catat sebagai laporan baru")


# The intake's field names -> this form's fields (where each error is shown).
FORM_FIELD = {
    "opd_code": "opd",
    "reporter_phone": "phone",
    "reporter_email": "email",
    "is_anonymous": "anonymous",
    "is_secret": "secret",
    "category_id": "category",
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


def _duplicates(ticket: TicketInput, now: datetime) -> list[str]:
    since = now - timedelta(days=DUPLICATE_DAYS)
    found: list[str] = []
    if ticket.reporter_phone:
        digits = re.sub(r"\D", "", ticket.reporter_phone.replace("+62", "0", 1))
        found += recent_reports_by_phone(db(), digits, since)
    for nik in NIK_RE.findall(ticket.content):
        found += recent_reports_by_text(db(), nik, since)
    return list(dict.fromkeys(found))


@bp.route("/pengaduan-baru", methods=["GET", "POST"])
@guard(Action.INTAKE)
def intake() -> ResponseReturnValue:
    ctx = portal()
    form = IntakeForm()
    form.opd.choices = [("", "— belum ditentukan —")] + [
        (o.code, f"{o.name} ({o.code})") for o in ctx.settings.opd
    ]
    errors: dict[str, str] = {}
    duplicates: list[str] = []
    if form.validate_on_submit():
        now = ctx.clock()
        ticket, errors = _ticket(form)
        if ticket is not None:
            duplicates = [] if form.confirm_duplicate.data else _duplicates(ticket, now)
            if not duplicates:
                opd = ctx.settings.opd_by_code(ticket.opd_code) if ticket.opd_code else None
                account = opd.account if opd else ctx.settings.default_account.name
                created = add_ticket(db(), ticket, ctx.settings.local.reference_format, account)
                flash(
                    f"Pengaduan {created.ref} dicatat; akan dikirim ke SP4N-LAPOR! pada "
                    "pengiriman berikutnya."
                )
                return redirect(url_for("complaints.complaint_page", ref=created.ref))
        status = 400 if errors else 200
        return render_template(
            "intake.html", form=form, errors=errors, duplicates=duplicates, days=DUPLICATE_DAYS
        ), status
    if form.is_submitted():
        return render_template(
            "intake.html", form=form, errors=errors, duplicates=[], days=DUPLICATE_DAYS
        ), 400
    return render_template(
        "intake.html", form=form, errors=errors, duplicates=[], days=DUPLICATE_DAYS
    )

"""The Call Center's intake form: a complaint taken by SMS, WhatsApp, telephone or in person.

The same rules as ``local add`` and the CSV import: the fields are parsed with
``local.csv_fields`` and checked by ``TicketInput.problems`` before ``add_ticket``
records the ticket (its push is queued in the same transaction). Errors are shown beside
each field in Bahasa Indonesia and the form comes back filled. When the same phone number
(or a NIK quoted in the text) reported within the last ``DUPLICATE_DAYS`` days, the form
warns and lists those complaints; the operator records it anyway with a tick — it is never
merged silently.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from lapor_sync.glossary import CHANNEL_LABELS
from lapor_sync.local.csv_fields import FUTURE_TOLERANCE, parse_date, parse_received
from lapor_sync.local.register import MAX_TITLE, TicketInput, add_ticket
from lapor_sync.store.portal_queries import recent_reports_by_phone, recent_reports_by_text
from lapor_sync.web.access import Action
from lapor_sync.web.auth import guard
from lapor_sync.web.context import db, portal

bp = Blueprint("intake", __name__)
DUPLICATE_DAYS = 20
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
NIK_RE = re.compile(r"(?<!\d)\d{16}(?!\d)")
# TicketInput's English problems, per field, as the operator reads them.
FIELD_TEXT = {
    "channel": "Pilih saluran.",
    "title": f"Judul wajib diisi, paling banyak {MAX_TITLE} karakter.",
    "content": "Isi laporan wajib diisi.",
    "received_at": "Tulis waktu diterima, mis. 02/11/2026 09:30.",
    "reporter_email": "Bukan alamat e-mail yang sah, mis. nama@contoh.id.",
    "reporter_phone": "Nomor telepon hanya angka (boleh diawali +), 6–20 digit.",
}
FORM_FIELD = {"reporter_email": "email", "reporter_phone": "phone"}


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


def _ticket(form: IntakeForm, now: datetime) -> tuple[TicketInput | None, dict[str, str]]:
    errors: dict[str, str] = {}
    settings = portal().settings
    channel = str(form.channel.data or "")
    if channel not in CHANNEL_LABELS or channel == "lapor":
        errors["channel"] = FIELD_TEXT["channel"]
    received = now
    if (form.received_at.data or "").strip():
        try:
            received = parse_received(str(form.received_at.data))
            if received > now + FUTURE_TOLERANCE:
                errors["received_at"] = "Waktu diterima tidak boleh di masa depan."
        except ValueError:
            errors["received_at"] = FIELD_TEXT["received_at"]
    incident: date | None = None
    if (form.incident_date.data or "").strip():
        try:
            incident = parse_date(str(form.incident_date.data))
            if incident > now.date():
                errors["incident_date"] = "Tanggal kejadian tidak boleh di masa depan."
        except ValueError:
            errors["incident_date"] = "Tulis tanggal seperti 01/11/2026 atau 2026-11-01."
    opd = str(form.opd.data or "").strip().upper() or None
    if opd and settings.opd_by_code(opd) is None:
        errors["opd"] = "Pilih OPD dari daftar."
    ticket = TicketInput(
        channel=channel,
        title=str(form.title.data or "").strip(),
        content=str(form.content.data or ""),
        received_at=received,
        reporter_name=str(form.reporter_name.data or "").strip() or None,
        reporter_phone=str(form.phone.data or "").strip() or None,
        reporter_email=str(form.email.data or "").strip() or None,
        is_anonymous=bool(form.anonymous.data),
        is_secret=bool(form.secret.data),
        category_id=str(form.category.data or "").strip() or None,
        opd_code=opd,
        date_of_incident=incident,
    )
    # Stricter than TicketInput's "has an @" until the shared intake validator lands.
    if ticket.reporter_email and not EMAIL_RE.fullmatch(ticket.reporter_email):
        errors["email"] = FIELD_TEXT["reporter_email"]
    for problem in ticket.problems():
        field = problem.partition(": ")[0]
        errors.setdefault(FORM_FIELD.get(field, field), FIELD_TEXT.get(field, "Periksa isian ini."))
    return (None if errors else ticket), errors


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
        ticket, errors = _ticket(form, now)
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

"""What the portal writes: follow-ups, forward requests, conflict decisions, outbox retries.

Every write goes through the same functions as the CLI (``local.intake`` validates;
``local.register``, ``sync.reconcile`` and ``sync.outbox`` write), so the outbox row is
born in the same transaction as the change and the next push sends it. A write on a
complaint outside the account's scope is a 404, like a read.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from lapor_sync.glossary import notify_kind_label
from lapor_sync.local.intake import (
    FollowUpInput,
    ForwardInput,
    validate_followup,
    validate_forward,
)
from lapor_sync.local.register import RegisterError, add_followup, add_forward
from lapor_sync.logs import get_logger
from lapor_sync.store import notify_outbox
from lapor_sync.store.db import read_snapshot
from lapor_sync.store.portal_queries import complaint_by_ref
from lapor_sync.store.portal_work import conflict_in_scope, open_conflicts_in, outbox_rows
from lapor_sync.sync.outbox import retry_rows
from lapor_sync.sync.reconcile import ConflictError, resolve_conflict
from lapor_sync.web.access import Action, allowed, may_write, scope_of
from lapor_sync.web.auth import current_user, guard
from lapor_sync.web.context import db, portal

bp = Blueprint("actions", __name__)
log = get_logger("lapor_sync.web")
MAX_TEXT = 20_000


class FollowupForm(FlaskForm):  # type: ignore[misc]
    content = TextAreaField(
        "Isi tindak lanjut",
        validators=[
            DataRequired("Isi tindak lanjut tidak boleh kosong."),
            Length(max=MAX_TEXT, message=f"Paling banyak {MAX_TEXT} karakter."),
        ],
    )
    secret = BooleanField("Rahasia (tidak ditampilkan untuk umum)")


class ForwardForm(FlaskForm):  # type: ignore[misc]
    target = SelectField("Instansi tujuan", validators=[DataRequired("Pilih instansi tujuan.")])
    reason = TextAreaField(
        "Alasan",
        default="Diteruskan ke Instansi Tujuan",
        validators=[DataRequired("Tulis alasannya."), Length(max=2000)],
    )


class ConflictForm(FlaskForm):  # type: ignore[misc]
    take = RadioField(
        "Keputusan",
        choices=[("lapor", "Ikut SP4N-LAPOR!"), ("local", "Ikut data lokal")],
        validators=[DataRequired("Pilih salah satu.")],
    )
    note = TextAreaField(
        "Alasan keputusan",
        validators=[DataRequired("Tulis alasan keputusan (tanpa data pribadi)."), Length(max=1000)],
    )


class CsrfOnlyForm(FlaskForm):  # type: ignore[misc]
    """A button's form: nothing to fill in, but the CSRF token is checked."""


def _writable(ref: str) -> dict[str, object]:
    user = current_user()
    assert user is not None
    complaint = complaint_by_ref(db(), scope_of(user), ref, portal().clock())
    if complaint is None or not may_write(user, complaint):
        abort(404)
    return complaint


def _forward_choices(opd_code: object) -> list[tuple[str, str]]:
    return [
        (o.institution_id, f"{o.name} ({o.code})")
        for o in portal().settings.opd
        if o.code != opd_code
    ]


@bp.route("/aduan/<ref>/tindak-lanjut", methods=["POST"])
@guard(Action.FOLLOWUP)
def followup(ref: str) -> ResponseReturnValue:
    complaint = _writable(ref)
    form = FollowupForm()
    if not form.validate_on_submit():
        return render_template("form_error.html", form=form, ref=ref), 400
    checked = validate_followup(
        {
            "ref": ref,
            "opd_code": str(complaint["opd_code"] or ""),
            "content": str(form.content.data or ""),
            "is_secret": "ya" if form.secret.data else "tidak",
        },
        portal().settings,
    )
    if not isinstance(checked, FollowUpInput):
        return render_template("form_error.html", form=form, ref=ref, problems=checked), 400
    try:
        add_followup(db(), ref, checked.opd_code, checked.content, is_secret=checked.is_secret)
    except RegisterError:
        abort(400)
    flash("Tindak lanjut dicatat dan akan dikirim ke SP4N-LAPOR! pada pengiriman berikutnya.")
    return redirect(url_for("complaints.complaint_page", ref=ref) + "#outbox")


@bp.route("/aduan/<ref>/teruskan", methods=["POST"])
@guard(Action.FOLLOWUP)
def forward(ref: str) -> ResponseReturnValue:
    complaint = _writable(ref)
    form = ForwardForm()
    form.target.choices = _forward_choices(complaint["opd_code"])
    if not form.validate_on_submit():
        return render_template("form_error.html", form=form, ref=ref), 400
    checked = validate_forward(
        {"ref": ref, "target_institution_id": str(form.target.data or ""),
         "reason": str(form.reason.data or "")},
        portal().settings,
    )  # fmt: skip
    if not isinstance(checked, ForwardInput):
        return render_template("form_error.html", form=form, ref=ref, problems=checked), 400
    add_forward(db(), ref, checked.target_institution_id, checked.reason)
    flash("Permintaan penerusan dicatat dan akan dikirim ke SP4N-LAPOR!.")
    return redirect(url_for("complaints.complaint_page", ref=ref) + "#outbox")


@bp.route("/konflik")
@guard(Action.CONFLICTS)
def conflicts() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    with read_snapshot(db()):
        rows = open_conflicts_in(db(), scope_of(user))
    return render_template("conflicts.html", rows=rows, form=ConflictForm())


@bp.route("/konflik/<int:conflict_id>", methods=["POST"])
@guard(Action.CONFLICTS)
def resolve(conflict_id: int) -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    if not conflict_in_scope(db(), scope_of(user), conflict_id):
        abort(404)
    form = ConflictForm()
    if not form.validate_on_submit():
        return render_template("form_error.html", form=form, ref=None), 400
    ctx = portal()
    try:
        resolve_conflict(
            db(),
            conflict_id,
            str(form.take.data),
            ctx.settings.state_for_status,
            clock=ctx.clock,
            note=f"{user.name}: {form.note.data}",
        )
    except ConflictError as exc:
        flash(f"Konflik tidak dapat diselesaikan: {exc}")
        return redirect(url_for("actions.conflicts"))
    flash(f"Konflik {conflict_id} diselesaikan; keputusan tercatat di log rekonsiliasi.")
    return redirect(url_for("actions.conflicts"))


OUTBOX_PAGE = 100


@bp.route("/outbox")
@guard(Action.SENDING)
def outbox() -> ResponseReturnValue:
    """What has not reached SP4N-LAPOR! yet, in the account's scope, 100 rows a page.

    An admin sees every row, may send a dead one again and sees the notifications that
    failed; an operator sees the rows of what the province recorded (the complaints its
    home's tile counts), without either. ``sebelum``: the id of the last row shown."""
    user = current_user()
    assert user is not None
    raw = request.args.get("sebelum", "")
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        abort(400)  # not a row id (SQLite's integers end below 10**19)
    before = int(raw) if raw else None
    found = outbox_rows(db(), scope_of(user), limit=OUTBOX_PAGE + 1, before_id=before)
    rows, more = found[:OUTBOX_PAGE], len(found) > OUTBOX_PAGE
    retries = allowed(user, Action.OUTBOX)
    notices = []
    if retries:
        # Notifications that did not arrive (or may not have): an admin sends one again
        # here or with ``lapor-sync notify outbox --retry ID``, after checking the mail log.
        notices = [
            {**vars(n), "kind_label": notify_kind_label(n.kind)}
            for state in ("dead", "unknown")
            for n in notify_outbox.listing(db(), state=state, limit=100)
        ]
    return render_template(
        "outbox.html",
        rows=rows,
        next_url=url_for("actions.outbox", sebelum=rows[-1]["id"]) if more else None,
        first_page=before is None,
        retries=retries,
        notices=notices,
        form=CsrfOnlyForm(),
    )


@bp.route("/outbox/<int:row_id>/ulang", methods=["POST"])
@guard(Action.OUTBOX)
def retry(row_id: int) -> ResponseReturnValue:
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    changed = retry_rows(db(), ids=[row_id])
    if not changed:
        abort(404)
    _journal("portal_outbox_retry", row_id)
    flash(f"Baris outbox {row_id} dijadwalkan ulang.")
    return redirect(url_for("actions.outbox"))


@bp.route("/outbox/notifikasi/<int:row_id>/ulang", methods=["POST"])
@guard(Action.OUTBOX)
def retry_notification(row_id: int) -> ResponseReturnValue:
    """Send a dead or unknown notification again: ``notify outbox --retry ID``'s store call."""
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    if not notify_outbox.retry(db(), [row_id], portal().clock()):
        abort(404)  # no such row, or one that is not dead/unknown: nothing to send again
    _journal("portal_notification_retry", row_id)
    flash(f"Notifikasi {row_id} dijadwalkan untuk dikirim ulang.")
    return redirect(url_for("actions.outbox") + "#notifikasi")


def _journal(event: str, row_id: int) -> None:
    """Who sent which outbox row again (ids only: no content, no recipients)."""
    user = current_user()
    log.info(event, user=user.name if user else None, row_id=row_id)

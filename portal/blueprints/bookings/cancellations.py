"""Reporting a guest's cancellation to the office (R20) and the fee the host bills the guest (R21),
on the booking's detail page; how the host's cancellation request reached the channel (R32)."""
from flask import flash, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.bookings import bp
from portal.extensions import db
from portal.web.forms import LocalDecimalField, apply_errors
from portal.web.i18n import tr
from portal.web.render import hx_redirect
from services.accounts import access
from services.bookings import own
from services.channels import host_changes
from services.core import clock
from services.core.errors import Invalid
from services.models import TOLD_BY
from services.office import cancellations


class ReportCancellationForm(FlaskForm):
    guest_told_on = DateField(_l("When the guest told you"), validators=[DataRequired(message=_l("Enter a date."))])
    told_by = SelectField(_l("How"), validators=[DataRequired(message=_l("Choose how the guest told you."))])
    note = TextAreaField(_l("Note for the tourist office (optional)"), validators=[Optional(), Length(max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.told_by.choices = [SelectChoice(k, tr(cancellations.TOLD_BY_LABELS[k])) for k in TOLD_BY]


class CancellationFeeForm(FlaskForm):
    cancellation_fee = LocalDecimalField(_l("Cancellation fee"), validators=[Optional()])
    cancellation_fee_note = TextAreaField(_l("Note on the fee (optional)"), validators=[Optional(), Length(max=1000)])


def detail_context(prop, booking, report_form=None, fee_form=None) -> dict:
    """What the booking's detail shows of cancellations: the report waiting for the office, the
    forms, and the channel's cancellation request's delivery (at most two queries)."""
    reported = (cancellations.waiting_report(db.session, booking)
                if booking.connection_id is not None and booking.status == "confirmed" else None)
    if report_form is None:
        report_form = ReportCancellationForm(formdata=None, guest_told_on=clock.today(prop.timezone), told_by="phone")
    if fee_form is None:
        fee_form = CancellationFeeForm(formdata=None, obj=booking)
    return {"reported": reported, "report_form": report_form, "fee_form": fee_form,
            "told_by_labels": cancellations.TOLD_BY_LABELS,
            "cancel_request": host_changes.cancel_request_status(db.session, booking)}


def _detail(prop, booking_id, **forms):
    from portal.blueprints.bookings.routes import _detail as render_detail  # routes imports this module

    return render_detail(prop, own.get_booking(db.session, current_user, prop, booking_id), 422, **forms)


@bp.post("/p/<slug>/bookings/<id:booking_id>/report-cancellation")
@login_required
def report_cancellation(slug, booking_id):
    """R20: the guest cancelled an online booking with the host; the tourist office cancels it."""
    prop = access.property_for(db.session, current_user, slug)
    form = ReportCancellationForm()
    if form.validate_on_submit():
        try:
            cancellations.report(db.session, current_user, prop, booking_id, form.guest_told_on.data,
                                 form.told_by.data, form.note.data or "")
            flash(_("Cancellation reported: the tourist office cancels the booking free of charge and the nights "
                    "are released automatically."), "success")
            return hx_redirect(url_for("bookings.detail", slug=slug, booking_id=booking_id))
        except Invalid as e:
            apply_errors(form, e)
    return _detail(prop, booking_id, report_form=form)


@bp.post("/p/<slug>/bookings/<id:booking_id>/cancellation-fee")
@login_required
def cancellation_fee(slug, booking_id):
    """R21: the fee the host bills the guest of a cancelled booking directly, with a note."""
    prop = access.property_for(db.session, current_user, slug)
    form = CancellationFeeForm()
    if form.validate_on_submit():
        try:
            cancellations.set_cancellation_fee(db.session, current_user, prop, booking_id, form.cancellation_fee.data,
                                               form.cancellation_fee_note.data or "")
            flash(_("Cancellation fee saved."), "success")
            return hx_redirect(url_for("bookings.detail", slug=slug, booking_id=booking_id))
        except Invalid as e:
            apply_errors(form, e)
    return _detail(prop, booking_id, fee_form=form)

"""The office's queue of guest cancellations reported by hosts (R20): cancel free of charge, or decline."""
from flask import flash, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.office import bp
from portal.extensions import db
from portal.web.forms import LocalDecimalField, apply_errors
from portal.web.render import hx_redirect, render
from services.core.errors import Invalid
from services.office import cancellations


class CancelReportForm(FlaskForm):
    """R21: the fee the host bills the guest, proposed from the host's terms, and a note."""
    fee = LocalDecimalField(_l("Cancellation fee the host bills the guest"), validators=[Optional()])
    fee_note = TextAreaField(_l("Note on the fee (optional)"), validators=[Optional(), Length(max=1000)])


class DeclineReportForm(FlaskForm):
    note = TextAreaField(_l("Reason (the host is e-mailed it)"),
                         validators=[DataRequired(message=_l("Enter the reason.")), Length(max=1000)])


def _page(status=200, posted=None):
    """The queue; `posted`: (report id, "cancel" | "decline", form) re-rendered with its errors."""
    reports = cancellations.queue(db.session, current_user)
    forms = {}
    for r in reports:
        forms[r.id] = {"cancel": CancelReportForm(formdata=None, prefix=f"c{r.id}", fee=r.proposed_fee),
                       "decline": DeclineReportForm(formdata=None, prefix=f"d{r.id}")}
    if posted and posted[0] in forms:
        forms[posted[0]][posted[1]] = posted[2]
    return render("office/cancellations.html", "queue", status=status, reports=reports, forms=forms,
                  told_by_labels=cancellations.TOLD_BY_LABELS)


@bp.route("/office/cancellations", endpoint="cancellations")
@login_required
def queue():
    """Guest cancellations the office's hosts reported, oldest first, each to cancel or decline."""
    return _page()


@bp.post("/office/cancellations/<id:report_id>/cancel")
@login_required
def cancel_report(report_id):
    """Cancel the reported booking free of charge: the nights are released, the channel and host told."""
    form = CancelReportForm(prefix=f"c{report_id}")
    if form.validate_on_submit():
        try:
            r = cancellations.cancel(db.session, current_user, report_id, form.fee.data, form.fee_note.data or "")
            flash(_("Booking of %(guest)s cancelled free of charge; its nights are free again.",
                    guest=r.booking.guest_name), "success")
            return hx_redirect(url_for("office.cancellations"))
        except Invalid as e:
            apply_errors(form, e)
    return _page(422, (report_id, "cancel", form))


@bp.post("/office/cancellations/<id:report_id>/decline")
@login_required
def decline_report(report_id):
    """Do not cancel: the report is closed and the host e-mailed the reason."""
    form = DeclineReportForm(prefix=f"d{report_id}")
    if form.validate_on_submit():
        try:
            r = cancellations.decline(db.session, current_user, report_id, form.note.data or "")
            flash(_("Report about %(guest)s declined; the host has been e-mailed the reason.",
                    guest=r.booking.guest_name), "success")
            return hx_redirect(url_for("office.cancellations"))
        except Invalid as e:
            apply_errors(form, e)
    return _page(422, (report_id, "decline", form))

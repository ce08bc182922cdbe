"""Replies and reports (R64, R65): the actions under each review of the host's reviews page.

The page (templates/reviews/page.html) includes templates/reviews/_actions.html with `review`
and `prop` under each review; the partial asks `review_actions(review)` (a template global
registered here) for its forms and the message of the last action. Each action is a POST here:
for htmx the partial again, swapped in place, with a success message (200) or the message next
to the field (422; 409 for a second report); without scripts the reviews page after a success
(303) and a page of its own with the partial after a failure. There is no route that deletes a
review: reviews cannot be deleted (R64).
"""
from __future__ import annotations

from types import SimpleNamespace

from flask import flash, g, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.blueprints.reviews import bp
from portal.blueprints.reviews.forms import ReplyForm, ReportForm
from portal.extensions import db
from portal.web.forms import apply_errors
from portal.web.i18n import tr
from portal.web.render import hx_redirect, is_fragment_request, render
from services.accounts import access
from services.core.errors import Conflict, Invalid
from services.reviews import responses


def _prefix(review_id: int, kind: str) -> str:
    return f"review{review_id}-{kind}"


@bp.app_template_global()
def review_actions(review) -> SimpleNamespace:
    """What _actions.html shows under one review: its reply and report forms (a failed one
    with its messages, from this request), the message of the action just done, which
    disclosure is open."""
    failed = g.get("review_forms", {})
    reply_form = failed.get((review.id, "reply")) or ReplyForm(
        formdata=None, prefix=_prefix(review.id, "reply"), data={"reply": review.reply_text or ""})
    report_form = failed.get((review.id, "report")) or ReportForm(formdata=None, prefix=_prefix(review.id, "report"))
    message = g.get("review_messages", {}).get(review.id)
    return SimpleNamespace(reply_form=reply_form, report_form=report_form,
                           message=message[0] if message else None, category=message[1] if message else None,
                           reply_open=(review.id, "reply") in failed, report_open=(review.id, "report") in failed)


def reviews_page_url(prop) -> str:
    """The host's reviews page (routes.py), where a success without scripts goes back to."""
    return url_for("reviews.page", slug=prop.slug)


def _answer(prop, review, status: int = 200):
    """The partial again (htmx), or the page of its own (a failure without scripts)."""
    if is_fragment_request():
        return render_template("reviews/_actions.html", review=review, prop=prop), status
    return render("reviews/actions.html", status=status, review=review, prop=prop)


def _done(prop, review, message: str):
    if is_fragment_request():
        g.setdefault("review_messages", {})[review.id] = (message, "success")
        return _answer(prop, review)
    flash(message, "success")
    return hx_redirect(reviews_page_url(prop) + f"#review-{review.id}")


def _failed(review, kind: str, form) -> None:
    g.setdefault("review_forms", {})[(review.id, kind)] = form


@bp.post("/p/<slug>/reviews/<id:review_id>/reply")
@login_required
def reply(slug, review_id):
    """Reply publicly to a review, or edit the reply (host, or staff on the host's behalf)."""
    prop = access.property_for(db.session, current_user, slug)
    review = responses.get(db.session, current_user, prop, review_id)
    form = ReplyForm(prefix=_prefix(review.id, "reply"))
    if form.validate_on_submit():
        edited = review.reply_text is not None
        try:
            review = responses.reply(db.session, current_user, prop, review.id, form.reply.data)
            return _done(prop, review, _("Reply saved: it is sent to the review partner, who publishes it.") if edited
                         else _("Reply published: it is sent to the review partner, who shows it under the review."))
        except Invalid as e:
            apply_errors(form, e)
    else:
        form.form_errors.append(_("The form has expired: please try again."))
    _failed(review, "reply", form)
    return _answer(prop, review, 422)


@bp.post("/p/<slug>/reviews/<id:review_id>/report")
@login_required
def report(slug, review_id):
    """Report a review as inappropriate, with a reason: to the partner and the tourist office."""
    prop = access.property_for(db.session, current_user, slug)
    review = responses.get(db.session, current_user, prop, review_id)
    form = ReportForm(prefix=_prefix(review.id, "report"))
    status = 422
    if form.validate_on_submit():
        try:
            review = responses.report(db.session, current_user, prop, review.id, form.reason.data)
            return _done(prop, review, _("Review reported: the review partner checks it and decides; "
                                         "the tourist office is informed."))
        except Invalid as e:
            apply_errors(form, e)
        except Conflict as e:
            g.setdefault("review_messages", {})[review.id] = (tr(e.message), "error")
            return _answer(prop, review, 409)
    else:
        form.form_errors.append(_("The form has expired: please try again."))
    _failed(review, "report", form)
    return _answer(prop, review, status)

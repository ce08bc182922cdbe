"""The host's terms: adopt the office's model terms, edit the cancellation fees and the deposit rule."""
from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import request

from portal.blueprints.office.forms import TermsForm, terms_form_of
from portal.blueprints.properties import bp
from portal.extensions import db
from portal.web import terms_editor
from portal.web.forms import apply_errors
from portal.web.render import hx_redirect, render
from services.accounts import access
from services.core.errors import Invalid
from services.office import terms as terms_rules


def _page(prop, status=200, form=None, rows=None, tier_errors=None):
    own = terms_rules.of_property(db.session, prop)
    model = terms_rules.model_of(db.session, prop.office_id) if own is None else None
    shown = own or model
    form = form or terms_form_of(shown)
    return render("properties/terms.html", status=status, prop=prop, own=own, model=model, form=form,
                  rows=rows if rows is not None else terms_editor.rows_of(shown), tier_errors=tier_errors or {})


@bp.route("/p/<slug>/terms", methods=["GET", "POST"])
@login_required
def terms(slug):
    """The host's terms (AGB): adopt the model terms, then edit them or go back to the model."""
    prop = access.property_for(db.session, current_user, slug)
    if request.method == "GET":
        return _page(prop)
    action = request.form.get("action")
    if action in ("adopt", "reset"):
        if action == "adopt":
            terms_rules.adopt(db.session, current_user, prop)
            flash(_("The model terms are now your terms. You may edit them here."), "success")
        else:
            terms_rules.reset_to_model(db.session, current_user, prop)
            flash(_("Your terms are the model terms again."), "success")
        return hx_redirect(url_for("properties.terms", slug=slug))
    form = TermsForm()
    rows = terms_editor.posted_rows()
    edited = terms_editor.edited_rows(rows)
    if edited is not None:
        return _page(prop, form=form, rows=edited)
    tier_errors = {}
    if form.validate_on_submit():
        try:
            terms_rules.save_property_terms(db.session, current_user, prop, rows, form.deposit_percent.data,
                                            form.deposit_days.data, form.text.data or "")
            flash(_("Terms saved."), "success")
            return hx_redirect(url_for("properties.terms", slug=slug))
        except Invalid as e:
            tier_errors, rest = terms_editor.split_errors(e)
            apply_errors(form, rest)
    return _page(prop, 422, form=form, rows=rows, tier_errors=tier_errors)

"""A property's brokerage contract (states, history, commission rates), the office's model terms and contact."""
from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import request

from portal.blueprints.office import bp
from portal.blueprints.office.forms import ContactForm, TermsForm, rates_form, terms_form_of
from portal.extensions import db
from portal.web import terms_editor
from portal.web.forms import apply_errors
from portal.web.render import hx_redirect, render
from services.accounts import access
from services.core.errors import Invalid
from services.core.inputs import whole
from services.office import contracts, settings as office_settings, terms as terms_rules


def _contract_page(prop, status=200, rates=None):
    return render("office/contract.html", status=status, prop=prop,
                  contract=contracts.current(db.session, prop), history=contracts.history(db.session, prop),
                  rates=rates or rates_form(contracts.current(db.session, prop)),
                  transitions=contracts.TRANSITIONS)


@bp.route("/office/p/<slug>/contract")
@login_required
def contract_page(slug):
    """The property's contract: its state and dates, every contract and event, the commission rates."""
    access.require_staff(current_user)
    prop = access.property_for(db.session, current_user, slug)
    return _contract_page(prop)


@bp.post("/office/p/<slug>/contract/rates")
@login_required
def contract_rates(slug):
    """Save the commission per channel (percent; empty: none)."""
    access.require_staff(current_user)
    prop = access.property_for(db.session, current_user, slug)
    form = rates_form(post=True)
    if form.validate_on_submit():
        try:
            contracts.set_rates(db.session, current_user, prop,
                                {ch: getattr(form, ch).data or "" for ch in contracts.RATE_CHANNELS})
            flash(_("Commission rates saved."), "success")
            return hx_redirect(url_for("office.contract_page", slug=slug))
        except Invalid as e:
            apply_errors(form, e)
    return _contract_page(prop, 422, rates=form)


# --- The office's settings: contact and model terms ---------------------------------------

def _settings_page(office, status=200, contact=None, terms_form=None, rows=None, tier_errors=None):
    model = terms_rules.model_of(db.session, office.id)
    terms_form = terms_form or terms_form_of(model)
    return render("office/settings.html", status=status, office=office, model=model,
                  contact=contact or ContactForm(formdata=None, obj=office), terms_form=terms_form,
                  rows=rows if rows is not None else terms_editor.rows_of(model), tier_errors=tier_errors or {},
                  action=url_for("office.settings", office=office.id if current_user.role == "admin" else None))


@bp.route("/office/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The office's contact (on every host page) and its model terms (Muster-AGB) for its hosts."""
    office_id = whole(request.args.get("office"))
    if current_user.role == "admin" and office_id is None and request.method == "GET":
        # An admin belongs to no office: first pick one.
        return render("office/settings.html", office=None, offices=office_settings.offices(db.session, current_user))
    office = office_settings.office_for(db.session, current_user, office_id)
    if request.method == "GET":
        return _settings_page(office)
    back = url_for("office.settings", office=office.id if current_user.role == "admin" else None)
    if request.form.get("form") == "contact":
        form = ContactForm()
        if form.validate_on_submit():
            try:
                office_settings.update_contact(db.session, current_user, office, form.email.data or "",
                                               form.phone.data or "", form.opening_hours.data or "")
                flash(_("Contact saved."), "success")
                return hx_redirect(back)
            except Invalid as e:
                apply_errors(form, e)
        return _settings_page(office, 422, contact=form)
    form = TermsForm()
    rows = terms_editor.posted_rows()
    edited = terms_editor.edited_rows(rows)
    if edited is not None:  # a row added or removed: the form again, nothing saved yet
        return _settings_page(office, terms_form=form, rows=edited)
    tier_errors = {}
    if form.validate_on_submit():
        try:
            office_settings.save_model_terms(db.session, current_user, office, rows, form.deposit_percent.data,
                                             form.deposit_days.data, form.text.data or "")
            flash(_("Model terms saved."), "success")
            return hx_redirect(back)
        except Invalid as e:
            tier_errors, rest = terms_editor.split_errors(e)
            apply_errors(form, rest)
    return _settings_page(office, 422, terms_form=form, rows=rows, tier_errors=tier_errors)

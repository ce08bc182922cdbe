"""Property settings: details, room categories and units, mandatory costs (R4), history."""
from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import request

from portal.blueprints.properties import bp
from portal.blueprints.properties.forms import CategoryForm, ExtraCostForm, PropertyForm
from portal.extensions import db
from portal.web.forms import apply_errors
from portal.web.render import hx_redirect, render
from services.accounts import access
from services.core import audit
from services.properties import registry
from services.core.errors import Invalid


def _forms(prop, details=None, category=None, cost=None):
    details = details or PropertyForm(formdata=None, obj=prop, prefix="p")
    category = category or CategoryForm(formdata=None, prefix="c")
    cost = cost or ExtraCostForm(formdata=None, prefix="x")
    cost.category_id.choices = [(0, _("all room categories"))] + [(c.id, c.name) for c in prop.categories]
    return {"details": details, "category": category, "cost": cost}


def _settings(prop, status=200, **forms):
    return render("properties/settings.html", status=status, prop=prop, **_forms(prop, **forms))


@bp.route("/p/<slug>/settings", methods=["GET", "POST"])
@login_required
def settings(slug):
    """Name, address and contact of the property."""
    prop = access.property_for(db.session, current_user, slug)
    if request.method == "GET":
        return _settings(prop)
    form = PropertyForm(prefix="p")
    if form.validate_on_submit():
        try:
            registry.update_property(db.session, current_user, prop, form.data)
            flash(_("Property details saved."), "success")
            return hx_redirect(url_for("properties.settings", slug=slug))
        except Invalid as e:
            apply_errors(form, e)
    return _settings(prop, 422, details=form)


@bp.post("/p/<slug>/categories")
@login_required
def add_category(slug):
    prop = access.property_for(db.session, current_user, slug)
    form = CategoryForm(prefix="c")
    if form.validate_on_submit():
        try:
            cat = registry.add_category(db.session, current_user, prop, form.name.data, form.max_guests.data, form.unit_names.data)
            flash(_("Room category %(name)s added.", name=cat.name), "success")
            return hx_redirect(url_for("properties.settings", slug=slug))
        except Invalid as e:
            apply_errors(form, e)
    return _settings(prop, 422, category=form)


@bp.post("/p/<slug>/costs")
@login_required
def add_cost(slug):
    prop = access.property_for(db.session, current_user, slug)
    form = ExtraCostForm(prefix="x")
    form.category_id.choices = [(0, "")] + [(c.id, c.name) for c in prop.categories]
    if form.validate_on_submit():
        try:
            registry.add_extra_cost(db.session, current_user, prop, form.name.data, str(form.amount.data),
                                      form.per.data, form.category_id.data)
            flash(_("Mandatory cost added; final prices include it now."), "success")
            return hx_redirect(url_for("properties.settings", slug=slug))
        except Invalid as e:
            apply_errors(form, e)
    return _settings(prop, 422, cost=form)


@bp.post("/p/<slug>/costs/<id:cost_id>/delete")
@login_required
def remove_cost(slug, cost_id):
    prop = access.property_for(db.session, current_user, slug)
    registry.remove_extra_cost(db.session, current_user, prop, cost_id)
    flash(_("Mandatory cost removed."), "success")
    return hx_redirect(url_for("properties.settings", slug=slug))


@bp.route("/p/<slug>/history")
@login_required
def history(slug):
    """Every change to the property's data: who, when, what, on whose behalf."""
    prop = access.property_for(db.session, current_user, slug)
    return render("properties/history.html", prop=prop, entries=audit.history(db.session, prop))

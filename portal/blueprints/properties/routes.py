"""Property settings: details, room categories and units, mandatory costs (R4), history."""
from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import request

from portal.blueprints.properties import bp
from portal.blueprints.properties.forms import CategoryForm, DeleteForm, ExtraCostForm, KindForm, PropertyForm, RenameForm
from portal.extensions import db
from portal.web import history as history_words
from portal.web.forms import apply_errors
from portal.web.render import hx_redirect, render
from services.accounts import access
from services.availability import inventory
from services.availability import undo
from services.core import audit
from services.properties import registry
from services.bookings import risk_free as risk_free_programme
from services.core.errors import Conflict, Invalid
from portal.web.i18n import tr
from portal.web.labels import CATEGORY_KIND_LABELS


def _forms(prop, details=None, category=None, cost=None):
    details = details or PropertyForm(formdata=None, obj=prop, prefix="p")
    category = category or CategoryForm(formdata=None, prefix="c")
    cost = cost or ExtraCostForm(formdata=None, prefix="x")
    cost.category_id.choices = [(0, _("all room categories"))] + [(c.id, c.name) for c in prop.categories]
    kinds = [(k, tr(v)) for k, v in CATEGORY_KIND_LABELS.items()]  # each category's type, set in place
    return {"details": details, "category": category, "cost": cost, "category_kinds": kinds}


def _settings(prop, status=200, rename=None, kind_error=None, **forms):
    """`rename`: (("category" or "unit", id), RenameForm) whose errors show at that name;
    `kind_error`: (category id, message) of a refused type."""
    return render("properties/settings.html", status=status, prop=prop, rename=rename, confirm=None,
                  kind_error=kind_error, **_forms(prop, **forms))


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
            cat = registry.add_category(db.session, current_user, prop, form.name.data, form.max_guests.data,
                                        form.unit_names.data, form.kind.data)
            flash(_("Room category %(name)s added.", name=cat.name), "success")
            return hx_redirect(url_for("properties.settings", slug=slug))
        except Invalid as e:
            apply_errors(form, e)
    return _settings(prop, 422, category=form)


def _rename(slug, kind: str, obj_id: int, rename, done_message):
    """Rename a room category or a unit in place; errors next to its name field."""
    prop = access.property_for(db.session, current_user, slug)
    form = RenameForm()
    if form.validate_on_submit():
        try:
            renamed = rename(db.session, current_user, prop, obj_id, form.name.data)
            flash(done_message(renamed.name), "success")
            return hx_redirect(url_for("properties.settings", slug=slug) + "#categories")
        except Invalid as e:
            apply_errors(form, e)
    return _settings(prop, 422, rename=((kind, obj_id), form))


@bp.post("/p/<slug>/categories/<id:category_id>/rename")
@login_required
def rename_category(slug, category_id):
    return _rename(slug, "category", category_id, registry.rename_category,
                   lambda name: _("Room category renamed to %(name)s.", name=name))


@bp.post("/p/<slug>/categories/<id:category_id>/kind")
@login_required
def category_kind(slug, category_id):
    """A room category's type (room, apartment, house), set in place: the public search filters by it."""
    prop = access.property_for(db.session, current_user, slug)
    form = KindForm()
    if form.validate_on_submit():
        try:
            cat = registry.set_category_kind(db.session, current_user, prop, category_id, form.kind.data)
            flash(_("%(name)s is now listed as: %(kind)s.", name=cat.name, kind=tr(CATEGORY_KIND_LABELS[cat.kind])),
                  "success")
            return hx_redirect(url_for("properties.settings", slug=slug) + "#categories")
        except Invalid as e:
            return _settings(prop, 422, kind_error=(category_id, tr(next(iter(e.errors.values())))))
    inventory.category_of(db.session, prop.id, category_id)  # another property's category: 404, not a message
    return _settings(prop, 422, kind_error=(category_id, _("Choose a type from the list.")))


@bp.post("/p/<slug>/units/<id:unit_id>/rename")
@login_required
def rename_unit(slug, unit_id):
    return _rename(slug, "unit", unit_id, registry.rename_unit, lambda name: _("Unit renamed to %(name)s.", name=name))


def _confirm_delete(prop, kind, obj, action, status=200, refusal=None):
    """The settings page with the confirmation step (or the refusal) at the categories."""
    confirm = {"kind": kind, "obj": obj, "action": action, "form": DeleteForm(formdata=None), "refusal": refusal}
    return render("properties/settings.html", status=status, prop=prop, rename=None, confirm=confirm, **_forms(prop))


def _delete(prop, kind: str, obj, obj_id: int, action: str, why_not, delete, done_message):
    """GET asks first (what goes with it); POST deletes, or names the bookings in the way."""
    if request.method == "GET":
        refusal = why_not(db.session, current_user, prop, obj_id)
        return _confirm_delete(prop, kind, obj, action, refusal=tr(refusal.message) if refusal else None)
    if not DeleteForm().validate_on_submit():
        return _confirm_delete(prop, kind, obj, action, 422)
    try:
        name = delete(db.session, current_user, prop, obj_id)
    except Conflict as e:
        return _confirm_delete(prop, kind, obj, action, 409, refusal=tr(e.message))
    flash(done_message(name), "success")
    return hx_redirect(url_for("properties.settings", slug=prop.slug) + "#categories")


@bp.route("/p/<slug>/categories/<id:category_id>/delete", methods=["GET", "POST"])
@login_required
def delete_category(slug, category_id):
    prop = access.property_for(db.session, current_user, slug)
    cat = inventory.category_of(db.session, prop.id, category_id)
    return _delete(prop, "category", cat, category_id,
                   url_for("properties.delete_category", slug=slug, category_id=category_id),
                   registry.why_not_delete_category, registry.delete_category,
                   lambda name: _("Room category %(name)s deleted.", name=name))


@bp.route("/p/<slug>/units/<id:unit_id>/delete", methods=["GET", "POST"])
@login_required
def delete_unit(slug, unit_id):
    prop = access.property_for(db.session, current_user, slug)
    unit = inventory.unit_of(db.session, prop.id, unit_id) or abort(404)
    return _delete(prop, "unit", unit, unit_id, url_for("properties.delete_unit", slug=slug, unit_id=unit_id),
                   registry.why_not_delete_unit, registry.delete_unit, lambda name: _("Unit %(name)s deleted.", name=name))


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
    # Lines worded in the reader's language (portal/web/history.py); the calendar edits of the
    # last minutes get an "Undo" button (services.availability.undo).
    return render("properties/history.html", prop=prop, entries=audit.history(db.session, prop),
                  undoable=undo.undoable_ids(db.session, prop), action_text=history_words.action_text,
                  details=history_words.details)


@bp.route("/p/<slug>/policies")
@login_required
def policies(slug):
    """Property - Policies: the risk-free programme, what it means, and the host's choice (R50, R59)."""
    prop = access.property_for(db.session, current_user, slug)
    return render("properties/policies.html", prop=prop)


@bp.post("/p/<slug>/policies/risk-free/<any(join, leave):action>")
@login_required
def risk_free(slug, action):
    """The host joins or leaves the risk-free programme; joining needs the platform's offer."""
    prop = access.property_for(db.session, current_user, slug)
    try:
        risk_free_programme.set_opted_in(db.session, current_user, prop, action == "join")
    except Conflict as e:
        return render("properties/policies.html", status=409, prop=prop, refusal=tr(e.message))
    flash(_("You have joined the risk-free programme.") if action == "join"
          else _("You have left the risk-free programme."), "success")
    return hx_redirect(url_for("properties.policies", slug=slug))

"""Arranging a property's photos (R71, R73): motive and description, the order (drag and drop,
up/down buttons for keyboard and phone), the cover, deleting; the office's download.

The photos page (upload.py, templates/photos/page.html) includes templates/photos/_grid.html
and _checklist.html. Each action here is a POST:
- for htmx: the grid again (swapped for #photo-grid) with a message, and the checklist as an
  out-of-band swap (a motive changed may tick or untick it); a refused change answers 422 with
  the message next to the field of that photo (409 is never needed: nothing here conflicts);
- without scripts: 303 back to the photos page with the message flashed; a refused change
  renders a page of its own with the grid and its messages (422). Deleting without scripts
  first shows a confirmation page (htmx asks with hx-confirm).
Use cases: services/properties/photos.py (tenant isolation, one transaction, the history).
"""
from __future__ import annotations

from flask import Response, abort, flash, make_response, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import request

from portal.blueprints.photos import bp
from portal.extensions import db
from portal.web.i18n import tr
from portal.web.render import hx_redirect, is_fragment_request, render
from services.accounts import access
from services.core.errors import Invalid
from services.models import Office, RoomCategory
from services.properties import photos as arranging


def _categories(prop) -> list[RoomCategory]:
    return sorted(prop.categories, key=lambda c: (c.position, c.id))


@bp.app_template_global()
def photo_checklist(prop, categories):
    """The checklist for templates that were not given one (the photos page gives it)."""
    return arranging.checklist(db.session, prop, categories)


@bp.app_template_global()
def photo_motive_label(motive) -> str:
    return tr(arranging.motive_label(motive))


@bp.app_template_global()
def photo_motives() -> list[tuple[str, str]]:
    """(code, label) of R71's motives in the select's order."""
    return [(m, tr(label)) for m, label in arranging.MOTIVE_LABELS.items()]


def photos_page_url(prop, photo_id: int | None = None) -> str:
    return url_for("photos.page", slug=prop.slug) + (f"#photo-{photo_id}" if photo_id else "#photo-grid")


def _answer(prop, status: int = 200, message: str | None = None, category: str = "success", **ctx):
    """The grid (and the checklist out of band) for htmx; a page of its own otherwise."""
    categories = _categories(prop)
    ctx.update(prop=prop, photos=arranging.listing(db.session, current_user, prop), categories=categories,
               checklist=arranging.checklist(db.session, prop, categories),
               photo_message=(message, category) if message else None)
    if is_fragment_request():
        body = render_template("photos/_grid.html", photo_script=False, **ctx) + \
            render_template("photos/_checklist.html", checklist_oob=True, **ctx)
        resp = make_response(body, status)
        resp.headers["Vary"] = "HX-Request"
        return resp
    return render("photos/arrange.html", status=status, **ctx)


def _done(prop, message: str, photo_id: int | None = None):
    if is_fragment_request():
        return _answer(prop, message=message)
    flash(message, "success")
    return hx_redirect(photos_page_url(prop, photo_id))


@bp.post("/p/<slug>/photos/<id:photo_id>/details")
@login_required
def update(slug, photo_id):
    """Save a photo's motive (R71), its room category and its description for screen readers."""
    prop = access.property_for(db.session, current_user, slug)
    form = request.form
    try:
        arranging.update(db.session, current_user, prop, photo_id, form.get("motive"), form.get("category_id"),
                         form.get("description"))
    except Invalid as e:
        return _answer(prop, 422, photo_errors={photo_id: {k: tr(v) for k, v in e.errors.items()}},
                       photo_values={photo_id: {k: form.get(k, "") for k in ("motive", "category_id", "description")}},
                       message=_("The photo was not saved: please check the marked fields."), category="error")
    return _done(prop, _("Photo saved."), photo_id)


@bp.post("/p/<slug>/photos/<id:photo_id>/move/<any(up, down):direction>")
@login_required
def move(slug, photo_id, direction):
    """Move a photo one place earlier or later (the keyboard's and the phone's way to reorder)."""
    prop = access.property_for(db.session, current_user, slug)
    ordered = arranging.move(db.session, current_user, prop, photo_id, direction)
    place = next(i for i, p in enumerate(ordered, 1) if p.id == photo_id)
    return _done(prop, _("Photo moved to place %(place)s of %(count)s.", place=place, count=len(ordered)), photo_id)


def _order_ids():
    """The new order: a JSON list of ids (or {"order": [...]}), or the form field `order`
    ("3,1,2", or the field repeated)."""
    if request.is_json:
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            data = data.get("order")
        return data if isinstance(data, list) else None
    values = request.form.getlist("order")
    if len(values) == 1:
        values = [v for v in values[0].replace(" ", "").split(",") if v]
    return values


@bp.post("/p/<slug>/photos/order")
@login_required
def reorder(slug):
    """Put the photos in a new order (drag and drop sends every id, in the order shown)."""
    prop = access.property_for(db.session, current_user, slug)
    try:
        arranging.reorder(db.session, current_user, prop, _order_ids())
    except Invalid as e:
        return _answer(prop, 422, message=tr(e.errors["order"]), category="error")
    return _done(prop, _("New order saved."))


@bp.post("/p/<slug>/photos/<id:photo_id>/cover")
@login_required
def cover(slug, photo_id):
    """Make a photo the cover (exactly one per property)."""
    prop = access.property_for(db.session, current_user, slug)
    arranging.set_cover(db.session, current_user, prop, photo_id)
    return _done(prop, _("This photo is the cover now."), photo_id)


@bp.post("/p/<slug>/photos/<id:photo_id>/delete")
@login_required
def delete(slug, photo_id):
    """Delete a photo with its files; the cover passes to the next photo. Without scripts the
    first POST shows a confirmation page, whose form confirms (`confirm=yes`)."""
    prop = access.property_for(db.session, current_user, slug)
    if not request.htmx and request.form.get("confirm") != "yes":
        photo = arranging.get(db.session, current_user, prop, photo_id)
        ordered = arranging.listing(db.session, current_user, prop)
        return render("photos/delete.html", prop=prop, photo=photo, place=ordered.index(photo) + 1)
    was_cover = arranging.get(db.session, current_user, prop, photo_id).is_cover
    left = arranging.delete(db.session, current_user, prop, photo_id)
    message = _("Photo deleted.")
    if was_cover and left:
        heir = next(i for i, p in enumerate(left, 1) if p.is_cover)
        message = _("Photo deleted. Photo %(place)s is the cover now.", place=heir)
    return _done(prop, message)


# -- the tourist office's download (R73) ------------------------------------------------------------

@bp.route("/office/photos.zip")
@login_required
def office_download():
    """The photos of the office's properties with an active contract, as one zip (web size;
    `?originals=1` adds the originals). Admins name the office: `?office=<id>`."""
    access.require_staff(current_user)
    if current_user.role == "admin":
        office_id = request.args.get("office", type=int)
        office = db.session.get(Office, office_id) if office_id and 0 < office_id < 2**31 else None
    else:
        office = current_user.office
    if office is None:
        abort(404)
    originals = request.args.get("originals") == "1"
    chunks = arranging.office_download(db.session, current_user, office, originals=originals)
    resp = Response(chunks, mimetype="application/zip")  # streamed: the chunks need no session
    resp.headers["Content-Disposition"] = "attachment; filename=" + (
        "photos-originals.zip" if originals else "photos.zip")
    return resp  # `no-store`, as every answer that is not public (portal/security.py)

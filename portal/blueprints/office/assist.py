"""Assist mode: staff work in a host's screens under a visible banner, and leave in one click.

The property being worked on is kept in the signed session cookie (no state in the server);
base.html asks `assisting(prop)` whether to show the banner on the page it renders.
"""
from flask import flash, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.blueprints.office import bp
from portal.extensions import db
from portal.web.render import hx_redirect
from services.accounts import access
from services.office import assist as assist_mode

SESSION_KEY = "assist"


@bp.post("/office/p/<slug>/assist")
@login_required
def assist(slug):
    """Start working in the host's screens of this property: its plan, under the banner."""
    prop = assist_mode.start(db.session, current_user, slug)
    session[SESSION_KEY] = {"property_id": prop.id, "slug": prop.slug}
    flash(_("You are working for %(host)s (%(property)s). Every change is recorded with your name.",
            host=prop.owner.name, property=prop.name), "info")
    return hx_redirect(url_for("calendar.plan", slug=prop.slug))


@bp.post("/office/assist/leave")
@login_required
def leave_assist():
    """Stop working for the host; back to the office's home."""
    access.require_staff(current_user)
    kept = session.pop(SESSION_KEY, None)
    prop = assist_mode.leave(db.session, current_user, kept["property_id"]) if kept else None
    if prop is not None:
        flash(_("You no longer work for %(host)s (%(property)s).", host=prop.owner.name, property=prop.name), "success")
    return hx_redirect(url_for("office.hosts"))


@bp.app_template_global()
def assisting(prop):
    """The property (whose page this is) while the staff member works for its host, else None."""
    kept = session.get(SESSION_KEY)
    if (not kept or prop is None or not current_user.is_authenticated
            or current_user.role not in ("staff", "admin") or kept.get("property_id") != prop.id):
        return None
    return prop

"""The start page: straight to the calendar of a host's only property, else a list."""
from flask import redirect, url_for
from flask_login import current_user, login_required

from portal.blueprints.main import bp
from portal.extensions import db
from portal.web.render import render
from services.accounts import access


@bp.route("/")
@login_required
def home():
    if current_user.role == "staff":
        return redirect(url_for("office.hosts"))
    props = access.properties_for(db.session, current_user)
    if len(props) == 1:
        return redirect(url_for("calendar.plan", slug=props[0].slug))
    return render("main/home.html", props=props)


@bp.route("/healthz")
def healthz():
    """For load balancers and uptime checks: the app answers (touches no database)."""
    return "ok", 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"}

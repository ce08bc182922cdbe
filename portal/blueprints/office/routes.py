"""The tourist office's workspace: its hosts, new hosts, brokerage contracts, its double bookings."""
import datetime as dt

from flask import flash, g, request, url_for
from flask_babel import format_timedelta, gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError
from wtforms import SelectChoice

from portal.blueprints.office import bp
from portal.blueprints.auth.passwords import link_base
from portal.blueprints.office.forms import HomeFilterForm, HostForm
from portal.extensions import db
from portal.web.forms import apply_errors
from portal.web.render import hx_redirect, render
from services.accounts import access, tokens, users
from services.office import attention
from services.properties import registry
from services.bookings import rehousing, risk_free as risk_free_programme
from services.reviews import responses as review_responses
from services.core import clock
from services.core.errors import Invalid


@bp.route("/office")
@login_required
def hosts():
    """The office's home: its hosts and properties with what needs attention, filtered and
    sorted (GET form; htmx swaps the list in place, the same URL renders the whole page)."""
    return render("office/hosts.html", "board", home=_home(), form=HostForm(formdata=None), created=None)


def _home() -> dict:
    """What the home's list needs, from the query string; once per request (the template asks
    for it through `office_home` when another view, registering a host, renders the page)."""
    if "office_home" in g:
        return g.office_home
    form = HomeFilterForm(request.args)
    offices = attention.offices(db.session, current_user)
    form.office.choices = [SelectChoice("", _("all offices"))] + [SelectChoice(str(o.id), o.name) for o in offices]
    office_id = request.args.get("office", type=int) if offices else None
    filters = attention.Filters(q=(form.q.data or "")[:100], contract=form.contract.data or "",
                                attention_only=bool(form.attention.data), office_id=office_id,
                                sort=form.sort.data if form.sort.data in attention.SORTS else "name")
    g.office_home = {"filters": form, "board": attention.board(db.session, current_user, filters), "offices": offices}
    return g.office_home


def _link(endpoint: str, **values) -> str | None:
    """url_for, or None while an endpoint does not exist yet (the office's cancellation queue,
    the contract page and the statements are built by other changes): the chip shows, unlinked."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.context_processor
def _home_helpers():
    return {"office_home": _home, "office_link": _link}


@bp.post("/office/hosts")
@login_required
def create_host():
    """Register a host and their first property; the host is e-mailed an invitation link to choose
    a password; the contract starts inactive."""
    access.require_staff(current_user)
    form = HostForm()
    created = None
    if form.validate_on_submit():
        try:
            user, prop = registry.create_host(
                db.session, current_user, form.host_name.data, form.email.data, form.property_name.data, form.slug.data,
                link_base())
            created = {"email": user.email, "property": prop.name, "invited": True}
            form = HostForm(formdata=None)
        except Invalid as e:
            apply_errors(form, e)
    props = registry.office_properties(db.session, current_user)
    return render("office/hosts.html", status=200 if created else 422, props=props, form=form, created=created)


@bp.post("/office/p/<slug>/contract/<any(activate, suspend, end):action>")
@login_required
def contract(slug, action):
    """Activate, suspend or end the brokerage contract (Vermittlungsvertrag) of a property, with
    an optional note for its history; back to the contract's page when asked from there."""
    from flask import request

    from services.office import contracts

    prop = access.property_for(db.session, current_user, slug)
    contracts.change(db.session, current_user, prop, action, (request.form.get("note") or "").strip()[:500])
    flash({"activate": _("Contract for %(name)s activated: the host can log in now.", name=prop.name),
           "suspend": _("Contract for %(name)s suspended: the host has no access until it is activated again.",
                        name=prop.name),
           "end": _("Contract for %(name)s ended: the host has no access any more.", name=prop.name)}[action], "success")
    if request.form.get("back") == "contract":
        return hx_redirect(url_for("office.contract_page", slug=prop.slug))
    return hx_redirect(url_for("office.hosts"))


@bp.post("/office/p/<slug>/risk-free/<any(on, off):action>")
@login_required
def risk_free(slug, action):
    """The platform offers the risk-free programme to a property, or withdraws it (R59)."""
    prop = access.property_for(db.session, current_user, slug)
    risk_free_programme.set_eligible(db.session, current_user, prop, action == "on")
    flash(_("%(name)s may now join the risk-free programme.", name=prop.name) if action == "on"
          else _("The risk-free programme is no longer offered to %(name)s.", name=prop.name), "success")
    return hx_redirect(url_for("office.hosts"))


@bp.post("/office/users/<id:user_id>/sign-out")
@login_required
def sign_out_user(user_id):
    """End every session of a host (a lost phone, a former employee): they must log in again."""
    user = users.sign_out_user(db.session, current_user, user_id)
    flash(_("%(name)s has been signed out on every device.", name=user.name), "success")
    return hx_redirect(url_for("office.hosts"))


@bp.route("/office/conflicts")
@login_required
def conflicts():
    """The office's queue: every open and handed-over double booking of its hosts, oldest first (R13 (3))."""
    queue = rehousing.office_queue(db.session, current_user)
    now = clock.now()
    return render("office/conflicts.html", queue=queue, timedelta_day=dt.timedelta(days=1),
                  open_for=lambda since: format_timedelta(now - since, granularity="minute", threshold=1))


@bp.route("/office/reviews")
@login_required
def reviews():
    """The office's queue of reviews its hosts reported as inappropriate, newest first (R64, R65)."""
    queue = review_responses.reported(db.session, current_user)
    return render("office/reviews.html", queue=queue, excerpt=review_responses.excerpt)


@bp.route("/office/embed", methods=["GET", "POST"])
@login_required
def embed_origins():
    """The websites (origins) that may frame the public review blocks of the office's properties."""
    from flask import request

    from portal.blueprints.office.forms import EmbedOriginsForm
    from services.reviews import origins as review_origins

    access.require_staff(current_user)
    office = current_user.office
    form = EmbedOriginsForm(formdata=None, origins="\n".join(office.embed_origins.split()) if office else "")
    status = 200
    if request.method == "POST":
        form = EmbedOriginsForm()
        status = 422
        if form.validate_on_submit():
            try:
                review_origins.set_embed_origins(db.session, current_user, form.origins.data or "")
                flash(_("Websites saved."), "success")
                return hx_redirect(url_for("office.embed_origins"))
            except Invalid as e:
                apply_errors(form, e)
    props = [p for p in registry.office_properties(db.session, current_user) if p.contract_active]
    return render("office/embed.html", status=status, form=form, office=office, props=props)


@bp.post("/office/users/<id:user_id>/invite")
@login_required
def resend_invitation(user_id):
    """Send a host a new invitation link (the old one stops working): it expired, or the mail got lost."""
    user = tokens.resend_invitation(db.session, current_user, user_id, link_base())
    flash(_("Invitation sent again to %(email)s.", email=user.email), "success")
    return hx_redirect(url_for("office.hosts"))

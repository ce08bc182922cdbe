"""Settings - Modules (R30): channel connections and API keys; external calendars; messages."""
from flask import Response, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.blueprints.channels import bp
from portal.blueprints.channels.forms import ConnectionForm, FeedForm, ReviewPartnerForm
from portal.extensions import db
from portal.web.forms import apply_errors
from portal.web.i18n import tr
from portal.web.render import hx_redirect, render
from services.accounts import access
from services.bookings import notify
from services.channels import ari, connections, ical
from services.channels.connections import MODULES, channel_label, scope_of
from services.core.errors import Conflict, Invalid

# Every module's name in the URL: the booking channels and the review partners.
CHANNEL = "<any(%s):channel>" % ", ".join(f"'{name}'" for name in MODULES)


def _form(source, conn=None, posted=False):
    """The module's settings form: as posted, or filled from its connection."""
    cls = ReviewPartnerForm if scope_of(source) == "reviews" else ConnectionForm
    if posted:
        return cls(prefix=source)
    if cls is ReviewPartnerForm:
        return cls(formdata=None, obj=conn, prefix=source)
    return ConnectionForm(formdata=None, obj=conn, prefix=source,
                          payment_mode=(conn.payment_mode if conn else
                                        "prepaid" if source == "e_domizil" else "on_arrival"),
                          inventory_mode=(conn.inventory_mode if conn else connections.default_inventory_mode(source)))


def _modules(prop, status=200, forms=None, new_key=None):
    conns = connections.of_property(db.session, prop)
    forms = forms or {}
    rows = []
    for name, source in MODULES.items():
        conn = conns.get(source)
        form = forms.get(source) or _form(source, conn)
        rows.append({"name": name, "source": source, "label": channel_label(source), "conn": conn, "form": form,
                     "scope": scope_of(source)})
    return render("channels/modules.html", status=status, prop=prop, rows=rows, new_key=new_key,
                  full_sync_days=ari.FULL_SYNC_DAYS)


@bp.route("/p/<slug>/modules")
@login_required
def modules(slug):
    """The channel modules: switch on, key, hold time, webhook, payment mode, inventory mode; the
    review partners (scope reviews): switch on, key, webhook."""
    return _modules(access.property_for(db.session, current_user, slug))


def _save_contact(prop, channel, form):
    """The channel's contact e-mail (R32), where the connection form has one (not a review partner's)."""
    if hasattr(form, "contact_email"):
        connections.set_contact_email(db.session, current_user, prop, channel, form.contact_email.data or "")


@bp.post(f"/p/<slug>/modules/{CHANNEL}/on")
@login_required
def switch_on(slug, channel):
    """Switch the module on (or save its settings); a new key is shown once."""
    prop = access.property_for(db.session, current_user, slug)
    source = MODULES[channel]
    form = _form(source, posted=True)
    if form.validate_on_submit():
        conn = connections.of_property(db.session, prop).get(source)
        # A review partner's form has only the webhook address; the service keeps the rest.
        hold = getattr(form, "hold_minutes", None)
        settings = (hold.data if hold else 60, form.webhook_url.data or "",
                    form.payment_mode.data if hold else "on_arrival")
        mode = (form.inventory_mode.data or None) if hold else None
        try:
            if conn is not None and conn.active:
                connections.update_settings(db.session, current_user, prop, channel, *settings, inventory_mode=mode)
                _save_contact(prop, channel, form)
                flash(_("Settings of %(channel)s saved.", channel=tr(channel_label(source))), "success")
                return hx_redirect(url_for("channels.modules", slug=slug))
            conn, key = connections.switch_on(db.session, current_user, prop, channel, *settings, inventory_mode=mode)
            _save_contact(prop, channel, form)
            return _modules(prop, new_key={"source": source, "key": key, "secret": conn.webhook_secret})
        except Invalid as e:
            apply_errors(form, e)
    return _modules(prop, 422, forms={source: form})


@bp.post(f"/p/<slug>/modules/{CHANNEL}/regenerate")
@login_required
def regenerate(slug, channel):
    """A new key; the old one stops working at once."""
    prop = access.property_for(db.session, current_user, slug)
    key = connections.regenerate_key(db.session, current_user, prop, channel)
    conn = connections.get_connection(db.session, prop, channel)
    return _modules(prop, new_key={"source": conn.channel, "key": key, "secret": conn.webhook_secret})


@bp.post(f"/p/<slug>/modules/{CHANNEL}/off")
@login_required
def switch_off(slug, channel):
    prop = access.property_for(db.session, current_user, slug)
    connections.revoke(db.session, current_user, prop, channel)
    flash(_("Module switched off: its key no longer works. Existing bookings stay."), "success")
    return hx_redirect(url_for("channels.modules", slug=slug))


@bp.post(f"/p/<slug>/modules/{CHANNEL}/full-sync")
@login_required
def full_sync(slug, channel):
    """Send the channel every night's availability, prices and restrictions again (the worker's next round)."""
    prop = access.property_for(db.session, current_user, slug)
    try:
        ari.full_sync(db.session, current_user, prop, channel)
        flash(_("Full sync started: %(channel)s receives availability, prices and restrictions of the next %(days)s "
                "days within a minute.", channel=tr(channel_label(MODULES[channel])), days=ari.FULL_SYNC_DAYS),
              "success")
    except Conflict as e:
        flash(tr(e.message), "error")
    return hx_redirect(url_for("channels.modules", slug=slug))


def _calendars(prop, form=None, status=200, new_url=None):
    form = form or FeedForm(formdata=None)
    form.category_id.choices = [(c.id, c.name) for c in prop.categories]
    return render("channels/calendars.html", status=status, prop=prop, form=form, feeds=ical.feeds(db.session, prop),
                  new_url=new_url)


@bp.post("/p/<slug>/calendars/export/<id:category_id>/renew")
@login_required
def renew_export(slug, category_id):
    """A new secret export address for a room category, shown once; the old one stops working."""
    prop = access.property_for(db.session, current_user, slug)
    token = ical.renew_export_url(db.session, current_user, prop, category_id)
    return _calendars(prop, new_url={"category_id": category_id,
                                     "url": url_for("channels.export", token=token, _external=True)})


@bp.route("/p/<slug>/calendars")
@login_required
def calendars(slug):
    """iCal: export addresses per room category; external calendars imported as blocks."""
    return _calendars(access.property_for(db.session, current_user, slug))


@bp.post("/p/<slug>/calendars")
@login_required
def add_feed(slug):
    prop = access.property_for(db.session, current_user, slug)
    form = FeedForm()
    form.category_id.choices = [(c.id, c.name) for c in prop.categories]
    if form.validate_on_submit():
        try:
            ical.add_feed(db.session, current_user, prop, form.category_id.data, form.name.data, form.url.data)
            flash(_("Calendar added; it will be read within a minute."), "success")
            return hx_redirect(url_for("channels.calendars", slug=slug))
        except Invalid as e:
            apply_errors(form, e)
    return _calendars(prop, form, 422)


@bp.post("/p/<slug>/calendars/<id:feed_id>/sync")
@login_required
def sync_feed(slug, feed_id):
    """'Sync now': queued for the worker, which reads it within a minute."""
    prop = access.property_for(db.session, current_user, slug)
    ical.request_sync(db.session, current_user, prop, feed_id)
    flash(_("Sync requested: the calendar will be read within a minute."), "success")
    return hx_redirect(url_for("channels.calendars", slug=slug))


@bp.post("/p/<slug>/calendars/<id:feed_id>/delete")
@login_required
def remove_feed(slug, feed_id):
    prop = access.property_for(db.session, current_user, slug)
    ical.remove_feed(db.session, current_user, prop, feed_id)
    flash(_("Calendar removed; its blocked nights are free again."), "success")
    return hx_redirect(url_for("channels.calendars", slug=slug))


@bp.route("/ical/<token>.ics")
def export(token):
    """The secret-URL export of a room category's fully booked nights (no login: the URL is the secret)."""
    return Response(ical.export(db.session, token), mimetype="text/calendar",
                    headers={"Cache-Control": "private, max-age=300"})


@bp.route("/p/<slug>/messages")
@login_required
def messages(slug):
    """The message log: e-mails about new, confirmed, cancelled and changed bookings."""
    prop = access.property_for(db.session, current_user, slug)
    return render("channels/messages.html", prop=prop, items=notify.messages(db.session, current_user, prop))

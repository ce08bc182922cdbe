"""The R13 steps of a double booking: contact, new dates, guest cancels, replacement, hand-over.

The conflict page (portal/blueprints/conflicts/routes.py) includes templates/conflicts/_steps.html
with `db`, `ranked` and `prop`; the partial asks `conflict_steps(db, ranked)` (a template global
registered here) for its forms, the bookings that have to yield and the history by step. Each
step is a POST here: on success the conflict page again (HX-Redirect for htmx, 303 otherwise),
on bad input the partial with the message next to the field (422; 409 when the stay can't be
had), swapped in place by htmx or shown on a page of its own without scripts.
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import sqlalchemy as sa
from flask import flash, g, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from portal.blueprints.conflicts import bp
from portal.blueprints.conflicts.forms import ConfirmForm, NewDatesForm, NoteForm
from portal.extensions import db
from portal.web.forms import apply_conflict, apply_errors
from portal.web.i18n import fmt_date, tr
from portal.web.render import hx_redirect, render
from services.accounts import access
from services.bookings import conflicts, own, rehousing
from services.core import clock
from services.core.errors import Conflict, Invalid
from services.models import DoubleBookingStep

def conflict_url(prop, dbl) -> str:
    """The page of one double booking (routes.py)."""
    return url_for("conflicts.show", slug=prop.slug, db_id=dbl.id)


def _load(slug, db_id):
    prop = access.property_for(db.session, current_user, slug)
    return prop, conflicts.of_property(db.session, current_user, prop, db_id)


def _load_booking(slug, db_id, booking_id):
    prop, dbl = _load(slug, db_id)
    return prop, dbl, own.get_booking(db.session, current_user, prop, booking_id)


def _done(prop, dbl, message):
    flash(message, "success")
    return hx_redirect(conflict_url(prop, dbl))


def _again(prop, dbl, status=422):
    """The steps once more, with the failed form (g.conflict_forms) showing its messages."""
    return render("conflicts/steps.html", "steps", status=status, prop=prop, db=dbl,
                  ranked=conflicts.rank(list(dbl.bookings)))


def _failed(booking_id, name, form):
    g.setdefault("conflict_forms", {})[(booking_id, name)] = form


def _prefix(booking_id, name) -> str:
    return f"b{booking_id}-{name}"


# -- what the partial shows ---------------------------------------------------------------------

def _yielding(dbl, ranked):
    """The bookings that have to yield (R11): on each overbooked night, the last ones in R11
    order beyond what the category has. None once resolved."""
    if dbl.status == "resolved":
        return []
    now = clock.now()
    active = [b for b in ranked if b.occupies(now)]
    over = conflicts.overbooked_nights(db.session, dbl.category_id, dbl.first_night, dbl.last_night)
    out = set()
    for night, excess in over.items():
        on = [b for b in active if b.arrival <= night < b.departure]
        out.update(b.id for b in on[len(on) - min(excess, len(on)):])
    if not out:  # nothing over any more, but a night still without a room
        out = set(conflicts.unplaced_of(db.session, [b.id for b in active]))
    return [b for b in active if b.id in out]


def conflict_steps(dbl, ranked):
    """What templates/conflicts/_steps.html needs besides `db`, `ranked` and `prop`."""
    failed = g.get("conflict_forms", {})

    def form(cls, booking_id, name):
        return failed.get((booking_id, name)) or cls(formdata=None, prefix=_prefix(booking_id, name))

    yielding = _yielding(dbl, ranked)
    history = {1: [], 2: [], 3: []}
    for s in db.session.scalars(sa.select(DoubleBookingStep).where(DoubleBookingStep.double_booking_id == dbl.id)
                                .options(joinedload(DoubleBookingStep.actor))
                                .order_by(DoubleBookingStep.at, DoubleBookingStep.id)):
        if s.step in history and s.action != "resolved":  # the banner says when it was resolved
            history[s.step].append(s)
    return SimpleNamespace(
        yielding=yielding, history=history, is_open=dbl.status != "resolved",
        handed_over=dbl.status == "handed_over", confirm=ConfirmForm(formdata=None),
        forms={b.id: SimpleNamespace(contact=form(NoteForm, b.id, "contact"), dates=form(NewDatesForm, b.id, "dates"))
               for b in yielding},
        handover=form(NoteForm, 0, "handover"),
        errors=g.get("conflict_errors", {}), replacements=g.get("conflict_replacements", {}),
    )


@bp.app_context_processor
def _helpers():
    return {"conflict_steps": conflict_steps, "conflict_url": conflict_url, "extra_cost": rehousing.extra_cost,
            "iso_date": dt.date.fromisoformat}


# -- pages and steps ----------------------------------------------------------------------------

@bp.route("/p/<slug>/conflicts/<id:db_id>/steps")
@login_required
def steps_page(slug, db_id):
    """The R13 steps on a page of their own (without scripts, a failed step comes back here)."""
    prop, dbl = _load(slug, db_id)
    return _again(prop, dbl, status=200)


@bp.post("/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/contact")
@login_required
def contact(slug, db_id, booking_id):
    """R13 (1): the guest was contacted; the outcome so far as a note."""
    prop, dbl, booking = _load_booking(slug, db_id, booking_id)
    form = NoteForm(prefix=_prefix(booking.id, "contact"))
    if form.validate_on_submit():
        try:
            rehousing.contact_guest(db.session, current_user, prop, dbl, booking, form.note.data or "")
            return _done(prop, dbl, _("Call with %(guest)s recorded.", guest=booking.guest_name))
        except Invalid as e:
            apply_errors(form, e)
    _failed(booking.id, "contact", form)
    return _again(prop, dbl)


@bp.post("/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/new-dates")
@login_required
def new_dates(slug, db_id, booking_id):
    """R13 (1): the guest agreed to other dates; rebooked atomically, or nothing changes."""
    prop, dbl, booking = _load_booking(slug, db_id, booking_id)
    form = NewDatesForm(prefix=_prefix(booking.id, "dates"))
    status = 422
    if form.validate_on_submit():
        try:
            moved = rehousing.new_dates(db.session, current_user, prop, dbl, booking, form.arrival.data,
                                        form.departure.data)
            return _done(prop, dbl, _("%(guest)s is rebooked for %(arrival)s–%(departure)s.", guest=moved.guest_name,
                                      arrival=fmt_date(moved.arrival, "short"),
                                      departure=fmt_date(moved.departure, "short")))
        except Invalid as e:
            apply_errors(form, e)
        except Conflict as e:
            apply_conflict(form, e, "arrival")
            status = 409
    _failed(booking.id, "dates", form)
    return _again(prop, dbl, status)


@bp.post("/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/cancel")
@login_required
def guest_cancels(slug, db_id, booking_id):
    """R13 (1): the guest agreed to cancel."""
    prop, dbl, booking = _load_booking(slug, db_id, booking_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            rehousing.guest_cancels(db.session, current_user, prop, dbl, booking)
            return _done(prop, dbl, _("The booking of %(guest)s is cancelled.", guest=booking.guest_name))
        except Conflict as e:
            g.conflict_errors = {(booking.id, "step1"): tr(e.message)}
            return _again(prop, dbl, 409)
    g.conflict_errors = {(booking.id, "step1"): _("The form has expired: please try again.")}
    return _again(prop, dbl, 400)


def _render_replacements(prop, dbl, booking, found, status=200):
    return render("conflicts/replacements.html", "results", status=status, prop=prop, db=dbl, b=booking,
                  found=found, confirm=ConfirmForm(formdata=None),
                  offer=NoteForm(formdata=None, prefix=_prefix(booking.id, "offer")))


@bp.route("/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/replacements")
@login_required
def replacements(slug, db_id, booking_id):
    """R13 (2): the office's other properties free for the whole stay, with final prices (R4)."""
    prop, dbl, booking = _load_booking(slug, db_id, booking_id)
    found = rehousing.replacements(db.session, current_user, prop, dbl, booking)
    return _render_replacements(prop, dbl, booking, found)


def _replacement_failed(prop, dbl, booking, message, status):
    """A replacement that can't be offered or accepted: the search again, the reason above it."""
    g.conflict_errors = {(booking.id, "replacement"): message}
    g.conflict_replacements = {booking.id: rehousing.replacements(db.session, current_user, prop, dbl, booking)}
    return _again(prop, dbl, status)


@bp.post("/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/replacements/<id:category_id>/offer")
@login_required
def offer(slug, db_id, booking_id, category_id):
    """R13 (2): record that this replacement was offered to the guest."""
    prop, dbl, booking = _load_booking(slug, db_id, booking_id)
    form = NoteForm(prefix=_prefix(booking.id, "offer"))
    if not form.validate_on_submit():
        return _replacement_failed(prop, dbl, booking, "; ".join(str(m) for m in form.note.errors)
                                   or _("The form has expired: please try again."), 422)
    try:
        row = rehousing.offer_replacement(db.session, current_user, prop, dbl, booking, category_id,
                                          form.note.data or "")
    except (Conflict, Invalid) as e:
        return _replacement_failed(prop, dbl, booking, tr(e.message) if isinstance(e, Conflict)
                                   else "; ".join(tr(m) for m in e.errors.values()), 409)
    return _done(prop, dbl, _("Offer of %(category)s at %(property)s recorded.", category=row.detail["category"],
                              property=row.detail["property"]))


@bp.post("/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/replacements/<id:category_id>/accept")
@login_required
def accept(slug, db_id, booking_id, category_id):
    """R13 (2)/(3): the guest accepted: booked there, cancelled here, R12 stored."""
    prop, dbl, booking = _load_booking(slug, db_id, booking_id)
    if not ConfirmForm().validate_on_submit():
        return _replacement_failed(prop, dbl, booking, _("The form has expired: please try again."), 400)
    try:
        new = rehousing.accept_replacement(db.session, current_user, prop, dbl, booking, category_id)
    except Conflict as e:
        return _replacement_failed(prop, dbl, booking, tr(e.message), 409)
    except Invalid as e:  # a total no booking can hold
        return _replacement_failed(prop, dbl, booking, "; ".join(tr(m) for m in e.errors.values()), 422)
    return _done(prop, dbl, _("%(guest)s is rehoused (booking #%(id)s) and the booking here is cancelled.",
                              guest=new.guest_name, id=new.id))


@bp.post("/p/<slug>/conflicts/<id:db_id>/hand-over")
@login_required
def hand_over(slug, db_id):
    """R13 (3): the tourist office takes over."""
    prop, dbl = _load(slug, db_id)
    form = NoteForm(prefix=_prefix(0, "handover"))
    status = 422
    if form.validate_on_submit():
        try:
            rehousing.hand_over(db.session, current_user, prop, dbl, form.note.data or "")
            return _done(prop, dbl, _("Handed over to the tourist office."))
        except Invalid as e:
            apply_errors(form, e)
        except Conflict as e:
            form.note.errors = list(form.note.errors) + [tr(e.message)]
            status = 409
    _failed(0, "handover", form)
    return _again(prop, dbl, status)

"""Bookings: the list, own bookings (R2) entered from the calendar or a form, detail, cancel."""
import datetime as dt

from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import request

from portal.blueprints.bookings import bp, cancellations
from portal.blueprints.calendar import window
from portal.blueprints.bookings.forms import CancelRequestForm, DepositForm, FilterForm, ModifyForm, OwnBookingForm
from portal.extensions import db
from portal.web.forms import apply_conflict, apply_errors, page_number, parse_date
from portal.web.labels import PAYMENT_STATUS_LABELS
from portal.web.render import hx_redirect, render
from services.accounts import access
from services.availability import inventory, pricing
from services.bookings import conflicts, ledger, listing, own, payment, replacement, risk_free
from services.channels import host_changes
from services.core import audit, clock
from services.core.errors import Conflict, Invalid


def _data(form) -> own.OwnBookingData:
    return own.OwnBookingData(
        category_id=form.category_id.data, arrival=form.arrival.data, departure=form.departure.data,
        guest_name=form.guest_name.data or "", units=form.units.data, guests=form.guests.data,
        guest_email=form.guest_email.data or "", guest_phone=form.guest_phone.data or "",
        notes=form.notes.data or "", unit_id=form.unit_id.data or None,
    )


def _save(prop, form, booking_id=None):
    """Run the use case; on bad input put the messages next to the fields. Returns the booking or None."""
    try:
        if booking_id is None:
            return own.create_own_booking(db.session, current_user, prop, _data(form))
        return own.update_own_booking(db.session, current_user, prop, booking_id, _data(form))
    except Invalid as e:
        apply_errors(form, e)
    except Conflict as e:
        apply_conflict(form, e)
    return None


def _plan_holding(prop, day):
    """The plan's window of nights that shows `day` (this browser's count of nights: a phone's 7)."""
    win = window.window_for(day, request.args, request.cookies, clock.today(prop.timezone))
    return url_for("calendar.plan", slug=prop.slug, **win.args())


def _after_save(prop, booking, message):
    flash(message, "success")
    return hx_redirect(_plan_holding(prop, booking.arrival))


@bp.route("/p/<slug>/bookings")
@login_required
def index(slug):
    """Every booking of the property, newest created first (R35); filters, search, pages."""
    prop = access.property_for(db.session, current_user, slug)
    form = FilterForm(request.args)
    form.validate()
    f = listing.Filters(
        source=form.source.data or "", status=form.status.data or "", q=form.q.data or "",
        arrival_from=form.arrival_from.data if not form.arrival_from.errors else None,
        arrival_to=form.arrival_to.data if not form.arrival_to.errors else None,
        risk_free=None if not form.risk_free.data else form.risk_free.data == "1",
        sort=form.sort.data or "created",
    )
    page = listing.search(db.session, current_user, prop, f, page_number())
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    paid = payment.statuses(db.session, page.items)  # one query for the page (R57)
    return render("bookings/list.html", "results", prop=prop, form=form, page=page, args=args,
                  paid=paid, paid_labels=PAYMENT_STATUS_LABELS)


@bp.route("/p/<slug>/bookings/new", methods=["GET", "POST"])
@login_required
def new(slug):
    """Enter an own booking (phone, walk-in, regulars): free of commission."""
    prop = access.property_for(db.session, current_user, slug)
    form = OwnBookingForm()
    form.set_choices(prop)
    if request.method == "GET":
        # From the plan: a unit and a range of nights (portal.js), or a category's night.
        unit = inventory.unit_of(db.session, prop.id, request.args.get("unit_id", type=int))
        form.set_defaults(prop, request.args.get("category_id", type=int), unit)
        form.arrival.data = parse_date(request.args.get("arrival"))
        form.departure.data = parse_date(request.args.get("departure"))
        if form.arrival.data and not form.departure.data:
            form.departure.data = form.arrival.data + dt.timedelta(days=1)
    elif form.validate_on_submit():
        booking = _save(prop, form)
        if booking is not None:
            return _after_save(prop, booking, _("Own booking for %(name)s saved.", name=booking.guest_name))
    status = 422 if form.is_submitted() else 200
    return render("bookings/form.html", "booking_form", status=status, prop=prop, form=form, booking=None)


def _detail(prop, booking, status=200, modify=None, cancel=None, deposit=None, **cancellation_forms):
    q = pricing.quote(db.session, prop, booking.category, booking.arrival, booking.departure, booking.units)
    if modify is None:
        modify = ModifyForm(formdata=None, arrival=booking.arrival, departure=booking.departure,
                            category_id=booking.category_id)
    modify.category_id.choices = [(c.id, c.name) for c in prop.categories]
    room_nights = ledger.ledger(db.session, booking)  # one query, units joined (issue 10)
    original, due, cancelled = ledger.amounts(db.session, booking, room_nights)
    # R53: restrictions that stop the replacement search (queried only while something is searched)
    blockers = (replacement.resale_blockers(db.session, booking)
                if booking.risk_free and any(r.state == "searching" for r in room_nights) else [])
    return render("bookings/detail.html", "booking_detail", status=status, prop=prop, b=booking, quote=q,
                  card_visible=risk_free.card_visible(booking),
                  room_nights=room_nights if any(r.state != "sold" for r in room_nights) else [],
                  paid=payment.payment_status(booking, room_nights), paid_labels=PAYMENT_STATUS_LABELS,
                  ledger_amounts={"original": original, "due": due, "cancelled": cancelled},
                  unit_names=own.units_of(db.session, booking), events=audit.booking_events(db.session, booking),
                  modify=modify, cancel=cancel or CancelRequestForm(formdata=None),
                  deposit=deposit or DepositForm(formdata=None, obj=booking), blockers=blockers,
                  double_booking=conflicts.open_of_booking(db.session, booking),
                  **cancellations.detail_context(prop, booking, **cancellation_forms))  # R20, R21, R32


@bp.route("/p/<slug>/bookings/<id:booking_id>")
@login_required
def detail(slug, booking_id):
    """Guest contact (R24), stay, price breakdown, deposit, payment, voucher, channel, history."""
    prop = access.property_for(db.session, current_user, slug)
    return _detail(prop, own.get_booking(db.session, current_user, prop, booking_id))


@bp.post("/p/<slug>/bookings/<id:booking_id>/modify")
@login_required
def modify(slug, booking_id):
    """R33/R34: change dates or room category of a channel booking; the channel is told."""
    prop = access.property_for(db.session, current_user, slug)
    booking = own.get_booking(db.session, current_user, prop, booking_id)
    form = ModifyForm()
    form.category_id.choices = [(c.id, c.name) for c in prop.categories]
    if form.validate_on_submit():
        try:
            new = host_changes.modify(db.session, current_user, prop, booking.id, form.arrival.data,
                                          form.departure.data, form.category_id.data)
            flash(_("Booking changed. The original order is marked as modified and the channel is informed."), "success")
            return hx_redirect(url_for("bookings.detail", slug=slug, booking_id=new.id))
        except Invalid as e:
            apply_errors(form, e)
        except Conflict as e:
            apply_conflict(form, e)
        booking = own.get_booking(db.session, current_user, prop, booking_id)
    return _detail(prop, booking, 422, modify=form)


@bp.post("/p/<slug>/bookings/<id:booking_id>/request-cancellation")
@login_required
def request_cancellation(slug, booking_id):
    """R32: only the channel cancels; this sends it the request with the booking's number."""
    prop = access.property_for(db.session, current_user, slug)
    form = CancelRequestForm()
    if form.validate_on_submit():
        host_changes.request_cancellation(db.session, current_user, prop, booking_id, form.note.data or "")
        flash(_("Cancellation request queued for the channel with the booking's number; the booking shows when it "
                "was delivered."), "success")
        return hx_redirect(url_for("bookings.detail", slug=slug, booking_id=booking_id))
    return _detail(prop, own.get_booking(db.session, current_user, prop, booking_id), 422, cancel=form)


@bp.post("/p/<slug>/bookings/<id:booking_id>/deposit")
@login_required
def deposit(slug, booking_id):
    """R22: record a deposit agreed with the guest."""
    prop = access.property_for(db.session, current_user, slug)
    form = DepositForm()
    if form.validate_on_submit():
        try:
            own.set_deposit(db.session, current_user, prop, booking_id, form.deposit_amount.data,
                                         form.deposit_due.data)
            flash(_("Deposit saved."), "success")
            return hx_redirect(url_for("bookings.detail", slug=slug, booking_id=booking_id))
        except Invalid as e:
            apply_errors(form, e)
    return _detail(prop, own.get_booking(db.session, current_user, prop, booking_id), 422, deposit=form)


@bp.post("/p/<slug>/bookings/<id:booking_id>/lift-restrictions")
@login_required
def lift_restrictions(slug, booking_id):
    """R53: lift the restrictions that stop the replacement search on the searching nights."""
    prop = access.property_for(db.session, current_user, slug)
    booking = own.get_booking(db.session, current_user, prop, booking_id)
    replacement.lift_blockers(db.session, current_user, prop, booking)
    flash(_("Restrictions lifted: the searched nights are open for a replacement guest."), "success")
    return hx_redirect(url_for("bookings.detail", slug=slug, booking_id=booking_id))


@bp.post("/p/<slug>/bookings/<id:booking_id>/card-invalid")
@login_required
def card_invalid(slug, booking_id):
    """R56: the guest's card is invalid; the channel is told and looks for a replacement guest."""
    prop = access.property_for(db.session, current_user, slug)
    booking = own.get_booking(db.session, current_user, prop, booking_id)
    risk_free.mark_card_invalid(db.session, current_user, prop, booking)
    flash(_("Card marked invalid: the channel has been told."), "success")
    return hx_redirect(url_for("bookings.detail", slug=slug, booking_id=booking_id))


@bp.route("/p/<slug>/bookings/<id:booking_id>/edit", methods=["GET", "POST"])
@login_required
def edit(slug, booking_id):
    prop = access.property_for(db.session, current_user, slug)
    booking = own.editable_own_booking(db.session, current_user, prop, booking_id)
    form = OwnBookingForm(obj=booking if request.method == "GET" else None)
    form.set_choices(prop)
    if request.method == "GET":
        form.unit_id.data = 0
    elif form.validate_on_submit():
        saved = _save(prop, form, booking.id)
        if saved is not None:
            return _after_save(prop, saved, _("Booking of %(name)s changed.", name=saved.guest_name))
    status = 422 if form.is_submitted() else 200
    return render("bookings/form.html", "booking_form", status=status, prop=prop, form=form, booking=booking)


@bp.post("/p/<slug>/bookings/<id:booking_id>/cancel")
@login_required
def cancel(slug, booking_id):
    prop = access.property_for(db.session, current_user, slug)
    booking = own.cancel_own_booking(db.session, current_user, prop, booking_id)
    flash(_("Booking of %(name)s cancelled; its nights are free again.", name=booking.guest_name), "success")
    return hx_redirect(_plan_holding(prop, booking.arrival))

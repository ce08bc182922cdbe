"""The R13 steps of a double booking, each a use case of its own.

(1) Contact the guest who has to yield and record the outcome: no agreement yet, new dates
    (rebooked in place, checked and taken atomically like any booking; a channel learns it as
    a host change, R33), or the guest cancels.
(2) Offer a replacement: the office-wide search (services.availability.search) for the whole
    stay and that many guests, with final prices (R4); record what was offered and what was
    accepted. An accepted replacement is booked at the other property by the normal path, the
    original is cancelled, and R12 is stored on it for the statements: an online booking's
    commission stays due, the replacement's extra cost is charged to the host.
(3) Hand over to the tourist office, which sees it in its queue (`office_queue`) and uses the
    step-2 functions itself.

Every step is recorded in the double booking's history (conflicts.record: step, time, actor)
and in the history of the booking concerned, and ends with conflicts.recheck, which closes
the double booking when no night of it is overbooked any more.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from services.accounts import access
from services.availability import inventory, pricing, search
from services.availability.inventory import MAX_RANGE_DAYS
from services.bookings import conflicts, ledger, notify
from services.channels import host_changes, wire
from services.core import audit, clock, inputs
from services.core.db import use_case
from services.core.errors import Conflict, Invalid, NotFound
from services.core.i18n import Message, _l, render
from services.models import Booking, DoubleBooking, DoubleBookingStep, MailMessage, Property, RoomCategory, User

MAX_NOTE = 1000


# -- shared checks and writes ------------------------------------------------------------------

def _open(actor: User, prop: Property, db: DoubleBooking) -> None:
    access.check_property(actor, prop)
    if db.property_id != prop.id:
        raise NotFound(_l("No such double booking."))
    if db.status == "resolved":
        raise Conflict(_l("This double booking is resolved already."), code="resolved")


def _member(actor: User, prop: Property, db: DoubleBooking, booking: Booking) -> None:
    """The booking is one of the double booking's and still holds its nights."""
    _open(actor, prop, db)
    if booking.property_id != prop.id or booking.id not in {b.id for b in db.bookings}:
        raise NotFound(_l("This booking is not part of the double booking."))
    if not booking.occupies(clock.now()):
        raise Conflict(_l("This booking is no longer active."), code="not_active")


def _note(note: str | None) -> str:
    errors: dict = {}
    note = inputs.text(note or "", "note", errors, max_len=MAX_NOTE)
    if errors:
        raise Invalid(errors)
    return note


def _step(db: DoubleBooking) -> int:
    """Rehousing and cancelling are step 2 for the host, step 3 once the office has it."""
    return 3 if db.status == "handed_over" else 2


def _release(session: Session, booking: Booking) -> None:
    """Free every night of the booking, placed or not (inventory.release takes its nights
    without a room too, and places others' on what it freed before the commit)."""
    inventory.release(session, booking)


def _close(session: Session, db: DoubleBooking, actor: User, resolution: str = "fits") -> None:
    """The end of every step: place what waits for a room on the nights freed (inventory.settle,
    which closes what no longer holds as "fits"), then close the double booking if it no longer
    holds, named after the step that resolved it."""
    was_open = db.status != "resolved"
    inventory.settle(session)
    if was_open and db.status == "resolved" and resolution != "fits":
        db.resolution = resolution  # closed by the placing above, but this step is why
        last = session.scalar(sa.select(DoubleBookingStep).where(
            DoubleBookingStep.double_booking_id == db.id, DoubleBookingStep.action == "resolved")
            .order_by(DoubleBookingStep.id.desc()).limit(1))
        if last is not None:
            last.detail, last.actor_id = {"resolution": resolution}, actor.id
        return
    conflicts.recheck(session, db, actor, resolution=resolution)


def _cancel(session: Session, actor: User, prop: Property, db: DoubleBooking, booking: Booking, reason: str) -> None:
    """Cancel a booking of the double booking inside the caller's use case: its nights are free,
    its room-nights cancelled (amounts stay, issue 10), its channel told by webhook."""
    now = clock.now()
    booking.status, booking.updated_at = "cancelled", now
    booking.cancelled_at, booking.cancelled_via = now, "double_booking"
    _release(session, booking)
    ledger.cancel_all(session, booking)
    audit.booking_event(session, booking, "conflict_cancelled", actor, double_booking=db.id, reason=reason)
    audit.record(session, actor, prop, "booking_cancelled", booking=booking.id, guest=booking.guest_name)
    if booking.connection_id is not None:
        notify.webhook(session, booking.connection, "reservation.cancelled",
                       {"reservation": wire.reservation(booking), "reason": reason, "double_booking_id": db.id})


def _mail_office(session: Session, prop: Property, subject: Message, body: Message) -> None:
    """An e-mail to the property's tourist office (German, as conflicts' first notice)."""
    office = prop.office
    if office is None or not office.email:
        return
    now = clock.now()
    session.add(MailMessage(
        property_id=prop.id, recipient=office.email,
        subject=render(notify._for_reader(_l("%(property)s: %(subject)s", property=prop.name, subject=subject), "de"),
                       "de")[:200],
        body=render(notify._for_reader(body, "de"), "de"), created_at=now, next_attempt_at=now, kind="office"))


# -- step 1: contact the guest -----------------------------------------------------------------

def contact_guest(session: Session, actor: User, prop: Property, db: DoubleBooking, booking: Booking,
                  note: str = ""):
    """The guest was contacted, no agreement yet: the outcome (what was said) as a note."""
    _member(actor, prop, db, booking)
    note = _note(note)
    with use_case(session) as uc:
        row = conflicts.record(session, db, actor, 1, "contacted", booking, note=note)
        audit.booking_event(session, booking, "conflict_contacted", actor, double_booking=db.id, note=note)
        _close(session, db, actor)
        uc.keep(db, row, booking)
    return row


def new_dates(session: Session, actor: User, prop: Property, db: DoubleBooking, booking: Booking,
              arrival: dt.date | None, departure: dt.date | None) -> Booking:
    """The guest agreed to other dates: the stay moves, checked and taken atomically like any
    booking (a Conflict takes nothing and changes nothing). A channel booking is changed as a
    host change (R33: the original marked modified, a new stay, the channel told); any other
    moves in place. Returns the booking that holds the new dates."""
    _member(actor, prop, db, booking)
    errors: dict = {}
    if arrival is None:
        errors["arrival"] = _l("Enter the arrival.")
    if departure is None:
        errors["departure"] = _l("Enter the departure.")
    inputs.stay(arrival, departure, errors, max_nights=MAX_RANGE_DAYS, too_long=inputs.TWO_YEARS,
                today=clock.today(prop.timezone))
    if not errors and (arrival, departure) == (booking.arrival, booking.departure):
        errors["arrival"] = _l("These are the dates of the booking: enter the new ones.")
    if errors:
        raise Invalid(errors)
    old_stay = {"from_arrival": booking.arrival.isoformat(), "from_departure": booking.departure.isoformat()}
    with use_case(session) as uc:
        if booking.connection_id is not None:
            moved = host_changes.modify(session, actor, prop, booking.id, arrival, departure, booking.category_id)
        else:
            moved = booking
            _release(session, booking)
            booking.arrival, booking.departure, booking.updated_at = arrival, departure, clock.now()
            if booking.source != "ical":  # an imported block has no price
                booking.total_price = pricing.quote(session, prop, booking.category, arrival, departure,
                                                    booking.units).total
                pricing.check_total(booking.total_price)
            inventory.take(session, booking)
            audit.record(session, actor, prop, "booking_changed", booking=booking.id, guest=booking.guest_name,
                         from_category=booking.category.name, to_category=booking.category.name,
                         to_arrival=arrival.isoformat(), to_departure=departure.isoformat(), **old_stay)
        params = {**old_stay, "to_arrival": arrival.isoformat(), "to_departure": departure.isoformat()}
        row = conflicts.record(session, db, actor, 1, "new_dates", booking, new_booking=moved.id, **params)
        audit.booking_event(session, booking, "conflict_new_dates", actor, double_booking=db.id, **params)
        _close(session, db, actor, "new_dates")
        uc.keep(db, row, booking, moved, prop)
    return moved


def guest_cancels(session: Session, actor: User, prop: Property, db: DoubleBooking, booking: Booking) -> Booking:
    """The guest agreed to cancel: the booking is cancelled free of charge (R20), its nights
    are free, its channel gets a webhook."""
    _member(actor, prop, db, booking)
    with use_case(session) as uc:
        _cancel(session, actor, prop, db, booking, "guest_cancelled")
        row = conflicts.record(session, db, actor, 1, "guest_cancelled", booking)
        notify.mail_host(session, prop, _l("Cancellation: %(guest)s, %(stay)s", guest=booking.guest_name,
                                           stay=notify.stay(booking)),
                         _l("The booking of %(guest)s (%(stay)s) was cancelled to resolve a double booking: the "
                            "guest agreed. The nights are free again.", guest=booking.guest_name,
                            stay=notify.stay(booking)), booking=booking)
        _close(session, db, actor, "guest_cancelled")
        uc.keep(db, row, booking)
    return booking


# -- step 2: a replacement ---------------------------------------------------------------------

def replacements(session: Session, actor: User, prop: Property, db: DoubleBooking,
                 booking: Booking) -> list[search.FreeStay]:
    """Room categories of the office's other properties free for the booking's whole stay and
    guests, with their final prices (R4), cheapest first."""
    _member(actor, prop, db, booking)
    return search.free_stays(session, prop.office_id, booking.arrival, booking.departure, booking.guests,
                             booking.units, exclude_property_id=prop.id)


def _stay_at(session: Session, prop: Property, booking: Booking, category_id: int) -> search.FreeStay:
    cat = session.get(RoomCategory, category_id) if isinstance(category_id, int) else None
    if cat is None or cat.property_id == prop.id or cat.prop.office_id != prop.office_id:
        raise NotFound(_l("No such replacement."))
    for stay in search.free_stays(session, prop.office_id, booking.arrival, booking.departure, booking.guests,
                                  booking.units, exclude_property_id=prop.id):
        if stay.category.id == category_id:
            return stay
    raise Conflict(_l("%(category)s at %(property)s is no longer free for the whole stay: choose another "
                      "replacement.", category=cat.name, property=cat.prop.name), code="not_available")


def extra_cost(booking: Booking, replacement_total: Decimal) -> Decimal | None:
    """R12: what the replacement costs more than the booking (never less than nothing); None
    when the booking has no price to compare with."""
    if booking.total_price is None:
        return None
    return max(Decimal("0.00"), replacement_total - booking.total_price)


def _offer_params(stay: search.FreeStay, booking: Booking) -> dict:
    extra = extra_cost(booking, stay.total)
    return {"property": stay.prop.name, "property_id": stay.prop.id, "category": stay.category.name,
            "category_id": stay.category.id, "total": str(stay.total), "currency": stay.prop.currency,
            "extra_cost": None if extra is None else str(extra)}


def offer_replacement(session: Session, actor: User, prop: Property, db: DoubleBooking, booking: Booking,
                      category_id: int, note: str = ""):
    """Record that this replacement (property, category, final price) was offered to the guest;
    the office is informed (R13 (2))."""
    _member(actor, prop, db, booking)
    note = _note(note)
    stay = _stay_at(session, prop, booking, category_id)
    params = _offer_params(stay, booking)
    with use_case(session) as uc:
        row = conflicts.record(session, db, actor, _step(db), "replacement_offered", booking, note=note, **params)
        audit.booking_event(session, booking, "conflict_replacement_offered", actor, double_booking=db.id, **params)
        _mail_office(session, prop, _l("Replacement offered to %(guest)s", guest=booking.guest_name),
                     _l("Double booking at %(property)s, %(category)s: %(guest)s (%(stay)s) has been offered "
                        "%(offer)s at %(other)s for %(total)s.", property=prop.name, category=booking.category.name,
                        guest=booking.guest_name, stay=notify.stay(booking), offer=stay.category.name,
                        other=stay.prop.name, total=notify.Amount(stay.total, stay.prop.currency)))
        _close(session, db, actor)
        uc.keep(db, row, booking)
    return row


def accept_replacement(session: Session, actor: User, prop: Property, db: DoubleBooking, booking: Booking,
                       category_id: int) -> Booking:
    """The guest accepted the replacement: it is booked at the other property (source
    "tourist_office", by the normal path: still free, or the whole step fails), the original
    is cancelled and remembers where the guest went, and R12 is stored on an online booking:
    its commission stays due, the extra cost is charged to the host. Host and office get an
    e-mail saying who pays what; the other property's host gets the new booking."""
    _member(actor, prop, db, booking)
    stay = _stay_at(session, prop, booking, category_id)
    other, cat = stay.prop, stay.category
    online = conflicts.is_online(booking)
    extra = extra_cost(booking, stay.total)
    params = _offer_params(stay, booking)
    now = clock.now()
    new = Booking(
        property_id=other.id, category_id=cat.id, source="tourist_office", status="confirmed",
        arrival=booking.arrival, departure=booking.departure, units=booking.units, guests=booking.guests,
        guest_name=booking.guest_name, guest_email=booking.guest_email, guest_phone=booking.guest_phone,
        notes=booking.notes, created_by_id=actor.id, created_at=now, updated_at=now, total_price=stay.total,
    )
    new.price_breakdown = pricing.breakdown(session, other, cat, booking.arrival, booking.departure, booking.units,
                                            stay.total)
    pricing.check_total(new.total_price)
    with use_case(session) as uc:
        session.add(new)
        try:
            inventory.take(session, new)
        except Conflict as e:
            raise Conflict(_l("%(category)s at %(property)s is no longer free for the whole stay: choose another "
                              "replacement.", category=cat.name, property=other.name),
                           code="not_available", **e.details) from e
        audit.booking_event(session, new, "rehoused_from", actor, original=booking.id, property=prop.name)
        audit.record(session, actor, other, "booking_created", booking=new.id, guest=new.guest_name,
                     category=cat.name, arrival=new.arrival.isoformat(), departure=new.departure.isoformat())
        _cancel(session, actor, prop, db, booking, "rehoused")
        booking.rehoused_at_id = cat.id
        if online:  # R12
            booking.commission_kept = True
            booking.replacement_extra_cost = extra
        row = conflicts.record(session, db, actor, _step(db), "replacement_accepted", booking, new_booking=new.id,
                               commission_kept=online, **params)
        audit.booking_event(session, booking, "conflict_rehoused", actor, double_booking=db.id, new_booking=new.id,
                            commission_kept=online, **params)
        _mail_rehoused(session, prop, booking, new, stay, online, extra)
        _close(session, db, actor, "rehoused")
        uc.keep(db, row, booking, new, prop)
    return new


def _who_pays(prop: Property, online: bool, extra: Decimal | None) -> Message:
    if not online:
        return _l("It was an own booking: no commission is due, and the portal charges no extra cost.")
    if extra is None:
        return _l("R12: the commission on the original booking stays due. The booking had no price, so the extra "
                  "cost of the replacement could not be worked out: the tourist office settles it with you.")
    return _l("R12: the commission on the original booking stays due, and the extra cost of the replacement, "
              "%(extra)s, is charged to you.", extra=notify.Amount(extra, prop.currency))


def _mail_rehoused(session: Session, prop: Property, booking: Booking, new: Booking, stay: search.FreeStay,
                   online: bool, extra: Decimal | None) -> None:
    what = _l("%(guest)s (%(stay)s) has been rehoused at %(other)s, %(category)s, for %(total)s (booking #%(id)s "
              "there); the original booking is cancelled.", guest=booking.guest_name, stay=notify.stay(booking),
              other=stay.prop.name, category=stay.category.name, total=notify.Amount(stay.total, stay.prop.currency),
              id=new.id)
    body = Message("%(what)s\n\n%(pays)s", what=what, pays=_who_pays(prop, online, extra))
    subject = _l("Guest rehoused: %(guest)s", guest=booking.guest_name)
    notify.mail_host(session, prop, subject, body, booking=booking)
    _mail_office(session, prop, subject, body)
    notify.mail_host(session, stay.prop, _l("New booking by the tourist office: %(guest)s, %(stay)s",
                                            guest=new.guest_name, stay=notify.stay(new)),
                     _l("The tourist office booked %(category)s for %(guest)s (%(stay)s), %(total)s: a replacement for a "
                        "double booking elsewhere.", category=stay.category.name, guest=new.guest_name,
                        stay=notify.stay(new), total=notify.Amount(stay.total, stay.prop.currency)), booking=new)


# -- step 3: the tourist office ----------------------------------------------------------------

def hand_over(session: Session, actor: User, prop: Property, db: DoubleBooking, note: str = "") -> DoubleBooking:
    """Hand the double booking over to the tourist office, which rehouses and cancels (R13 (3))."""
    _open(actor, prop, db)
    if db.status == "handed_over":
        raise Conflict(_l("This double booking is with the tourist office already."), code="handed_over")
    note = _note(note)
    ranked = conflicts.rank(list(db.bookings))
    with use_case(session) as uc:
        now = clock.now()
        db.status, db.handed_over_at = "handed_over", now
        row = conflicts.record(session, db, actor, 3, "handed_over", note=note)
        for b in ranked:
            if b.occupies(now):
                audit.booking_event(session, b, "conflict_handed_over", actor, double_booking=db.id, note=note)
        lines = [Message("#%(id)s %(guest)s, %(stay)s, %(guests)s, %(contact)s", id=b.id, guest=b.guest_name,
                         stay=notify.stay(b), guests=b.guests,
                         contact=", ".join(x for x in (b.guest_email, b.guest_phone) if x) or "-")
                 for b in ranked if b.occupies(now)]
        _mail_office(session, prop, _l("Double booking handed over: %(category)s, %(first)s–%(last)s",
                                       category=db.category.name, first=db.first_night,
                                       last=db.last_night + dt.timedelta(days=1)),
                     _l("%(host)s hands this double booking over to you (R13 (3)): rehouse the guest who has to yield "
                        "and cancel the booking. Bookings involved, the first keeps the room:\n%(bookings)s\n\nNote: "
                        "%(note)s\n\nHost: %(host)s, %(phone)s, %(email)s", host=prop.owner.name,
                        bookings=Message.joined(lines, "\n"), note=note or "-", phone=prop.phone or "-",
                        email=prop.email or prop.owner.email))
        _close(session, db, actor)
        uc.keep(db, row, prop)
    return db


def office_queue(session: Session, actor: User) -> list[DoubleBooking]:
    """Open and handed-over double bookings of the office's properties, oldest first (staff see
    their office's, admins every office's). Four queries whatever the number."""
    access.require_staff(actor)
    q = (
        sa.select(DoubleBooking).join(Property, Property.id == DoubleBooking.property_id)
        .where(DoubleBooking.status.in_(conflicts.OPEN))
        .options(contains_eager(DoubleBooking.prop).joinedload(Property.owner), joinedload(DoubleBooking.category),
                 selectinload(DoubleBooking.bookings))
        .order_by(DoubleBooking.opened_at, DoubleBooking.id)
    )
    if actor.role != "admin":
        q = q.where(Property.office_id == actor.office_id)
    return list(session.scalars(q).unique())

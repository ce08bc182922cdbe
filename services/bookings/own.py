"""Own bookings (Eigenbelegungen, R2/R3): entered, changed and cancelled by the host."""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access
from services.availability import inventory, pricing
from services.core import audit, clock, inputs
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.core.i18n import _l
from services.availability.inventory import MAX_RANGE_DAYS
from services.availability.rates import mark_maintained
from services.bookings import cancelling
from services.office import terms as office_terms
from services.models import Booking, Occupancy, Property, RoomCategory, Unit, User


@dataclass
class OwnBookingData:
    category_id: int
    arrival: dt.date
    departure: dt.date
    guest_name: str
    units: int = 1
    guests: int = 1
    guest_email: str = ""
    guest_phone: str = ""
    notes: str = ""
    unit_id: int | None = None


def _validate(session: Session, prop: Property, data: OwnBookingData, is_new: bool) -> tuple[RoomCategory, OwnBookingData]:
    """The category and the data with its texts cleaned, or Invalid."""
    errors = {}
    data = dataclasses.replace(
        data, guest_name=inputs.line(data.guest_name, "guest_name", errors, required=_l("Enter the guest's name."),
                                     max_len=120),
        guest_email=inputs.line(data.guest_email, "guest_email", errors, max_len=254),
        guest_phone=inputs.line(data.guest_phone, "guest_phone", errors, max_len=40),
        notes=inputs.text(data.notes, "notes", errors, max_len=2000))
    if data.guest_email and "guest_email" not in errors and not inputs.EMAIL.match(data.guest_email):
        errors["guest_email"] = _l("Enter a valid e-mail address.")
    cat = session.get(RoomCategory, data.category_id)
    if cat is None or cat.property_id != prop.id:
        errors["category_id"] = _l("Choose a room category of this property.")
    inputs.stay(data.arrival, data.departure, errors, max_nights=MAX_RANGE_DAYS, too_long=inputs.TWO_YEARS,
                today=clock.today(prop.timezone) if is_new else None)
    if data.units < 1:
        errors["units"] = _l("At least one unit.")
    elif cat is not None and data.units > len(cat.units):
        errors["units"] = _l("This category has only %(n)s units.", n=len(cat.units))
    elif data.units > inputs.MAX_UNITS_PER_BOOKING:
        errors["units"] = _l("At most %(n)s units per booking: enter a larger group as several bookings.",
                             n=inputs.MAX_UNITS_PER_BOOKING)
    if data.guests < 1:
        errors["guests"] = _l("At least one guest.")
    elif cat is not None and data.guests > cat.max_guests * max(data.units, 1):
        errors["guests"] = _l("At most %(n)s guests fit.", n=cat.max_guests * max(data.units, 1))
    if data.unit_id is not None and cat is not None and data.unit_id not in {u.id for u in cat.units}:
        errors["unit_id"] = _l("Choose a unit of this room category.")
    if data.unit_id is not None and data.units != 1:
        errors["units"] = _l("A chosen unit takes exactly one unit.")
    if errors:
        raise Invalid(errors)
    return cat, data


def create_own_booking(session: Session, actor: User, prop: Property, data: OwnBookingData) -> Booking:
    access.check_property(actor, prop)
    cat, data = _validate(session, prop, data, is_new=True)
    total = pricing.quote(session, prop, cat, data.arrival, data.departure, data.units).total
    pricing.check_total(total)
    now = clock.now()
    booking = Booking(
        property_id=prop.id, category_id=cat.id, source="own", status="confirmed",
        arrival=data.arrival, departure=data.departure, units=data.units, guests=data.guests,
        guest_name=data.guest_name, guest_email=data.guest_email, guest_phone=data.guest_phone, notes=data.notes,
        created_by_id=actor.id, created_at=now, updated_at=now, total_price=total,
    )
    # R22: the deposit the host's terms ask for, due counted from the property's today.
    booking.deposit_amount, booking.deposit_due = office_terms.deposit(
        office_terms.of_property(session, prop), booking, clock.today(prop.timezone))
    with use_case(session) as uc:
        inventory.touch(session, prop.id)  # mark_maintained writes the property row: it first (one lock order, inventory)
        session.add(booking)
        inventory.take(session, booking, [data.unit_id] if data.unit_id else None)
        session.flush()
        mark_maintained(prop)
        audit.record(session, actor, prop, "booking_created", booking=booking.id, guest=booking.guest_name,
                     category=cat.name, arrival=data.arrival.isoformat(), departure=data.departure.isoformat())
        uc.keep(booking, prop, actor)  # the answer needs no query after the commit
    return booking


def get_booking(session: Session, actor: User, prop: Property, booking_id: int) -> Booking:
    access.check_property(actor, prop)
    return access.of_property(session, Booking, booking_id, prop.id, _l("No such booking."))


def editable_own_booking(session: Session, actor: User, prop: Property, booking_id: int) -> Booking:
    """An own booking that may still be changed: channel bookings and cancelled ones may not."""
    booking = get_booking(session, actor, prop, booking_id)
    if booking.source != "own":
        raise Conflict(_l("Only own bookings can be edited here."), code="not_own")
    if booking.status != "confirmed":
        raise Conflict(_l("A cancelled booking cannot be changed."), code="cancelled")
    return booking


def update_own_booking(session: Session, actor: User, prop: Property, booking_id: int, data: OwnBookingData) -> Booking:
    booking = editable_own_booking(session, actor, prop, booking_id)
    cat, data = _validate(session, prop, data, is_new=data.arrival != booking.arrival)
    total = pricing.quote(session, prop, cat, data.arrival, data.departure, data.units).total
    pricing.check_total(total)
    was = {"from_category": booking.category.name, "from_arrival": booking.arrival.isoformat(),
           "from_departure": booking.departure.isoformat()}
    booking.category_id, booking.arrival, booking.departure = cat.id, data.arrival, data.departure
    booking.units, booking.guests = data.units, data.guests
    booking.guest_name, booking.guest_email = data.guest_name, data.guest_email
    booking.guest_phone, booking.notes = data.guest_phone, data.notes
    booking.updated_at = clock.now()
    booking.total_price = total
    # Give the old nights back and take the new ones in the same transaction: if the new
    # stay cannot be had, the rollback restores the old one untouched.
    with use_case(session) as uc:
        inventory.touch(session, prop.id)  # mark_maintained writes the property row: it first (one lock order, inventory)
        inventory.release(session, booking)
        inventory.take(session, booking, [data.unit_id] if data.unit_id else None)
        mark_maintained(prop)
        audit.record(session, actor, prop, "booking_changed", booking=booking.id, guest=booking.guest_name, **was,
                     to_category=cat.name, to_arrival=data.arrival.isoformat(), to_departure=data.departure.isoformat())
        uc.keep(booking, prop, actor)
    return booking


def cancel_own_booking(session: Session, actor: User, prop: Property, booking_id: int) -> Booking:
    booking = get_booking(session, actor, prop, booking_id)
    if booking.source != "own":
        raise Conflict(_l("Only the channel can cancel this booking."), code="not_own")
    if booking.status == "cancelled":
        return booking
    with use_case(session) as uc:
        inventory.touch(session, prop.id)  # mark_maintained writes the property row: it first (one lock order, inventory)
        cancelling.cancel_stay(session, booking, "host")  # nights released, room-nights cancelled (issue 10)
        # R21: the fee the host's terms give for today, which the host may edit on the booking.
        booking.cancellation_fee = office_terms.proposed_fee(office_terms.of_property(session, prop), booking,
                                                            clock.today(prop.timezone))
        mark_maintained(prop)
        audit.record(session, actor, prop, "booking_cancelled", booking=booking.id, guest=booking.guest_name)
        uc.keep(booking, prop, actor)
    return booking


def units_of(session: Session, booking: Booking) -> list[str]:
    return list(session.scalars(
        sa.select(Unit.name).join(Occupancy, Occupancy.unit_id == Unit.id)
        .where(Occupancy.booking_id == booking.id).distinct().order_by(Unit.name)
    ))


def set_deposit(session: Session, actor: User, prop: Property, booking_id: int, amount: Decimal | None,
                due: dt.date | None) -> Booking:
    """R22: a deposit agreed with the guest (amount and due date), or none."""
    b = get_booking(session, actor, prop, booking_id)
    errors = {}
    cents = None if amount is None else inputs.amount(amount)
    if amount is not None and (cents is None or cents > inputs.MAX_MONEY):
        errors["deposit_amount"] = _l("Enter an amount from 0 to %(max)s.", max=inputs.MAX_MONEY)
    elif inputs.more_than_cents(amount):
        errors["deposit_amount"] = inputs.TWO_DECIMALS
    elif cents is not None and b.total_price is not None and cents > b.total_price:
        errors["deposit_amount"] = _l("Enter an amount from 0 to the total price.")
    if amount is not None and due is None:
        errors["deposit_due"] = _l("Enter the date the deposit is due.")
    if errors:
        raise Invalid(errors)
    with use_case(session) as uc:
        amount = cents
        was = {"from_amount": None if b.deposit_amount is None else str(b.deposit_amount),
               "from_due": b.deposit_due.isoformat() if b.deposit_due else None}
        b.deposit_amount, b.deposit_due = amount, due if amount is not None else None
        b.updated_at = clock.now()
        if amount is not None:
            audit.booking_event(session, b, "deposit", actor, amount=str(amount), currency=prop.currency, due=due.isoformat())
        else:
            audit.booking_event(session, b, "deposit_removed", actor)
        audit.record(session, actor, prop, "deposit_set", booking=b.id, guest=b.guest_name, currency=prop.currency, **was,
                     to_amount=None if amount is None else str(amount), to_due=due.isoformat() if amount is not None else None)
        uc.keep(b, actor)
    return b

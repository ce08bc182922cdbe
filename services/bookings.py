"""Own bookings (Eigenbelegungen, R2/R3) and the final price with mandatory costs (R4)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services import access, audit, clock, inputs, inventory
from services.db import use_case
from services.errors import Conflict, Invalid, NotFound
from services.i18n import _l
from services.inventory import MAX_RANGE_DAYS
from services.models import Booking, NightRate, Property, RoomCategory, User


@dataclass
class Quote:
    """Nightly prices plus mandatory costs: what the guest pays in the end (R4)."""

    nights: int
    units: int
    lodging: Decimal | None  # None when a night has no price
    extras: list[tuple[str, Decimal]] = field(default_factory=list)

    @property
    def extras_total(self) -> Decimal:
        return sum((a for _, a in self.extras), Decimal("0.00"))

    @property
    def total(self) -> Decimal | None:
        return None if self.lodging is None else self.lodging + self.extras_total


def extras_for(prop: Property, category_id: int, nights: int, units: int) -> list[tuple[str, Decimal]]:
    out = []
    for cost in prop.extra_costs:
        if cost.category_id not in (None, category_id):
            continue
        amount = cost.amount * (nights if cost.per == "night" else 1) * units
        out.append((cost.name, amount.quantize(Decimal("0.01"))))
    return out


def final_price(prop: Property, category_id: int, nightly: Decimal | None, nights: int = 1) -> Decimal | None:
    """The price a guest sees for `nights` nights at `nightly`, mandatory costs included."""
    if nightly is None:
        return None
    return nightly * nights + sum((a for _, a in extras_for(prop, category_id, nights, 1)), Decimal("0.00"))


def check_total(total: Decimal | None, field: str = "departure") -> None:
    """Refuse a total its column cannot hold. The input bounds (services.inputs) keep every stay
    of up to MAX_NIGHTS nights inside it; a longer one, or prices stored before the bounds, may not be."""
    if total is not None and total > inputs.MAX_TOTAL:
        raise Invalid({field: _l("The total of this stay (%(total)s) is more than a booking can hold (%(max)s): "
                                 "enter it as several bookings.", total=total, max=inputs.MAX_TOTAL)})


def quote(session: Session, prop: Property, category: RoomCategory, arrival: dt.date, departure: dt.date, units: int = 1) -> Quote:
    prices = session.scalars(
        sa.select(NightRate.price).where(
            NightRate.category_id == category.id, NightRate.night >= arrival, NightRate.night < departure
        )
    ).all()
    n = (departure - arrival).days
    lodging = None if len(prices) < n or any(p is None for p in prices) else sum(prices, Decimal("0.00")) * units
    return Quote(n, units, lodging, extras_for(prop, category.id, n, units))


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
    total = quote(session, prop, cat, data.arrival, data.departure, data.units).total
    check_total(total)
    now = clock.now()
    booking = Booking(
        property_id=prop.id, category_id=cat.id, source="own", status="confirmed",
        arrival=data.arrival, departure=data.departure, units=data.units, guests=data.guests,
        guest_name=data.guest_name, guest_email=data.guest_email, guest_phone=data.guest_phone, notes=data.notes,
        created_by_id=actor.id, created_at=now, updated_at=now, total_price=total,
    )
    with use_case(session) as uc:
        session.add(booking)
        inventory.take(session, booking, [data.unit_id] if data.unit_id else None)
        session.flush()
        audit.record(session, actor, prop, "booking_created",
                     f"#{booking.id} {booking.guest_name}, {cat.name}, {data.arrival.isoformat()}–{data.departure.isoformat()}")
        uc.keep(booking, prop, actor)  # the answer needs no query after the commit
    return booking


def get_booking(session: Session, actor: User, prop: Property, booking_id: int) -> Booking:
    access.check_property(actor, prop)
    booking = session.get(Booking, booking_id)
    if booking is None or booking.property_id != prop.id:
        raise NotFound(_l("No such booking."))
    return booking


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
    total = quote(session, prop, cat, data.arrival, data.departure, data.units).total
    check_total(total)
    booking.category_id, booking.arrival, booking.departure = cat.id, data.arrival, data.departure
    booking.units, booking.guests = data.units, data.guests
    booking.guest_name, booking.guest_email = data.guest_name, data.guest_email
    booking.guest_phone, booking.notes = data.guest_phone, data.notes
    booking.updated_at = clock.now()
    booking.total_price = total
    # Give the old nights back and take the new ones in the same transaction: if the new
    # stay cannot be had, the rollback restores the old one untouched.
    with use_case(session) as uc:
        inventory.release(session, booking)
        inventory.take(session, booking, [data.unit_id] if data.unit_id else None)
        audit.record(session, actor, prop, "booking_changed",
                     f"#{booking.id} {booking.guest_name}, {cat.name}, {data.arrival.isoformat()}–{data.departure.isoformat()}")
        uc.keep(booking, prop, actor)
    return booking


def cancel_own_booking(session: Session, actor: User, prop: Property, booking_id: int) -> Booking:
    booking = get_booking(session, actor, prop, booking_id)
    if booking.source != "own":
        raise Conflict(_l("Only the channel can cancel this booking."), code="not_own")
    if booking.status == "cancelled":
        return booking
    with use_case(session) as uc:
        booking.status = "cancelled"
        booking.updated_at = clock.now()
        inventory.release(session, booking)
        audit.record(session, actor, prop, "booking_cancelled", f"#{booking.id} {booking.guest_name}")
        uc.keep(booking, prop, actor)
    return booking


def units_of(session: Session, booking: Booking) -> list[str]:
    from services.models import Occupancy, Unit

    return list(session.scalars(
        sa.select(Unit.name).join(Occupancy, Occupancy.unit_id == Unit.id)
        .where(Occupancy.booking_id == booking.id).distinct().order_by(Unit.name)
    ))

"""Own bookings (Eigenbelegungen, R2/R3) and the final price with mandatory costs (R4)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services import access, audit, clock, inventory
from services.errors import Conflict, Invalid, NotFound
from services.i18n import _l
from services.inventory import MAX_RANGE_DAYS
from services.models import Booking, ExtraCost, NightRate, Property, RoomCategory, User


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


def _validate(session: Session, prop: Property, data: OwnBookingData, is_new: bool) -> RoomCategory:
    errors = {}
    cat = session.get(RoomCategory, data.category_id)
    if cat is None or cat.property_id != prop.id:
        errors["category_id"] = _l("Choose a room category of this property.")
    today = clock.today(prop.timezone)
    if is_new and data.arrival < today:
        errors["arrival"] = _l("The arrival cannot be in the past.")
    if data.departure <= data.arrival:
        errors["departure"] = _l("The departure must be after the arrival.")
    elif (data.departure - data.arrival).days > MAX_RANGE_DAYS:
        errors["departure"] = _l("A stay can last at most two years.")
    if not data.guest_name.strip():
        errors["guest_name"] = _l("Enter the guest's name.")
    if data.units < 1:
        errors["units"] = _l("At least one unit.")
    elif cat is not None and data.units > len(cat.units):
        errors["units"] = _l("This category has only %(n)s units.", n=len(cat.units))
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
    return cat


def create_own_booking(session: Session, actor: User, prop: Property, data: OwnBookingData) -> Booking:
    access.check_property(actor, prop)
    cat = _validate(session, prop, data, is_new=True)
    now = clock.now()
    booking = Booking(
        property_id=prop.id, category_id=cat.id, source="own", status="confirmed",
        arrival=data.arrival, departure=data.departure, units=data.units, guests=data.guests,
        guest_name=data.guest_name.strip(), guest_email=data.guest_email.strip(),
        guest_phone=data.guest_phone.strip(), notes=data.notes.strip(),
        created_by_id=actor.id, created_at=now, updated_at=now,
    )
    booking.total_price = quote(session, prop, cat, data.arrival, data.departure, data.units).total
    session.add(booking)
    try:
        inventory.take(session, booking, [data.unit_id] if data.unit_id else None)
    except Conflict:
        session.rollback()
        raise
    session.flush()
    audit.record(session, actor, prop, "booking_created",
                 f"#{booking.id} {booking.guest_name}, {cat.name}, {data.arrival.isoformat()}–{data.departure.isoformat()}")
    session.commit()
    return booking


def get_booking(session: Session, actor: User, prop: Property, booking_id: int) -> Booking:
    access.check_property(actor, prop)
    booking = session.get(Booking, booking_id)
    if booking is None or booking.property_id != prop.id:
        raise NotFound(_l("No such booking."))
    return booking


def update_own_booking(session: Session, actor: User, prop: Property, booking_id: int, data: OwnBookingData) -> Booking:
    booking = get_booking(session, actor, prop, booking_id)
    if booking.source != "own":
        raise Conflict(_l("Only own bookings can be edited here."), code="not_own")
    if booking.status != "confirmed":
        raise Conflict(_l("A cancelled booking cannot be changed."), code="cancelled")
    cat = _validate(session, prop, data, is_new=data.arrival != booking.arrival)
    booking.category_id, booking.arrival, booking.departure = cat.id, data.arrival, data.departure
    booking.units, booking.guests = data.units, data.guests
    booking.guest_name, booking.guest_email = data.guest_name.strip(), data.guest_email.strip()
    booking.guest_phone, booking.notes = data.guest_phone.strip(), data.notes.strip()
    booking.updated_at = clock.now()
    booking.total_price = quote(session, prop, cat, data.arrival, data.departure, data.units).total
    # Give the old nights back and take the new ones in the same transaction: if the new
    # stay cannot be had, the rollback restores the old one untouched.
    inventory.release(session, booking)
    try:
        inventory.take(session, booking, [data.unit_id] if data.unit_id else None)
    except Conflict:
        session.rollback()
        raise
    audit.record(session, actor, prop, "booking_changed",
                 f"#{booking.id} {booking.guest_name}, {cat.name}, {data.arrival.isoformat()}–{data.departure.isoformat()}")
    session.commit()
    return booking


def cancel_own_booking(session: Session, actor: User, prop: Property, booking_id: int) -> Booking:
    booking = get_booking(session, actor, prop, booking_id)
    if booking.source != "own":
        raise Conflict(_l("Only the channel can cancel this booking."), code="not_own")
    if booking.status == "cancelled":
        return booking
    booking.status = "cancelled"
    booking.updated_at = clock.now()
    inventory.release(session, booking)
    audit.record(session, actor, prop, "booking_cancelled", f"#{booking.id} {booking.guest_name}")
    session.commit()
    return booking


def units_of(session: Session, booking: Booking) -> list[str]:
    from services.models import Occupancy, Unit

    return list(session.scalars(
        sa.select(Unit.name).join(Occupancy, Occupancy.unit_id == Unit.id)
        .where(Occupancy.booking_id == booking.id).distinct().order_by(Unit.name)
    ))

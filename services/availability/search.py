"""The tourist office's availability search: which room categories of its properties are free
for a whole stay, and what the stay costs there (R4). Step 2 of a double booking (R13) offers
its results as replacements; the public search of a later issue reuses it as it is.

Free means what inventory.take would accept from an online channel: on every night at least
`units` available (inventory.Night.available: quota left, free units, open, priced), arrival
and departure allowed, the stay within the arrival night's minimum and maximum stay, and room
for the guests. The number of queries does not depend on the number of properties or nights:
the categories come with their properties and mandatory costs in two queries, their nights
in inventory.nights_for's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager

from services.availability import inventory, pricing
from services.models import Property, RoomCategory


@dataclass
class FreeStay:
    """One room category free for the whole stay, with its final price (R4)."""

    prop: Property
    category: RoomCategory
    arrival: dt.date
    departure: dt.date
    units: int
    available: int  # the fewest units available on any night of the stay
    lodging: Decimal
    extras: list[tuple[str, Decimal]] = field(default_factory=list)

    @property
    def nights(self) -> int:
        return (self.departure - self.arrival).days

    @property
    def extras_total(self) -> Decimal:
        return sum((a for _, a in self.extras), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        """The final price of the stay: nightly prices plus mandatory costs."""
        return self.lodging + self.extras_total


def candidates(session: Session, office_id: int, guests: int, units: int,
               exclude_property_id: int | None = None, kind: str | None = None,
               min_max_guests: int | None = None) -> list[RoomCategory]:
    """The categories of the office's properties under an active contract that hold `guests`
    in `units` units (and, when given, are of `kind` and sleep at least `min_max_guests` per
    unit); each with its property and the property's mandatory costs loaded."""
    q = (
        sa.select(RoomCategory)
        .join(Property, Property.id == RoomCategory.property_id)
        .where(Property.office_id == office_id, Property.contract_active_since.is_not(None),
               RoomCategory.max_guests * units >= guests)
        .options(contains_eager(RoomCategory.prop).selectinload(Property.extra_costs))
        .order_by(Property.name, Property.id, RoomCategory.position, RoomCategory.id)
    )
    if exclude_property_id is not None:
        q = q.where(Property.id != exclude_property_id)
    if kind is not None:
        q = q.where(RoomCategory.kind == kind)
    if min_max_guests is not None:
        q = q.where(RoomCategory.max_guests >= min_max_guests)
    return list(session.scalars(q).unique())


def free_stays(session: Session, office_id: int, arrival: dt.date, departure: dt.date, guests: int,
               units: int = 1, exclude_property_id: int | None = None, kind: str | None = None,
               min_max_guests: int | None = None) -> list[FreeStay]:
    """The office's room categories free for the whole stay [arrival, departure) for `guests`
    guests in `units` units, cheapest first (then by property and category). `kind` and
    `min_max_guests` narrow the categories (the public search's filters)."""
    if departure <= arrival or units < 1 or guests < 1:
        return []
    cats = candidates(session, office_id, guests, units, exclude_property_id, kind, min_max_guests)
    if not cats:
        return []
    ids = [c.id for c in cats]
    nights = inventory.nights_of(arrival, departure)
    # The departure night too: its "no departure" restriction belongs to the stay.
    figures = inventory.nights_for(session, ids, arrival, departure + dt.timedelta(days=1))
    found = []
    for cat in cats:
        days = figures[cat.id]
        first, last = days[arrival], days[departure]
        if any(days[n].available < units for n in nights):
            continue
        if first.closed_to_arrival or len(nights) < first.min_stay:
            continue
        if first.max_stay is not None and len(nights) > first.max_stay:
            continue
        if last.has_rate and last.closed_to_departure:
            continue
        lodging = sum((days[n].price for n in nights), Decimal("0.00")) * units
        found.append(FreeStay(
            prop=cat.prop, category=cat, arrival=arrival, departure=departure, units=units,
            available=min(days[n].available for n in nights), lodging=lodging,
            extras=pricing.extras_for(cat.prop, cat.id, len(nights), units),
        ))
    found.sort(key=lambda f: f.total)  # stable: property and category order within a price
    return found

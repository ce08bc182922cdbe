"""Prices (R4): nightly prices plus mandatory costs make the final price a guest pays.

The calendar, the API's availability, own bookings and channel reservations all price here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.core import inputs
from services.core.errors import Invalid
from services.core.i18n import _l
from services.models import NightRate, Property, RoomCategory


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
    """Refuse a total its column cannot hold. The input bounds (services.core.inputs) keep every stay
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


def breakdown(session: Session, prop: Property, cat: RoomCategory, arrival: dt.date, departure: dt.date, units: int,
              total: Decimal | None) -> dict:
    """The price as agreed, kept with a channel booking: lodging, each mandatory cost, and the
    total (the channel's own total when it sent one)."""
    q = quote(session, prop, cat, arrival, departure, units)
    computed = q.total
    return {
        "lodging": None if q.lodging is None else str(q.lodging),
        "extras": [{"name": n, "amount": str(a)} for n, a in q.extras],
        "total": str(total if total is not None else computed) if (total is not None or computed is not None) else None,
    }

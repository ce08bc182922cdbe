"""Editing quotas, prices and restrictions (R1): one night, or a range in bulk."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.accounts import access
from services.core import clock, inputs
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.core.i18n import Message, _l
from services.availability import undo
from services.channels import ari
from services.availability.inventory import (MAX_RANGE_DAYS, bookings_on, counts_against_quota, in_range, nights_of,
                                              occupying, touch)
from services.models import Booking, NightRate, Occupancy, Property, RoomCategory, Unit, User

FIELDS = ("price", "quota", "min_stay", "max_stay", "closed", "closed_to_arrival", "closed_to_departure")
MAX_STAY_LIMIT = 365  # the longest minimum or maximum stay a night can ask for


@dataclass
class RateChange:
    """The values to set; None leaves a field as it is. The maximum stay is nullable in the
    table (no limit): `clear_max_stay` removes it (with max_stay left None)."""

    price: Decimal | None = None
    quota: int | None = None
    min_stay: int | None = None
    max_stay: int | None = None
    closed: bool | None = None
    closed_to_arrival: bool | None = None
    closed_to_departure: bool | None = None
    clear_max_stay: bool = False

    def values(self) -> dict:
        out = {f: getattr(self, f) for f in FIELDS if getattr(self, f) is not None}
        if self.clear_max_stay and self.max_stay is None:
            out["max_stay"] = None
        return out


class UnusualPrice(Invalid):
    """A price far from the category's usual ones: saved only when the caller confirms it
    (`confirm_price=True`); the message is the question to ask."""

    code = "confirm_price"


# Sanity rule for prices (a typo like 8900 for 89.00): a price more than OUTLIER_FACTOR times
# the category's median price from today on, or less than that median divided by the factor,
# needs confirmation. A category without any price from today on has no median: then a price
# above UNPRICED_CEILING (per currency; 1,000 where not listed) needs it.
OUTLIER_FACTOR = 3
UNPRICED_CEILING = {"CZK": Decimal("25000"), "HUF": Decimal("400000"), "PLN": Decimal("4000")}
DEFAULT_CEILING = Decimal("1000")


def median_price(session: Session, category_id: int, today: dt.date) -> Decimal | None:
    """The median of a category's prices from today on (None: no price set yet)."""
    prices = sorted(session.scalars(
        sa.select(NightRate.price).where(NightRate.category_id == category_id, NightRate.night >= today,
                                         NightRate.price.is_not(None))
    ))
    if not prices:
        return None
    mid = len(prices) // 2
    return prices[mid] if len(prices) % 2 else (prices[mid - 1] + prices[mid]) / 2


def _check_usual_price(session: Session, prop: Property, categories: list[RoomCategory], price: Decimal | None,
                       today: dt.date) -> None:
    """Raise UnusualPrice when `price` is far outside the rule above for one of the categories."""
    if price is None:
        return
    for cat in categories:
        median = median_price(session, cat.id, today)
        if median:
            if price > median * OUTLIER_FACTOR or price * OUTLIER_FACTOR < median:
                raise UnusualPrice({"price": _l(
                    "%(price)s is far from the usual price of %(category)s (median from today on: %(median)s). "
                    "Save anyway?", price=price, category=cat.name, median=median.quantize(Decimal("0.01")))})
        else:
            ceiling = UNPRICED_CEILING.get(prop.currency, DEFAULT_CEILING)
            if price > ceiling:
                raise UnusualPrice({"price": _l(
                    "%(price)s is more than %(ceiling)s a night, and %(category)s has no prices yet. Save anyway?",
                    price=price, ceiling=ceiling, category=cat.name)})


def _validate(change: RateChange, max_units: int) -> None:
    errors = {}
    if change.price is not None:
        if not isinstance(change.price, Decimal) or not change.price.is_finite() or change.price < 0:
            errors["price"] = _l("The price cannot be negative.")
        elif inputs.more_than_cents(change.price):
            errors["price"] = inputs.TWO_DECIMALS
        elif change.price > inputs.MAX_NIGHT_PRICE:
            # Bounded so that the largest booking's total fits its column (services.core.inputs).
            errors["price"] = _l("The price can be at most %(max)s.", max=inputs.MAX_NIGHT_PRICE)
    if change.quota is not None and change.quota < 0:
        errors["quota"] = _l("The quota cannot be negative.")
    elif change.quota is not None and change.quota > max_units:
        errors["quota"] = _l("The quota cannot exceed the %(n)s physical units.", n=max_units)
    if change.min_stay is not None and not 1 <= change.min_stay <= MAX_STAY_LIMIT:
        errors["min_stay"] = _l("Minimum stay must be between 1 and 365 nights.")
    if change.max_stay is not None:
        if change.clear_max_stay:
            errors["max_stay"] = _l("Either set a maximum stay or remove it, not both.")
        elif not 1 <= change.max_stay <= MAX_STAY_LIMIT:
            errors["max_stay"] = _l("Maximum stay must be between 1 and 365 nights.")
        elif change.min_stay is not None and "min_stay" not in errors and change.max_stay < change.min_stay:
            errors["max_stay"] = _l("The maximum stay cannot be shorter than the minimum stay (%(n)s nights).",
                                    n=change.min_stay)
    if errors:
        raise Invalid(errors)


def _check_quota_not_below_sold(session: Session, categories: list[RoomCategory], nights: list[dt.date], quota: int) -> None:
    """Refuse to offer fewer units than online bookings already hold, naming them."""
    now = clock.now()
    rows = session.execute(
        sa.select(Occupancy.category_id, Occupancy.night, sa.func.count(Occupancy.id))
        .join(Booking, Booking.id == Occupancy.booking_id)
        .where(
            in_range([c.id for c in categories], min(nights), max(nights) + dt.timedelta(days=1)),
            Occupancy.night.in_(nights), occupying(now), counts_against_quota(),
        )
        .group_by(Occupancy.category_id, Occupancy.night)
        .having(sa.func.count(Occupancy.id) > quota)
    ).all()
    if not rows:
        return
    cid = rows[0][0]
    bad = sorted(n for c, n, _ in rows if c == cid)
    names = Message.joined([Message("#%(id)s %(guest)s (%(arrival)s–%(departure)s)", id=b.id, guest=b.guest_name,
                                    arrival=b.arrival, departure=b.departure)
                            for b in bookings_on(session, cid, bad)[:5]])  # dates in the reader's format
    raise Conflict(
        _l("The quota cannot go below what is already sold online. In the way: %(bookings)s", bookings=names),
        code="quota_below_booked", nights=bad,
    )


def _lock(session: Session, prop: Property, categories: list[RoomCategory]) -> None:
    """A rate edit's locks, before it reads what is sold: the property row (mark_maintained writes
    it, so it comes first in the one lock order, services.availability.inventory), then the edited
    categories' rows, which holds off their bookings until the edit commits (a quota is never
    lowered below a sale made meanwhile)."""
    touch(session, prop.id, [c.id for c in categories])


def _upsert(session: Session, rows: list[dict], values: dict) -> None:
    property_id = session.get(RoomCategory, rows[0]["category_id"]).property_id  # locked before (_lock)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(NightRate)
    stmt = stmt.on_conflict_do_update(
        index_elements=[NightRate.category_id, NightRate.night],
        set_={k: stmt.excluded[k] for k in values},
    )
    session.execute(stmt, rows)
    ari.changed_pairs(session, property_id, ((r["category_id"], r["night"]) for r in rows))  # pushed to channels


def _new_row(cat_id: int, night: dt.date, units: int, values: dict) -> dict:
    # A night edited for the first time offers every unit unless told otherwise.
    row = {"category_id": cat_id, "night": night, "quota": units, "price": None, "min_stay": 1, "max_stay": None,
           "closed": False, "closed_to_arrival": False, "closed_to_departure": False}
    row.update(values)
    return row


def _check_dates(start: dt.date, end: dt.date, today: dt.date, start_field: str = "start", end_field: str = "end") -> None:
    """A range of nights [start, end) to edit: the stay rules (inputs.stay), worded for rates."""
    errors = {}
    inputs.stay(start, end, errors, max_nights=MAX_RANGE_DAYS, today=today, fields=(start_field, end_field),
                past=_l("Nights in the past cannot be changed."), order=_l("The end must be after the start."),
                too_long=_l("A range can span at most two years."))
    if errors:
        raise Invalid(errors)


def mark_maintained(prop: Property) -> None:
    """The plan was maintained now (the office's home shows when): every use case that edits
    quotas, prices, restrictions or own bookings calls it inside its transaction."""
    prop.calendar_maintained_at = clock.now()


def night_rate(session: Session, cat: RoomCategory, night: dt.date) -> NightRate | None:
    """What is set for one night of a category (None: nothing yet, not for sale)."""
    return session.get(NightRate, (cat.id, night))


def set_night(session: Session, actor: User, prop: Property, category: RoomCategory, night: dt.date, change: RateChange,
              confirm_price: bool = False) -> NightRate:
    """Set one night; an unusual price (see OUTLIER_FACTOR) raises UnusualPrice unless `confirm_price`."""
    access.check_property(actor, prop)
    today = clock.today(prop.timezone)
    _check_dates(night, night + dt.timedelta(days=1), today, "night", "night")
    units = len(category.units)
    _validate(change, units)
    if not confirm_price:
        _check_usual_price(session, prop, [category], change.price, today)
    with use_case(session):
        _lock(session, prop, [category])
        values = change.values()
        if change.quota is not None:
            _check_quota_not_below_sold(session, [category], [night], change.quota)
        before = undo.snapshot(session, [category.id], [night])
        _upsert(session, [_new_row(category.id, night, units, values)], values)
        undo.record_edit(session, actor, prop, "rates", [category], [night], before)
        mark_maintained(prop)
    return session.get(NightRate, (category.id, night), populate_existing=True)


def bulk_edit(
    session: Session, actor: User, prop: Property, categories: list[RoomCategory],
    start: dt.date, end: dt.date, weekdays: set[int], change: RateChange, confirm_price: bool = False,
) -> int:
    """Set `change` on every night in [start, end] (inclusive) whose weekday (0=Mon) is chosen.
    An unusual price raises UnusualPrice unless `confirm_price`."""
    access.check_property(actor, prop)
    errors = {}
    if not categories:
        errors["categories"] = _l("Choose at least one room category.")
    if not weekdays:
        errors["weekdays"] = _l("Choose at least one weekday.")
    if not change.values():
        errors["price"] = _l("Set at least one value to change.")
    if errors:
        raise Invalid(errors)
    if end >= dt.date.max:  # no day after it to end the range (OverflowError otherwise)
        raise Invalid({"end": _l("A range can span at most two years.")})
    _check_dates(start, end + dt.timedelta(days=1), clock.today(prop.timezone))
    unit_counts = dict(session.execute(
        sa.select(Unit.category_id, sa.func.count(Unit.id))
        .where(Unit.category_id.in_([c.id for c in categories])).group_by(Unit.category_id)
    ).all())
    _validate(change, min(unit_counts.get(c.id, 0) for c in categories))
    nights = [n for n in nights_of(start, end + dt.timedelta(days=1)) if n.weekday() in weekdays]
    if not nights:
        raise Invalid({"weekdays": _l("None of the chosen weekdays falls in this range.")})
    if not confirm_price:
        _check_usual_price(session, prop, categories, change.price, clock.today(prop.timezone))
    with use_case(session):
        _lock(session, prop, categories)
        values = change.values()
        if change.quota is not None:
            _check_quota_not_below_sold(session, categories, nights, change.quota)
        rows = [_new_row(c.id, n, unit_counts.get(c.id, 0), values) for c in categories for n in nights]
        before = undo.snapshot(session, [c.id for c in categories], nights)
        _upsert(session, rows, values)
        undo.record_edit(session, actor, prop, "rates_bulk", categories, nights, before,
                         start=start.isoformat(), end=end.isoformat(), weekdays=sorted(weekdays))
        mark_maintained(prop)
    return len(rows)


"""Editing quotas, prices and restrictions (R1): one night, or a range in bulk."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.accounts import access
from services.core import audit, clock, inputs
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.core.i18n import _l
from services.availability.inventory import MAX_RANGE_DAYS, bookings_on, counts_against_quota, nights_of, occupying, touch
from services.models import Booking, NightRate, Occupancy, Property, RoomCategory, Unit, User

FIELDS = ("price", "quota", "min_stay", "closed", "closed_to_arrival", "closed_to_departure")


@dataclass
class RateChange:
    """The values to set; None leaves a field as it is."""

    price: Decimal | None = None
    quota: int | None = None
    min_stay: int | None = None
    closed: bool | None = None
    closed_to_arrival: bool | None = None
    closed_to_departure: bool | None = None

    def values(self) -> dict:
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f) is not None}


def _validate(change: RateChange, max_units: int) -> None:
    errors = {}
    if change.price is not None:
        if not isinstance(change.price, Decimal) or not change.price.is_finite() or change.price < 0:
            errors["price"] = _l("The price cannot be negative.")
        elif change.price > inputs.MAX_NIGHT_PRICE:
            # Bounded so that the largest booking's total fits its column (services.core.inputs).
            errors["price"] = _l("The price can be at most %(max)s.", max=inputs.MAX_NIGHT_PRICE)
    if change.quota is not None and change.quota < 0:
        errors["quota"] = _l("The quota cannot be negative.")
    elif change.quota is not None and change.quota > max_units:
        errors["quota"] = _l("The quota cannot exceed the %(n)s physical units.", n=max_units)
    if change.min_stay is not None and not 1 <= change.min_stay <= 365:
        errors["min_stay"] = _l("Minimum stay must be between 1 and 365 nights.")
    if errors:
        raise Invalid(errors)


def _check_quota_not_below_sold(session: Session, categories: list[RoomCategory], nights: list[dt.date], quota: int) -> None:
    """Refuse to offer fewer units than online bookings already hold, naming them."""
    now = clock.now()
    rows = session.execute(
        sa.select(Booking.category_id, Occupancy.night, sa.func.count(Occupancy.id))
        .join(Booking, Booking.id == Occupancy.booking_id)
        .where(
            Booking.category_id.in_([c.id for c in categories]), Occupancy.night.in_(nights),
            occupying(now), counts_against_quota(),
        )
        .group_by(Booking.category_id, Occupancy.night)
        .having(sa.func.count(Occupancy.id) > quota)
    ).all()
    if not rows:
        return
    cid = rows[0][0]
    bad = sorted(n for c, n, _ in rows if c == cid)
    names = ", ".join(
        f"#{b.id} {b.guest_name} ({b.arrival:%d.%m.}–{b.departure:%d.%m.})" for b in bookings_on(session, cid, bad)[:5]
    )
    raise Conflict(
        _l("The quota cannot go below what is already sold online. In the way: %(bookings)s", bookings=names),
        code="quota_below_booked", nights=bad,
    )


def _upsert(session: Session, rows: list[dict], values: dict) -> None:
    touch(session, session.get(RoomCategory, rows[0]["category_id"]).property_id)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(NightRate)
    stmt = stmt.on_conflict_do_update(
        index_elements=[NightRate.category_id, NightRate.night],
        set_={k: stmt.excluded[k] for k in values},
    )
    session.execute(stmt, rows)


def _new_row(cat_id: int, night: dt.date, units: int, values: dict) -> dict:
    # A night edited for the first time offers every unit unless told otherwise.
    row = {"category_id": cat_id, "night": night, "quota": units, "price": None, "min_stay": 1,
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


def night_rate(session: Session, cat: RoomCategory, night: dt.date) -> NightRate | None:
    """What is set for one night of a category (None: nothing yet, not for sale)."""
    return session.get(NightRate, (cat.id, night))


def set_night(session: Session, actor: User, prop: Property, category: RoomCategory, night: dt.date, change: RateChange) -> NightRate:
    access.check_property(actor, prop)
    _check_dates(night, night + dt.timedelta(days=1), clock.today(prop.timezone), "night", "night")
    units = len(category.units)
    _validate(change, units)
    with use_case(session):
        values = change.values()
        if change.quota is not None:
            _check_quota_not_below_sold(session, [category], [night], change.quota)
        _upsert(session, [_new_row(category.id, night, units, values)], values)
        audit.record(session, actor, prop, "rates", f"{category.name} {night.isoformat()}: " + _describe(values))
    return session.get(NightRate, (category.id, night), populate_existing=True)


def bulk_edit(
    session: Session, actor: User, prop: Property, categories: list[RoomCategory],
    start: dt.date, end: dt.date, weekdays: set[int], change: RateChange,
) -> int:
    """Set `change` on every night in [start, end] (inclusive) whose weekday (0=Mon) is chosen."""
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
    with use_case(session):
        values = change.values()
        if change.quota is not None:
            _check_quota_not_below_sold(session, categories, nights, change.quota)
        rows = [_new_row(c.id, n, unit_counts.get(c.id, 0), values) for c in categories for n in nights]
        _upsert(session, rows, values)
        audit.record(
            session, actor, prop, "rates_bulk",
            f"{', '.join(c.name for c in categories)} {start.isoformat()}–{end.isoformat()} "
            f"({len(nights)} nights): " + _describe(values),
        )
    return len(rows)


def _describe(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())

"""Inventory: THE function that takes nights (`take`), availability, and rate rows.

available(night) = min(quota - sold_online, units - occupied), 0 when closed; see the
README's architecture section for why online bookings count against the quota and own
bookings only against free units. `take` is the only code that writes Occupancy rows.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.accounts import access
from services.core import clock
from services.core.errors import Conflict
from services.core.i18n import _l
from services.availability import pricing
from services.bookings import ledger
from services.models import QUOTA_FREE_SOURCES, Booking, NightRate, Occupancy, Property, RoomCategory, RoomNight, Unit

MAX_RANGE_DAYS = 731  # two years


def touch(session: Session, property_id: int) -> None:
    """Mark the property's availability as changed. Called first in every writing use case,
    so that the property row is always locked before rate rows (one lock order, no deadlock)."""
    session.execute(
        sa.update(Property).where(Property.id == property_id)
        .values(inventory_version=Property.inventory_version + 1)
        .execution_options(synchronize_session=False)
    )


def nights_of(arrival: dt.date, departure: dt.date) -> list[dt.date]:
    return [arrival + dt.timedelta(days=i) for i in range((departure - arrival).days)]


def occupying(now: dt.datetime):
    """Bookings whose rows count: confirmed ones and holds that have not expired yet."""
    return Booking.occupies(now)


def counts_against_quota():
    return Booking.source.not_in(QUOTA_FREE_SOURCES)


@dataclass
class Night:
    """What one category offers on one night."""

    night: dt.date
    units: int
    quota: int = 0
    price: Decimal | None = None
    min_stay: int = 1
    closed: bool = False
    closed_to_arrival: bool = False
    closed_to_departure: bool = False
    occupied: int = 0
    sold_online: int = 0
    has_rate: bool = False

    @property
    def free(self) -> int:
        return max(0, self.units - self.occupied)

    @property
    def available(self) -> int:
        if self.closed or not self.has_rate or self.price is None:
            return 0
        return max(0, min(self.quota - self.sold_online, self.free))


def nights_for(session: Session, category_ids: list[int], start: dt.date, end: dt.date) -> dict[int, dict[dt.date, Night]]:
    """Night-by-night figures for categories over [start, end), in three queries."""
    now = clock.now()
    unit_counts = dict(
        session.execute(
            sa.select(Unit.category_id, sa.func.count(Unit.id))
            .where(Unit.category_id.in_(category_ids))
            .group_by(Unit.category_id)
        ).all()
    )
    days = nights_of(start, end)
    result = {cid: {d: Night(d, unit_counts.get(cid, 0)) for d in days} for cid in category_ids}
    rates = session.execute(  # plain columns, not entities: a month of a property is hundreds of rows
        sa.select(NightRate.category_id, NightRate.night, NightRate.quota, NightRate.price, NightRate.min_stay,
                  NightRate.closed, NightRate.closed_to_arrival, NightRate.closed_to_departure)
        .where(NightRate.category_id.in_(category_ids), NightRate.night >= start, NightRate.night < end)
    )
    for cid, night, quota, price, min_stay, closed, no_arrival, no_departure in rates:
        n = result[cid][night]
        n.has_rate = True
        n.quota, n.price, n.min_stay = quota, price, min_stay
        n.closed, n.closed_to_arrival, n.closed_to_departure = closed, no_arrival, no_departure
    online = counts_against_quota()
    rows = session.execute(
        sa.select(
            Booking.category_id, Occupancy.night, sa.func.count(Occupancy.id),
            sa.func.sum(sa.case((online, 1), else_=0)),
        )
        .join(Booking, Booking.id == Occupancy.booking_id)
        .where(
            Booking.category_id.in_(category_ids), Occupancy.night >= start, Occupancy.night < end,
            occupying(now),
        )
        .group_by(Booking.category_id, Occupancy.night)
    )
    for cid, night, occupied, sold in rows:
        n = result[cid][night]
        n.occupied, n.sold_online = occupied, int(sold or 0)
    return result


def _free_expired_holds(session: Session, category_id: int, nights: list[dt.date]) -> None:
    """Expiry is lazy: whoever takes nights first clears holds that ran out on them."""
    now = clock.now()
    expired = sa.select(Booking.id).where(Booking.category_id == category_id, Booking.hold_ran_out(now))
    session.execute(
        sa.delete(Occupancy).where(Occupancy.booking_id.in_(expired), Occupancy.night.in_(nights))
    )


def _lock_rates(session: Session, category_id: int, first: dt.date, last: dt.date) -> dict[dt.date, NightRate]:
    # FOR UPDATE serialises takers of the same nights on PostgreSQL; on SQLite every
    # transaction already holds the write lock (BEGIN IMMEDIATE, services/core/db.py).
    rates = session.scalars(
        sa.select(NightRate)
        .where(NightRate.category_id == category_id, NightRate.night >= first, NightRate.night <= last)
        .order_by(NightRate.night)
        .with_for_update()
    )
    return {r.night: r for r in rates}


def _check_offer(session: Session, booking: Booking, nights: list[dt.date], rates: dict[dt.date, NightRate]) -> None:
    """Channel bookings need open, priced nights within quota and restrictions."""
    missing = [n for n in nights if n not in rates or rates[n].price is None or rates[n].closed]
    if missing:
        raise Conflict(_l("Not offered on these nights (closed or no price)."), code="not_available", nights=missing)
    first = rates[booking.arrival]
    if first.closed_to_arrival:
        raise Conflict(_l("No arrival on this day."), code="restriction", nights=[booking.arrival], reason="closed_to_arrival")
    dep = rates.get(booking.departure)
    if dep is not None and dep.closed_to_departure:
        raise Conflict(_l("No departure on this day."), code="restriction", nights=[booking.departure], reason="closed_to_departure")
    if len(nights) < first.min_stay:
        raise Conflict(
            _l("Minimum stay from this arrival is %(n)s nights.", n=first.min_stay),
            code="restriction", nights=[booking.arrival], reason="min_stay",
        )
    now = clock.now()
    sold = dict(
        session.execute(
            sa.select(Occupancy.night, sa.func.count(Occupancy.id))
            .join(Booking, Booking.id == Occupancy.booking_id)
            .where(
                Booking.category_id == booking.category_id, Occupancy.night.in_(nights),
                Booking.id != booking.id, occupying(now), counts_against_quota(),
            )
            .group_by(Occupancy.night)
        ).all()
    )
    short = [n for n in nights if sold.get(n, 0) + booking.units > rates[n].quota]
    if short:
        raise Conflict(_l("No quota left on these nights."), code="not_available", nights=short)


def _pick_units(session: Session, booking: Booking, nights: list[dt.date], unit_ids: list[int] | None) -> list[tuple[int, dt.date]]:
    units = list(session.scalars(
        sa.select(Unit).where(Unit.category_id == booking.category_id).order_by(Unit.position, Unit.id)
    ))
    taken = set(session.execute(
        sa.select(Occupancy.unit_id, Occupancy.night).where(
            Occupancy.unit_id.in_([u.id for u in units]), Occupancy.night.in_(nights),
            Occupancy.booking_id != (booking.id or -1),
        )
    ).all())
    if unit_ids:
        known = {u.id: u for u in units}
        if any(uid not in known for uid in unit_ids):
            raise Conflict(_l("That unit does not belong to this room category."), code="invalid_unit")
        busy = sorted({n for uid in unit_ids for n in nights if (uid, n) in taken})
        if busy:
            names = ", ".join(known[uid].name for uid in unit_ids)
            raise Conflict(_l("%(units)s is already booked on these nights.", units=names), code="not_available", nights=busy)
        return [(uid, n) for uid in unit_ids for n in nights]
    # Same unit for the whole stay where possible, so guests need not move.
    whole = [u.id for u in units if all((u.id, n) not in taken for n in nights)]
    chosen = whole[: booking.units]
    rows = [(uid, n) for uid in chosen for n in nights]
    still = booking.units - len(chosen)
    if still:
        short, fewest = [], booking.units
        for n in nights:
            free = [u.id for u in units if (u.id, n) not in taken and u.id not in chosen]
            if len(free) < still:
                short.append(n)
                fewest = min(fewest, len(chosen) + len(free))
            rows.extend((uid, n) for uid in free[:still])
        if short:
            # Say how far off the wish is ("2 rooms wanted, 1 free"), not only that it failed.
            message = (_l("%(wanted)s rooms wanted, %(free)s free on these nights.", wanted=booking.units, free=fewest)
                       if booking.units > 1 else _l("No free unit on these nights."))
            raise Conflict(message, code="not_available", nights=short, free=fewest)
    return rows


def take(session: Session, booking: Booking, unit_ids: list[int] | None = None, check_offer: bool | None = None) -> None:
    """Take the nights of `booking` atomically, or raise Conflict and take nothing.

    The booking must be added to the session; it is flushed here. Own bookings and
    imported blocks need free units only; every other source also needs an open, priced
    night within quota and restrictions, unless `check_offer=False` (a host moving a
    channel booking decides that himself). Runs inside the caller's transaction.
    """
    nights = nights_of(booking.arrival, booking.departure)
    touch(session, booking.property_id)
    rates = _lock_rates(session, booking.category_id, booking.arrival, booking.departure)
    _free_expired_holds(session, booking.category_id, nights)
    if check_offer is None:
        check_offer = booking.source not in QUOTA_FREE_SOURCES
    if check_offer:
        _check_offer(session, booking, nights, rates)
    session.flush()
    preferred = _units_sold_before(session, booking, nights) if unit_ids is None else None
    for attempt in (1, 2):
        rows = None
        if preferred:
            try:
                rows = _pick_units(session, booking, nights, preferred)
            except Conflict:
                preferred = None  # the units it had before are gone: any free ones will do
        if rows is None:
            rows = _pick_units(session, booking, nights, unit_ids)
        try:
            with session.begin_nested():
                session.execute(
                    sa.insert(Occupancy),
                    [{"booking_id": booking.id, "unit_id": uid, "night": n} for uid, n in rows],
                )
                _record_sold(session, booking, rows, rates)
            return
        except IntegrityError:
            # Someone took one of those units between our look and our insert: look again once.
            if attempt == 2:
                raise Conflict(_l("These nights were just booked by someone else."), code="not_available", nights=nights)


def _units_sold_before(session: Session, booking: Booking, nights: list[dt.date]) -> list[int] | None:
    """A booking taken again with the same stay (a hold confirmed after it expired) keeps the
    units its room-nights were sold on, so its ledger rows stay where they are."""
    if booking.id is None:
        return None
    sold = session.execute(
        sa.select(RoomNight.unit_id, RoomNight.night)
        .where(RoomNight.booking_id == booking.id, RoomNight.state == "sold")
    ).all()
    units = sorted({u for u, _ in sold})
    if len(units) != booking.units or set(sold) != {(u, n) for u in units for n in nights}:
        return None
    return units


def _record_sold(session: Session, booking: Booking, rows: list[tuple[int, dt.date]],
                 rates: dict[dt.date, NightRate]) -> None:
    """The room-night ledger (issue 10): what the booking sold per (unit, night), written here
    with the Occupancy rows so that every booking path writes it. The agreed total is spread:
    its lodging part (total minus mandatory costs) by the nightly prices the stay was quoted at
    (evenly when a night has none), the mandatory costs evenly. `commissionable` is the lodging
    share only. Imported iCal blocks sell nothing: they get no rows. Taking a booking again
    (an edit, a hold confirmed) replaces its sold rows; cancelled rows keep their amounts."""
    session.execute(sa.delete(RoomNight).where(RoomNight.booking_id == booking.id, RoomNight.state == "sold"))
    if booking.source == "ical" or not rows:
        return
    kept = set(session.execute(
        sa.select(RoomNight.unit_id, RoomNight.night).where(RoomNight.booking_id == booking.id)
    ).all())
    rows = sorted((n, uid) for uid, n in rows if (uid, n) not in kept)
    if not rows:
        return
    zero = Decimal("0.00")
    nightly = [rates[n].price if n in rates else None for n, _ in rows]
    if booking.total_price is None:
        lodging = [p if p is not None else zero for p in nightly]
        extras = [zero] * len(rows)
    else:
        if booking.price_breakdown is not None:
            extra = sum((Decimal(e["amount"]) for e in booking.price_breakdown.get("extras") or []), zero)
        else:
            extra = sum((a for _, a in pricing.extras_for(booking.prop, booking.category_id, booking.nights,
                                                          booking.units)), zero)
        extra = min(extra, booking.total_price)
        weights = nightly if all(p is not None for p in nightly) else [Decimal(1)] * len(rows)
        lodging = spread(booking.total_price - extra, weights)
        extras = spread(extra, [Decimal(1)] * len(rows))
    now = clock.now()
    session.execute(sa.insert(RoomNight), [
        {"booking_id": booking.id, "night": n, "unit_id": uid, "price": lo + ex, "commissionable": lo,
         "state": "sold", "changed_at": now}
        for (n, uid), lo, ex in zip(rows, lodging, extras)
    ])
    ledger.resell(session, booking)  # a new Booking.com sale takes searching room-nights (R54)


def spread(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`amount` split by `weights` into cents; the rounding remainder goes to the last share."""
    total = sum(weights, Decimal(0))
    if total <= 0:
        weights, total = [Decimal(1)] * len(weights), Decimal(len(weights))
    shares = [(amount * w / total).quantize(Decimal("0.01")) for w in weights]
    shares[-1] += amount - sum(shares, Decimal(0))
    return shares


def release(session: Session, booking: Booking) -> None:
    """Free every night the booking occupies (cancellation, expiry, before a re-take)."""
    touch(session, booking.property_id)
    session.execute(sa.delete(Occupancy).where(Occupancy.booking_id == booking.id))


def release_units(session: Session, booking: Booking, units: int) -> None:
    """Give back `units` of a multi-unit booking on every night of its stay (partial cancellation)."""
    touch(session, booking.property_id)
    rows = session.execute(
        sa.select(Occupancy.id, Occupancy.night).where(Occupancy.booking_id == booking.id)
        .order_by(Occupancy.night, Occupancy.unit_id.desc())
    ).all()
    per_night: dict[dt.date, list[int]] = defaultdict(list)
    for row_id, night in rows:
        per_night[night].append(row_id)
    doomed = [i for ids in per_night.values() for i in ids[:units]]
    session.execute(sa.delete(Occupancy).where(Occupancy.id.in_(doomed)))


def bookings_on(session: Session, category_id: int, nights: list[dt.date], online_only: bool = True) -> list[Booking]:
    """The occupying bookings of a category on some nights, e.g. to name those in the way."""
    now = clock.now()
    on_nights = sa.select(Occupancy.booking_id).where(Occupancy.night.in_(nights))
    q = (
        sa.select(Booking)
        .where(Booking.category_id == category_id, Booking.id.in_(on_nights), occupying(now))
        .order_by(Booking.arrival, Booking.id)
    )
    if online_only:
        q = q.where(counts_against_quota())
    return list(session.scalars(q))


def category_of(session: Session, prop_id: int, category_id: int) -> RoomCategory:
    return access.of_property(session, RoomCategory, category_id, prop_id, _l("No such room category."))


def unit_of(session: Session, prop_id: int, unit_id: int | None) -> Unit | None:
    """A unit of this property (e.g. preselected from the plan), or None for any other id."""
    if unit_id is None or not 0 < unit_id <= 2**31 - 1:
        return None
    unit = session.get(Unit, unit_id)
    return unit if unit is not None and unit.category.property_id == prop_id else None


def next_hold_expiry(session: Session, property_id: int, start: dt.date, end: dt.date) -> dt.datetime | None:
    """When the earliest active hold on these nights runs out: availability changes then,
    without any write (a cached answer is good until that moment at the latest)."""
    return session.scalar(
        sa.select(sa.func.min(Booking.hold_expires_at)).where(
            Booking.property_id == property_id, Booking.hold_running(clock.now()),
            Booking.arrival < end, Booking.departure > start,
        )
    )

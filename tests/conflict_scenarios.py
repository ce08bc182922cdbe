"""Double bookings built as they arise, for the tests of moves between units (services, web,
browser): a full night, a stay that got no room for it, a double booking opened, and then
(usually) a cancellation that frees a night so that moving bookings between units can solve it.

Rows the notify mode would write (the unplaced nights) are inserted directly, so these do not
depend on how a booking path gets there."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa

from services.availability import inventory
from services.bookings import conflicts
from services.core import clock
from services.models import Booking, Occupancy, RoomNight, UnplacedNight
from tests.factories import new_booking

D = dt.timedelta(days=1)


def placed(session, prop, guest, arrival, nights, unit_id, source="own", created=None):
    b = new_booking(prop, arrival=arrival, nights=nights, source=source, guest=guest)
    if created is not None:
        b.created_at = created
    b.total_price = Decimal("80.00") * nights
    session.add(b)
    inventory.take(session, b, [unit_id], check_offer=False)
    return b


def partly_placed(session, prop, guest, arrival, nights, rooms: dict[dt.date, int | None], source="booking",
                  created=None):
    """A booking whose nights are on the given units, None: no room (an UnplacedNight)."""
    b = new_booking(prop, arrival=arrival, nights=nights, source=source, guest=guest)
    if created is not None:
        b.created_at = created
    b.total_price = Decimal("80.00") * nights
    session.add(b)
    session.flush()
    now = clock.now()
    for night in inventory.nights_of(b.arrival, b.departure):
        uid = rooms.get(night)
        if uid is None:
            session.add(UnplacedNight(booking_id=b.id, category_id=b.category_id, night=night, units=1))
        else:
            session.add(Occupancy(booking_id=b.id, unit_id=uid, category_id=b.category_id, night=night))
        session.add(RoomNight(booking_id=b.id, night=night, unit_id=uid, price=Decimal("80.00"),
                              commissionable=Decimal("80.00"), state="sold", changed_at=now))
    session.flush()
    return b


def cancel(session, b):
    """The booking gone from the plan with nothing re-placed around it, as data brought in from
    elsewhere leaves it (inventory.release would place what waits on the freed nights, night
    by night: services/availability/inventory.py place_unplaced)."""
    b.status = "cancelled"
    session.execute(sa.delete(Occupancy).where(Occupancy.booking_id == b.id))
    session.flush()


def fragmented(session, prop, start: dt.date, cancel_x: bool = True, x_source: str = "own") -> SimpleNamespace:
    """Two units u1, u2; nights n1..n4 from `start`:

        u1: A (own)  n1 n2      C n3 n4
        u2: X        n1 n2      B n3 n4
        C (booking.com, n1..n4) got no room on n1 n2: those nights were full.

    A double booking opens for n1 n2. X then cancels (`cancel_x`): every night has a unit for
    everyone, but C has no unit for its whole stay. The fewest changes: A to u2, C to u1."""
    cat = prop.categories[0]
    u1, u2 = [u.id for u in cat.units[:2]]
    n = [start + i * D for i in range(5)]
    early = clock.now() - dt.timedelta(days=30)
    a = placed(session, prop, "Anna Eigen", n[0], 2, u1, created=early)
    x = placed(session, prop, "Xaver Storno", n[0], 2, u2, source=x_source, created=early)
    b = placed(session, prop, "Bea Bucher", n[2], 2, u2, source="booking", created=early)
    c = partly_placed(session, prop, "Carl Channel", n[0], 4, {n[2]: u1, n[3]: u1}, created=early + D)
    db = conflicts.open_for(session, cat, [n[0], n[1]], "overbooked_push")
    assert db is not None
    if cancel_x:
        cancel(session, x)
    session.commit()
    return SimpleNamespace(prop_id=prop.id, cat_id=cat.id, u1=u1, u2=u2, nights=n, a=a.id, b=b.id, c=c.id, x=x.id,
                           db=db.id)


def occupancy(session, booking_ids) -> dict[int, dict[dt.date, list[int]]]:
    out: dict = {}
    for bid, uid, night in session.execute(
            sa.select(Occupancy.booking_id, Occupancy.unit_id, Occupancy.night)
            .where(Occupancy.booking_id.in_(booking_ids)).order_by(Occupancy.night, Occupancy.unit_id)):
        out.setdefault(bid, {}).setdefault(night, []).append(uid)
    return out


def no_unit_twice(session) -> bool:
    return not session.execute(
        sa.select(Occupancy.unit_id, Occupancy.night).group_by(Occupancy.unit_id, Occupancy.night)
        .having(sa.func.count(Occupancy.id) > 1)).first()


def still_unplaced(session, booking_ids) -> int:
    return session.scalar(sa.select(sa.func.count(UnplacedNight.id))
                          .where(UnplacedNight.booking_id.in_(booking_ids))) or 0


def bookings(session, ids):
    return {b.id: b for b in session.scalars(sa.select(Booking).where(Booking.id.in_(ids)))}

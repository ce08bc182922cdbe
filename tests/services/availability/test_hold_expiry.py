"""inventory.next_hold_expiry: until when an availability answer for some nights stays good
without a write (the API's cache ends then). Read through the nights' rows, placed or not."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.availability import inventory
from services.core import clock
from services.models import Occupancy, UnplacedNight
from tests.factories import make_property, new_booking

T0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.timezone.utc)


def _hold(session, prop, arrival, minutes, overbook=False, nights=2):
    b = new_booking(prop, arrival=arrival, nights=nights, source="booking", status="pending", hold_minutes=minutes)
    session.add(b)
    inventory.take(session, b, overbook=overbook)
    session.commit()
    return b


def test_the_earliest_running_hold_on_the_nights_placed_or_not(session):
    clock.set_now(T0)
    prop = make_property(session, units=1, days=60)
    other = make_property(session, units=1, days=60)
    today = clock.today(prop.timezone)
    start, end = today + dt.timedelta(days=10), today + dt.timedelta(days=20)
    assert inventory.next_hold_expiry(session, prop.id, start, end) is None
    late = _hold(session, prop, start + dt.timedelta(days=2), 60)
    assert inventory.next_hold_expiry(session, prop.id, start, end) == late.hold_expires_at
    _hold(session, prop, end + dt.timedelta(days=1), 5)  # other nights
    _hold(session, other, start, 5)  # another property
    assert inventory.next_hold_expiry(session, prop.id, start, end) == late.hold_expires_at
    # A stay already sold in notify mode finds no free unit there: its nights wait without a room.
    unplaced = _hold(session, prop, start + dt.timedelta(days=2), 30, overbook=True)
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id)).where(UnplacedNight.booking_id == unplaced.id)) == 2
    assert not session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == unplaced.id))
    assert inventory.next_hold_expiry(session, prop.id, start, end) == unplaced.hold_expires_at
    assert inventory.next_hold_expiry(session, prop.id, start, end,
                                      category_ids=[c.id for c in prop.categories]) == unplaced.hold_expires_at
    clock.set_now(T0 + dt.timedelta(minutes=45))  # the unplaced one ran out, the placed one still runs
    assert inventory.next_hold_expiry(session, prop.id, start, end) == late.hold_expires_at
    clock.set_now(T0 + dt.timedelta(minutes=61))
    assert inventory.next_hold_expiry(session, prop.id, start, end) is None

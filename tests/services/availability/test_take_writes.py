"""How inventory.take writes (issue 16): one statement reads the category's units, the nights'
rows and counts after the rate rows are locked; the rows go in as multi-row INSERTs with ON
CONFLICT DO NOTHING, so a unit taken between the look and the insert (by a writer that does not
lock the rates) costs a second look, never a half-written booking or a unit twice."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from services.availability import inventory
from services.core import clock
from services.core.errors import Conflict
from services.models import Booking, Occupancy, RoomNight
from tests.factories import make_property, new_booking


def _rows(session, booking):
    return sorted(session.execute(sa.select(Occupancy.unit_id, Occupancy.night)
                                  .where(Occupancy.booking_id == booking.id)).all())


def _stale_look(monkeypatch, session, hide_booking):
    """The first look misses `hide_booking`'s rows, as if it took them just after we looked."""
    real, looks = inventory._held, []

    def held(s, booking):
        found = real(s, booking)
        if not looks:
            hidden = set(s.execute(sa.select(Occupancy.unit_id, Occupancy.night)
                                   .where(Occupancy.booking_id == hide_booking.id)).all())
            found.taken -= hidden
        looks.append(1)
        return found

    monkeypatch.setattr(inventory, "_held", held)
    return looks


def test_a_unit_taken_after_the_look_costs_a_second_look_and_another_unit(session, monkeypatch):
    prop = make_property(session, units=2)
    first = new_booking(prop, nights=3)
    session.add(first)
    inventory.take(session, first)
    session.commit()
    looks = _stale_look(monkeypatch, session, first)
    second = new_booking(prop, nights=3, source="slevomat", status="pending", hold_minutes=60)
    session.add(second)
    inventory.take(session, second)
    session.commit()
    assert len(looks) == 2
    mine, theirs = _rows(session, second), _rows(session, first)
    assert len(mine) == 3 and len({u for u, _ in mine}) == 1 and not set(mine) & set(theirs)
    assert session.scalar(sa.select(sa.func.count(RoomNight.id)).where(RoomNight.booking_id == second.id)) == 3


def test_no_unit_left_after_the_look_takes_nothing(session, monkeypatch):
    prop = make_property(session, units=1)
    first = new_booking(prop, nights=2)
    session.add(first)
    inventory.take(session, first)
    session.commit()
    _stale_look(monkeypatch, session, first)
    second = new_booking(prop, nights=2, source="slevomat", status="pending", hold_minutes=60)
    session.add(second)
    with pytest.raises(Conflict):
        inventory.take(session, second)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Occupancy.id))) == 2
    assert session.scalar(sa.select(sa.func.count(Booking.id))) == 1


def test_the_rows_of_a_long_stay_go_in_several_inserts(session, monkeypatch):
    monkeypatch.setattr(inventory, "ROWS_PER_INSERT", 4)
    prop = make_property(session, units=3)
    b = new_booking(prop, nights=5, units=2, source="slevomat", status="pending", hold_minutes=60)
    session.add(b)
    inventory.take(session, b)
    session.commit()
    rows = _rows(session, b)
    assert len(rows) == 10 and len({u for u, _ in rows}) == 2
    assert session.scalar(sa.select(sa.func.count(RoomNight.id)).where(RoomNight.booking_id == b.id)) == 10


def test_a_hold_that_ran_out_on_the_nights_gives_its_unit_to_the_next_taker(session):
    prop = make_property(session, units=1)
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    start = clock.now()
    hold = new_booking(prop, arrival=day, nights=2, source="slevomat", status="pending", hold_minutes=30)
    session.add(hold)
    inventory.take(session, hold)
    session.commit()
    clock.set_now(start + dt.timedelta(minutes=31))
    late = new_booking(prop, arrival=day + dt.timedelta(days=1), nights=2, source="booking")
    session.add(late)
    inventory.take(session, late)
    session.commit()
    # Only the night the new stay needed was cleared; the other stays until someone needs it.
    assert [n for _, n in _rows(session, hold)] == [day]
    assert [n for _, n in _rows(session, late)] == [day + dt.timedelta(days=1), day + dt.timedelta(days=2)]


def test_quota_counts_the_other_bookings_read_after_the_lock(session):
    prop = make_property(session, units=3, quota=1)
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    a = new_booking(prop, arrival=day, source="slevomat", status="pending", hold_minutes=60)
    session.add(a)
    inventory.take(session, a)
    session.commit()
    own = new_booking(prop, arrival=day)  # own bookings need a free unit, not quota (R2)
    session.add(own)
    inventory.take(session, own)
    session.commit()
    b = new_booking(prop, arrival=day, source="booking")
    session.add(b)
    with pytest.raises(Conflict) as e:
        inventory.take(session, b)
    assert e.value.code == "not_available" and e.value.details["nights"] == [day, day + dt.timedelta(days=1)]
    session.rollback()

"""Nights sold without a room (issue 11): inventory.take(overbook=True), their placing when a
room frees up, iCal collisions kept as unplaced blocks, and `conflicts.check` that finds
double bookings in data brought in past the services."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from services.availability import inventory
from services.bookings import conflicts
from services.channels import ical, reservations
from services.core import clock
from services.core.db import use_case
from services.models import (Booking, DoubleBooking, DoubleBookingStep, NightRate, Occupancy, RoomNight,
                             UnplacedNight, Unit)
from tests.factories import make_property, new_booking
from tests.services.channels.test_ical import _ics


def _take(session, prop, arrival, nights=2, source="booking", units=1, guest="Guest", overbook=True):
    b = new_booking(prop, arrival=arrival, nights=nights, source=source, units=units, guest=guest)
    b.total_price = Decimal("100.00") * nights * units
    session.add(b)
    warnings = inventory.take(session, b, overbook=overbook)
    session.commit()
    return b, warnings


def test_take_overbooked_places_what_fits_and_keeps_the_rest_unplaced_and_sold(session):
    prop = make_property(session, units=2)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    _take(session, prop, day, nights=1, guest="A")  # the first night has one unit left
    b, warnings = _take(session, prop, day, nights=2, units=2, guest="B")
    assert warnings == [{"code": "not_available", "reason": "quota", "nights": [day.isoformat()]}]
    placed = session.execute(sa.select(Occupancy.night, sa.func.count()).where(Occupancy.booking_id == b.id)
                             .group_by(Occupancy.night)).all()
    assert dict(placed) == {day: 1, day + dt.timedelta(days=1): 2}
    assert session.execute(sa.select(UnplacedNight.night, UnplacedNight.units)
                           .where(UnplacedNight.booking_id == b.id)).all() == [(day, 1)]
    # Four room-nights sold, the one without a room has no unit; the total is spread over all of them.
    rows = session.execute(sa.select(RoomNight.night, RoomNight.unit_id, RoomNight.price)
                           .where(RoomNight.booking_id == b.id)).all()
    assert len(rows) == 4 and sum(r.price for r in rows) == Decimal("400.00")
    assert [r.night for r in rows if r.unit_id is None] == [day]
    n = inventory.nights_for(session, [cat.id], day, day + dt.timedelta(days=2))[cat.id]
    assert (n[day].occupied, n[day].unplaced, n[day].balance, n[day].free, n[day].available) == (2, 1, -1, 0, 0)
    assert n[day].sold_online == 3
    assert conflicts.overbooked_nights(session, cat.id, day, day + dt.timedelta(days=1)) == {day: 1}


def test_without_overbook_take_still_refuses(session):
    import pytest
    from services.core.errors import Conflict

    prop = make_property(session, units=1)
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    _take(session, prop, day)
    b = new_booking(prop, arrival=day, nights=2, source="booking")
    session.add(b)
    with pytest.raises(Conflict):
        inventory.take(session, b)
    session.rollback()


def test_place_unplaced_gives_a_freed_room_to_the_booking_with_priority(session):
    """R11: online before own; among online, the one booked first."""
    prop = make_property(session, units=1)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    first, _ = _take(session, prop, day, source="own", guest="Holder")
    clock.set_now(clock.now() + dt.timedelta(minutes=1))
    own, _ = _take(session, prop, day, source="own", guest="Own later")
    clock.set_now(clock.now() + dt.timedelta(minutes=1))
    early, _ = _take(session, prop, day, source="booking", guest="Online early")
    clock.set_now(clock.now() + dt.timedelta(minutes=1))
    late, _ = _take(session, prop, day, source="e_domizil", guest="Online late")
    with use_case(session):
        db = conflicts.open_for(session, cat, inventory.nights_of(day, day + dt.timedelta(days=2)), "check")
    assert {b.id for b in db.bookings} == {first.id, own.id, early.id, late.id}
    with use_case(session):
        first.status = "cancelled"
        inventory.release(session, first)
    assert set(session.scalars(sa.select(Occupancy.booking_id))) == {early.id}
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id)).where(UnplacedNight.booking_id == early.id)) == 0
    assert session.get(DoubleBooking, db.id).status == "open"  # two still without a room
    # The ledger row of the placed nights got the unit.
    assert None not in session.scalars(sa.select(RoomNight.unit_id).where(RoomNight.booking_id == early.id)).all()


def test_a_hold_that_runs_out_gives_its_nights_to_those_waiting_at_the_sweep(session):
    prop = make_property(session, units=1)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    hold = new_booking(prop, arrival=day, nights=2, source="booking", status="pending", hold_minutes=30)
    session.add(hold)
    inventory.take(session, hold)
    session.commit()
    waiting, _ = _take(session, prop, day)
    with use_case(session):
        db = conflicts.open_for(session, cat, [day], "overbooked_push")
    clock.set_now(clock.now() + dt.timedelta(minutes=31))
    assert reservations.sweep(session) == 1
    assert set(session.scalars(sa.select(Occupancy.booking_id))) == {waiting.id}
    assert session.get(DoubleBooking, db.id).status == "resolved"


def test_ical_collision_keeps_the_block_unplaced_and_opens_a_double_booking(session):
    prop = make_property(session, units=1)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    b, _ = _take(session, prop, day, source="booking", guest="Booked here")
    feed = ical.add_feed(session, prop.owner, prop, cat.id, "Airbnb", "https://example.invalid/a.ics")
    body = _ics(("c@x", day + dt.timedelta(days=1), day + dt.timedelta(days=3)))
    status = ical.sync_feed(session, feed.id, fetcher=lambda url: body)
    assert "1 blocked" in status and "1 in conflict" in status
    block = session.scalar(sa.select(Booking).where(Booking.source == "ical"))
    assert block.status == "confirmed" and block.external_id == "c@x"
    # Its first night collides (unplaced), its second is free (placed).
    assert session.execute(sa.select(UnplacedNight.night).where(UnplacedNight.booking_id == block.id)).scalars().all() \
        == [day + dt.timedelta(days=1)]
    assert session.execute(sa.select(Occupancy.night).where(Occupancy.booking_id == block.id)).scalars().all() \
        == [day + dt.timedelta(days=2)]
    db = session.scalar(sa.select(DoubleBooking))
    assert db.cause == "ical" and db.status == "open"
    assert (db.first_night, db.last_night) == (day + dt.timedelta(days=1), day + dt.timedelta(days=1))
    assert {x.id for x in db.bookings} == {b.id, block.id}
    # A second sync of the same feed changes nothing and opens nothing more.
    ical.sync_feed(session, feed.id, fetcher=lambda url: body)
    assert session.scalar(sa.select(sa.func.count(DoubleBooking.id))) == 1
    assert session.scalar(sa.select(sa.func.count(Booking.id)).where(Booking.source == "ical",
                                                                     Booking.status == "confirmed")) == 1
    # The event goes from the feed: the block is released and the double booking closes.
    ical.sync_feed(session, feed.id, fetcher=lambda url: _ics())
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id))) == 0
    assert session.get(DoubleBooking, db.id).status == "resolved"


def test_check_finds_a_quota_lowered_past_the_services_and_is_idempotent(session):
    prop = make_property(session, units=3)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=4)
    for guest in ("A", "B"):
        _take(session, prop, day, nights=3, guest=guest, overbook=False)
    assert conflicts.check(session, prop) == []
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id,
                                               NightRate.night.in_([day, day + dt.timedelta(days=1)]))
                    .values(quota=1))
    session.commit()
    with use_case(session):
        found = conflicts.check(session, prop)
    assert [(how, d.cause, d.first_night, d.last_night) for d, how in found] == [
        ("opened", "check", day, day + dt.timedelta(days=1))]
    assert len(found[0][0].bookings) == 2
    with use_case(session):
        again = conflicts.check(session, prop)
    assert [(d.id, how) for d, how in again] == [(found[0][0].id, "open")]
    assert session.scalar(sa.select(sa.func.count(DoubleBooking.id))) == 1
    assert session.scalar(sa.select(sa.func.count(DoubleBookingStep.id))) == 1  # only "found"


def test_check_finds_more_bookings_than_units_and_its_queries_do_not_grow_with_nights(session, count_queries):
    prop = make_property(session, units=2, categories=2, days=200)
    cat, other = prop.categories
    start = clock.today(prop.timezone) + dt.timedelta(days=1)
    for guest in ("A", "B"):
        _take(session, prop, start, nights=3, guest=guest, overbook=False)
        _take(session, prop, start + dt.timedelta(days=100), nights=30, guest=guest, overbook=False)
    # A room moved to the other category by hand: category 1 now sells two rooms it has one of.
    session.execute(sa.update(Unit).where(Unit.category_id == cat.id, Unit.position == 1).values(category_id=other.id))
    session.commit()

    def counted():
        with count_queries() as statements, use_case(session):
            found = conflicts.check(session, prop)
        return found, sum(1 for x in statements if x.lstrip().upper().startswith("SELECT"))

    found, _ = counted()
    assert sorted((d.first_night, d.last_night, how) for d, how in found) == [
        (start, start + dt.timedelta(days=2), "opened"),
        (start + dt.timedelta(days=100), start + dt.timedelta(days=129), "opened")]
    again, queries = counted()
    assert [how for _, how in again] == ["open", "open"]
    # A one-night overlap found again costs what a month does: queries do not follow the nights.
    session.execute(sa.delete(DoubleBooking))
    session.commit()
    for b in session.scalars(sa.select(Booking).where(Booking.arrival > start)):
        b.status = "cancelled"
    session.execute(sa.delete(Occupancy).where(Occupancy.night > start + dt.timedelta(days=50)))
    session.commit()
    counted()
    _, fewer = counted()
    assert fewer == queries <= 8


def test_units_are_placed_and_given_back_in_part(session):
    prop = make_property(session, units=2)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    holder, _ = _take(session, prop, day, source="own", units=2, guest="Holder")
    group, _ = _take(session, prop, day, units=2, guest="Group")

    def unplaced():
        return session.execute(sa.select(UnplacedNight.night, UnplacedNight.units)
                               .where(UnplacedNight.booking_id == group.id).order_by(UnplacedNight.night)).all()

    assert unplaced() == [(day, 2), (day + dt.timedelta(days=1), 2)]
    with use_case(session):  # the holder gives one room back: the group gets it, one still waits
        inventory.release_units(session, holder, 1)
        holder.units = 1
    assert unplaced() == [(day, 1), (day + dt.timedelta(days=1), 1)]
    placed = session.execute(sa.select(Occupancy.unit_id).where(Occupancy.booking_id == group.id)).scalars().all()
    assert len(placed) == 2 and len(set(placed)) == 1  # one room for both nights
    assert session.scalar(sa.select(sa.func.count(RoomNight.id)).where(
        RoomNight.booking_id == group.id, RoomNight.unit_id.is_(None))) == 2
    n = inventory.nights_for(session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]
    assert (n.occupied, n.unplaced, n.balance) == (2, 1, -1)
    with use_case(session):  # the group cancels one of its rooms: the one without a room goes
        inventory.release_units(session, group, 1)
        from services.bookings import ledger
        ledger.cancel_released(session, group)
        group.units = 1
    assert unplaced() == []
    assert session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == group.id)) == 2
    states = session.execute(sa.select(RoomNight.unit_id.is_(None), RoomNight.state)
                             .where(RoomNight.booking_id == group.id)).all()
    assert sorted(states) == [(False, "sold"), (False, "sold"), (True, "cancelled"), (True, "cancelled")]

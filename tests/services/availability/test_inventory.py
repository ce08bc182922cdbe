"""services.availability.inventory: the one function that takes nights (DESIGN.md; R2, R3, R36)."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.availability import inventory
from services.core import clock
from services.core.errors import Conflict
from services.models import Booking, NightRate, Occupancy
from tests.factories import make_property, new_booking


def _take(session, booking, unit_ids=None):
    session.add(booking)
    inventory.take(session, booking, unit_ids)
    session.commit()
    return booking


def _night(session, prop, day):
    cat = prop.categories[0]
    return inventory.nights_for(session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]


def test_own_booking_takes_one_unit_per_night_same_unit_throughout(session):
    prop = make_property(session, units=3)
    b = _take(session, new_booking(prop, nights=3))
    rows = session.execute(sa.select(Occupancy.unit_id, Occupancy.night).where(Occupancy.booking_id == b.id)).all()
    assert len(rows) == 3
    assert len({u for u, _ in rows}) == 1  # the guest need not move rooms


def test_available_is_min_of_quota_left_and_free_units(session):
    """available = min(quota - sold online, units - occupied); own bookings use units, not quota (R2)."""
    prop = make_property(session, units=3, quota=2)
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    n = _night(session, prop, day)
    assert (n.free, n.available) == (3, 2)
    _take(session, new_booking(prop, arrival=day, nights=1, source="own"))
    n = _night(session, prop, day)
    assert (n.free, n.sold_online, n.available) == (2, 0, 2)
    _take(session, new_booking(prop, arrival=day, nights=1, source="tourist_office"))
    n = _night(session, prop, day)
    assert (n.free, n.sold_online, n.available) == (1, 1, 1)
    _take(session, new_booking(prop, arrival=day, nights=1, source="own"))
    n = _night(session, prop, day)
    assert (n.free, n.available) == (0, 0)


def test_own_booking_may_take_the_last_room_beyond_the_quota(session):
    prop = make_property(session, units=2, quota=0)
    _take(session, new_booking(prop, source="own"))
    _take(session, new_booking(prop, source="own"))
    with pytest.raises(Conflict) as e:
        _take(session, new_booking(prop, source="own"))
    assert e.value.code == "not_available"


def test_channel_booking_needs_quota(session):
    prop = make_property(session, units=3, quota=1)
    _take(session, new_booking(prop, source="booking"))
    with pytest.raises(Conflict) as e:
        _take(session, new_booking(prop, source="slevomat"))
    assert e.value.code == "not_available"
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Booking.id))) == 1  # nothing half-written


@pytest.mark.parametrize("field,reason", [
    ("closed", None), ("closed_to_arrival", "closed_to_arrival"), ("min_stay", "min_stay"),
])
def test_channel_booking_respects_restrictions(session, field, reason):
    prop = make_property(session, units=2)
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    rate = session.get(NightRate, (prop.categories[0].id, day))
    setattr(rate, field, 3 if field == "min_stay" else True)
    session.commit()
    with pytest.raises(Conflict) as e:
        _take(session, new_booking(prop, arrival=day, nights=2, source="tourist_office"))
    assert day in e.value.details["nights"]
    if reason:
        assert e.value.details["reason"] == reason
    session.rollback()
    _take(session, new_booking(prop, arrival=day, nights=2, source="own"))  # the host decides for own bookings


def test_closed_to_departure(session):
    prop = make_property(session, units=2)
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    session.get(NightRate, (prop.categories[0].id, day + dt.timedelta(days=2))).closed_to_departure = True
    session.commit()
    with pytest.raises(Conflict) as e:
        _take(session, new_booking(prop, arrival=day, nights=2, source="booking"))
    assert e.value.details["reason"] == "closed_to_departure"


def test_night_without_rate_is_not_offered_online(session):
    prop = make_property(session, units=2, days=2)
    with pytest.raises(Conflict):
        _take(session, new_booking(prop, nights=3, source="booking"))


def test_chosen_unit_must_be_free(session):
    prop = make_property(session, units=2)
    unit = prop.categories[0].units[0]
    _take(session, new_booking(prop, nights=2), [unit.id])
    with pytest.raises(Conflict) as e:
        _take(session, new_booking(prop, nights=1), [unit.id])
    assert unit.name in str(e.value.message)


def test_stay_may_switch_units_when_no_single_unit_is_free_throughout(session):
    prop = make_property(session, units=2)
    u1, u2 = prop.categories[0].units
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    _take(session, new_booking(prop, arrival=day, nights=1), [u1.id])
    _take(session, new_booking(prop, arrival=day + dt.timedelta(days=1), nights=1), [u2.id])
    b = _take(session, new_booking(prop, arrival=day, nights=2))
    rows = dict(session.execute(sa.select(Occupancy.night, Occupancy.unit_id).where(Occupancy.booking_id == b.id)).all())
    assert rows == {day: u2.id, day + dt.timedelta(days=1): u1.id}


def test_release_frees_the_nights(session):
    prop = make_property(session, units=1)
    b = _take(session, new_booking(prop))
    inventory.release(session, b)
    b.status = "cancelled"
    session.commit()
    _take(session, new_booking(prop))


def test_expired_hold_never_counts_and_is_freed_by_the_next_taker(session):
    """R36: an unpaid hold occupies for its hold time, then disappears without any job."""
    prop = make_property(session, units=1)
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    start = clock.now()
    _take(session, new_booking(prop, arrival=day, source="slevomat", status="pending", hold_minutes=60))
    assert _night(session, prop, day).free == 0
    with pytest.raises(Conflict):
        _take(session, new_booking(prop, arrival=day, source="booking"))
    session.rollback()
    clock.set_now(start + dt.timedelta(minutes=61))
    assert _night(session, prop, day).free == 1
    _take(session, new_booking(prop, arrival=day, source="booking"))


def test_database_refuses_two_bookings_on_one_unit_night(session):
    """The UNIQUE(unit, night) constraint holds even if code bypassed take()."""
    prop = make_property(session, units=1)
    a = _take(session, new_booking(prop))
    b = new_booking(prop)
    session.add(b)
    session.flush()
    row = session.execute(sa.select(Occupancy.unit_id, Occupancy.night).where(Occupancy.booking_id == a.id)).first()
    with pytest.raises(IntegrityError):
        session.execute(sa.insert(Occupancy), [{"booking_id": b.id, "unit_id": row.unit_id, "category_id": b.category_id,
                                                 "night": row.night}])
        session.flush()
    session.rollback()


@pytest.mark.parametrize("source", ["own", "tourist_office"])
def test_twenty_concurrent_requests_for_the_last_unit_get_exactly_one_booking(app, session, source):
    """Inventory is sacred: 20 threads, each with its own connection, race for one unit."""
    from portal.extensions import db

    prop = make_property(session, units=1)
    prop_id, cat_id = prop.id, prop.categories[0].id
    day = clock.today(prop.timezone) + dt.timedelta(days=3)
    session.close()  # hold no transaction (nor SQLite's write lock) while the threads race
    engine = db.engine
    barrier = threading.Barrier(20)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(i):
        with Session(engine) as s:
            b = Booking(property_id=prop_id, category_id=cat_id, source=source, status="confirmed",
                        arrival=day, departure=day + dt.timedelta(days=2), units=1, guests=1,
                        guest_name=f"Racer {i}", created_at=clock.now(), updated_at=clock.now())
            barrier.wait()
            try:
                s.add(b)
                inventory.take(s, b)
                s.commit()
                outcome = "ok"
            except Conflict:
                s.rollback()
                outcome = "conflict"
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["conflict"] * 19 + ["ok"]
    per_night = session.execute(
        sa.select(Occupancy.night, sa.func.count()).group_by(Occupancy.night)
    ).all()
    assert sorted(per_night) == [(day, 1), (day + dt.timedelta(days=1), 1)]

"""Which rows a writer locks and bumps (services.availability.inventory.touch): a booking its
category's row, never the property's; property-wide writers the property row first. On
PostgreSQL: bookings of different categories do not wait for each other, bookings of one
category queue and never over-book, and a property-wide writer among them never deadlocks."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.availability import inventory, public_search, rates
from services.bookings import cancelling
from services.core import clock
from services.core.errors import Conflict
from services.models import Booking, NightRate, Occupancy, Property, RoomCategory
from services.properties import registry
from tests.conftest import is_postgres
from tests.factories import make_property, new_booking
from tests.services.availability.search_world import d, office  # noqa: F401 (a fixture)

needs_postgres = pytest.mark.skipif(not is_postgres(), reason="row locks between connections: PostgreSQL")


def _versions(session, prop_id) -> tuple[int, dict[int, int]]:
    session.expire_all()
    prop_version = session.scalar(sa.select(Property.inventory_version).where(Property.id == prop_id))
    cats = dict(session.execute(sa.select(RoomCategory.id, RoomCategory.inventory_version)
                                .where(RoomCategory.property_id == prop_id)).all())
    return prop_version, cats


def _book(session, prop, cat, offset=3, nights=2, **kw) -> Booking:
    b = new_booking(prop, cat, arrival=clock.today(prop.timezone) + dt.timedelta(days=offset), nights=nights, **kw)
    session.add(b)
    inventory.take(session, b)
    session.commit()
    return b


def test_a_booking_and_its_release_bump_their_category_only(session):
    prop = make_property(session, units=2, categories=2)
    a, b = prop.categories
    p0, c0 = _versions(session, prop.id)
    booking = _book(session, prop, a, source="booking")
    p1, c1 = _versions(session, prop.id)
    assert p1 == p0 and c1[a.id] > c0[a.id] and c1[b.id] == c0[b.id]
    cancelling.cancel_stay(session, booking, "channel")
    session.commit()
    p2, c2 = _versions(session, prop.id)
    assert p2 == p0 and c2[a.id] > c1[a.id] and c2[b.id] == c0[b.id]


def test_a_booking_moved_to_another_category_bumps_both(session):
    from services.bookings import own

    prop = make_property(session, units=2, categories=2)
    a, b = prop.categories
    booking = _book(session, prop, a, source="own")
    _, c0 = _versions(session, prop.id)
    data = own.OwnBookingData(category_id=b.id, arrival=booking.arrival, departure=booking.departure, units=1,
                              guests=1, guest_name="Gast")
    own.update_own_booking(session, prop.owner, prop, booking.id, data)
    _, c1 = _versions(session, prop.id)
    assert c1[a.id] > c0[a.id] and c1[b.id] > c0[b.id]
    assert {c for (c,) in session.execute(sa.select(Occupancy.category_id)
                                          .where(Occupancy.booking_id == booking.id))} == {b.id}


def test_rate_edits_bump_the_categories_they_edit_and_property_wide_changes_the_property(session):
    prop = make_property(session, units=2, categories=3)
    a, b, c = prop.categories
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    p0, c0 = _versions(session, prop.id)
    rates.bulk_edit(session, prop.owner, prop, [c, a], day, day, set(range(7)), rates.RateChange(price=Decimal("90")),
                    confirm_price=True)
    p1, c1 = _versions(session, prop.id)
    assert c1[a.id] > c0[a.id] and c1[c.id] > c0[c.id] and c1[b.id] == c0[b.id]
    registry.add_extra_cost(session, prop.owner, prop, "Kurtaxe", "2.00", "night", None)
    p2, c2 = _versions(session, prop.id)
    assert p2 > p1 and c2 == c1


def test_touch_locks_several_categories_in_ascending_order(session):
    prop = make_property(session, units=1, categories=3)
    ids = [c.id for c in prop.categories]
    _, c0 = _versions(session, prop.id)
    inventory.touch(session, None, [ids[2], ids[0], ids[2]])
    session.commit()
    _, c1 = _versions(session, prop.id)
    assert [c1[i] - c0[i] for i in ids] == [1, 0, 1]  # each named category once, the others not


def test_public_search_etag_changes_with_a_confirmed_sale_and_a_rate_edit(session, office):  # noqa: F811
    prop = make_property(session, office=office, units=2, categories=2)
    args = {"arrival": d(3).isoformat(), "departure": d(5).isoformat(), "guests": "2"}
    q = public_search.parse(office, args)
    first = public_search.fingerprint(session, q)
    assert public_search.fingerprint(session, q) == first  # nothing changed: the same ETag
    _book(session, prop, prop.categories[1], offset=3, nights=1, source="booking")  # confirmed: no hold counted
    sold = public_search.fingerprint(session, q)
    assert sold != first
    rates.set_night(session, prop.owner, prop, prop.categories[0], d(20), rates.RateChange(price=Decimal("81")))
    assert public_search.fingerprint(session, q) not in (first, sold)


# -- PostgreSQL: row locks between connections --------------------------------------------------

def _pending(engine, prop_id, cat_id, arrival, nights, name) -> Booking:
    return Booking(property_id=prop_id, category_id=cat_id, source="booking", status="confirmed", arrival=arrival,
                   departure=arrival + dt.timedelta(days=nights), units=1, guests=1, guest_name=name,
                   created_at=clock.now(), updated_at=clock.now())


def _lock_timeout(s: Session, ms: int) -> None:
    s.execute(sa.text(f"SET LOCAL lock_timeout = '{ms}ms'"))


@needs_postgres
@pytest.mark.postgres_only
def test_an_open_booking_of_one_category_does_not_block_another_category(session, engine):
    prop = make_property(session, units=2, categories=2)
    prop_id, (a, b) = prop.id, [c.id for c in prop.categories]
    day = clock.today(prop.timezone) + dt.timedelta(days=3)
    session.close()
    with Session(engine) as first, Session(engine) as second:
        open_one = _pending(engine, prop_id, a, day, 3, "A, still open")
        first.add(open_one)
        inventory.take(first, open_one)  # holds category A's row and rates, not committed
        first.flush()
        _lock_timeout(second, 500)
        other = _pending(engine, prop_id, b, day, 3, "B")
        second.add(other)
        inventory.take(second, other)  # would raise LockNotAvailable if it waited for A's writer
        second.commit()
        # The same category does wait for it: within the lock timeout it cannot get A's row.
        with Session(engine) as third:
            _lock_timeout(third, 300)
            same = _pending(engine, prop_id, a, day + dt.timedelta(days=10), 1, "A, later")
            third.add(same)
            with pytest.raises(sa.exc.OperationalError, match="lock"):
                inventory.take(third, same)
            third.rollback()
        first.commit()


def _race(engine, jobs, timeout=60):
    """Run the callables at once (a barrier), each on its own session; their outcomes in order."""
    barrier = threading.Barrier(len(jobs), timeout=timeout)
    outcomes: list = [None] * len(jobs)

    def run(i, job):
        with Session(engine) as s:
            barrier.wait()
            try:
                job(s)
                s.commit()
                outcomes[i] = "ok"
            except Conflict:
                s.rollback()
                outcomes[i] = "conflict"
            except Exception as e:  # noqa: BLE001 - a deadlock or lock error is what the test looks for
                s.rollback()
                outcomes[i] = repr(e)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return outcomes


@needs_postgres
@pytest.mark.postgres_only
def test_bookings_of_one_category_queue_and_never_over_book(session, engine):
    prop = make_property(session, units=3, categories=1, quota=2)
    prop_id, cat = prop.id, prop.categories[0].id
    day = clock.today(prop.timezone) + dt.timedelta(days=5)
    session.close()

    def booking(i):
        def job(s):
            b = _pending(engine, prop_id, cat, day + dt.timedelta(days=i % 3), 2 + i % 2, f"Racer {i}")
            s.add(b)
            inventory.take(s, b)
        return job

    outcomes = _race(engine, [booking(i) for i in range(12)])
    assert set(outcomes) <= {"ok", "conflict"}, outcomes
    per_night = session.execute(sa.select(Occupancy.night, sa.func.count()).group_by(Occupancy.night)).all()
    assert per_night and all(n <= 2 for _, n in per_night)  # the quota (2 of 3 units) holds on every night
    assert outcomes.count("ok") >= 2


@needs_postgres
@pytest.mark.postgres_only
def test_a_property_wide_writer_among_bookings_of_two_categories_never_deadlocks(session, engine):
    prop = make_property(session, units=4, categories=2)
    prop_id = prop.id
    a, b = [c.id for c in prop.categories]
    day = clock.today(prop.timezone) + dt.timedelta(days=4)
    session.close()

    def booking(cat, i):
        def job(s):
            bk = _pending(engine, prop_id, cat, day + dt.timedelta(days=i % 2), 3, f"Guest {cat}-{i}")
            s.add(bk)
            inventory.take(s, bk)
        return job

    def property_wide(i):
        def job(s):
            p = s.get(Property, prop_id)
            registry.add_extra_cost(s, p.owner, p, f"Kurtaxe {i}", "1.00", "night", None)
        return job

    def rate_edit(s):
        p = s.get(Property, prop_id)
        cats = [s.get(RoomCategory, b), s.get(RoomCategory, a)]  # named out of order: locked by id all the same
        rates.bulk_edit(s, p.owner, p, cats, day, day + dt.timedelta(days=3), set(range(7)),
                        rates.RateChange(price=Decimal("99")), confirm_price=True)

    def delete_unit(s):
        p = s.get(Property, prop_id)
        spare = s.get(RoomCategory, b).units[-1]
        registry.delete_unit(s, p.owner, p, spare.id)  # refused (Conflict) if a booking took it first

    for round_ in range(3):
        jobs = [booking(a, 0), booking(b, 1), property_wide(round_), booking(a, 2), rate_edit, booking(b, 3)]
        if round_ == 2:
            jobs.append(delete_unit)
        outcomes = _race(engine, jobs)
        assert all(o in ("ok", "conflict") for o in outcomes), outcomes  # no DeadlockDetected, no lock error
    per_unit_night = session.execute(
        sa.select(Occupancy.unit_id, Occupancy.night, sa.func.count()).group_by(Occupancy.unit_id, Occupancy.night)
        .having(sa.func.count() > 1)).all()
    assert per_unit_night == []
    assert session.scalar(sa.select(sa.func.count(NightRate.night)).where(NightRate.price == Decimal("99"))) == 8

"""services.bookings.own: own bookings (R2, R3) and the final price with mandatory costs (R4)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import pricing
from services.bookings import own
from services.core import clock
from services.properties import registry
from services.core.errors import Conflict, Invalid
from services.models import Booking, Occupancy
from tests.factories import make_property


def _data(prop, offset=1, nights=2, **kw):
    arrival = clock.today(prop.timezone) + dt.timedelta(days=offset)
    values = dict(category_id=prop.categories[0].id, arrival=arrival, departure=arrival + dt.timedelta(days=nights),
                  guest_name="Maria Muster", guests=2)
    values.update(kw)
    return own.OwnBookingData(**values)


def test_own_booking_is_free_of_commission_and_priced_with_mandatory_costs(session):
    """R2: no commission; R4: the final price includes final cleaning and per-night costs."""
    prop = make_property(session, units=2, price="80.00")
    registry.add_extra_cost(session, prop.owner, prop, "Endreinigung", "40", "stay", None)
    registry.add_extra_cost(session, prop.owner, prop, "Nebenkosten", "5", "night", None)
    b = own.create_own_booking(session, prop.owner, prop, _data(prop, nights=3))
    assert b.source == "own" and b.status == "confirmed"
    assert b.total_price == Decimal("80.00") * 3 + Decimal("40.00") + Decimal("15.00")
    q = pricing.quote(session, prop, prop.categories[0], b.arrival, b.departure)
    assert q.lodging == Decimal("240.00") and q.extras_total == Decimal("55.00")


def test_final_price_per_category_cost_applies_only_there(session):
    prop = make_property(session, categories=2)
    registry.add_extra_cost(session, prop.owner, prop, "Bettwäsche", "12.50", "stay", prop.categories[1].id)
    assert pricing.final_price(prop, prop.categories[0].id, Decimal("80")) == Decimal("80")
    assert pricing.final_price(prop, prop.categories[1].id, Decimal("80")) == Decimal("92.50")


@pytest.mark.parametrize("kw,field", [
    (dict(offset=-1), "arrival"),
    (dict(nights=0), "departure"),
    (dict(nights=800), "departure"),
    (dict(guest_name="  "), "guest_name"),
    (dict(units=5), "units"),
    (dict(guests=9), "guests"),
    (dict(category_id=999999), "category_id"),
])
def test_bad_input_is_refused_with_the_field_and_nothing_written(session, kw, field):
    prop = make_property(session, units=2)
    with pytest.raises(Invalid) as e:
        own.create_own_booking(session, prop.owner, prop, _data(prop, **kw))
    assert field in e.value.errors
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_no_night_is_ever_over_booked_by_own_bookings(session):
    prop = make_property(session, units=2)
    own.create_own_booking(session, prop.owner, prop, _data(prop, nights=3))
    own.create_own_booking(session, prop.owner, prop, _data(prop, offset=2, nights=1))
    with pytest.raises(Conflict):
        own.create_own_booking(session, prop.owner, prop, _data(prop, offset=2, nights=2))
    assert session.scalar(sa.select(sa.func.count(Booking.id))) == 2
    counts = session.execute(sa.select(Occupancy.night, sa.func.count()).group_by(Occupancy.night)).all()
    assert max(c for _, c in counts) <= 2


def test_change_dates_is_atomic(session):
    prop = make_property(session, units=1)
    a = own.create_own_booking(session, prop.owner, prop, _data(prop, offset=1, nights=2))
    own.create_own_booking(session, prop.owner, prop, _data(prop, offset=5, nights=2, guest_name="Other"))
    with pytest.raises(Conflict):
        own.update_own_booking(session, prop.owner, prop, a.id, _data(prop, offset=4, nights=2))
    # The failed move left the original stay and its nights untouched.
    a = session.get(Booking, a.id, populate_existing=True)
    nights = sorted(session.scalars(sa.select(Occupancy.night).where(Occupancy.booking_id == a.id)))
    assert nights == [a.arrival, a.arrival + dt.timedelta(days=1)]
    moved = own.update_own_booking(session, prop.owner, prop, a.id, _data(prop, offset=2, nights=3))
    assert sorted(session.scalars(sa.select(Occupancy.night).where(Occupancy.booking_id == moved.id))) == [
        moved.arrival + dt.timedelta(days=i) for i in range(3)]


def test_cancel_frees_the_nights(session):
    prop = make_property(session, units=1)
    a = own.create_own_booking(session, prop.owner, prop, _data(prop))
    own.cancel_own_booking(session, prop.owner, prop, a.id)
    assert session.scalar(sa.select(sa.func.count(Occupancy.id))) == 0
    own.create_own_booking(session, prop.owner, prop, _data(prop, guest_name="Next guest"))


def test_channel_booking_cannot_be_cancelled_by_the_host(session):
    """R32: only the channel cancels."""
    from services.availability import inventory
    from tests.factories import new_booking

    prop = make_property(session)
    b = new_booking(prop, source="slevomat")
    session.add(b)
    inventory.take(session, b)
    session.commit()
    with pytest.raises(Conflict):
        own.cancel_own_booking(session, prop.owner, prop, b.id)

"""services.availability.rates: editing quotas, prices and restrictions (R1), one night or in bulk."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import inventory, rates
from services.core import clock
from services.core.errors import Conflict, Forbidden, Invalid
from services.models import AuditEntry, NightRate
from tests.factories import make_property, make_user, new_booking


def _rate(session, cat, day):
    return session.get(NightRate, (cat.id, day), populate_existing=True)


def test_set_night_changes_only_given_fields_and_records_history(session):
    prop = make_property(session, units=3, price="80.00")
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("95.50"), closed_to_arrival=True))
    r = _rate(session, cat, day)
    assert (r.price, r.quota, r.closed_to_arrival, r.min_stay) == (Decimal("95.50"), 3, True, 1)
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "rates"))
    assert entry.actor_id == prop.owner_id and "95.50" in entry.summary


def test_set_night_creates_a_row_offering_every_unit(session):
    prop = make_property(session, units=4, days=0)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("70")))
    assert _rate(session, cat, day).quota == 4


@pytest.mark.parametrize("change,field", [
    (rates.RateChange(price=Decimal("-1")), "price"),
    (rates.RateChange(quota=-1), "quota"),
    (rates.RateChange(quota=4), "quota"),  # above the 3 physical units
    (rates.RateChange(min_stay=0), "min_stay"),
])
def test_set_night_refuses_bad_values(session, change, field):
    prop = make_property(session, units=3)
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    with pytest.raises(Invalid) as e:
        rates.set_night(session, prop.owner, prop, prop.categories[0], day, change)
    assert field in e.value.errors
    session.rollback()
    assert _rate(session, prop.categories[0], day).price == Decimal("80.00")


def test_past_nights_cannot_be_changed(session):
    prop = make_property(session)
    yesterday = clock.today(prop.timezone) - dt.timedelta(days=1)
    with pytest.raises(Invalid):
        rates.set_night(session, prop.owner, prop, prop.categories[0], yesterday, rates.RateChange(price=Decimal(1)))


def test_quota_cannot_go_below_online_bookings_and_names_them(session):
    prop = make_property(session, units=3)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    for name in ("Ann Online", "Bob Online"):
        b = new_booking(prop, arrival=day, source="booking", guest=name)
        session.add(b)
        inventory.take(session, b)
    own = new_booking(prop, arrival=day, source="own", guest="Own Guest")
    session.add(own)
    inventory.take(session, own)
    session.commit()
    with pytest.raises(Conflict) as e:
        rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(quota=1))
    text = str(e.value.message)
    assert "Ann Online" in text and "Bob Online" in text and "Own Guest" not in text
    session.rollback()
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(quota=2))  # own bookings need no quota
    assert _rate(session, cat, day).quota == 2


def test_bulk_edit_only_touches_chosen_weekdays(session):
    prop = make_property(session, units=2, categories=2, price="80.00")
    start = clock.today(prop.timezone) + dt.timedelta(days=1)
    end = start + dt.timedelta(days=20)
    n = rates.bulk_edit(session, prop.owner, prop, prop.categories, start, end, {4, 5},
                        rates.RateChange(price=Decimal("120.00"), min_stay=2))
    fri_sat = [start + dt.timedelta(days=i) for i in range(21) if (start + dt.timedelta(days=i)).weekday() in (4, 5)]
    assert n == 2 * len(fri_sat)
    for cat in prop.categories:
        for i in range(21):
            day = start + dt.timedelta(days=i)
            r = _rate(session, cat, day)
            expected = (Decimal("120.00"), 2) if day in fri_sat else (Decimal("80.00"), 1)
            assert (r.price, r.min_stay) == expected, day


def test_bulk_edit_closes_and_creates_missing_nights(session):
    prop = make_property(session, units=2, days=5)
    start = clock.today(prop.timezone)
    end = start + dt.timedelta(days=9)
    rates.bulk_edit(session, prop.owner, prop, prop.categories, start, end, set(range(7)), rates.RateChange(closed=True))
    rows = session.scalars(sa.select(NightRate).where(NightRate.category_id == prop.categories[0].id)).all()
    assert len(rows) == 10 and all(r.closed for r in rows)
    assert all(r.price is None for r in rows if r.night >= start + dt.timedelta(days=5))


@pytest.mark.parametrize("start_offset,length,weekdays,field", [
    (-1, 5, set(range(7)), "start"),      # in the past
    (1, 800, set(range(7)), "end"),       # more than two years
    (5, -2, set(range(7)), "end"),        # end before start
    (1, 5, set(), "weekdays"),
])
def test_bulk_edit_refuses_bad_ranges(session, start_offset, length, weekdays, field):
    prop = make_property(session)
    start = clock.today(prop.timezone) + dt.timedelta(days=start_offset)
    with pytest.raises(Invalid) as e:
        rates.bulk_edit(session, prop.owner, prop, prop.categories, start, start + dt.timedelta(days=length),
                        weekdays, rates.RateChange(price=Decimal("1")))
    assert field in e.value.errors


def test_bulk_edit_quota_check_covers_every_category(session):
    prop = make_property(session, units=2, categories=2)
    day = clock.today(prop.timezone) + dt.timedelta(days=3)
    b = new_booking(prop, category=prop.categories[1], arrival=day, source="tourist_office", guest="Carla")
    session.add(b)
    inventory.take(session, b)
    session.commit()
    with pytest.raises(Conflict) as e:
        rates.bulk_edit(session, prop.owner, prop, prop.categories, day - dt.timedelta(days=1), day + dt.timedelta(days=1),
                        set(range(7)), rates.RateChange(quota=0))
    assert "Carla" in str(e.value.message)
    session.rollback()
    assert _rate(session, prop.categories[0], day).quota == 2  # nothing half-written


def test_other_hosts_cannot_edit(session):
    prop = make_property(session)
    intruder = make_user(session, "host")
    with pytest.raises(Forbidden):
        rates.set_night(session, intruder, prop, prop.categories[0], clock.today(prop.timezone),
                        rates.RateChange(price=Decimal(1)))


# -- price sanity (issue 9): no silent rounding, unusual prices confirmed ------------------------

@pytest.mark.parametrize("price", ["89.999", "0.001", "100.005"])
def test_more_than_two_decimals_is_refused_not_rounded(session, price):
    prop = make_property(session, units=2, price="80.00")
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    with pytest.raises(Invalid) as e:
        rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal(price)))
    assert "two decimal places" in str(e.value.errors["price"])
    assert _rate(session, cat, day).price == Decimal("80.00")  # untouched
    with pytest.raises(Invalid) as e:
        rates.bulk_edit(session, prop.owner, prop, [cat], day, day, set(range(7)), rates.RateChange(price=Decimal(price)))
    assert "price" in e.value.errors


def test_trailing_zeros_are_two_decimals(session):
    prop = make_property(session, units=2, price="80.00")
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("89.990")))
    assert _rate(session, cat, day).price == Decimal("89.99")


@pytest.mark.parametrize("price,unusual", [("240.00", False), ("240.01", True), ("26.67", False), ("26.66", True),
                                           ("0", True)])
def test_price_far_from_the_median_needs_confirmation(session, price, unusual):
    prop = make_property(session, units=2, price="80.00")  # median from today on: 80.00
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=3)
    change = rates.RateChange(price=Decimal(price))
    if unusual:
        with pytest.raises(rates.UnusualPrice) as e:
            rates.set_night(session, prop.owner, prop, cat, day, change)
        assert e.value.status == 422 and e.value.code == "confirm_price"
        assert "80.00" in str(e.value.errors["price"]) and "Save anyway?" in str(e.value.errors["price"])
        assert _rate(session, cat, day).price == Decimal("80.00")
        with pytest.raises(rates.UnusualPrice):
            rates.bulk_edit(session, prop.owner, prop, [cat], day, day, set(range(7)), change)
        rates.set_night(session, prop.owner, prop, cat, day, change, confirm_price=True)
    else:
        rates.set_night(session, prop.owner, prop, cat, day, change)
    assert _rate(session, cat, day).price == Decimal(price)


def test_without_prices_a_price_above_the_ceiling_needs_confirmation(session):
    prop = make_property(session, units=2, days=0)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    rates.bulk_edit(session, prop.owner, prop, [cat], day, day, set(range(7)), rates.RateChange(price=Decimal("1000")))
    with pytest.raises(rates.UnusualPrice) as e:
        rates.bulk_edit(session, prop.owner, prop, [cat], day + dt.timedelta(days=1), day + dt.timedelta(days=1),
                        set(range(7)), rates.RateChange(price=Decimal("8900")))
    assert "has no prices yet" not in str(e.value.errors["price"])  # 1000 is its median now


def test_first_price_above_the_ceiling_asks_and_a_confirmed_one_is_saved(session):
    prop = make_property(session, units=2, days=0)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    with pytest.raises(rates.UnusualPrice) as e:
        rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("8900")))
    assert "no prices yet" in str(e.value.errors["price"])
    assert _rate(session, cat, day) is None
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("8900")), confirm_price=True)
    assert _rate(session, cat, day).price == Decimal("8900.00")


def test_past_prices_do_not_count_towards_the_median(session):
    today = dt.date.today()
    prop = make_property(session, units=2, price="500.00", days=10, start=today - dt.timedelta(days=20))
    cat = prop.categories[0]
    assert rates.median_price(session, cat.id, clock.today(prop.timezone)) is None


# -- the maximum stay (issue 11) -----------------------------------------------------------------

def test_max_stay_is_set_kept_and_cleared(session):
    prop = make_property(session, units=2)
    cat, day = prop.categories[0], clock.today(prop.timezone) + dt.timedelta(days=2)
    assert _rate(session, cat, day).max_stay is None  # no limit unless set
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(min_stay=2, max_stay=7))
    assert (_rate(session, cat, day).min_stay, _rate(session, cat, day).max_stay) == (2, 7)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("85.00")))
    assert _rate(session, cat, day).max_stay == 7  # a change without it leaves it
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(clear_max_stay=True))
    assert _rate(session, cat, day).max_stay is None
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "rates").order_by(AuditEntry.id.desc()))
    assert '"max_stay":[[7],[null]]' in entry.summary  # old -> new, for the history page


@pytest.mark.parametrize("change,field", [
    (rates.RateChange(max_stay=0), "max_stay"),
    (rates.RateChange(max_stay=366), "max_stay"),
    (rates.RateChange(min_stay=4, max_stay=3), "max_stay"),  # shorter than the minimum set with it
    (rates.RateChange(max_stay=5, clear_max_stay=True), "max_stay"),
])
def test_max_stay_refuses_bad_values(session, change, field):
    prop = make_property(session, units=2)
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    with pytest.raises(Invalid) as e:
        rates.set_night(session, prop.owner, prop, prop.categories[0], day, change)
    assert list(e.value.errors) == [field]
    session.rollback()
    assert _rate(session, prop.categories[0], day).max_stay is None


def test_max_stay_equal_to_min_stay_is_fine(session):
    prop = make_property(session, units=2)
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    rates.set_night(session, prop.owner, prop, prop.categories[0], day, rates.RateChange(min_stay=3, max_stay=3))
    assert _rate(session, prop.categories[0], day).max_stay == 3


def test_bulk_edit_sets_and_clears_the_max_stay(session):
    prop = make_property(session, units=2, categories=2)
    today = clock.today(prop.timezone)
    start, end = today + dt.timedelta(days=1), today + dt.timedelta(days=14)
    count = rates.bulk_edit(session, prop.owner, prop, prop.categories, start, end, set(range(7)),
                            rates.RateChange(max_stay=5))
    assert count == 28
    assert {r.max_stay for c in prop.categories for r in (_rate(session, c, start + dt.timedelta(days=i)) for i in range(14))} == {5}
    assert _rate(session, prop.categories[0], start).min_stay == 1  # untouched
    # Clearing alone is a change (not "set at least one value").
    rates.bulk_edit(session, prop.owner, prop, prop.categories[:1], start, end, {5, 6}, rates.RateChange(clear_max_stay=True))
    weekend = [start + dt.timedelta(days=i) for i in range(14) if (start + dt.timedelta(days=i)).weekday() >= 5]
    assert all(_rate(session, prop.categories[0], n).max_stay is None for n in weekend)
    assert _rate(session, prop.categories[1], weekend[0]).max_stay == 5
    with pytest.raises(Invalid) as e:
        rates.bulk_edit(session, prop.owner, prop, prop.categories, start, end, set(range(7)),
                        rates.RateChange(min_stay=6, max_stay=5))
    assert "max_stay" in e.value.errors


def test_inventory_figures_carry_the_max_stay(session):
    prop = make_property(session, units=2)
    cat, day = prop.categories[0], clock.today(prop.timezone) + dt.timedelta(days=3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(max_stay=4))
    figures = inventory.nights_for(session, [cat.id], day, day + dt.timedelta(days=2))[cat.id]
    assert figures[day].max_stay == 4 and figures[day + dt.timedelta(days=1)].max_stay is None

"""services.availability.search: the office-wide search for room categories free for a whole
stay (R13 step 2, later the public search)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import inventory, search
from services.models import ExtraCost
from tests.conftest import is_postgres
from tests.factories import make_office, new_booking

from tests.services.availability.search_world import NOW, _prop, _rate, d, office  # noqa: F401 (a fixture)


def _found(session, office, arrival=None, departure=None, guests=2, units=1, exclude=None):
    arrival = arrival or d(3)
    departure = departure or arrival + dt.timedelta(days=2)
    return {(f.prop.name, f.category.name): f
            for f in search.free_stays(session, office.id, arrival, departure, guests, units, exclude)}


def test_lists_the_office_s_active_properties_with_final_prices_and_nothing_else(session, office):
    here = _prop(session, office, "Haus Hier")
    other = _prop(session, office, "Haus Dort", price="90.00")
    _prop(session, office, "Haus Ohne Vertrag", active=False)
    _prop(session, make_office(session, "Tourist-Info Zwei"), "Haus Fremd")
    session.add_all([ExtraCost(property_id=other.id, name="Endreinigung", amount=Decimal("40.00"), per="stay"),
                     ExtraCost(property_id=other.id, name="Kurtaxe", amount=Decimal("2.50"), per="night")])
    session.commit()
    found = _found(session, office, exclude=here.id)
    assert list(found) == [("Haus Dort", "Category 1")]
    stay = found[("Haus Dort", "Category 1")]
    assert stay.lodging == Decimal("180.00") and stay.extras_total == Decimal("45.00")
    assert stay.total == Decimal("225.00") and stay.available == 2 and stay.nights == 2
    # without the exclusion the property itself is listed too, cheapest first
    assert [k[0] for k in _found(session, office)] == ["Haus Hier", "Haus Dort"]


def test_two_units_for_a_group_pay_twice(session, office):
    _prop(session, office, "Haus Dort")
    stay = _found(session, office, guests=4, units=2)[("Haus Dort", "Category 1")]
    assert stay.lodging == Decimal("320.00") and stay.units == 2


def test_guests_must_fit_the_category(session, office):
    _prop(session, office, "Haus Dort")  # max 2 guests per unit
    assert _found(session, office, guests=3) == {}
    assert list(_found(session, office, guests=3, units=2)) == [("Haus Dort", "Category 1")]
    assert _found(session, office, guests=5, units=2) == {}


def test_min_stay_of_the_arrival_night(session, office):
    prop = _prop(session, office, "Haus Dort")
    _rate(session, prop.categories[0], d(3), min_stay=3)
    assert _found(session, office, d(3), d(5)) == {}
    assert len(_found(session, office, d(3), d(6))) == 1
    assert len(_found(session, office, d(4), d(6))) == 1  # only the arrival night's minimum counts


def test_max_stay_of_the_arrival_night(session, office):
    prop = _prop(session, office, "Haus Dort")
    _rate(session, prop.categories[0], d(3), max_stay=2)
    assert len(_found(session, office, d(3), d(5))) == 1
    assert _found(session, office, d(3), d(6)) == {}


def test_quota_used_up_by_online_sales_on_one_night(session, office):
    prop = _prop(session, office, "Haus Dort", units=3, quota=1)
    b = new_booking(prop, arrival=d(4), nights=1, source="booking")
    session.add(b)
    inventory.take(session, b)
    session.commit()
    assert _found(session, office, d(3), d(5)) == {}  # the second night has no quota left
    assert len(_found(session, office, d(5), d(7))) == 1


def test_own_bookings_take_units_not_quota(session, office):
    prop = _prop(session, office, "Haus Dort", units=1)
    b = new_booking(prop, arrival=d(4), nights=1, source="own")
    session.add(b)
    inventory.take(session, b)
    session.commit()
    assert _found(session, office, d(3), d(5)) == {}
    assert len(_found(session, office, d(5), d(6))) == 1


@pytest.mark.parametrize("night,values", [
    (4, {"closed": True}), (4, {"price": None}), (4, {"quota": 0}),
    (3, {"closed_to_arrival": True}), (5, {"closed_to_departure": True}),
])
def test_restrictions_on_any_night_of_the_stay(session, office, night, values):
    prop = _prop(session, office, "Haus Dort")
    _rate(session, prop.categories[0], d(night), **values)
    assert _found(session, office, d(3), d(5)) == {}


def test_arrival_and_departure_restrictions_elsewhere_do_not_matter(session, office):
    prop = _prop(session, office, "Haus Dort")
    _rate(session, prop.categories[0], d(4), closed_to_arrival=True, closed_to_departure=True)
    assert len(_found(session, office, d(3), d(5))) == 1


def test_a_night_without_a_rate_row_is_not_offered(session, office):
    prop = _prop(session, office, "Haus Dort", days=5)  # rates for d(0)..d(4)
    assert len(_found(session, office, d(3), d(5))) == 1
    assert _found(session, office, d(4), d(6)) == {}
    assert prop


def test_empty_or_backwards_stays_find_nothing(session, office):
    _prop(session, office, "Haus Dort")
    assert search.free_stays(session, office.id, d(3), d(3), 2) == []
    assert search.free_stays(session, office.id, d(3), d(2), 2) == []


def test_query_count_does_not_depend_on_properties_or_nights(session, office, count_queries):
    for i in range(2):
        p = _prop(session, office, f"Haus {i}")
        session.add(ExtraCost(property_id=p.id, name="Endreinigung", amount=Decimal("40.00"), per="stay"))
    session.commit()
    office_id = office.id
    session.expire_all()
    with count_queries() as few:
        assert len(search.free_stays(session, office_id, d(3), d(5), 2)) == 2
    for i in range(2, 6):
        p = _prop(session, office, f"Haus {i}", categories=2)
        session.add(ExtraCost(property_id=p.id, name="Endreinigung", amount=Decimal("40.00"), per="stay"))
    session.commit()
    session.expire_all()
    with count_queries() as many:
        found = search.free_stays(session, office_id, d(3), d(20), 2)
        assert len(found) == 10 and all(f.extras_total == Decimal("40.00") for f in found)
        assert {f.prop.name for f in found}  # properties loaded with the categories
    few, many = ([q for q in qs if not q.startswith("BEGIN")] for qs in (few, many))
    # categories with their properties, mandatory costs; inventory.nights_for's; maximum stays
    assert len(few) == len(many) <= 8, many


@pytest.mark.skipif(not is_postgres(), reason="PostgreSQL's planner")
def test_night_rate_and_occupancy_lookups_use_indexes_without_statistics(session, office, engine):
    """No autovacuum, no ANALYZE: the planner still finds the indexes for the lookups."""
    props = [_prop(session, office, f"Haus {i}", units=4, categories=3, days=400) for i in range(6)]
    for p in props:
        for cat in p.categories:
            for k in range(0, 300, 3):
                b = new_booking(p, category=cat, arrival=d(k), nights=2, source="booking")
                session.add(b)
                inventory.take(session, b)
    session.commit()
    captured = []

    def before(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        search.free_stays(session, office.id, d(100), d(103), 2)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    session.rollback()
    plans = {}
    with engine.connect() as conn:
        for statement, parameters in captured:
            for table in ("night_rate", "occupancy"):
                if f"FROM {table}" in statement or f"JOIN {table}" in statement:
                    plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
                    plans.setdefault(table, []).append(plan)
    assert set(plans) == {"night_rate", "occupancy"}
    for table, found in plans.items():
        for plan in found:
            assert f"Seq Scan on {table}" not in plan, plan

"""The availability cache (portal/blueprints/api/cache.py): fresh while the property's version
and its categories' versions hold, read with the key in one statement. Any write in any
category ends it; nothing written, it stays a hit."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal.blueprints.api import routes
from services.availability import rates
from services.channels import connections
from services.core import clock
from services.properties import registry
from tests.api.conftest import ApiClient
from tests.factories import make_property


@pytest.fixture
def two(session, client, monkeypatch):
    """(property, api client, builds): a property of two categories; `builds` counts cache misses."""
    clock.set_now(clock.now())
    prop = make_property(session, units=2, categories=2, price="100.00", days=90)
    _, key = connections.switch_on(session, None, prop, "slevomat", hold_minutes=60)
    builds = []
    real = routes._availability

    def counting(*args):
        builds.append(args[1:])
        return real(*args)

    monkeypatch.setattr(routes, "_availability", counting)
    return prop, ApiClient(client, key), builds


def _hold(prop, cat, offset=40, external_id="H-1"):
    arrival = clock.today(prop.timezone) + dt.timedelta(days=offset)
    return {"external_id": external_id, "room_category_id": cat.id, "arrival": arrival.isoformat(),
            "departure": (arrival + dt.timedelta(days=2)).isoformat(), "units": 1, "guests": 2,
            "guest": {"name": "Jana Nová", "email": "jana@example.cz", "phone": "+420 1"}, "status": "pending"}


def test_a_hit_stays_a_hit_while_nothing_changes(two):
    prop, api, builds = two
    day = clock.today(prop.timezone)
    url = f"/availability?from={day}&to={day + dt.timedelta(days=7)}"
    bodies = {api.get(url).get_data() for _ in range(5)}
    assert len(bodies) == 1 and len(builds) == 1
    api.get(f"/availability?from={day}&to={day + dt.timedelta(days=8)}")  # another range: its own entry
    assert len(builds) == 2 and api.get(url).status_code == 200 and len(builds) == 2


def test_every_kind_of_write_in_any_category_ends_the_cached_answers(session, two):
    prop, api, builds = two
    a, b = prop.categories
    day = clock.today(prop.timezone)
    url = f"/availability?from={day}&to={day + dt.timedelta(days=3)}"  # nights far from the writes below

    def misses_after(write) -> int:
        api.get(url)
        before = len(builds)
        assert api.get(url).status_code == 200 and len(builds) == before  # a hit
        write()
        api.get(url)
        return len(builds) - before

    held = {}

    def hold_in_b():
        r = api.post("/reservations", json=_hold(prop, b))
        assert r.status_code == 201
        held["id"] = r.json["id"]

    assert misses_after(hold_in_b) == 1  # a booking (category B only)
    assert misses_after(lambda: api.post(f"/reservations/{held['id']}/confirm")) == 1  # a confirmation
    assert misses_after(lambda: api.post(f"/reservations/{held['id']}/cancel")) == 1  # a release
    assert misses_after(lambda: rates.set_night(session, prop.owner, prop, a, day + dt.timedelta(days=50),
                                                rates.RateChange(price=Decimal("90.00")))) == 1  # a rate, category A
    assert misses_after(lambda: registry.add_extra_cost(session, prop.owner, prop, "Kurtaxe", "2.00", "night",
                                                        None)) == 1  # property-wide
    assert misses_after(lambda: None) == 0


def test_a_booking_in_one_category_shows_at_once_in_the_cached_answer(two):
    prop, api, _ = two
    a, b = prop.categories
    arrival = clock.today(prop.timezone) + dt.timedelta(days=40)
    url = f"/availability?from={arrival}&to={arrival + dt.timedelta(days=1)}"

    def available():
        return {c["id"]: c["nights"][0]["available"] for c in api.get(url).json["room_categories"]}

    assert available() == available() == {a.id: 2, b.id: 2}
    assert api.post("/reservations", json=_hold(prop, b)).status_code == 201
    assert available() == {a.id: 2, b.id: 1}


def test_a_hit_costs_one_statement_that_reads_the_key_and_every_version(two, count_queries):
    prop, api, builds = two
    day = clock.today(prop.timezone)
    url = f"/availability?from={day}&to={day + dt.timedelta(days=7)}"
    api.get(url)
    with count_queries() as statements:
        assert api.get(url).status_code == 200
    sql = [s for s in statements if s.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")]
    if sql:  # SQLite: in the session; PostgreSQL: on a raw autocommit connection, unseen here
        assert len(sql) == 1 and "room_category" in sql[0] and "inventory_version" in sql[0]
    assert len(builds) == 1

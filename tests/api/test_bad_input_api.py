"""Input the API cannot take is a 4xx with a code, never a 500 (issue 7): text that is no text
(NUL, lone surrogates), control characters in names, moments at the edges of what Python and
the database hold, huge or odd numbers, JSON nested too deeply, totals too large to store."""
from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import rates
from services.core import clock
from services.properties import registry
from services.core.inputs import MAX_COSTS, MAX_NIGHT_PRICE, MAX_NIGHTS, MAX_UNITS_PER_BOOKING
from services.models import AuditEntry, Booking, NightRate, Occupancy, OutboxEvent
from tests.factories import make_property


def _counts(session) -> tuple[int, ...]:
    session.expire_all()
    return tuple(session.scalar(sa.select(sa.func.count()).select_from(t))
                 for t in (Booking, Occupancy, NightRate, AuditEntry, OutboxEvent))


def _refused(r, status=422, code="invalid", field=None):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:500])
    assert r.json["error"]["code"] == code
    if field is not None:
        assert r.json["error"]["field"] == field, r.json


# -- text that is no text, control characters in names -----------------------------------------

@pytest.mark.parametrize("path, value", [
    ("guest.name", "Jana\x00Nová"),
    ("guest.name", "\ud800"),
    ("guest.phone", "+420\x00"),
    ("guest.email", "jana\x00@example.cz"),
    ("external_id", "ORDER\x00-1"),
    ("external_id", "ORDER-\udfff"),
])
def test_nul_and_lone_surrogates_in_json_are_a_422_with_the_field(session, channel, body, path, value):
    api = channel[2]
    data = body()
    if path.startswith("guest."):
        data["guest"][path[6:]] = value
    else:
        data[path] = value
    before = _counts(session)
    _refused(api.post("/reservations", json=data), field=path)
    assert _counts(session) == before


def test_a_lone_surrogate_escaped_in_raw_json_is_a_422(session, channel, body):
    api = channel[2]
    raw = '{"external_id": "A-1", "guest": {"name": "\\ud800"}}'
    r = api.client.post("/api/v1/reservations", data=raw, content_type="application/json",
                        headers={"Authorization": f"Bearer {api.key}"})
    _refused(r, field="guest.name")


def test_a_nul_in_a_json_key_is_a_422(channel, body):
    api = channel[2]
    r = api.post("/reservations", json={**body(), "na\x00me": "x"})
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid"


@pytest.mark.parametrize("name", ["Jana\nNová", "Jana\rNová", "Jana\tNová", "Jana\x07", "Jana\u2028Nová", "Jana\x85Nová"])
def test_control_characters_in_the_guest_name_are_refused(session, channel, body, name):
    api = channel[2]
    data = body()
    data["guest"]["name"] = name
    _refused(api.post("/reservations", json=data), field="guest.name")
    assert session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_nul_in_a_query_argument_is_a_422(channel):
    api = channel[2]
    _refused(api.get("/availability?from=2030-01-01%00&to=2030-01-05"), field="from")
    _refused(api.get("/reservations?cursor=%00"), field="cursor")


# -- moments at the edges ----------------------------------------------------------------------

EDGES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("value", EDGES)
def test_free_cancellation_until_at_the_edges_is_a_422(session, channel, body, value):
    api = channel[2]
    before = _counts(session)
    _refused(api.post("/reservations", json=body(free_cancellation_until=value)), field="free_cancellation_until")
    assert _counts(session) == before


@pytest.mark.parametrize("value", EDGES)
def test_changed_since_at_the_edges_is_a_422(channel, value):
    api = channel[2]
    _refused(api.get("/reservations", query_string={"changed_since": value}), field="changed_since")


def test_changed_since_far_in_the_past_or_future_is_answered(channel, body):
    api = channel[2]
    assert api.post("/reservations", json=body()).status_code == 201
    r = api.get("/reservations", query_string={"changed_since": "0001-01-01T00:00:00Z"})
    assert r.status_code == 200 and len(r.json["reservations"]) == 1
    r = api.get("/reservations", query_string={"changed_since": "9999-12-31T23:59:59Z"})
    assert r.status_code == 200 and r.json["reservations"] == []


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize("cursor", [
    _cursor(f"{EDGES[0]}|1"), _cursor(f"{EDGES[1]}|1"), _cursor("2030-01-01T00:00:00+00:00|" + "1" + "0" * 30),
    _cursor("2030-01-01T00:00:00+00:00|-1"), _cursor("2030-01-01T00:00:00+00:00|²"), "%%%",
    _cursor("2030-01-01T00:00:00|1"),
])
def test_bad_cursors_are_a_422(channel, cursor):
    _refused(channel[2].get("/reservations", query_string={"cursor": cursor}), field="cursor")


@pytest.mark.parametrize("limit", ["²", "١٢", "0", "201", "1" + "0" * 30, "-1", " 5", "5.0", ""])
def test_bad_limits_are_a_422(channel, limit):
    _refused(channel[2].get("/reservations", query_string={"limit": limit}), field="limit")


def test_a_good_limit_still_pages(channel, body):
    api = channel[2]
    for i in range(3):
        assert api.post("/reservations", json=body(external_id=f"O-{i}", offset=3 + 2 * i)).status_code == 201
    first = api.get("/reservations?limit=2")
    assert first.status_code == 200 and len(first.json["reservations"]) == 2 and first.json["next"]
    rest = api.get("/reservations", query_string={"limit": "2", "cursor": first.json["next"]})
    assert [r["external_id"] for r in rest.json["reservations"]] == ["O-2"]


@pytest.mark.parametrize("units", [10**30, -(10**30), 2**31])
def test_huge_numbers_in_json_are_a_422(channel, body, units):
    api = channel[2]
    _refused(api.post("/reservations", json=body(units=units)), field="units")
    _refused(api.post("/reservations", json=body(room_category_id=units)), field="room_category_id")


def test_huge_reservation_id_in_the_path_is_a_404(channel):
    api = channel[2]
    assert api.get("/reservations/" + "9" * 30).status_code == 404
    assert api.post("/reservations/" + "9" * 30 + "/cancel").status_code == 404


# -- JSON nested too deeply --------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/reservations", "/reservations/1/confirm", "/reservations/1/cancel"])
@pytest.mark.parametrize("opening, depth", [("[", 30000), ('{"":', 15000)])  # within the 64 KB a body may have
def test_json_nested_30000_deep_is_a_400(channel, path, opening, depth):
    api = channel[2]
    raw = opening * depth
    r = api.client.post("/api/v1" + path, data=raw, content_type="application/json",
                        headers={"Authorization": f"Bearer {api.key}"})
    _refused(r, status=400, code="invalid_json")


def test_json_nested_moderately_deep_is_a_400_too(channel):
    api = channel[2]
    nested = "x"
    for _ in range(200):
        nested = {"a": nested}
    _refused(api.post("/reservations/1/cancel", json=nested), status=400, code="invalid_json")


# -- money: bounds that keep every total inside its column ------------------------------------

@pytest.mark.parametrize("via", ["api", "own booking"])
def test_the_largest_booking_the_bounds_allow_is_stored(session, client, via):
    """MAX_UNITS_PER_BOOKING units for MAX_NIGHTS nights at MAX_NIGHT_PRICE with MAX_COSTS of
    mandatory costs per night: the total fits its Numeric(14, 2) column (PostgreSQL refused
    such totals before)."""
    from services.bookings import own
    from services.channels import connections
    from tests.api.conftest import ApiClient

    clock.set_now(clock.now())
    prop = make_property(session, units=MAX_UNITS_PER_BOOKING, days=0)
    prop.categories[0].max_guests = 2
    session.commit()
    start = clock.today(prop.timezone) + dt.timedelta(days=1)
    end = start + dt.timedelta(days=MAX_NIGHTS)
    rates.bulk_edit(session, prop.owner, prop, prop.categories, start, end - dt.timedelta(days=1), set(range(7)),
                    rates.RateChange(price=MAX_NIGHT_PRICE, quota=MAX_UNITS_PER_BOOKING), confirm_price=True)
    half = (MAX_COSTS / 2).quantize(Decimal("0.01"))
    registry.add_extra_cost(session, prop.owner, prop, "Cleaning", str(half), "night", None)
    registry.add_extra_cost(session, prop.owner, prop, "Linen", str(MAX_COSTS - half), "night", None)
    expected = MAX_UNITS_PER_BOOKING * MAX_NIGHTS * (MAX_NIGHT_PRICE + MAX_COSTS)
    if via == "api":
        _, key = connections.switch_on(session, None, prop, "booking")
        r = ApiClient(client, key).post("/reservations", json={
            "external_id": "BIG", "room_category_id": prop.categories[0].id, "arrival": start.isoformat(),
            "departure": end.isoformat(), "units": MAX_UNITS_PER_BOOKING, "guests": 1, "guest": {"name": "Group"}})
        assert r.status_code == 201, r.json
        assert Decimal(r.json["total_price"]) == expected
    else:
        own.create_own_booking(session, prop.owner, prop, own.OwnBookingData(
            category_id=prop.categories[0].id, arrival=start, departure=end, guest_name="Group",
            units=MAX_UNITS_PER_BOOKING))
    session.expire_all()
    assert session.scalar(sa.select(Booking.total_price)) == expected
    assert session.scalar(sa.select(sa.func.count(Occupancy.id))) == MAX_UNITS_PER_BOOKING * MAX_NIGHTS


def test_more_units_than_a_booking_may_take_is_a_422(channel, body):
    _refused(channel[2].post("/reservations", json=body(units=MAX_UNITS_PER_BOOKING + 1)), field="units")


def test_a_cost_that_would_overflow_every_total_is_refused_and_bookings_keep_working(session, channel, body):
    """A mandatory cost of 99,999,999.99 was accepted and then every reservation failed."""
    from services.core.errors import Invalid

    prop, _, api = channel
    with pytest.raises(Invalid) as e:
        registry.add_extra_cost(session, prop.owner, prop, "Huge", "99999999.99", "night", None)
    assert "amount" in e.value.errors
    assert api.post("/reservations", json=body()).status_code == 201


def test_a_total_too_large_to_store_is_a_422_not_a_500(session, client):
    """Prices stored before the bounds existed make a total that does not fit even Numeric(14, 2)
    (30 units x 366 nights x 99,999,999): the reservation is refused, nothing is written."""
    from services.channels import connections
    from tests.api.conftest import ApiClient

    clock.set_now(clock.now())
    prop = make_property(session, units=30, days=MAX_NIGHTS + 2)
    cat = prop.categories[0]
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id).values(price=Decimal("99999999.00")))
    session.commit()
    _, key = connections.switch_on(session, None, prop, "booking")
    start = clock.today(prop.timezone) + dt.timedelta(days=1)
    before = _counts(session)
    r = ApiClient(client, key).post("/reservations", json={
        "external_id": "HUGE", "room_category_id": cat.id, "arrival": start.isoformat(),
        "departure": (start + dt.timedelta(days=MAX_NIGHTS)).isoformat(), "units": 30, "guests": 1,
        "guest": {"name": "Group"}})
    _refused(r, field="departure")
    assert _counts(session) == before


@pytest.mark.parametrize("start, end", [("0001-01-01", "0001-01-03"), ("9999-12-29", "9999-12-31"),
                                        ("0001-01-01", "9999-12-31")])
def test_availability_at_the_edges_of_the_calendar_is_answered(channel, start, end):
    r = channel[2].get(f"/availability?from={start}&to={end}")
    assert r.status_code in (200, 422), r.get_data(as_text=True)[:300]

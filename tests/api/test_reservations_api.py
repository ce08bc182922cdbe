"""The JSON API end to end (R30-R37): holds, expiry, confirm, cancel, partial cancel, retries."""
from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
import sqlalchemy as sa

from services.channels import api_keys, connections, host_changes
from services.core import clock
from services.models import Booking, Occupancy
from tests.factories import make_property


def test_missing_or_wrong_key_is_401_json(client, channel):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer hp_000000000000_" + "x" * 30}):
        r = client.get("/api/v1/property", headers=headers)
        assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_revoked_key_stops_working(session, channel):
    prop, conn, api = channel
    assert api.get("/property").status_code == 200
    connections.revoke(session, prop.owner, prop, "slevomat")
    assert api.get("/property").status_code == 401


def test_property(channel):
    prop, _, api = channel
    r = api.get("/property")
    assert r.json == {"id": prop.id, "name": prop.name, "currency": "EUR", "channel": "slevomat", "scope": "booking",
                      "inventory_mode": "request", "room_categories": [
        {"id": prop.categories[0].id, "name": "Category 1", "units": 2, "max_guests": 2}]}


def test_availability_reports_nights_and_final_price_rule(channel, body):
    prop, _, api = channel
    start = clock.today(prop.timezone)
    assert api.post("/reservations", json=body(offset=1, nights=1)).status_code == 201
    r = api.get(f"/availability?from={start}&to={start + dt.timedelta(days=3)}")
    assert r.status_code == 200
    nights = r.json["room_categories"][0]["nights"]
    assert [n["available"] for n in nights] == [2, 1, 2]
    assert nights[0] == {"date": start.isoformat(), "available": 2, "price": "100.00", "final_price": "130.00",
                         "min_stay": 1, "max_stay": None, "closed": False, "closed_to_arrival": False,
                         "closed_to_departure": False}
    assert r.json["final_price_rule"]["mandatory_costs"] == [
        {"name": "Endreinigung", "amount": "30.00", "per": "stay", "room_category_id": None}]


@pytest.mark.parametrize("query,field", [
    ("", "from"), ("from=2027-01-01", "to"), ("from=2027-01-05&to=2027-01-01", "to"),
    ("from=2027-01-01&to=2028-06-01", "to"), ("from=x&to=2027-01-01", "from"),
])
def test_availability_bad_ranges(channel, query, field):
    r = channel[2].get("/availability?" + query)
    assert r.status_code == 422 and r.json["error"]["field"] == field


def test_create_then_retry_is_safe(session, channel, body):
    _, _, api = channel
    r1 = api.post("/reservations", json=body())
    assert r1.status_code == 201
    res = r1.json
    assert res["status"] == "confirmed" and res["voucher"] and res["total_price"] == "230.00"
    assert res["price_breakdown"]["mandatory_costs"] == [{"name": "Endreinigung", "amount": "30.00"}]
    r2 = api.post("/reservations", json=body())
    assert r2.status_code == 200 and r2.json["id"] == res["id"]
    assert session.scalar(sa.select(sa.func.count(Booking.id))) == 1


def test_conflict_names_the_nights(channel, body):
    _, _, api = channel
    assert api.post("/reservations", json=body(units=2)).status_code == 201
    r = api.post("/reservations", json=body(external_id="O2", offset=4))
    assert r.status_code == 409
    err = r.json["error"]
    assert err["code"] == "not_available" and err["nights"]


def test_restriction_is_409_with_reason(session, channel, body):
    from services.models import NightRate

    prop, _, api = channel
    day = clock.today(prop.timezone) + dt.timedelta(days=3)
    session.get(NightRate, (prop.categories[0].id, day)).min_stay = 3
    session.commit()
    r = api.post("/reservations", json=body(nights=2))
    assert r.status_code == 409 and r.json["error"]["code"] == "restriction" and r.json["error"]["reason"] == "min_stay"


@pytest.mark.parametrize("change,field", [
    ({"units": "1"}, "units"), ({"arrival": "tomorrow"}, "arrival"), ({"guest": {}}, "guest.name"),
    ({"extra": 1}, "extra"), ({"room_category_id": 999999}, "room_category_id"), ({"total_price": "1.234"}, "total_price"),
])
def test_invalid_input_is_422_with_field_and_nothing_written(session, channel, body, change, field):
    r = channel[2].post("/reservations", json=body(**change))
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid" and field in r.json["error"]["fields"]
    assert session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_not_json_and_too_large(channel):
    api = channel[2]
    r = api.post("/reservations", data="{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_json"
    r = api.post("/reservations", data="x" * (64 * 1024 + 1), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"


def test_hold_lifecycle_expiry_and_late_confirm(channel, body):
    """R36/R37: a pending order holds its nights for the hold time; confirmed later, it gets a voucher."""
    prop, _, api = channel
    start = clock.now()
    hold = api.post("/reservations", json=body(status="pending", units=2)).json
    assert hold["status"] == "pending" and hold["voucher"] is None and hold["hold_expires_at"]
    assert api.post("/reservations", json=body(external_id="O2")).status_code == 409
    clock.set_now(start + dt.timedelta(minutes=61))
    assert api.get(f"/reservations/{hold['id']}").json["status"] == "expired"
    day = clock.today(prop.timezone) + dt.timedelta(days=3)
    avail = api.get(f"/availability?from={day}&to={day + dt.timedelta(days=1)}").json
    assert avail["room_categories"][0]["nights"][0]["available"] == 2
    late = api.post(f"/reservations/{hold['id']}/confirm")
    assert late.status_code == 200 and late.json["status"] == "confirmed" and late.json["voucher"]


def test_confirm_after_expiry_fails_when_nights_are_gone(channel, body):
    _, _, api = channel
    start = clock.now()
    hold = api.post("/reservations", json=body(status="pending", units=2)).json
    clock.set_now(start + dt.timedelta(minutes=61))
    assert api.post("/reservations", json=body(external_id="O2", units=2)).status_code == 201
    r = api.post(f"/reservations/{hold['id']}/confirm")
    assert r.status_code == 409 and r.json["error"]["code"] == "not_available"


def test_cancel_and_partial_cancel_release_nights(session, channel, body):
    _, _, api = channel
    res = api.post("/reservations", json=body(units=2)).json
    part = api.post(f"/reservations/{res['id']}/cancel", json={"units": 1})
    assert part.status_code == 200 and part.json["units"] == 1 and part.json["status"] == "confirmed"
    assert session.scalar(sa.select(sa.func.count(Occupancy.id))) == 2
    assert api.post(f"/reservations/{res['id']}/cancel", json={"units": 5}).status_code == 422
    full = api.post(f"/reservations/{res['id']}/cancel")
    assert full.json["status"] == "cancelled"
    assert session.scalar(sa.select(sa.func.count(Occupancy.id))) == 0
    assert api.post(f"/reservations/{res['id']}/cancel").status_code == 200  # idempotent


def test_other_propertys_reservation_is_404(session, client, channel, body):
    _, _, api = channel
    res = api.post("/reservations", json=body()).json
    other = make_property(session)
    _, key = connections.switch_on(session, None, other, "slevomat")
    headers = {"Authorization": f"Bearer {key}"}
    for method, url in [("get", ""), ("post", "/confirm"), ("post", "/cancel")]:
        r = getattr(client, method)(f"/api/v1/reservations/{res['id']}{url}", headers=headers)
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_changed_since_pages_and_sees_host_modification(session, channel, body):
    """R33: a host's change reaches the channel through changed_since."""
    prop, _, api = channel
    t0 = clock.now()
    ids = []
    for i in range(3):
        clock.set_now(t0 + dt.timedelta(seconds=i + 1))
        ids.append(api.post("/reservations", json=body(external_id=f"O{i}", offset=10 + 3 * i)).json["id"])
    page1 = api.get("/reservations?changed_since=" + t0.isoformat().replace("+00:00", "Z") + "&limit=2").json
    assert [r["id"] for r in page1["reservations"]] == ids[:2] and page1["next"]
    page2 = api.get(f"/reservations?cursor={page1['next']}&limit=2").json
    assert [r["id"] for r in page2["reservations"]] == ids[2:] and page2["next"] is None
    mark = clock.now() + dt.timedelta(seconds=1)  # changed_since is inclusive: start after the last create
    clock.set_now(mark + dt.timedelta(seconds=10))
    today = clock.today(prop.timezone)
    new = host_changes.modify(session, prop.owner, prop, ids[0], today + dt.timedelta(days=30),
                                  today + dt.timedelta(days=32), prop.categories[0].id)
    changed = api.get("/reservations?changed_since=" + mark.isoformat().replace("+00:00", "Z")).json["reservations"]
    assert {(r["id"], r["status"]) for r in changed} == {(ids[0], "modified"), (new.id, "confirmed")}
    assert next(r for r in changed if r["id"] == ids[0])["replaced_by_id"] == new.id
    assert api.get("/reservations?changed_since=yesterday").status_code == 422


def test_rate_limit_is_429_json(make_app, session, channel):
    limited = make_app(API_RATE_LIMIT="3/minute")
    c = limited.test_client()
    headers = {"Authorization": f"Bearer {channel[2].key}"}
    codes = [c.get("/api/v1/property", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert c.get("/api/v1/property", headers=headers).json["error"]["code"] == "rate_limited"


def test_rate_limit_is_shared_by_app_servers_through_redis(make_app, session, channel):
    """Several app servers count one key's requests together when REDIS_URL is set (README)."""
    import socket
    import uuid

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        if os.environ.get("REQUIRE_REDIS"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379")
    storage = "redis://127.0.0.1:6379/15"
    servers = [make_app(API_RATE_LIMIT="3/minute", RATELIMIT_STORAGE_URI=storage,
                        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}") for _ in range(2)]
    headers = {"Authorization": f"Bearer {channel[2].key}"}
    codes = [servers[i % 2].test_client().get("/api/v1/property", headers=headers).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_twenty_concurrent_holds_for_the_last_unit_have_one_winner(app, session, channel, body):
    """Inventory is sacred: 20 channels' carts race for one room through the API."""
    prop, conn, api = channel
    # Leave one unit: take the other with a confirmed booking first.
    assert api.post("/reservations", json=body(external_id="FIRST")).status_code == 201
    bodies = [body(external_id=f"RACE-{i}", status="pending") for i in range(20)]
    session.close()  # hold no transaction (nor SQLite's write lock) during the race
    barrier = threading.Barrier(20)
    codes: list[int] = []
    lock = threading.Lock()

    def attempt(i):
        c = app.test_client()
        barrier.wait()
        r = c.post("/api/v1/reservations", json=bodies[i], headers={"Authorization": f"Bearer {api.key}"})
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [201] + [409] * 19
    per_night = session.execute(sa.select(Occupancy.night, sa.func.count()).group_by(Occupancy.night)).all()
    assert all(count == 2 for _, count in per_night)


def test_cached_availability_is_never_stale(session, channel, body):
    """Bookings, expiring holds, rate and cost changes all show at once, cache or not."""
    from decimal import Decimal

    from services.availability import rates
    from services.properties import registry

    prop, _, api = channel
    day = clock.today(prop.timezone) + dt.timedelta(days=3)
    url = f"/availability?from={day}&to={day + dt.timedelta(days=1)}"

    def night():
        return api.get(url).json["room_categories"][0]["nights"][0]

    assert night()["available"] == 2 and night()["available"] == 2  # the second answer comes from the cache
    start = clock.now()
    api.post("/reservations", json=body(status="pending"))
    assert night()["available"] == 1
    clock.set_now(start + dt.timedelta(minutes=61))  # the hold runs out: no write happens
    assert night()["available"] == 2
    rates.set_night(session, prop.owner, prop, prop.categories[0], day, rates.RateChange(price=Decimal("95.00")))
    assert night()["price"] == "95.00"
    registry.add_extra_cost(session, prop.owner, prop, "Kurtaxe", "2.50", "night", None)
    assert night()["final_price"] == "127.50"


def test_key_lookup_survives_a_dropped_database_connection(app, session, channel):
    """PostgreSQL: the API's key look-up runs on a raw pooled connection; one the server closed
    is dropped from the pool and the look-up done on a fresh one (no error reaches the channel)."""
    from portal.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the autocommit look-up is used on PostgreSQL only")
    engine = sa.create_engine(db.engine.url, pool_size=1, max_overflow=0)
    try:
        raw = engine.raw_connection()
        pid = raw.driver_connection.info.backend_pid
        raw.close()
        with db.engine.connect() as other:
            assert other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
        who = api_keys.caller_autocommit(engine, channel[2].key)
        assert who is not None and who.connection_id == channel[1].id
        assert api_keys.caller_autocommit(engine, channel[2].key[:-1] + "x") is None  # a wrong key stays wrong
    finally:
        engine.dispose()

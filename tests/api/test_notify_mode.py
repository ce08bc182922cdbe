"""Notify mode (R10, issue 11): a channel that sold from its own copy of the availability is
never refused for availability or restrictions. The booking is stored, its nights without a
room are unplaced (never a unit twice), a double booking opens in the same transaction, and
the answer is 201 with overbooked, conflict_id and warnings. Request mode still answers 409."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from services.channels import connections
from services.core import clock
from services.models import (Booking, DoubleBooking, DoubleBookingMember, MailMessage, NightRate, Occupancy,
                             RoomNight, UnplacedNight)
from tests.api.conftest import ApiClient
from tests.factories import make_property


@pytest.fixture
def house(session, client):
    """A property with one category of 2 units; Booking.com in notify mode, Slevomat in request mode."""
    clock.set_now(clock.now())
    prop = make_property(session, units=2, price="100.00", days=90)
    prop.office.email = "office@example.org"
    session.commit()
    _, notify_key = connections.switch_on(session, None, prop, "booking", inventory_mode="notify")
    _, request_key = connections.switch_on(session, None, prop, "slevomat", inventory_mode="request")
    return prop, ApiClient(client, notify_key), ApiClient(client, request_key)


def _body(prop, external_id, offset=3, nights=2, **kw):
    arrival = clock.today(prop.timezone) + dt.timedelta(days=offset)
    data = {"external_id": external_id, "room_category_id": prop.categories[0].id,
            "arrival": arrival.isoformat(), "departure": (arrival + dt.timedelta(days=nights)).isoformat(),
            "units": 1, "guests": 2, "guest": {"name": f"Guest {external_id}", "email": "g@example.cz", "phone": "+420 1"},
            "status": "confirmed"}
    data.update(kw)
    return data


def _fill(prop, api, offset=3, nights=2):
    for i in range(2):
        r = api.post("/reservations", json=_body(prop, f"FILL-{i}", offset, nights))
        assert r.status_code == 201 and r.json["overbooked"] is False, r.json


def _no_unit_twice(session):
    twice = session.execute(
        sa.select(Occupancy.unit_id, Occupancy.night).group_by(Occupancy.unit_id, Occupancy.night)
        .having(sa.func.count(Occupancy.id) > 1)).all()
    assert twice == []


def test_notify_push_for_a_full_night_is_stored_overbooked_with_an_open_double_booking(session, house):
    prop, notify_api, _ = house
    _fill(prop, notify_api)
    r = notify_api.post("/reservations", json=_body(prop, "BDC-OVER"))
    assert r.status_code == 201, r.json
    assert r.json["overbooked"] is True and r.json["status"] == "confirmed" and r.json["voucher"]
    assert r.json["warnings"] == [{"code": "not_available", "reason": "quota",
                                   "nights": [r.json["arrival"], (dt.date.fromisoformat(r.json["arrival"])
                                                                  + dt.timedelta(days=1)).isoformat()]}]
    conflict = session.get(DoubleBooking, r.json["conflict_id"])
    assert conflict.status == "open" and conflict.cause == "overbooked_push"
    assert conflict.first_night.isoformat() == r.json["arrival"]
    members = set(session.scalars(sa.select(DoubleBookingMember.booking_id)
                                  .where(DoubleBookingMember.double_booking_id == conflict.id)))
    assert r.json["id"] in members and len(members) == 3
    unplaced = session.execute(sa.select(UnplacedNight.night, UnplacedNight.units)
                               .where(UnplacedNight.booking_id == r.json["id"])).all()
    assert len(unplaced) == 2 and all(units == 1 for _, units in unplaced)
    assert session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == r.json["id"])) == 0
    _no_unit_twice(session)
    # Still sold: the ledger has its room-nights, without a unit until one is free.
    rows = session.execute(sa.select(RoomNight.unit_id, RoomNight.state).where(RoomNight.booking_id == r.json["id"])).all()
    assert rows == [(None, "sold"), (None, "sold")]
    # Host and tourist office are mailed at once.
    mails = session.execute(sa.select(MailMessage.recipient, MailMessage.subject)).all()
    told = {to for to, subject in mails if "Double" in subject or "Doppel" in subject}
    assert told == {prop.owner.email, "office@example.org"}
    # Reading it again says the same; a retry of the push too.
    again = notify_api.get(f"/reservations/{r.json['id']}").json
    assert again["overbooked"] is True and again["conflict_id"] == conflict.id and again["warnings"] == r.json["warnings"]
    retry = notify_api.post("/reservations", json=_body(prop, "BDC-OVER"))
    assert retry.status_code == 200 and retry.json["id"] == r.json["id"]
    listed = {x["id"]: x for x in notify_api.get("/reservations").json["reservations"]}
    assert listed[r.json["id"]]["overbooked"] is True and listed[r.json["id"]]["conflict_id"] == conflict.id
    assert all(x["overbooked"] is False and x["conflict_id"] == conflict.id for i, x in listed.items() if i != r.json["id"])


def test_request_mode_still_answers_409(session, house):
    prop, notify_api, request_api = house
    _fill(prop, notify_api)
    r = request_api.post("/reservations", json=_body(prop, "SLV-1"))
    assert r.status_code == 409 and r.json["error"]["code"] == "not_available"
    assert session.scalar(sa.select(sa.func.count(Booking.id)).where(Booking.external_id == "SLV-1")) == 0
    assert session.scalar(sa.select(sa.func.count(DoubleBooking.id))) == 0


def test_a_normal_reservation_says_not_overbooked(house):
    prop, notify_api, request_api = house
    for api, ext in ((notify_api, "BDC-1"), (request_api, "SLV-1")):
        r = api.post("/reservations", json=_body(prop, ext))
        assert r.status_code == 201
        assert (r.json["overbooked"], r.json["conflict_id"], r.json["warnings"]) == (False, None, [])


def test_restrictions_broken_in_notify_mode_are_accepted_as_warnings(session, house):
    prop, notify_api, request_api = house
    cat = prop.categories[0]
    arrival = clock.today(prop.timezone) + dt.timedelta(days=10)
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id, NightRate.night == arrival)
                    .values(closed_to_arrival=True, min_stay=3, max_stay=1))
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id,
                                               NightRate.night == arrival + dt.timedelta(days=2))
                    .values(closed_to_departure=True))
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id,
                                               NightRate.night == arrival + dt.timedelta(days=1))
                    .values(closed=True))
    session.commit()
    refused = request_api.post("/reservations", json=_body(prop, "SLV-R", offset=10))
    assert refused.status_code == 409
    r = notify_api.post("/reservations", json=_body(prop, "BDC-R", offset=10))
    assert r.status_code == 201, r.json
    reasons = {w["reason"]: w["nights"] for w in r.json["warnings"]}
    a, a1, a2 = (arrival + dt.timedelta(days=i) for i in range(3))
    assert reasons == {"closed": [a1.isoformat()], "closed_to_arrival": [a.isoformat()],
                       "closed_to_departure": [a2.isoformat()], "min_stay": [a.isoformat()],
                       "max_stay": [a.isoformat()]}
    # Units were free: placed as usual, no double booking (restrictions are the host's, not a collision).
    assert r.json["overbooked"] is False and r.json["conflict_id"] is None
    assert session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == r.json["id"])) == 2
    assert session.scalar(sa.select(sa.func.count(DoubleBooking.id))) == 0


def test_notify_push_over_quota_with_free_units_is_placed_and_opens_a_double_booking(session, house):
    prop, notify_api, _ = house
    cat = prop.categories[0]
    arrival = clock.today(prop.timezone) + dt.timedelta(days=5)
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id, NightRate.night == arrival)
                    .values(quota=0))
    session.commit()
    r = notify_api.post("/reservations", json=_body(prop, "BDC-Q", offset=5, nights=1))
    assert r.status_code == 201
    assert r.json["warnings"] == [{"code": "not_available", "reason": "quota", "nights": [arrival.isoformat()]}]
    assert r.json["overbooked"] is True and r.json["conflict_id"] is not None
    assert session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == r.json["id"])) == 1
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id))) == 0


def test_cancelling_the_other_booking_places_the_unplaced_nights_and_closes_the_double_booking(session, house):
    prop, notify_api, _ = house
    _fill(prop, notify_api)
    over = notify_api.post("/reservations", json=_body(prop, "BDC-OVER")).json
    first = session.scalar(sa.select(Booking.id).where(Booking.external_id == "FILL-0"))
    assert notify_api.post(f"/reservations/{first}/cancel").status_code == 200
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id))) == 0
    placed = session.execute(sa.select(Occupancy.unit_id, Occupancy.night).where(Occupancy.booking_id == over["id"])).all()
    assert len(placed) == 2 and len({u for u, _ in placed}) == 1  # the same room for the whole stay
    # The ledger rows got their unit.
    rows = session.execute(sa.select(RoomNight.unit_id).where(RoomNight.booking_id == over["id"])).scalars().all()
    assert sorted(rows) == sorted(u for u, _ in placed)
    conflict = session.get(DoubleBooking, over["conflict_id"])
    assert conflict.status == "resolved" and conflict.resolution == "fits"
    _no_unit_twice(session)
    again = notify_api.get(f"/reservations/{over['id']}").json
    assert again["overbooked"] is False and again["conflict_id"] == conflict.id


def test_cancelling_the_overbooked_booking_itself_closes_the_double_booking(session, house):
    prop, notify_api, _ = house
    _fill(prop, notify_api)
    over = notify_api.post("/reservations", json=_body(prop, "BDC-OVER")).json
    assert notify_api.post(f"/reservations/{over['id']}/cancel").json["overbooked"] is False
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id))) == 0
    assert session.get(DoubleBooking, over["conflict_id"]).status == "resolved"
    rows = session.scalars(sa.select(RoomNight.state).where(RoomNight.booking_id == over["id"])).all()
    assert rows == ["cancelled", "cancelled"]


def test_partial_cancellation_gives_back_the_units_without_a_room_first(session, house):
    prop, notify_api, _ = house
    assert notify_api.post("/reservations", json=_body(prop, "FILL")).status_code == 201
    over = notify_api.post("/reservations", json=_body(prop, "BDC-2", units=2)).json
    assert over["overbooked"] is True
    assert session.scalars(sa.select(UnplacedNight.units).where(UnplacedNight.booking_id == over["id"])).all() == [1, 1]
    r = notify_api.post(f"/reservations/{over['id']}/cancel", json={"units": 1})
    assert r.status_code == 200 and r.json["units"] == 1
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id))) == 0
    assert session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == over["id"])) == 2
    states = session.execute(sa.select(RoomNight.unit_id.is_(None), RoomNight.state)
                             .where(RoomNight.booking_id == over["id"])).all()
    assert sorted(states) == [(False, "sold"), (False, "sold"), (True, "cancelled"), (True, "cancelled")]
    assert session.get(DoubleBooking, over["conflict_id"]).status == "resolved"


def test_a_hold_confirmed_in_notify_mode_after_its_nights_were_sold_is_not_refused(session, house):
    prop, notify_api, _ = house
    hold = notify_api.post("/reservations", json=_body(prop, "HOLD", status="pending")).json
    clock.set_now(clock.now() + dt.timedelta(minutes=61))  # the hold runs out; the nights sell
    _fill(prop, notify_api)
    r = notify_api.post(f"/reservations/{hold['id']}/confirm")
    assert r.status_code == 200 and r.json["status"] == "confirmed" and r.json["voucher"]
    assert r.json["overbooked"] is True and r.json["conflict_id"] is not None
    _no_unit_twice(session)


def test_two_notify_pushes_for_the_last_room_at_once(app, session, house):
    """One is placed, the other stored without a room; never a unit twice."""
    prop, notify_api, _ = house
    assert notify_api.post("/reservations", json=_body(prop, "FIRST")).status_code == 201
    bodies = [_body(prop, f"RACE-{i}") for i in range(2)]
    session.close()  # hold no transaction (nor SQLite's write lock) during the race
    barrier = threading.Barrier(2)
    answers: list = []
    lock = threading.Lock()

    def attempt(i):
        c = app.test_client()
        barrier.wait()
        r = c.post("/api/v1/reservations", json=bodies[i], headers={"Authorization": f"Bearer {notify_api.key}"})
        with lock:
            answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(code for code, _ in answers) == [201, 201]
    assert sorted(a["overbooked"] for _, a in answers) == [False, True]
    _no_unit_twice(session)
    per_night = session.execute(sa.select(Occupancy.night, sa.func.count()).group_by(Occupancy.night)).all()
    assert len(per_night) == 2 and all(count == 2 for _, count in per_night)
    loser = next(a for _, a in answers if a["overbooked"])
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id)).where(UnplacedNight.booking_id == loser["id"])) == 2
    assert session.scalar(sa.select(sa.func.count(DoubleBooking.id)).where(DoubleBooking.status == "open")) == 1


def test_a_push_that_only_fragmentation_blocks_keeps_the_stay_in_one_room_and_moves_solve_it(session, house):
    """Every night has a free room, but no room is free for the whole stay: the sold stay keeps
    one room (never split unless the host allows it), its other night waits unplaced, and
    moving another booking to the other room resolves the double booking (issue 11)."""
    from services.availability import inventory
    from services.bookings import unit_moves
    from tests.factories import make_user, new_booking

    prop, notify_api, _ = house
    u1, u2 = [u.id for u in prop.categories[0].units]
    today = clock.today(prop.timezone)
    first = today + dt.timedelta(days=3)
    a = new_booking(prop, arrival=first, nights=1, guest="A")  # room 1, night 1
    b = new_booking(prop, arrival=first + dt.timedelta(days=1), nights=1, guest="B")  # room 2, night 2
    session.add_all([a, b])
    inventory.take(session, a, [u1])
    inventory.take(session, b, [u2])
    session.commit()
    r = notify_api.post("/reservations", json=_body(prop, "BDC-FRAG", offset=3, nights=2))
    assert r.status_code == 201 and r.json["overbooked"] is True, r.json
    rooms = set(session.scalars(sa.select(Occupancy.unit_id).where(Occupancy.booking_id == r.json["id"])))
    assert len(rooms) == 1  # one room, not a room change in the middle of the stay
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id))
                          .where(UnplacedNight.booking_id == r.json["id"])) == 1
    conflict = session.get(DoubleBooking, r.json["conflict_id"])
    seen = unit_moves.preview(session, prop, conflict)
    # A goes to room 2; the pushed stay gets its waiting night in its own room.
    assert seen.status == "moves" and {m.booking.guest_name for m in seen.moves} == {"A", "Guest BDC-FRAG"}
    unit_moves.apply(session, prop.owner, prop, conflict)
    session.expire_all()
    assert session.get(DoubleBooking, conflict.id).status == "resolved"
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id))) == 0
    pushed = session.get(Booking, r.json["id"])
    assert len({u for u in session.scalars(sa.select(Occupancy.unit_id).where(Occupancy.booking_id == pushed.id))}) == 1
    assert session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == pushed.id)) == 2
    _no_unit_twice(session)

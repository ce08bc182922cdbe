"""The API's side of the risk-free programme: only Booking.com sends risk_free; card details
without a card number (R56)."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.channels import connections
from services.models import Booking, RoomNight
from tests.api.conftest import ApiClient

CARD = {"holder": "Jana Nová", "brand": "Visa", "last4": "4242", "expiry": "09/28"}


def _count(session):
    return session.scalar(sa.select(sa.func.count(Booking.id)))


def test_risk_free_from_another_channel_is_422_on_the_field(session, channel, body):
    api = channel[2]  # a Slevomat connection
    r = api.post("/reservations", json=body(risk_free=True))
    assert r.status_code == 422
    assert r.json["error"]["code"] == "invalid" and r.json["error"]["field"] == "risk_free"
    assert _count(session) == 0
    assert api.post("/reservations", json=body(risk_free=False)).status_code == 201


def test_risk_free_from_booking_com_is_accepted(session, client, channel, body):
    prop = channel[0]
    _conn, key = connections.switch_on(session, None, prop, "booking")
    r = ApiClient(client, key).post("/reservations", json=body(risk_free=True, card=CARD))
    assert r.status_code == 201, r.json
    assert r.json["risk_free"] is False  # the property is not in the programme: an ordinary booking
    b = session.get(Booking, r.json["id"])
    assert (b.card_holder, b.card_brand, b.card_last4, b.card_expiry) == ("Jana Nová", "Visa", "4242", "09/28")


@pytest.mark.parametrize("card,field", [
    ({**CARD, "number": "4242424242424242"}, "card.number"),
    ({**CARD, "last4": "4242424242424242"}, "card.last4"),
    ({**CARD, "last4": "4242 4242 4242 4242"}, "card.last4"),
    ({**CARD, "last4": 42424}, "card.last4"),
    ({**CARD, "holder": "Jana 4242-4242-4242-4242"}, "card.holder"),
    ({**CARD, "pan": "4242"}, "card.pan"),
    ("4242424242424242", "card"),
    ([4242424242424242], "card"),
])
def test_a_card_number_anywhere_in_card_is_refused(session, channel, body, card, field):
    """R56: the portal never stores a full card number, and never echoes it."""
    r = channel[2].post("/reservations", json=body(card=card))
    assert r.status_code == 422
    assert r.json["error"]["code"] == "card_number_not_allowed" and r.json["error"]["field"] == field
    assert "42424" not in r.get_data(as_text=True).replace(" ", "").replace("-", "")
    assert _count(session) == 0


def test_card_fields_are_checked(session, channel, body):
    r = channel[2].post("/reservations", json=body(card={"holder": "", "brand": "Visa", "last4": "42", "expiry": "13/28"}))
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid"
    assert set(r.json["error"]["fields"]) == {"card.holder", "card.last4", "card.expiry"}
    r = channel[2].post("/reservations", json=body(card="4242"))
    assert r.status_code == 422 and r.json["error"]["field"] == "card"
    assert _count(session) == 0


# -- who pays a risk-free reservation (issue 10, R51, R54, R55, R57) ---------------------------

def _make_risk_free(session, booking_id):
    """Mark the booking risk-free directly (the programme's paths are tested elsewhere)."""
    session.get(Booking, booking_id).risk_free = True
    session.commit()


def _rows(session, booking_id):
    return list(session.scalars(sa.select(RoomNight).where(RoomNight.booking_id == booking_id)
                                .order_by(RoomNight.night, RoomNight.unit_id)))


def test_a_risk_free_reservation_tells_who_pays_and_its_replacement(session, channel, body):
    """R57: one of two rooms cancelled; its first night resold (R54), its second paid by the platform (R55)."""
    api = channel[2]
    res = api.post("/reservations", json=body(units=2)).json
    resale = api.post("/reservations", json=body(external_id="ORDER-2", nights=1, offset=40)).json
    ordinary = api.get(f"/reservations/{res['id']}").json
    assert "payment_status" not in ordinary and "replacement" not in ordinary
    _make_risk_free(session, res["id"])
    assert api.get(f"/reservations/{res['id']}").json["payment_status"] == "guest"
    assert api.get(f"/reservations/{res['id']}").json["replacement"] == []
    rows = _rows(session, res["id"])
    unit = min(r.unit_id for r in rows)
    cancelled = [r for r in rows if r.unit_id == unit]
    cancelled[0].state, cancelled[0].amount_paid, cancelled[0].resold_by_id = "resold", Decimal("120.00"), resale["id"]
    cancelled[1].state = "searching"
    session.commit()
    got = api.get(f"/reservations/{res['id']}").json
    assert got["payment_status"] == "guest"
    name = cancelled[0].unit.name
    assert got["replacement"] == [
        {"night": cancelled[0].night.isoformat(), "unit": name, "state": "resold", "amount": "120.00", "resold_by": resale["id"]},
        {"night": cancelled[1].night.isoformat(), "unit": name, "state": "searching", "amount": None, "resold_by": None},
    ]
    cancelled[1].state, cancelled[1].amount_paid = "paid_by_platform", Decimal("100.00")
    session.commit()
    got = api.get(f"/reservations/{res['id']}").json
    assert got["payment_status"] == "partially_paid_by_platform"
    assert got["replacement"][1] == {"night": cancelled[1].night.isoformat(), "unit": name,
                                     "state": "paid_by_platform", "amount": "100.00", "resold_by": None}
    listed = {r["id"]: r for r in api.get("/reservations").json["reservations"]}
    assert listed[res["id"]]["payment_status"] == "partially_paid_by_platform"
    assert listed[res["id"]]["replacement"] == got["replacement"]
    assert "payment_status" not in listed[resale["id"]] and "replacement" not in listed[resale["id"]]


def test_the_list_loads_the_ledger_of_all_risk_free_reservations_at_once(session, channel, body, count_queries):
    """No N+1: listing three risk-free reservations costs the same queries as listing one."""
    api = channel[2]
    ids = [api.post("/reservations", json=body(external_id=f"ORDER-{i}", offset=3 + 3 * i)).json["id"] for i in range(3)]
    _make_risk_free(session, ids[0])
    with count_queries() as one:
        assert api.get("/reservations").status_code == 200
    for i in ids[1:]:
        _make_risk_free(session, i)
    with count_queries() as three:
        answer = api.get("/reservations").json["reservations"]
    assert len(three) == len(one)
    assert [r["payment_status"] for r in answer] == ["guest"] * 3

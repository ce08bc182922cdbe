"""The API's side of the risk-free programme: only Booking.com sends risk_free; card details
without a card number (R56)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.channels import connections
from services.models import Booking
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

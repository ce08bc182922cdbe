"""The risk-free programme's switches (R50, R59), who may send risk_free, and the card (R56)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from services.bookings import risk_free
from services.channels import connections, reservations
from services.channels.reservations import CardInput, ReservationInput
from services.core import audit, clock
from services.core.errors import Conflict, Forbidden, Invalid
from services.models import AuditEntry, BookingEvent, OutboxEvent
from tests.factories import make_office, make_property, make_user

CARD = CardInput("Eva Gast", "Visa", "4242", "09/28")


def _input(prop, external_id="ORD-1", risk=True, card=None, until=None):
    arrival = clock.today(prop.timezone) + dt.timedelta(days=5)
    return ReservationInput(
        external_id=external_id, room_category_id=prop.categories[0].id, arrival=arrival,
        departure=arrival + dt.timedelta(days=2), units=1, guests=1, guest_name="Eva Gast",
        guest_email="eva@example.com", guest_phone="+420 1", status="confirmed", total_price=None, risk_free=risk,
        free_cancellation_until=until, card=card)


@pytest.fixture
def setup(session):
    clock.set_now(clock.now())
    prop = make_property(session, units=4, price="100.00")
    staff = make_user(session, "staff", office=prop.office)
    conn, _key = connections.switch_on(session, None, prop, "booking", webhook_url="http://127.0.0.1:9/h")
    return prop, staff, conn


def _actions(session, prop):
    return [e.action for e in session.scalars(sa.select(AuditEntry).where(AuditEntry.property_id == prop.id)
                                               .order_by(AuditEntry.id))]


def test_the_platform_decides_eligibility_and_the_host_opts_in_and_out(session, setup):
    """R59: staff offer it; R50: the host joins or leaves under Property - Policies; all in the history."""
    prop, staff, _conn = setup
    with pytest.raises(Conflict):  # not offered: the host cannot join
        risk_free.set_opted_in(session, prop.owner, prop, True)
    with pytest.raises(Forbidden):  # a host cannot make their own property eligible
        risk_free.set_eligible(session, prop.owner, prop, True)
    other_staff = make_user(session, "staff", office=make_office(session))
    with pytest.raises(Forbidden):  # staff of another office neither
        risk_free.set_eligible(session, other_staff, prop, True)
    assert risk_free.set_eligible(session, staff, prop, True)
    assert not risk_free.in_programme(prop)
    assert risk_free.set_opted_in(session, prop.owner, prop, True)
    assert risk_free.in_programme(prop)
    assert risk_free.set_opted_in(session, prop.owner, prop, False)
    assert not risk_free.in_programme(prop)
    risk_free.set_opted_in(session, prop.owner, prop, True)
    risk_free.set_eligible(session, staff, prop, False)  # withdrawn: the host is out, and must join again later
    assert not prop.risk_free_opted_in and not risk_free.in_programme(prop)
    assert _actions(session, prop)[-5:] == ["risk_free_offered", "risk_free_joined", "risk_free_left",
                                            "risk_free_joined", "risk_free_withdrawn"]
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "risk_free_joined"))
    assert json.loads(entry.summary) == {"programme": "risk_free", "property": prop.name}


def test_only_booking_com_may_send_risk_free(session, setup):
    prop, _staff, _conn = setup
    other, _key = connections.switch_on(session, None, prop, "slevomat")
    with pytest.raises(Invalid) as e:
        reservations.create(session, other, _input(prop))
    assert set(e.value.errors) == {"risk_free"}
    b, created = reservations.create(session, other, _input(prop, risk=False))
    assert created and not b.risk_free


def test_risk_free_for_a_property_outside_the_programme_is_an_ordinary_booking(session, setup):
    """The platform sold it already: accepted, risk_free false, and the booking's history says why."""
    prop, staff, conn = setup
    b, created = reservations.create(session, conn, _input(prop, "NOT-OFFERED"))
    assert created and b.risk_free is False
    events = {e.kind: json.loads(e.detail) for e in audit.booking_events(session, b)}
    assert events["risk_free_not_applied"] == {"reason": "not_eligible"}
    risk_free.set_eligible(session, staff, prop, True)
    b2, _ = reservations.create(session, conn, _input(prop, "NOT-JOINED"))
    assert b2.risk_free is False
    assert {e.kind: json.loads(e.detail) for e in audit.booking_events(session, b2)}["risk_free_not_applied"] == {
        "reason": "not_opted_in"}
    risk_free.set_opted_in(session, prop.owner, prop, True)
    b3, _ = reservations.create(session, conn, _input(prop, "IN"))
    assert b3.risk_free is True
    assert "risk_free_not_applied" not in {e.kind for e in audit.booking_events(session, b3)}


def test_the_card_is_stored_without_its_number_and_shown_after_free_cancellation(session, setup):
    """R56: holder, brand, last 4 digits, expiry; visible only once the booking is non-refundable."""
    prop, _staff, conn = setup
    until = clock.now() + dt.timedelta(days=2)
    b, _ = reservations.create(session, conn, _input(prop, card=CARD, until=until))
    assert (b.card_holder, b.card_brand, b.card_last4, b.card_expiry) == ("Eva Gast", "Visa", "4242", "09/28")
    assert not risk_free.card_visible(b)
    with pytest.raises(Conflict):
        risk_free.mark_card_invalid(session, prop.owner, prop, b)
    clock.set_now(until - dt.timedelta(seconds=1))
    assert not risk_free.card_visible(b)
    clock.set_now(until)
    assert risk_free.card_visible(b)


def test_a_longer_last4_is_refused_by_the_service_too(session, setup):
    prop, _staff, conn = setup
    with pytest.raises(Invalid) as e:
        reservations.create(session, conn, _input(prop, card=CardInput("Eva", "Visa", "4242424242424242", "09/28")))
    assert "card.last4" in e.value.errors


def test_marking_the_card_invalid_tells_the_channel_and_the_history(session, setup):
    """R56: the host marks it invalid; a webhook card_invalid is queued, the booking's history keeps it."""
    prop, _staff, conn = setup
    b, _ = reservations.create(session, conn, _input(prop, risk=False, card=CARD))  # no free cancellation: visible
    assert risk_free.card_visible(b)
    risk_free.mark_card_invalid(session, prop.owner, prop, b)
    assert b.card_invalid_at == clock.now()
    hook = session.scalar(sa.select(OutboxEvent).where(OutboxEvent.event == "card_invalid"))
    assert hook is not None and hook.connection_id == conn.id
    data = json.loads(hook.body)["data"]
    assert data["reservation_id"] == b.id and data["last4"] == "4242"
    event = session.scalar(sa.select(BookingEvent).where(BookingEvent.booking_id == b.id,
                                                         BookingEvent.kind == "card_invalid"))
    assert event.actor_id == prop.owner.id and json.loads(event.detail) == {"last4": "4242"}
    assert b.status == "confirmed" and data["status"] == "confirmed"  # not risk-free: its channel decides
    with pytest.raises(Conflict):  # once is enough
        risk_free.mark_card_invalid(session, prop.owner, prop, b)


def test_another_host_cannot_mark_the_card_invalid(session, setup):
    prop, _staff, conn = setup
    b, _ = reservations.create(session, conn, _input(prop, risk=False, card=CARD))
    stranger = make_property(session)
    with pytest.raises(Forbidden):
        risk_free.mark_card_invalid(session, stranger.owner, prop, b)
    assert session.scalar(sa.select(sa.func.count(OutboxEvent.id)).where(OutboxEvent.event == "card_invalid")) == 0

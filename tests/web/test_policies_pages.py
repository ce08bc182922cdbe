"""Property - Policies (R50, R59), the risk-free label in the Status column (R51) and the
card on the booking detail (R56)."""
from __future__ import annotations

import datetime as dt
import json
import re

import sqlalchemy as sa

from services.core import clock
from services.models import Booking, BookingEvent, ChannelConnection, OutboxEvent, Property
from tests.web.conftest import NOW, login, new_client, snapshot


def _prop(db_session, slug) -> tuple[bool, bool]:
    with db_session() as s:
        p = s.scalar(sa.select(Property).where(Property.slug == slug))
        return p.risk_free_eligible, p.risk_free_opted_in


def test_a_property_not_offered_the_programme_says_so_and_cannot_join(app, host, world, db_session):
    page = host.get(f"/p/{world.A.slug}/policies").get_data(as_text=True)
    assert "Risk-free reservations" in page and "Your prices stay as they are." in page
    assert "The programme is not offered for" in page and "The platform decides which properties may join" in page
    assert "Join the programme" not in page
    assert f'href="/p/{world.A.slug}/policies" aria-current="page"' in page  # the nav link
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/policies/risk-free/join")
    assert resp.status_code == 409
    assert "not offered for this property" in resp.get_data(as_text=True)
    assert snapshot(app) == before


def test_staff_offer_it_and_the_host_joins_and_leaves(app, host, world, db_session):
    """R59: the platform (staff of the office) decides; R50: the host opts in and out; both in the history."""
    assert host.post(f"/office/p/{world.A.slug}/risk-free/on").status_code == 403  # not the host's switch
    staff = new_client(app)
    login(staff, world.staff1)
    office = staff.get("/office").get_data(as_text=True)
    assert "Risk-free programme" in office and f"/office/p/{world.A.slug}/risk-free/on" in office
    assert staff.post(f"/office/p/{world.A.slug}/risk-free/on").status_code == 303
    assert _prop(db_session, world.A.slug) == (True, False)
    assert f"/office/p/{world.A.slug}/risk-free/off" in staff.get("/office").get_data(as_text=True)

    page = host.get(f"/p/{world.A.slug}/policies").get_data(as_text=True)
    assert "You do not take part" in page and "Join the programme" in page
    assert host.post(f"/p/{world.A.slug}/policies/risk-free/join").status_code == 303
    assert _prop(db_session, world.A.slug) == (True, True)
    page = host.get(f"/p/{world.A.slug}/policies").get_data(as_text=True)
    assert "You take part" in page and "Leave the programme" in page
    history = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    assert "Risk-free programme offered by the platform" in history and "Joined the risk-free programme" in history
    assert host.post(f"/p/{world.A.slug}/policies/risk-free/leave").status_code == 303
    assert _prop(db_session, world.A.slug) == (True, False)
    assert "Left the risk-free programme" in host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)


def test_tenant_isolation(app, client, world, db_session):
    """Host B cannot open or switch A's policies; staff of another office cannot offer it."""
    login(client, world.host_b)
    before = snapshot(app)
    assert client.get(f"/p/{world.A.slug}/policies").status_code in (403, 404)
    assert client.post(f"/p/{world.A.slug}/policies/risk-free/leave").status_code in (403, 404)
    other = new_client(app)
    login(other, world.staff2)
    assert other.post(f"/office/p/{world.A.slug}/risk-free/on").status_code == 403
    assert snapshot(app) == before


def _risk_free_card_booking(db_session, world, until):
    with db_session() as s:
        b = s.get(Booking, world.A.online_id)
        b.risk_free = True
        b.free_cancellation_until = until
        b.card_holder, b.card_brand, b.card_last4, b.card_expiry = "O Aurorova Holder", "Visa", "4242", "09/31"
        s.get(ChannelConnection, b.connection_id).webhook_url = "https://channel.example/hook"
        s.commit()


def test_the_risk_free_label_stands_in_the_status_column(host, world, db_session):
    """R51: the label "Risk-free reservation" in the Status column of the list, and on the detail."""
    _risk_free_card_booking(db_session, world, None)
    page = host.get(f"/p/{world.A.slug}/bookings").get_data(as_text=True)
    cells = re.findall(r'<td data-label="(Source|Status)">(.*?)</td>', page, re.S)
    status_cells = [c for label, c in cells if label == "Status" and "Risk-free reservation" in c]
    assert len(status_cells) == 1
    assert not [c for label, c in cells if label == "Source" and "Risk-free" in c]
    only = host.get(f"/p/{world.A.slug}/bookings?risk_free=1").get_data(as_text=True)
    assert world.A.online_guest in only and world.A.own_guest not in only
    detail = host.get(f"/p/{world.A.slug}/bookings/{world.A.online_id}").get_data(as_text=True)
    assert "Risk-free reservation" in detail


def test_the_card_shows_only_once_the_booking_is_non_refundable(host, world, db_session):
    """R56: before free_cancellation_until the detail says from when; after it, the card."""
    until = NOW + dt.timedelta(minutes=5)  # (not longer: the browser's session must stay alive)
    _risk_free_card_booking(db_session, world, until)
    url = f"/p/{world.A.slug}/bookings/{world.A.online_id}"
    before = host.get(url).get_data(as_text=True)
    assert "The card details are shown from" in before
    assert "4242" not in before and "O Aurorova Holder" not in before
    assert "Mark card invalid" not in before
    clock.set_now(until)
    after = host.get(url).get_data(as_text=True)
    assert "•••• 4242" in after and "09/31" in after and "O Aurorova Holder" in after and "Mark card invalid" in after
    assert "The card details are shown from" not in after


def test_the_host_marks_the_card_invalid(app, host, world, db_session):
    """R56: a webhook card_invalid for the channel, and a line in the booking's history."""
    _risk_free_card_booking(db_session, world, NOW - dt.timedelta(hours=1))
    url = f"/p/{world.A.slug}/bookings/{world.A.online_id}"
    assert 'hx-confirm="Mark the card ending in 4242 as invalid?' in host.get(url).get_data(as_text=True)
    resp = host.post(url + "/card-invalid")
    assert resp.status_code == 303
    with db_session() as s:
        hook = s.scalar(sa.select(OutboxEvent).where(OutboxEvent.event == "card_invalid"))
        assert json.loads(hook.body)["data"]["reservation_id"] == world.A.online_id
        assert s.scalar(sa.select(BookingEvent).where(BookingEvent.booking_id == world.A.online_id,
                                                      BookingEvent.kind == "card_invalid")) is not None
    page = host.get(url).get_data(as_text=True)
    assert "Card marked invalid" in page and "card ending in 4242; the channel has been told" in page
    assert "Mark card invalid" not in page
    before = snapshot(app)
    assert host.post(url + "/card-invalid").status_code == 409  # once is enough
    assert snapshot(app) == before


def test_history_words_the_not_in_programme_note(host, world, db_session):
    with db_session() as s:
        s.add(BookingEvent(booking_id=world.A.online_id, at=clock.now(), kind="risk_free_not_applied",
                           detail=json.dumps({"reason": "not_eligible"})))
        s.commit()
    page = host.get(f"/p/{world.A.slug}/bookings/{world.A.online_id}").get_data(as_text=True)
    assert "Not a risk-free reservation" in page
    assert "stored as an ordinary booking: the platform does not offer the programme to this property" in page

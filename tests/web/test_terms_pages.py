"""The host's terms page (adopt the model terms, edit, reset) and the deposit each booking shows (R22)."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.channels import connections, reservations
from services.models import Booking, Property, Terms, User
from services.office import settings as office_settings
from tests.web.conftest import HTMX, d, field_errors, login, new_client, own_form, snapshot

MODEL = [{"days": "30", "percent": "0"}, {"days": "8", "percent": "50"}, {"days": "0", "percent": "80"}]


@pytest.fixture
def model(world, db_session):
    """Office 1's model terms: the default schedule, 20 % deposit due 7 days after booking."""
    with db_session() as s:
        staff = s.get(User, world.staff1.id)
        office_settings.save_model_terms(s, staff, staff.office, MODEL, "20", "7", "Muster-AGB der Tourist-Info")


def _terms(db_session, prop_id):
    with db_session() as s:
        t = s.scalar(sa.select(Terms).where(Terms.property_id == prop_id))
        return None if t is None else (t.fee_schedule, t.deposit_percent, t.deposit_days, t.text, t.adopted_at)


def test_host_without_terms_sees_the_model_and_adopts_it(host, world, model, db_session):
    url = f"/p/{world.A.slug}/terms"
    page = host.get(url).get_data(as_text=True)
    assert "Adopt the model terms" in page and "Muster-AGB der Tourist-Info" in page
    assert "from 8 days before arrival: 50 %" in page and 'name="tiers-0-days"' not in page
    resp = host.post(url, data={"action": "adopt"}, headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == url
    schedule, percent, days, text, adopted_at = _terms(db_session, world.A.id)
    assert schedule[1] == {"days": 8, "percent": "50"} and (percent, days) == (Decimal("20"), 7) and adopted_at
    page = host.get(url).get_data(as_text=True)
    assert "Adopt the model terms" not in page and 'name="tiers-1-days" value="8"' in page
    assert "Reset to the model terms" in page
    assert "Model terms adopted" in host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)


def test_host_edits_the_terms_and_resets_them(host, world, model, db_session):
    url = f"/p/{world.A.slug}/terms"
    host.post(url, data={"action": "adopt"})
    resp = host.post(url, data={"tiers-0-days": "14", "tiers-0-percent": "0", "tiers-1-days": "0",
                                "tiers-1-percent": "100", "deposit_percent": "", "deposit_days": "", "text": "Eigene"})
    assert resp.status_code == 303
    schedule, percent, _, text, _ = _terms(db_session, world.A.id)
    assert schedule == [{"days": 14, "percent": "0"}, {"days": 0, "percent": "100"}] and percent is None and text == "Eigene"
    assert host.post(url, data={"action": "reset"}).status_code == 303
    schedule, percent, *_ = _terms(db_session, world.A.id)
    assert len(schedule) == 3 and percent == Decimal("20")


def test_bad_terms_are_a_422_at_the_field_and_change_nothing(host, world, model):
    url = f"/p/{world.A.slug}/terms"
    host.post(url, data={"action": "adopt"})
    before = snapshot(host.application)
    resp = host.post(url, data={"tiers-0-days": "-3", "tiers-0-percent": "10", "deposit_percent": "0",
                                "deposit_days": "7"}, headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(body, "tiers-0-days") == ["Enter a number of days from 0 to 9999."]
    assert field_errors(body, "deposit_percent")
    assert snapshot(host.application) == before


def test_saving_before_adopting_is_a_409(host, world, model):
    resp = host.post(f"/p/{world.A.slug}/terms", data={"tiers-0-days": "1", "tiers-0-percent": "10"})
    assert resp.status_code == 409


@pytest.mark.parametrize("who,status", [("host_b", 403), ("staff2", 403), ("host_c", 403)])
def test_others_cannot_open_the_terms(app, world, who, status):
    c = new_client(app)
    login(c, getattr(world, who))
    slug = world.C.slug if who == "host_c" else world.A.slug
    assert c.get(f"/p/{slug}/terms").status_code == status
    assert c.post(f"/p/{slug}/terms", data={"action": "adopt"}).status_code == status


def test_the_settings_nav_links_to_the_terms(host, world):
    page = host.get(f"/p/{world.A.slug}/settings").get_data(as_text=True)
    assert f'href="/p/{world.A.slug}/terms"' in page


# -- the deposit on each booking (R22) -------------------------------------------------------

def test_a_new_own_booking_shows_the_deposit_due_and_its_date(host, world, model, db_session):
    host.post(f"/p/{world.A.slug}/terms", data={"action": "adopt"})
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=own_form(world, arrival=d(20).isoformat(),
                                                                      departure=d(22).isoformat()))
    assert resp.status_code in (302, 303)
    with db_session() as s:
        b = s.scalar(sa.select(Booking).where(Booking.guest_name == "Paula Telefon"))
        assert b.deposit_amount == (b.total_price * Decimal("0.2")).quantize(Decimal("0.01"))
        assert b.deposit_due == d(7)
        booking_id, amount = b.id, b.deposit_amount
    page = host.get(f"/p/{world.A.slug}/bookings/{booking_id}").get_data(as_text=True)
    assert '<dd class="deposit">' in page and f"{amount}" in page.replace(",", ".")
    assert "due on 19 Jun 2030" in page


def test_a_prepaid_booking_says_nothing_is_due_from_the_guest(host, world, model, db_session):
    host.post(f"/p/{world.A.slug}/terms", data={"action": "adopt"})
    with db_session() as s:
        conn, _ = connections.switch_on(s, None, s.get(Property, world.A.id), "e-domizil")
        b, _ = reservations.create(s, conn, reservations.ReservationInput(
            external_id="E-7", room_category_id=world.A.cat_id, arrival=d(25), departure=d(27), units=1, guests=1,
            guest_name="Familie Jansen", guest_email="j@example.com", guest_phone="+49 1", status="confirmed",
            total_price=None, risk_free=False, free_cancellation_until=None))
        booking_id = b.id
        assert b.deposit_amount is None
    page = host.get(f"/p/{world.A.slug}/bookings/{booking_id}").get_data(as_text=True)
    assert "Nothing is due from the guest: the channel collected the payment." in page

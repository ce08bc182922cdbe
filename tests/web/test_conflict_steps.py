"""The R13 steps on the web (portal/blueprints/conflicts/steps.py, templates/conflicts/_steps.html)
and the tourist office's queue (/office/conflicts)."""
from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from portal.extensions import db as flask_db
from services.bookings import conflicts
from services.models import Booking, DoubleBooking, DoubleBookingStep, Property, UnplacedNight
from tests.factories import make_property
from tests.web.conftest import HTMX, _book, csrf_from, d, field_errors, login, new_client, new_booking, snapshot


@pytest.fixture
def conflict(world, db_session):
    """Property A's category (3 units) on d(20)-d(22): three own bookings placed, then Olivia's
    online booking without a room. R11: Olivia keeps a room, "Gast 3" (the last own one) yields.
    An office-2 property is free too, but is not this office's."""
    with db_session() as s:
        prop = s.get(Property, world.A.id)
        cat = prop.categories[0]
        own = [_book(s, prop, f"Gast {i}", d(20)) for i in (1, 2, 3)]
        online = new_booking(prop, arrival=d(20), nights=2, source="booking", guest="Olivia Online")
        online.total_price = Decimal("160.00")
        s.add(online)
        s.flush()
        s.add_all(UnplacedNight(booking_id=online.id, category_id=cat.id, night=n) for n in (d(20), d(21)))
        s.flush()
        dbk = conflicts.open_for(s, cat, [d(20), d(21)], "overbooked_push")
        from services.models import Office
        foreign = make_property(s, office=s.get(Office, world.offices[2]), units=2, days=40, slug="haus-fremd")
        foreign.name = "Pension Fremd"
        s.commit()
        return SimpleNamespace(id=dbk.id, loser=own[-1].id, keeper=online.id, slug=world.A.slug,
                               base=f"/p/{world.A.slug}/conflicts/{dbk.id}",
                               other_ids=[b.id for b in own[:-1]])


def _steps_url(c):
    return f"{c.base}/steps"


def _b(c, booking_id=None):
    return f"{c.base}/bookings/{booking_id or c.loser}"


def test_the_steps_show_who_yields_as_a_numbered_checklist(host, conflict):
    body = host.get(_steps_url(conflict)).get_data(as_text=True)
    assert "Resolve it step by step" in body
    for step in ("Contact the guest", "Offer a replacement", "Hand over to the tourist office"):
        assert step in body
    assert "Has to yield: Gast 3" in body
    assert "Has to yield: Olivia" not in body and "Has to yield: Gast 1" not in body
    assert 'hx-confirm="Cancel the booking of Gast 3?' in body
    page = host.get(conflict.base).get_data(as_text=True)  # the conflict page includes the steps
    assert f'id="conflict-steps-{conflict.id}"' in page and "Has to yield: Gast 3" in page


def test_the_steps_page_loads_in_constant_queries(host, conflict, count_queries):
    host.get(_steps_url(conflict))
    with count_queries() as few:
        host.get(_steps_url(conflict))
    for note in ("a", "b", "c", "d"):
        host.post(f"{_b(conflict)}/contact", data={f"b{conflict.loser}-contact-note": note})
    with count_queries() as many:
        host.get(_steps_url(conflict))
    assert len(many) == len(few), many


def test_step_1_contact_is_recorded_and_shown_with_its_time(host, conflict, db_session):
    resp = host.post(f"{_b(conflict)}/contact", data={f"b{conflict.loser}-contact-note": "No answer yet"})
    assert resp.status_code == 303 and resp.headers["Location"].startswith(f"/p/{conflict.slug}/conflicts/")
    body = host.get(_steps_url(conflict)).get_data(as_text=True)
    assert "Guest contacted: No answer yet" in body and "Anna Aurora" in body
    with db_session() as s:
        assert s.get(DoubleBooking, conflict.id).step == 1


def test_step_1_contact_note_too_long_is_shown_next_to_the_field(host, conflict, app):
    before = snapshot(app)
    resp = host.post(f"{_b(conflict)}/contact", data={f"b{conflict.loser}-contact-note": "x" * 1001}, headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<html" not in body and f'id="conflict-steps-{conflict.id}"' in body
    assert field_errors(body, f"b{conflict.loser}-contact-note")
    assert snapshot(app) == before


def test_step_1_new_dates_that_are_taken_fail_next_to_the_field_and_write_nothing(host, conflict, app, world, db_session):
    with db_session() as s:
        prop = s.get(Property, world.A.id)
        for i in range(3):
            _book(s, prop, f"Voll {i}", d(30))
        s.commit()
    before = snapshot(app)
    resp = host.post(f"{_b(conflict)}/new-dates", headers=HTMX,
                     data={f"b{conflict.loser}-dates-arrival": d(30).isoformat(),
                           f"b{conflict.loser}-dates-departure": d(32).isoformat()})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert field_errors(body, f"b{conflict.loser}-dates-arrival")
    assert snapshot(app) == before


def test_step_1_new_dates_rebook_and_resolve(host, conflict, db_session):
    resp = host.post(f"{_b(conflict)}/new-dates", data={f"b{conflict.loser}-dates-arrival": d(25).isoformat(),
                                                         f"b{conflict.loser}-dates-departure": d(27).isoformat()})
    assert resp.status_code == 303
    with db_session() as s:
        b = s.get(Booking, conflict.loser)
        assert (b.arrival, b.departure, b.status) == (d(25), d(27), "confirmed")
        dbk = s.get(DoubleBooking, conflict.id)
        assert dbk.status == "resolved" and dbk.resolution == "new_dates"
    body = host.get(_steps_url(conflict)).get_data(as_text=True)
    assert "Resolved" in body and "Has to yield" not in body


def test_step_1_the_guest_cancels(host, conflict, db_session):
    resp = host.post(f"{_b(conflict)}/cancel", headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].startswith(f"/p/{conflict.slug}/conflicts/")
    with db_session() as s:
        assert s.get(Booking, conflict.loser).status == "cancelled"
        assert s.get(DoubleBooking, conflict.id).status == "resolved"


def test_step_2_search_offer_and_accept(host, conflict, world, db_session):
    resp = host.get(f"{_b(conflict)}/replacements", headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert "Pension Birke" in body and "Pension Fremd" not in body and "Pension Aurora" not in body
    assert "€200.00" in body  # 2 nights at 80.00 + 40.00 final cleaning (R4)
    assert "€40.00" in body  # extra cost vs the booking's 160.00
    assert 'hx-confirm="Book Category 1 at Pension Birke for Gast 3' in body
    cat_b = world.B.cat_id
    resp = host.post(f"{_b(conflict)}/replacements/{cat_b}/offer", data={f"b{conflict.loser}-offer-note": "by phone"})
    assert resp.status_code == 303
    assert "Replacement offered: Category 1 at Pension Birke, €200.00" in host.get(_steps_url(conflict)).get_data(as_text=True)
    resp = host.post(f"{_b(conflict)}/replacements/{cat_b}/accept")
    assert resp.status_code == 303
    with db_session() as s:
        old = s.get(Booking, conflict.loser)
        assert old.status == "cancelled" and old.rehoused_at_id == cat_b
        new = s.scalar(sa.select(Booking).where(Booking.property_id == world.B.id, Booking.guest_name == "Gast 3"))
        assert new.source == "tourist_office" and new.total_price == Decimal("200.00")
        assert s.get(DoubleBooking, conflict.id).status == "resolved"


def test_step_2_accept_when_taken_meanwhile_shows_why_and_writes_nothing(host, conflict, world, db_session, app):
    with db_session() as s:
        prop = s.get(Property, world.B.id)
        for i in range(3):
            _book(s, prop, f"Voll {i}", d(21), nights=1)
        s.commit()
    before = snapshot(app)
    resp = host.post(f"{_b(conflict)}/replacements/{world.B.cat_id}/accept", headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Category 1 at Pension Birke is no longer free for the whole stay" in body
    assert snapshot(app) == before


def test_step_2_another_office_s_category_is_not_found(host, conflict, db_session):
    with db_session() as s:
        cat = s.scalar(sa.select(Property).where(Property.slug == "haus-fremd")).categories[0].id
    assert host.post(f"{_b(conflict)}/replacements/{cat}/accept").status_code == 404


def test_step_3_hand_over_then_the_office_queue_and_staff_rehouse(app, host, conflict, world, db_session):
    resp = host.post(f"{conflict.base}/hand-over", data={"b0-handover-note": "No answer"}, headers=HTMX)
    assert resp.status_code == 204
    assert "With the tourist office since" in host.get(_steps_url(conflict)).get_data(as_text=True)
    staff = new_client(app)
    login(staff, world.staff1)
    page = staff.get("/office/conflicts")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Pension Aurora" in body and "3 · handed over" in body
    assert 'href="/office/conflicts"' in body  # in the navigation
    link = re.search(r'<a href="(/p/haus-a/conflicts/[^"]+)">Pension Aurora</a>', body).group(1)
    assert staff.get(link).status_code == 200
    resp = staff.post(f"{_b(conflict)}/replacements/{world.B.cat_id}/accept")
    assert resp.status_code == 303
    with db_session() as s:
        step = s.scalar(sa.select(DoubleBookingStep).where(DoubleBookingStep.action == "replacement_accepted"))
        assert step.step == 3 and step.actor_id == world.staff1.id
    assert "No open double bookings." in staff.get("/office/conflicts").get_data(as_text=True)


def test_office_queue_is_the_office_s_only(app, host, conflict, world):
    other = new_client(app)
    login(other, world.staff2)
    body = other.get("/office/conflicts").get_data(as_text=True)
    assert "Pension Aurora" not in body and "No open double bookings." in body
    assert other.post(f"{_b(conflict)}/contact", data={}).status_code == 403
    assert host.get("/office/conflicts").status_code == 403
    admin = new_client(app)
    login(admin, world.admin)
    assert "Pension Aurora" in admin.get("/office/conflicts").get_data(as_text=True)


def test_another_host_cannot_reach_the_steps(app, conflict, world):
    b = new_client(app)
    login(b, world.host_b)
    assert b.get(_steps_url(conflict)).status_code == 403
    assert b.post(f"{_b(conflict)}/cancel").status_code == 403


def test_steps_need_the_csrf_token(csrf_app, conflict, world):
    c = new_client(csrf_app)
    token = csrf_from(c.get("/login").get_data(as_text=True))
    assert c.post("/login", data={"email": world.host_a.email, "password": "secret-password",
                                  "csrf_token": token}).status_code == 302
    before = snapshot(csrf_app)
    assert c.post(f"{_b(conflict)}/cancel").status_code == 400
    assert snapshot(csrf_app) == before
    page = c.get(_steps_url(conflict)).get_data(as_text=True)
    assert c.post(f"{_b(conflict)}/cancel", data={"csrf_token": csrf_from(page)}).status_code == 303
    with csrf_app.app_context():
        assert flask_db.session.get(Booking, conflict.loser).status == "cancelled"
        flask_db.session.remove()

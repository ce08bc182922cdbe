"""CSRF protection on every form and htmx request: the login, the host's forms (a token in
the form, or the X-CSRFToken header htmx sends from <body hx-headers>), logout."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from portal.extensions import db
from services.models import Booking, User
from tests.factories import PASSWORD
from tests.web.conftest import HTMX, TODAY, assert_no_trace, csrf_from, english, new_client, snapshot


# -- CSRF ----------------------------------------------------------------------------------
@pytest.fixture
def csrf_client(csrf_app):
    yield new_client(csrf_app)
    with csrf_app.app_context():
        db.session.remove()
        db.engine.dispose()


def _csrf_login(c, account, password=PASSWORD):
    token = csrf_from(c.get("/login").get_data(as_text=True))
    resp = c.post("/login", data={"email": account.email, "password": password, "csrf_token": token})
    assert resp.status_code == 302
    return resp


def _new_booking(w, guest="Telefon Gast"):
    return {"category_id": w.A.cat_id, "unit_id": 0, "arrival": (TODAY + dt.timedelta(days=20)).isoformat(),
            "departure": (TODAY + dt.timedelta(days=22)).isoformat(), "units": 1, "guests": 1, "guest_name": guest}


def _bookings_named(db_session, name):
    with db_session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.guest_name == name))


def test_login_without_csrf_token_is_refused(csrf_app, csrf_client, world):
    english(csrf_client)
    resp = csrf_client.post("/login", data={"email": world.host_a.email, "password": PASSWORD})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Your form has expired. Please reload the page and try again." in body
    assert_no_trace(body)
    assert urlsplit(csrf_client.get("/").headers["Location"]).path == "/login"


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_post_without_csrf_token_is_400_and_writes_nothing(csrf_app, csrf_client, db_session, world, htmx):
    _csrf_login(csrf_client, world.host_a)
    before = snapshot(csrf_app)
    resp = csrf_client.post(f"/p/{world.A.slug}/bookings/new", data=_new_booking(world),
                            headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Your form has expired. Please reload the page and try again." in body
    assert_no_trace(body)
    if htmx:  # the message goes to the flash area, not into the form's target
        assert resp.headers["HX-Retarget"] == "#flash" and "<html" not in body
    assert snapshot(csrf_app) == before


def test_a_wrong_or_foreign_csrf_token_is_refused(csrf_app, csrf_client, db_session, world):
    other = new_client(csrf_app)
    _csrf_login(other, world.host_b)
    foreign = csrf_from(other.get(f"/p/{world.B.slug}/bookings/new").get_data(as_text=True))
    _csrf_login(csrf_client, world.host_a)
    for token in (foreign, "forged-token"):
        resp = csrf_client.post(f"/p/{world.A.slug}/bookings/new", data=_new_booking(world) | {"csrf_token": token})
        assert resp.status_code == 400
    assert _bookings_named(db_session, "Telefon Gast") == 0


def test_post_with_the_form_token_succeeds(csrf_app, csrf_client, db_session, world):
    _csrf_login(csrf_client, world.host_a)
    page = csrf_client.get(f"/p/{world.A.slug}/bookings/new").get_data(as_text=True)
    resp = csrf_client.post(f"/p/{world.A.slug}/bookings/new", data=_new_booking(world) | {"csrf_token": csrf_from(page)})
    assert resp.status_code == 303
    assert _bookings_named(db_session, "Telefon Gast") == 1


def test_htmx_post_with_the_header_token_from_body_hx_headers_succeeds(csrf_app, csrf_client, db_session, world):
    """htmx sends X-CSRFToken from <body hx-headers='{"X-CSRFToken": ...}'> with every request."""
    _csrf_login(csrf_client, world.host_a)
    page = csrf_client.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    token = re.search(r'<body hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    resp = csrf_client.post(f"/p/{world.A.slug}/bookings/new", data=_new_booking(world),
                            headers=HTMX | {"X-CSRFToken": token})
    assert resp.status_code == 204
    assert urlsplit(resp.headers["HX-Redirect"]).path == f"/p/{world.A.slug}/calendar"
    assert _bookings_named(db_session, "Telefon Gast") == 1
    # The same header works for the other htmx POSTs, e.g. "stay logged in".
    assert csrf_client.post("/ping", headers=HTMX | {"X-CSRFToken": token}).status_code == 204
    assert csrf_client.post("/ping", headers=HTMX).status_code == 400


def test_logout_needs_the_token_too(csrf_app, csrf_client, world):
    _csrf_login(csrf_client, world.host_a)
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get(f"/p/{world.A.slug}/calendar").status_code == 200  # a forged logout did nothing
    token = csrf_from(csrf_client.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True))
    assert csrf_client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_every_form_on_every_page_carries_the_csrf_token(csrf_client, world):
    """Forms post the token as a field; htmx requests send it from <body hx-headers>."""
    client = csrf_client
    _csrf_login(client, world.staff1)
    a = world.A
    pages = ["/account", "/office", f"/p/{a.slug}/calendar", f"/p/{a.slug}/calendar/bulk",
             f"/p/{a.slug}/calendar/night/{a.cat_id}/{(TODAY + dt.timedelta(days=3)).isoformat()}",
             f"/p/{a.slug}/bookings", f"/p/{a.slug}/bookings/new", f"/p/{a.slug}/bookings/{a.own_id}",
             f"/p/{a.slug}/bookings/{a.own_id}/edit", f"/p/{a.slug}/settings", f"/p/{a.slug}/history"]
    seen = 0
    for url in pages:
        body = client.get(url).get_data(as_text=True)
        assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', body), url
        forms = re.findall(r"<form\b([^>]*)>(.*?)</form>", body, re.S)
        for attrs, inner in forms:
            if 'method="post"' in attrs or "hx-post" in attrs:
                # Prefixed forms (settings, account) name it "<prefix>-csrf_token"; Flask-WTF finds both.
                assert re.search(r'name="([\w]+-)?csrf_token"', inner), (url, attrs)
                seen += 1
    assert seen >= 20
    client.post("/logout", data={"csrf_token": csrf_from(body)})
    body = client.get("/login").get_data(as_text=True)
    assert all('name="csrf_token"' in inner for _, inner in re.findall(r"<form\b([^>]*)>(.*?)</form>", body, re.S))


def test_prefixed_forms_post_their_token_too(csrf_app, csrf_client, db_session, world):
    _csrf_login(csrf_client, world.host_a)
    page = csrf_client.get("/account").get_data(as_text=True)
    token = re.search(r'name="pw-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = csrf_client.post("/account", data={"pw-csrf_token": token, "pw-current": PASSWORD,
                                              "pw-new": "brand-new-pass", "pw-repeat": "brand-new-pass"})
    assert resp.status_code == 302
    with db_session() as s:
        assert check_password_hash(s.get(User, world.host_a.id).password_hash, "brand-new-pass")

"""Logging in and out, the password, the 30-minute session (R80), CSRF, and the history of
what staff did on a host's behalf."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from portal.extensions import db
from services import clock
from services.models import AuditEntry, Booking, NightRate, User
from tests.factories import PASSWORD
from tests.web.conftest import (
    HTMX, NOW, TODAY, assert_no_trace, csrf_from, english, field_errors, login, new_client, snapshot,
)

TIMEOUT_FLASH = "Your session ended after 30 minutes without activity"


# -- logging in --------------------------------------------------------------------------

def test_login_page(client, world):
    english(client)
    resp = client.get("/login")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'name="email"' in body and 'name="password"' in body


@pytest.mark.parametrize("email,password", [
    ("host-a@example.com", "wrong-password"),
    ("nobody@example.com", PASSWORD),  # the same message: no hint which accounts exist
    ("HOST-A@example.com", "Secret-Password"),
])
def test_wrong_login_is_refused_with_a_message(client, world, email, password):
    english(client)
    resp = client.post("/login", data={"email": email, "password": password})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(r'class="error form-error"[^>]*>E-mail or password is not right\.<', body)
    assert password not in body  # the password is never sent back
    assert urlsplit(client.get("/").headers["Location"]).path == "/login"


def test_empty_login_fields_get_messages_next_to_them(client, world):
    english(client)
    resp = client.post("/login", data={"email": "", "password": ""})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(body, "email") and field_errors(body, "password")


def test_right_login_redirects_home_and_e_mail_is_case_insensitive(client, world):
    resp = client.post("/login", data={"email": "  Host-A@Example.com ", "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    # Host A has one property: the start page is its calendar.
    home = client.get("/")
    assert home.status_code == 302 and urlsplit(home.headers["Location"]).path == f"/p/{world.A.slug}/calendar"
    assert world.A.name in client.get(home.headers["Location"]).get_data(as_text=True)


def test_login_page_when_logged_in_goes_home(client, world):
    login(client, world.staff1)
    resp = client.get("/login")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/office"


def test_login_returns_to_the_page_asked_for(client, world):
    first = client.get(f"/p/{world.A.slug}/bookings?x=1")
    login_url = first.headers["Location"]
    assert parse_qs(urlsplit(login_url).query)["next"] == [f"/p/{world.A.slug}/bookings?x=1"]
    resp = client.post(login_url, data={"email": world.host_a.email, "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/p/{world.A.slug}/bookings?x=1"


@pytest.mark.parametrize("target", [
    "https://evil.example/phish",
    "//evil.example/phish",
    "/\\evil.example/phish",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "http:/evil.example",
])
def test_next_is_only_ever_a_local_path(client, world, target):
    resp = client.post("/login", query_string={"next": target},
                       data={"email": world.host_a.email, "password": PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_language_switch_does_not_redirect_off_site(client, world):
    resp = client.post("/language", data={"lang-locale": "en", "next": "/\\evil.example"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


# -- logging out ---------------------------------------------------------------------------

def test_logout_needs_post_and_ends_the_session(client, world):
    login(client, world.host_a)
    get = client.get("/logout")
    assert get.status_code == 405
    assert_no_trace(get.get_data(as_text=True))
    assert client.get(f"/p/{world.A.slug}/calendar").status_code == 200  # still logged in

    resp = client.post("/logout")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"
    assert "You are logged out." in client.get("/login").get_data(as_text=True)
    after = client.get(f"/p/{world.A.slug}/calendar")
    assert after.status_code == 302 and urlsplit(after.headers["Location"]).path == "/login"


# -- the password --------------------------------------------------------------------------

@pytest.mark.parametrize("data,field,message", [
    ({"pw-current": "not-my-password", "pw-new": "brand-new-pass", "pw-repeat": "brand-new-pass"},
     "pw-current", "The current password is not right."),
    ({"pw-current": PASSWORD, "pw-new": "short", "pw-repeat": "short"},
     "pw-new", "The password needs at least 8 characters."),
    ({"pw-current": PASSWORD, "pw-new": "brand-new-pass", "pw-repeat": "brand-new-pasS"},
     "pw-repeat", "The two new passwords differ."),
    ({"pw-current": PASSWORD, "pw-new": "", "pw-repeat": ""},
     "pw-new", "This field is required."),
])
def test_password_change_errors_stand_next_to_their_field(app, client, world, data, field, message):
    login(client, world.host_a)
    before = snapshot(app)
    resp = client.post("/account", data=data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(body, field) == [message]
    assert snapshot(app) == before
    client.post("/logout")
    login(client, world.host_a)  # the old password still works


def test_password_change_then_log_in_with_the_new_one(app, client, db_session, world):
    login(client, world.host_a)
    resp = client.post("/account", data={"pw-current": PASSWORD, "pw-new": "brand-new-pass", "pw-repeat": "brand-new-pass"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/account"
    assert "Your password has been changed." in client.get("/account").get_data(as_text=True)
    with db_session() as s:
        assert check_password_hash(s.get(User, world.host_a.id).password_hash, "brand-new-pass")
        assert s.scalar(sa.select(AuditEntry.action).where(AuditEntry.actor_id == world.host_a.id,
                                                           AuditEntry.action == "password_changed"))
    client.post("/logout")
    old = client.post("/login", data={"email": world.host_a.email, "password": PASSWORD})
    assert old.status_code == 422
    new = client.post("/login", data={"email": world.host_a.email, "password": "brand-new-pass"})
    assert new.status_code == 302


# -- R80: 30 minutes without a request end the session ---------------------------------------

def _at(minutes: float) -> None:
    clock.set_now(NOW + dt.timedelta(minutes=minutes))


def test_a_page_after_31_idle_minutes_goes_to_login_with_a_message(client, world):
    login(client, world.host_a)
    url = f"/p/{world.A.slug}/calendar"
    _at(31)
    resp = client.get(url)
    assert resp.status_code == 302
    loc = urlsplit(resp.headers["Location"])
    assert loc.path == "/login" and parse_qs(loc.query)["next"][0].rstrip("?") == url
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and TIMEOUT_FLASH in page.get_data(as_text=True)
    # Logged out for good, not only for that one request.
    assert urlsplit(client.get(url).headers["Location"]).path == "/login"


def test_an_htmx_request_after_31_idle_minutes_gets_hx_redirect_not_a_form(client, world):
    login(client, world.host_a)
    _at(31)
    resp = client.get(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{(TODAY + dt.timedelta(days=3)).isoformat()}",
                      headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 401
    assert urlsplit(resp.headers["HX-Redirect"]).path == "/login"
    assert "<form" not in body and "password" not in body.lower()
    # The full navigation htmx then makes shows why.
    assert TIMEOUT_FLASH in client.get(resp.headers["HX-Redirect"]).get_data(as_text=True)


def test_a_post_after_the_timeout_writes_nothing(app, client, world):
    login(client, world.host_a)
    _at(45)
    before = snapshot(app)
    resp = client.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{(TODAY + dt.timedelta(days=3)).isoformat()}",
                       data={"price": "1.00"})
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"
    assert snapshot(app) == before


def test_every_request_restarts_the_30_minutes(client, world):
    login(client, world.host_a)
    url = f"/p/{world.A.slug}/bookings"
    _at(29)
    assert client.get(url).status_code == 200
    _at(29 + 29)
    assert client.get(url, headers=HTMX).status_code == 200
    _at(29 + 29 + 29)
    assert client.post("/ping", headers=HTMX).status_code == 204  # "stay logged in"
    _at(29 + 29 + 29 + 30)
    assert client.get(url).status_code == 200  # exactly 30 minutes idle: still in
    _at(29 + 29 + 29 + 30 + 31)
    resp = client.get(url)
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"


def test_the_page_tells_the_browser_how_long_the_session_lasts(client, world):
    login(client, world.host_a)
    body = client.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    assert 'data-session-seconds="1800"' in body


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


# -- staff act on a host's behalf: the host sees it in the history ---------------------------

def test_staff_changes_are_in_the_hosts_history_with_the_staff_name(client, db_session, world):
    night = (TODAY + dt.timedelta(days=12)).isoformat()
    staff = new_client(client.application)
    login(staff, world.staff1)
    assert staff.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{night}",
                      data={"price": "123.00", "quota": "2", "min_stay": "1"}).status_code == 302
    assert staff.post(f"/p/{world.A.slug}/costs", data={"x-name": "Kurtaxe", "x-amount": "2.50", "x-per": "night",
                                                          "x-category_id": "0"}).status_code == 303
    login(client, world.host_a)
    assert client.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{night}",
                       data={"price": "124.00", "quota": "2", "min_stay": "1"}).status_code == 302

    with db_session() as s:
        rows = s.execute(sa.select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.summary)
                         .where(AuditEntry.property_id == world.A.id).order_by(AuditEntry.id)).all()
        assert s.get(NightRate, (world.A.cat_id, dt.date.fromisoformat(night))).price == 124
    assert (world.staff1.id, "rates") in [(r[0], r[1]) for r in rows]
    assert any(r[0] == world.staff1.id and r[1] == "extra_cost_added" and "Kurtaxe" in r[2] for r in rows)

    resp = client.get(f"/p/{world.A.slug}/history")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    table = body[body.index("<tbody>"):]
    rows_html = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    staff_rows = [r for r in rows_html if world.staff1.name in r]
    assert len(staff_rows) == 2
    assert all("Tourist office, on behalf of Anna Aurora" in r for r in staff_rows)
    assert any("Night edited" in r and "price=123.00" in r for r in staff_rows)
    assert any("Mandatory cost added" in r and "Kurtaxe" in r for r in staff_rows)
    own = [r for r in rows_html if "price=124.00" in r]
    assert len(own) == 1 and "Anna Aurora" in own[0] and "Tourist office" not in own[0]
    # Newest first, with the time of day in the property's timezone (10:00 in Berlin).
    assert rows_html[0] == own[0]
    assert "10:00" in own[0]


# -- the language survives logging out; a deactivated account is out at once ------------------

@pytest.mark.parametrize("how", ["logout", "timeout"])
def test_the_login_page_after_logout_keeps_the_users_language(client, world, how):
    login(client, world.host_a)
    assert client.post("/language", data={"lang-locale": "cs", "next": "/"}).status_code == 302
    assert '<html lang="cs">' in client.get(f"/p/{world.A.slug}/bookings").get_data(as_text=True)
    if how == "logout":
        client.post("/logout")
    else:
        _at(31)
        client.get(f"/p/{world.A.slug}/bookings")
    assert '<html lang="cs">' in client.get("/login").get_data(as_text=True)


def test_a_deactivated_account_is_logged_out_and_cannot_log_in(client, db_session, world):
    login(client, world.host_a)
    assert client.get(f"/p/{world.A.slug}/calendar").status_code == 200
    with db_session() as s:
        s.get(User, world.host_a.id).active = False
        s.commit()
    resp = client.get(f"/p/{world.A.slug}/calendar")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"
    again = client.post("/login", data={"email": world.host_a.email, "password": PASSWORD})
    assert again.status_code == 422


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

"""The auth blueprint: logging in and out, the password, the 30-minute session (R80), the
language after logging out, a deactivated account."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from services.core import clock
from services.models import AuditEntry, User
from tests.factories import PASSWORD
from tests.web.conftest import HTMX, NOW, TODAY, assert_no_trace, english, field_errors, login, snapshot

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

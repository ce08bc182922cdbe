"""Hardening of the way in (issue 7): the signing key, sessions that can be revoked and that
end, login throttling shared by every worker, a one-time password replaced at first login."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portal import create_app
from services.core import clock
from services.models import AuditEntry, LoginThrottle, User
from tests.conftest import BASE_CONFIG
from tests.factories import PASSWORD
from tests.web.conftest import NOW, english, login, new_client

CALENDAR = "/p/{}/calendar"


def _is_login_redirect(resp) -> bool:
    return resp.status_code == 302 and resp.headers["Location"].split("?")[0].endswith("/login")


def _copy_cookie(app, source):
    """Another browser holding a copy of `source`'s session cookie (a stolen cookie)."""
    target = new_client(app)
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)
    return target


# -- the signing key ----------------------------------------------------------------------

@pytest.mark.parametrize("key", ["", "short-key", "x" * 31])
def test_no_start_without_a_real_secret_key(key):
    with pytest.raises(RuntimeError, match="SECRET_KEY.*secrets.token_hex"):
        create_app({**BASE_CONFIG, "TESTING": False, "SECRET_KEY": key})


def test_a_key_of_32_bytes_starts_and_debug_gets_a_random_one():
    assert create_app({**BASE_CONFIG, "TESTING": False, "SECRET_KEY": "k" * 32}).secret_key == "k" * 32
    one = create_app({**BASE_CONFIG, "TESTING": False, "DEBUG": True, "SECRET_KEY": ""}).secret_key
    two = create_app({**BASE_CONFIG, "TESTING": False, "DEBUG": True, "SECRET_KEY": ""}).secret_key
    assert len(one) >= 32 and one != two  # never a constant anyone could sign cookies with


# -- sessions that end ----------------------------------------------------------------------

def test_a_copied_cookie_dies_with_the_logout(app, client, world):
    login(client, world.host_a)
    thief = _copy_cookie(app, client)
    assert thief.get(CALENDAR.format(world.A.slug)).status_code == 200  # the copy works at first
    client.post("/logout")
    assert _is_login_redirect(thief.get(CALENDAR.format(world.A.slug)))


def test_password_change_ends_every_other_session_but_keeps_this_one(app, client, world):
    login(client, world.host_a)
    other = new_client(app)
    login(other, world.host_a)
    thief = _copy_cookie(app, client)
    resp = client.post("/account", data={"pw-current": PASSWORD, "pw-new": "brand-new-pass",
                                         "pw-repeat": "brand-new-pass"})
    assert resp.status_code == 302
    assert client.get(CALENDAR.format(world.A.slug)).status_code == 200
    assert _is_login_redirect(other.get(CALENDAR.format(world.A.slug)))
    assert _is_login_redirect(thief.get(CALENDAR.format(world.A.slug)))


def test_sign_out_everywhere_from_the_account_page(app, client, world):
    login(client, world.host_a)
    other = new_client(app)
    login(other, world.host_a)
    page = client.get("/account").get_data(as_text=True)
    assert "Sign out everywhere" in page and "data-confirm=" in page  # a confirmation first
    resp = client.post("/account/sign-out-everywhere")
    assert _is_login_redirect(resp)
    assert _is_login_redirect(client.get("/"))
    assert _is_login_redirect(other.get("/"))


def test_staff_sign_a_host_out_everywhere(app, client, world, db_session):
    host = new_client(app)
    login(host, world.host_a)
    login(client, world.staff1)
    page = client.get("/office").get_data(as_text=True)
    assert f"/office/users/{world.host_a.id}/sign-out" in page
    resp = client.post(f"/office/users/{world.host_a.id}/sign-out")
    assert resp.status_code in (302, 303)
    assert "signed out on every device" in client.get("/office").get_data(as_text=True)
    assert _is_login_redirect(host.get("/"))
    with db_session() as s:
        assert s.scalar(sa.select(AuditEntry.action).where(AuditEntry.property_id == world.A.id)
                        .order_by(AuditEntry.id.desc()).limit(1)) == "signed_out_everywhere"
    login(host, world.host_a)  # a new login works at once


def test_staff_of_another_office_cannot_sign_a_host_out(app, client, world):
    host = new_client(app)
    login(host, world.host_a)
    login(client, world.staff2)
    assert client.post(f"/office/users/{world.host_a.id}/sign-out").status_code == 403
    assert host.get("/account").status_code == 200


def test_contract_end_ends_the_hosts_sessions(app, client, world):
    host = new_client(app)
    login(host, world.host_a)
    login(client, world.staff1)
    client.post(f"/office/p/{world.A.slug}/contract/end")
    assert _is_login_redirect(host.get("/account"))  # not only the property: the session itself


def test_a_session_ends_twelve_hours_after_login_however_active(client, world):
    start = NOW
    clock.set_now(start)
    login(client, world.host_a)
    minutes = 0
    while minutes < 12 * 60 - 25:
        minutes += 25
        clock.set_now(start + dt.timedelta(minutes=minutes))
        assert client.post("/ping").status_code == 204, minutes  # active all along (R80 is satisfied)
    clock.set_now(start + dt.timedelta(hours=12, minutes=1))
    assert _is_login_redirect(client.get("/"))


# -- login throttling ----------------------------------------------------------------------

def _attempt(client, email, password="wrong-password"):
    return client.post("/login", data={"email": email, "password": password})


def test_an_account_attacked_from_one_address_waits_longer_each_time(client, world):
    clock.set_now(NOW)
    english(client)
    codes = [_attempt(client, world.host_a.email).status_code for _ in range(6)]
    assert codes == [422] * 6  # the sixth failure starts the wait
    resp = _attempt(client, world.host_a.email, PASSWORD)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) == 30
    assert "Too many failed attempts. Please wait 30 seconds" in resp.get_data(as_text=True)
    clock.set_now(NOW + dt.timedelta(seconds=31))
    assert _attempt(client, world.host_a.email).status_code == 422  # one more failure ...
    resp = _attempt(client, world.host_a.email, PASSWORD)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) == 60  # ... doubles the wait
    clock.set_now(NOW + dt.timedelta(seconds=92))
    assert _attempt(client, world.host_a.email, PASSWORD).status_code == 302  # then the right password works


def test_the_right_password_of_another_user_behind_the_same_address_gets_in(app, world):
    clock.set_now(NOW)
    office = new_client(app)  # one address for the whole office (shared router)
    for i in range(31):  # a colleague's guessing, spread over many accounts
        assert _attempt(office, f"nobody{i % 8}@example.com").status_code == 422
    assert _attempt(office, "nobody0@example.com", "again").status_code == 429  # the address is blocked for them
    assert _attempt(office, world.host_b.email, PASSWORD).status_code == 302  # not for Bruno


def test_an_account_guessed_from_many_addresses_is_blocked_everywhere(app, world):
    clock.set_now(NOW)
    for _ in range(21):
        assert _attempt(new_client(app), world.host_a.email).status_code == 422
    resp = _attempt(new_client(app), world.host_a.email, PASSWORD)
    assert resp.status_code == 429
    assert _attempt(new_client(app), world.host_b.email, PASSWORD).status_code == 302  # others are not


def test_the_count_is_shared_by_every_app_server(make_app, world):
    """Counted in the database, not per worker: four workers do not give four allowances."""
    clock.set_now(NOW)
    workers = [make_app().test_client() for _ in range(3)]
    for i in range(6):
        c = workers[i % 3]
        c.environ_base["REMOTE_ADDR"] = "192.0.2.7"
        assert _attempt(c, world.host_a.email).status_code == 422
    c = workers[0]
    assert _attempt(c, world.host_a.email, PASSWORD).status_code == 429


def test_a_successful_login_clears_the_account_count(client, world, db_session):
    clock.set_now(NOW)
    for _ in range(4):
        _attempt(client, world.host_a.email)
    assert _attempt(client, world.host_a.email, PASSWORD).status_code == 302
    with db_session() as s:
        keys = set(s.scalars(sa.select(LoginThrottle.key)))
    assert not any(k.endswith(world.host_a.email) for k in keys)


def test_trusted_proxies_separate_the_clients_behind_them(make_app, world):
    clock.set_now(NOW)
    behind = make_app(TRUSTED_PROXIES=1).test_client()
    behind.environ_base["REMOTE_ADDR"] = "10.0.0.1"  # the reverse proxy
    behind.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.1"
    for _ in range(6):
        assert _attempt(behind, world.host_a.email).status_code == 422
    # 198.51.100.1 (the attacker) is blocked on host A; 198.51.100.2 behind the same proxy is not.
    assert _attempt(behind, world.host_a.email, PASSWORD).status_code == 429
    behind.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.2"
    assert _attempt(behind, world.host_a.email, PASSWORD).status_code == 302


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(make_app, world):
    clock.set_now(NOW)
    c = make_app().test_client()
    c.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    for i in range(6):
        c.environ_base["HTTP_X_FORWARDED_FOR"] = f"203.0.113.{i}"
        assert _attempt(c, world.host_a.email).status_code == 422
    c.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.99"
    assert _attempt(c, world.host_a.email, PASSWORD).status_code == 429


# -- the one-time password -----------------------------------------------------------------

def test_a_one_time_password_must_be_replaced_at_first_login(app, client, world, db_session):
    """A password handed over by an operator (must_change_password) is replaced at the first
    login; hosts registered by staff get an invitation link instead (tests/web/test_passwords.py)."""
    with db_session() as s:
        s.get(User, world.host_a.id).must_change_password = True
        s.commit()
    host = new_client(app)
    resp = host.post("/login", data={"email": world.host_a.email, "password": PASSWORD})
    assert resp.status_code == 302
    assert host.post("/language", data={"lang-locale": "en"}).status_code == 302  # allowed before the change
    resp = host.get(f"/p/{world.A.slug}/calendar")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account")
    assert host.get(f"/p/{world.A.slug}/calendar", headers={"HX-Request": "true"}).headers["HX-Redirect"].endswith("/account")
    page = host.get("/account").get_data(as_text=True)
    assert "one-time password" in page
    resp = host.post("/account", data={"pw-current": PASSWORD, "pw-new": "noras-own-pass", "pw-repeat": "noras-own-pass"})
    assert resp.status_code == 302
    assert host.get(f"/p/{world.A.slug}/calendar").status_code == 200


# -- the iCal export address (a secret at rest) ----------------------------------------------

def test_ical_export_address_is_shown_once_and_renewal_ends_the_old_one(app, client, world):
    login(client, world.host_a)
    url = f"/p/{world.A.slug}/calendars/export/{world.A.cat_id}/renew"
    page = client.post(url).get_data(as_text=True)
    first = re.search(r"/ical/([A-Za-z0-9_-]+)\.ics", page).group(1)
    assert "shown only now" in page
    assert first not in client.get(f"/p/{world.A.slug}/calendars").get_data(as_text=True)  # never again
    assert client.get(f"/ical/{first}.ics").status_code == 200
    assert client.get(f"/ical/{world.A.ical_token}.ics").status_code == 404  # the address before it
    second = re.search(r"/ical/([A-Za-z0-9_-]+)\.ics", client.post(url).get_data(as_text=True)).group(1)
    assert client.get(f"/ical/{first}.ics").status_code == 404
    assert client.get(f"/ical/{second}.ics").status_code == 200


def test_operator_signs_an_account_out_from_the_command_line(app, client, world):
    login(client, world.host_a)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "sign-out", "--email", world.host_a.email])
    assert result.exit_code == 0 and "Every session of" in result.output
    assert _is_login_redirect(client.get("/account"))
    result = runner.invoke(args=["user", "sign-out", "--email", "nobody@example.com"])
    assert result.exit_code != 0 and "No account" in result.output

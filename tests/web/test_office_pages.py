"""The office blueprint: staff register hosts; the brokerage contract opens and closes their
access; staff see only their own office's hosts."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from services.models import MailMessage, Property, User
from tests.web.conftest import HTMX, field_errors, login, new_client, snapshot


# -- the office: registering hosts, the brokerage contract ---------------------------------------
def test_staff_register_a_host_who_gets_access_once_the_contract_is_active(app, world, db_session):
    staff = new_client(app)
    login(staff, world.staff1)
    resp = staff.post("/office/hosts", data={"host_name": "Nora Neumann", "email": "Nora@Example.com",
                                             "property_name": "Haus Seeblick", "slug": "haus-seeblick"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "nora@example.com" in body
    with db_session() as s:
        user = s.scalar(sa.select(User).where(User.email == "nora@example.com"))
        prop = s.scalar(sa.select(Property).where(Property.slug == "haus-seeblick"))
        assert user.role == "host" and not user.must_change_password
        assert prop.office_id == world.offices[1] and prop.owner_id == user.id and prop.contract_active_since is None
        # No password is handed over: the host is e-mailed a one-time link to choose one.
        invitation = s.scalar(sa.select(MailMessage).where(MailMessage.recipient == "nora@example.com"))
        assert invitation.kind == "account" and invitation.property_id is None
        link = re.search(r"http://localhost(/password/set/[A-Za-z0-9_-]+)", invitation.body).group(1)
    assert link not in staff.get("/office").get_data(as_text=True)

    host = new_client(app)
    assert host.post(link, data={"new": "noras-own-pass", "repeat": "noras-own-pass"}).status_code == 302
    assert host.post("/language", data={"lang-locale": "en", "next": "/"}).status_code == 302
    refused = host.get("/p/haus-seeblick/calendar")
    assert refused.status_code == 403
    assert "waiting for the tourist office to activate the brokerage contract" in refused.get_data(as_text=True)
    assert "No property is open to you yet" in host.get("/").get_data(as_text=True)

    act = staff.post("/office/p/haus-seeblick/contract/activate", headers=HTMX)
    assert act.status_code == 204 and act.headers["HX-Redirect"] == "/office"
    assert "Contract for Haus Seeblick activated" in staff.get("/office").get_data(as_text=True)

    assert host.get("/p/haus-seeblick/calendar").status_code == 200
    history = host.get("/p/haus-seeblick/history").get_data(as_text=True)
    assert "Host registered" in history and "Contract activated" in history
    assert world.staff1.name in history

    # Ending the contract takes the access away again: the host is signed out at once, and a new
    # login finds the property closed.
    assert staff.post("/office/p/haus-seeblick/contract/end").status_code == 303
    assert host.get("/p/haus-seeblick/calendar").headers["Location"].startswith("/login")
    assert host.post("/login", data={"email": "nora@example.com", "password": "noras-own-pass"}).status_code == 302
    assert host.get("/p/haus-seeblick/calendar").status_code == 403


def test_staff_of_another_office_do_not_see_the_host(app, world):
    other = new_client(app)
    login(other, world.staff2)
    page = other.get("/office").get_data(as_text=True)
    assert "Tourist-Info Zwei" in page
    for p in world.props.values():
        assert p.name not in page and f"/p/{p.slug}/" not in page


@pytest.mark.parametrize("data,field,message", [
    ({"host_name": "N", "email": "nora@example.com", "property_name": "Haus", "slug": "Haus Seeblick!"},
     "slug", "Use lower-case letters, digits and dashes only."),
    ({"host_name": "N", "email": "nora@example.com", "property_name": "Haus", "slug": "haus-a"},
     "slug", "This address is taken already."),
    ({"host_name": "N", "email": "host-b@example.com", "property_name": "Haus", "slug": "haus-neu"},
     "email", "An account with this e-mail address exists already."),
    ({"host_name": "N", "email": "not-an-address", "property_name": "Haus", "slug": "haus-neu"},
     "email", "Enter a valid e-mail address."),
    ({"host_name": "", "email": "nora@example.com", "property_name": "Haus", "slug": "haus-neu"},
     "host_name", "Enter a name."),
])
def test_registering_a_host_validates_every_field(app, world, data, field, message):
    staff = new_client(app)
    login(staff, world.staff1)
    before = snapshot(app)
    resp = staff.post("/office/hosts", data=data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in field_errors(body, field)
    assert "<code>" not in body
    assert snapshot(app) == before

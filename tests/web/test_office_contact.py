"""The office's contact on every host page (R25: a host in trouble looks for it), for one query at
most: the property's office, or on pages without a property the office of the host's first one."""
from __future__ import annotations

import re

import pytest

from services.models import Office, User
from tests.factories import make_property
from tests.web.conftest import login, new_client

FOOTER = re.compile(r'<footer class="office-contact".*?</footer>', re.S)


def _set_contact(s, office_id, email, phone, hours):
    office = s.get(Office, office_id)
    office.email, office.phone, office.opening_hours = email, phone, hours


@pytest.fixture
def contacts(world, db_session):
    with db_session() as s:
        _set_contact(s, world.offices[1], "info@eins.example", "+49 8821 180 700", "Mo–Fr 9–17 Uhr")
        _set_contact(s, world.offices[2], "hallo@zwei.example", "+420 222 703 629", "Po–Pá 8–16")
        s.commit()
    return world


def _footer(body: str) -> str | None:
    m = FOOTER.search(body)
    return m.group(0) if m else None


@pytest.mark.parametrize("path", ["calendar", "bookings", "settings", "policies", "photos", "modules", "calendars",
                                  "messages", "reviews", "conflicts", "history"])
def test_every_page_of_a_property_shows_its_offices_contact(host, contacts, path):
    resp = host.get(f"/p/{contacts.A.slug}/{path}")
    assert resp.status_code == 200
    footer = _footer(resp.get_data(as_text=True))
    assert footer, "no office contact"
    assert "Tourist-Info Eins" in footer
    assert '<a href="mailto:info@eins.example">info@eins.example</a>' in footer
    assert '<a href="tel:+498821180700">+49 8821 180 700</a>' in footer
    assert "Opening hours: Mo–Fr 9–17 Uhr" in footer
    assert 'href="/guide"' in footer


def test_pages_without_a_property_show_the_office_of_the_hosts_first_property(app, contacts, db_session):
    """Host A gets a second property, of office 2, first by name: the list page shows office 2."""
    with db_session() as s:
        prop = make_property(s, owner=s.get(User, contacts.host_a.id), office=s.get(Office, contacts.offices[2]),
                             days=0, slug="alm")
        prop.name = "Alm am See"
        s.commit()
    host = new_client(app)
    login(host, contacts.host_a)
    home = host.get("/")
    assert home.status_code == 200
    footer = _footer(home.get_data(as_text=True))
    assert footer and "Tourist-Info Zwei" in footer and "mailto:hallo@zwei.example" in footer
    assert "tel:+420222703629" in footer and "Tourist-Info Eins" not in footer
    # On a property's pages: that property's office.
    assert "Tourist-Info Eins" in _footer(host.get(f"/p/{contacts.A.slug}/calendar").get_data(as_text=True))
    assert "Tourist-Info Zwei" in _footer(host.get("/p/alm/calendar").get_data(as_text=True))
    assert "Tourist-Info Zwei" in _footer(host.get("/account").get_data(as_text=True))


def test_empty_fields_are_left_out(host, world):
    footer = _footer(host.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True))
    assert footer and "Tourist-Info Eins" in footer
    assert "mailto:" not in footer and "tel:" not in footer and "Opening hours" not in footer


def test_staff_see_it_only_on_a_propertys_pages(app, contacts):
    staff = new_client(app)
    login(staff, contacts.staff1)
    assert _footer(staff.get("/office").get_data(as_text=True)) is None
    assert "Tourist-Info Eins" in _footer(staff.get(f"/p/{contacts.B.slug}/calendar").get_data(as_text=True))


def test_the_login_page_has_none(client, contacts):
    assert _footer(client.get("/login").get_data(as_text=True)) is None


def test_it_costs_one_query_at_most(app, host, contacts, db_session, count_queries, monkeypatch):
    """The same pages with and without the block: at most one statement more, and the page's
    property is not loaded again for it."""
    def queries(path: str) -> list[str]:
        with count_queries() as statements:
            assert host.get(path).status_code == 200
        return statements

    with db_session() as s:  # a second property, so that "/" is a page (not a redirect)
        make_property(s, owner=s.get(User, contacts.host_a.id), office=s.get(Office, contacts.offices[2]), days=0)
        s.commit()
    paths = [f"/p/{contacts.A.slug}/calendar", f"/p/{contacts.A.slug}/bookings", "/", "/account"]
    with_block = {p: queries(p) for p in paths}
    assert all("Tourist-Info" in host.get(p).get_data(as_text=True) for p in paths)
    monkeypatch.setitem(app.jinja_env.globals, "office_contact", lambda prop=None: None)
    without = {p: queries(p) for p in paths}
    assert "Tourist-Info" not in host.get(paths[0]).get_data(as_text=True)
    for p in paths:
        extra = len(with_block[p]) - len(without[p])
        assert 0 <= extra <= 1, (p, with_block[p][len(without[p]):])
        office_reads = [q for q in with_block[p] if re.search(r"\bFROM office\b", q)]
        assert len(office_reads) <= 1, (p, office_reads)

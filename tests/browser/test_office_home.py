"""The office's home on a phone (390 px): the list as cards without horizontal scrolling, the
active search narrowing it in place (and in the address bar), a signal's link leading to where it
is fixed, the per-property actions folded into a menu."""
from __future__ import annotations

import dataclasses
import re

import pytest

from services.core import clock
from services.models import DoubleBooking, Office
from tests.browser.conftest import PHONE
from tests.factories import PASSWORD, make_property, make_user

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None


@dataclasses.dataclass(frozen=True)
class Seeded:
    staff_email: str
    conflict_slug: str
    other_slug: str


@pytest.fixture
def seeded(session):
    host = make_user(session, name="Hanna Gastgeberin mit einem sehr langen Namen")
    prop = make_property(session, owner=host, days=30, slug="ferienwohnung-alpenblick-am-kramerplateau")
    prop.name, prop.city = "Ferienwohnung Alpenblick am Kramerplateau", "Garmisch-Partenkirchen"
    office = session.get(Office, prop.office_id)
    office.name = "Tourist-Info Garmisch"
    other = make_property(session, office=office, days=90, slug="haus-seeblick")
    other.name, other.city = "Haus Seeblick", "Grainau"
    today = clock.today(prop.timezone)
    session.add(DoubleBooking(property_id=prop.id, category_id=prop.categories[0].id, first_night=today,
                              last_night=today, cause="check", status="open", opened_at=clock.now()))
    staff = make_user(session, "staff", office)
    session.commit()
    s = Seeded(staff.email, prop.slug, other.slug)
    session.close()
    return s


def _scroll_width(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def test_the_office_home_on_a_phone(seeded, open_tab):
    tab = open_tab(viewport=PHONE, is_mobile=True, has_touch=True)
    page = tab.page
    page.goto("/login")
    page.fill("input[name=email]", seeded.staff_email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/office$"))

    rows = page.locator("table.office-board tbody tr")
    expect(rows).to_have_count(2)
    assert _scroll_width(page) <= PHONE["width"]
    # Cards: no table header, each card inside the screen.
    expect(page.locator("table.office-board thead")).to_be_hidden()
    for i in range(2):
        box = rows.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
    # The actions of a property fold into a menu that opens within the screen.
    card = page.locator(f"#prop-{seeded.conflict_slug}")
    card.locator("details.row-menu summary").click()
    menu = card.locator(".row-menu-items")
    expect(menu.locator(f"a[href='/p/{seeded.conflict_slug}/calendar']")).to_be_visible()
    assert _scroll_width(page) <= PHONE["width"]
    tab.shot("office-home-phone.png", full_page=True)
    card.locator("details.row-menu summary").click()

    # Active search: typing narrows the list in place and puts the filter in the address bar.
    page.fill("#q", "grainau")
    expect(rows).to_have_count(1)
    expect(page.locator(f"#prop-{seeded.other_slug}")).to_be_visible()
    page.wait_for_url(re.compile(r"/office\?.*q=grainau"))
    page.fill("#q", "")
    expect(rows).to_have_count(2)
    # A filter from the select: contract state "invited" has no property here.
    page.select_option("select[name=contract]", "invited")
    expect(page.locator("#board .empty")).to_be_visible()
    page.select_option("select[name=contract]", "")
    expect(rows).to_have_count(2)
    tab.shot("office-home-phone-filtered.png")

    # A signal's chip leads to where it is fixed: the property's double bookings.
    chip = page.locator(f"#prop-{seeded.conflict_slug} a.chip.s-double_bookings")
    expect(chip).to_have_text(re.compile("1"))
    chip.click()
    page.wait_for_url(re.compile(rf"/p/{seeded.conflict_slug}/conflicts$"))

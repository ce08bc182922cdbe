"""The R13 steps of a double booking on a phone (issue 11): new dates that are taken fail next to
the field without leaving the page, the replacement search lists the office's other property,
and accepting it (after a question) rehouses the guest and resolves the double booking."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

import pytest

from services.availability import inventory
from services.bookings import conflicts
from services.core import clock
from services.models import UnplacedNight
from tests.browser.conftest import PHONE_375
from tests.factories import PASSWORD, make_office, make_property, make_user, new_booking

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None



@dataclasses.dataclass(frozen=True)
class Seeded:
    email: str
    url: str
    db_id: int
    loser_id: int
    taken: dt.date


@pytest.fixture
def rehousing_case(session):
    """Pension Eins (one room): an own booking holds it, an online booking came on top, so the
    own one yields (R11). Pension Zwei of the same office is free; d+10 is taken at Eins."""
    office = make_office(session, "Tourist-Info")
    user = make_user(session)
    here = make_property(session, owner=user, office=office, units=1, days=60)
    there = make_property(session, office=office, units=2, days=60, price="95.00")
    here.name, there.name = "Pension Eins", "Pension Zwei"
    today = clock.today(here.timezone)
    arrival = today + dt.timedelta(days=3)
    own = new_booking(here, arrival=arrival, nights=2, source="own", guest="Otto Eigen")
    own.total_price = Decimal("160.00")
    session.add(own)
    inventory.take(session, own)
    blocker = new_booking(here, arrival=today + dt.timedelta(days=10), nights=2, source="own", guest="Bea Besetzt")
    session.add(blocker)
    inventory.take(session, blocker)
    online = new_booking(here, arrival=arrival, nights=2, source="booking", guest="Olga Online")
    session.add(online)
    session.flush()
    session.add_all(UnplacedNight(booking_id=online.id, category_id=online.category_id, night=n)
                    for n in inventory.nights_of(online.arrival, online.departure))
    session.flush()
    dbk = conflicts.open_for(session, here.categories[0], inventory.nights_of(arrival, online.departure),
                             "overbooked_push")
    session.commit()
    seeded = Seeded(user.email, f"/p/{here.slug}/conflicts/{dbk.id}", dbk.id, own.id,
                    today + dt.timedelta(days=10))
    session.close()
    return seeded


def _no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_host_on_a_phone_walks_the_r13_steps(open_tab, rehousing_case):
    c = rehousing_case
    tab = open_tab(viewport=PHONE_375, is_mobile=True, has_touch=True, device_scale_factor=2)
    tab.console.allow(r"status of 409")  # the refused new dates: a 409 answer, swapped in
    tab.console.allow(r"Response Status Error Code 409 from /p/")
    page = tab.page
    page.goto("/login")
    page.fill("input[name=email]", c.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/p/[^/]+/calendar"))
    page.goto(c.url)
    steps = page.locator(f"#conflict-steps-{c.db_id}")
    expect(steps.locator("ol.r13-steps > li")).to_have_count(3)
    expect(steps.locator(f"#yielding-{c.loser_id}")).to_be_visible()
    _no_sideways_scroll(page)

    # (1) new dates that are taken: the message next to the field, the page stays
    page.fill(f"#b{c.loser_id}-dates-arrival", c.taken.isoformat())
    page.fill(f"#b{c.loser_id}-dates-departure", (c.taken + dt.timedelta(days=2)).isoformat())
    steps.locator(f"#yielding-{c.loser_id} form[action$='/new-dates'] button").click()
    expect(page.locator(f"#b{c.loser_id}-dates-arrival-error")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(c.url) + "$"))

    # (2) the replacement search, swapped in under the booking
    page.locator(f"#yielding-{c.loser_id} a[href$='/replacements']").click()
    results = page.locator(f"#replacements-{c.loser_id} table.replacements")
    expect(results).to_be_visible()
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("Pension Zwei")
    _no_sideways_scroll(page)
    tab.shot("conflict-steps-phone.png", full_page=True)

    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    results.locator("form[action$='/accept'] button").click()
    expect(page.locator(f"#conflict-steps-{c.db_id} .banner.success")).to_be_visible()
    assert asked and "Pension Zwei" in asked[0]
    expect(page.locator(f"#conflict-steps-{c.db_id} ol.r13-steps > li.done")).to_have_count(1)
    _no_sideways_scroll(page)
    tab.shot("conflict-steps-phone-resolved.png", full_page=True)

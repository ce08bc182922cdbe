"""A double booking on a phone (issue 11): the banner leads to the page, which fits the screen
(the nights' grid scrolls inside its card), shows the moves between rooms, applies them after
asking, and the double booking is resolved."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from services.core import clock
from tests.browser.conftest import PHONE_375
from tests.browser.test_accessibility import axe_problems
from tests.conflict_scenarios import fragmented
from tests.factories import PASSWORD, make_property, make_user

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None



@dataclasses.dataclass(frozen=True)
class Seeded:
    email: str
    slug: str
    url: str


@pytest.fixture
def double_booking(session):
    """A host whose property has a double booking that moves between rooms solve."""
    user = make_user(session)
    prop = make_property(session, owner=user, units=2, days=60)
    prop.name = "Pension Doppelt"
    session.commit()
    sc = fragmented(session, prop, clock.today(prop.timezone) + dt.timedelta(days=3))
    seeded = Seeded(user.email, prop.slug, f"/p/{prop.slug}/conflicts/{sc.db}")
    session.commit()
    session.close()
    return seeded


def _log_in(page, email):
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/p/[^/]+/calendar"))


def _no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.clientWidth")
    wide = page.evaluate("""w => Array.from(document.querySelectorAll('body *')).filter(e => {
        const r = e.getBoundingClientRect(); return r.right > w + 0.5 && !e.closest('.table-scroll'); })
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""", width)
    assert not wide, wide
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("document.body.scrollWidth") <= width


def test_a_host_on_a_phone_resolves_a_double_booking_by_moving_bookings(open_tab, double_booking):
    tab = open_tab(viewport=PHONE_375, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = tab.page
    _log_in(page, double_booking.email)
    # the banner, on the first page after the login
    banner = page.locator(".double-booking-banner[role=alert]")
    expect(banner).to_be_visible()
    _no_sideways_scroll(page)
    banner.locator("a").click()
    page.wait_for_url(re.compile(rf"/p/{double_booking.slug}/conflicts$"))
    page.locator("table.conflicts a").first.click()
    page.wait_for_url(re.compile(re.escape(double_booking.url) + "$"))

    expect(page.locator("#grid-now tr.unplaced")).to_be_visible()
    expect(page.locator("ul.moves li")).to_have_count(2)
    _no_sideways_scroll(page)
    # the grid scrolls inside its card, which stays within the screen
    scroller = page.locator(".conflict-grid-scroll").first
    box = scroller.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_375["width"]
    card = page.locator(".conflict-page .card").nth(1).bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"] + 1
    tab.shot("conflict-phone.png", full_page=True)
    assert not axe_problems(page), axe_problems(page)

    # the room-change option swaps the moves in place (htmx), the URL follows
    page.locator("form.split-option input[name=split]").check()
    expect(page).to_have_url(re.compile(r"split=1"))
    expect(page.locator("form.split-option input[name=split]")).to_be_checked()
    expect(page.locator("ul.moves li")).to_have_count(2)

    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.locator("#apply-moves").click()
    page.wait_for_url(re.compile(re.escape(double_booking.url) + "$"))
    expect(page.locator(".conflict-page h1 .chip.ok")).to_be_visible()
    assert asked, "Apply asks before it moves anyone"
    expect(page.locator(".double-booking-banner")).to_have_count(0)
    expect(page.locator("#apply-moves")).to_have_count(0)
    expect(page.locator("#grid-now tr.unplaced")).to_have_count(0)
    expect(page.locator("ol.conflict-history > li")).to_have_count(3)  # found, moved, resolved
    _no_sideways_scroll(page)
    tab.shot("conflict-phone-resolved.png", full_page=True)


def test_the_conflict_page_at_a_desk(open_tab, double_booking):
    tab = open_tab()
    page = tab.page
    _log_in(page, double_booking.email)
    page.goto(double_booking.url)
    expect(page.locator("#grid-after")).to_be_visible()
    _no_sideways_scroll(page)
    assert not axe_problems(page), axe_problems(page)
    tab.shot("conflict-desktop.png", full_page=True)

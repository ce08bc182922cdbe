"""The host's daily screens, checked as a person and a screen reader meet them (issue 9):

- axe-core (vendored in tests/browser/vendor, used by the tests only) finds no serious or
  critical violation on the login, the plan, the night editor, the bookings list, a booking's
  detail and the settings, on a desktop and on a 390x844 phone;
- at 390 px no page scrolls sideways, and the header leaves the screen to the page (its links
  fold behind one menu button);
- a screenshot of each page at both sizes is kept as an artifact of the run (SHOTS, see
  tests/browser/conftest.py), to be looked at.
"""
from __future__ import annotations

import datetime as dt
import os
import re

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.browser.conftest import DESKTOP, PHONE, SHOTS, log_in
from services.core import clock
from services.models import AuditEntry, ExtraCost, Property
from tests.factories import PASSWORD, make_property, make_user

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None

AXE = os.path.join(os.path.dirname(__file__), "vendor", "axe.min.js")
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def axe_problems(page) -> list[str]:
    """Serious and critical violations of WCAG 2.x A/AA on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        with open(AXE, encoding="utf-8") as f:
            page.evaluate(f.read() + "\n;undefined")  # through DevTools: the page's CSP does not apply
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                                           resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(
            v => `${v.impact} ${v.id}: ${v.help} -- ` + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
    }""")
    return result


def _pages(page, host, bookings_seeded=True):
    """Walk the daily screens in order, yielding (name, ready page) after each arrives."""
    base = f"/p/{host.slug}"
    page.goto(f"{base}/calendar")
    expect(page.locator("table.cal")).to_be_visible()
    yield "calendar"
    tomorrow = (host.today + dt.timedelta(days=1)).isoformat()
    page.locator(f"#n-{host.category_id}-{tomorrow} a").first.click()
    expect(page.locator("#editor form").first).to_be_visible()
    yield "night-editor"
    page.goto(f"{base}/bookings")
    expect(page.locator("table.list.bookings")).to_be_visible()
    yield "bookings"
    page.locator("table.list.bookings a[href*='/bookings/']").first.click()
    page.wait_for_url(re.compile(rf"{base}/bookings/\d+"))
    yield "booking-detail"
    page.goto(f"{base}/settings")
    expect(page.locator("main h1").first).to_be_visible()
    yield "settings"


@pytest.mark.parametrize("size", VIEWPORTS)
def test_daily_screens_have_no_serious_accessibility_violation(open_tab, seed, size):
    host = seed(bookings=True)
    tab = open_tab(viewport=VIEWPORTS[size])
    page = tab.page
    page.goto("/login")
    problems = [f"login: {p}" for p in axe_problems(page)]
    tab.shot(f"login-{size}.png", full_page=True)
    log_in(page, host)
    for name, in ((n,) for n in _pages(page, host)):
        problems += [f"{name}: {p}" for p in axe_problems(page)]
        tab.shot(f"{name}-{size}.png", full_page=name != "calendar")
    assert not problems, "axe-core found:\n" + "\n".join(problems)


def _scroll_width(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def test_no_page_scrolls_sideways_on_a_phone(open_tab, seed, session):
    """390 px wide: every page of a host and of the office staff fits; wide tables scroll inside
    their own box or turn into cards."""
    host = seed(bookings=True)
    prop = session.scalar(sa.select(Property).where(Property.slug == host.slug))
    # What made pages wide: long names of mandatory costs, long history lines, the office's hosts.
    session.add_all([ExtraCost(property_id=prop.id, name="Endreinigung inklusive Bettwäsche und Handtücher", amount=Decimal("45.00"), per="stay"),
                     ExtraCost(property_id=prop.id, category_id=host.category_id, name="Kurtaxe/Ortstaxe für Erwachsene",
                               amount=Decimal("2.50"), per="night")])
    session.add_all(AuditEntry(at=clock.now(), actor_id=prop.owner_id, property_id=prop.id, action="rates",
                               summary="Doppelzimmer mit Balkon und Seeblick 2026-12-09..2027-03-31: Preis 89,00 → 95,00")
                    for _ in range(3))
    staff = make_user(session, role="staff", office=prop.office)
    for _ in range(3):
        make_property(session, office=prop.office, days=0)
    staff_email = staff.email
    session.commit()
    tab = open_tab(viewport=PHONE)
    page = tab.page
    log_in(page, host)
    base = f"/p/{host.slug}"
    wide = {}
    for path in ("/calendar", "/bookings", "/bookings/new", "/settings", "/modules", "/calendars", "/messages",
                 "/history"):
        page.goto(base + path)
        page.wait_for_load_state("load")
        if _scroll_width(page) > PHONE["width"]:
            wide[path] = _scroll_width(page)
    page.goto(f"{base}/bookings")
    page.locator("table.list.bookings a[href*='/bookings/']").first.click()
    page.wait_for_url(re.compile(rf"{base}/bookings/\d+"))
    if _scroll_width(page) > PHONE["width"]:
        wide["booking detail"] = _scroll_width(page)
    page.goto("/account")
    if _scroll_width(page) > PHONE["width"]:
        wide["/account"] = _scroll_width(page)

    office = open_tab(viewport=PHONE).page
    office.goto("/login")
    office.fill("input[name=email]", staff_email)
    office.fill("input[name=password]", PASSWORD)
    office.click("form button.primary")
    office.wait_for_url(re.compile(r"/office"))
    office.goto("/office")
    office.screenshot(path=os.path.join(SHOTS, "office-hosts-phone.png"), full_page=True)
    if _scroll_width(office) > PHONE["width"]:
        wide["/office"] = _scroll_width(office)
    assert not wide, f"pages wider than {PHONE['width']} px: {wide}"


def test_the_phone_header_is_one_row_and_its_menu_opens_and_closes(open_tab, seed):
    host = seed()
    tab = open_tab(viewport=PHONE)
    page = tab.page
    log_in(page, host)
    header = page.locator("header.top")
    assert header.bounding_box()["height"] <= 60, "the header leaves the screen to the plan"
    menu = page.get_by_role("button", name=re.compile("Menü|Menu"))
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".main-nav")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    bookings = page.locator(f".main-nav a[href='/p/{host.slug}/bookings']")
    expect(bookings).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".main-nav")).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    bookings.click()
    page.wait_for_url(re.compile(rf"/p/{host.slug}/bookings"))
    tab.shot("menu-phone.png")


def test_the_desktop_header_shows_its_links_without_a_menu(open_tab, seed):
    host = seed()
    tab = open_tab(viewport=DESKTOP)
    log_in(tab.page, host)
    expect(tab.page.locator(".menu-toggle")).to_be_hidden()
    expect(tab.page.locator(f".main-nav a[href='/p/{host.slug}/bookings']")).to_be_visible()

"""Assist mode on a phone (390 px): staff start it, the banner is visible on the host's plan without
covering its controls, and Leave lands on the office's home without it; the office's contact at
the foot of the host's page."""
from __future__ import annotations

import dataclasses
import re

import pytest

from services.models import Office
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
    slug: str
    host_name: str
    prop_name: str


@pytest.fixture
def seeded(session):
    host = make_user(session, name="Hanna Gastgeberin")
    prop = make_property(session, owner=host, days=30)
    prop.name = "Ferienwohnung Alpenblick"
    office = session.get(Office, prop.office_id)
    office.name, office.email, office.phone = "Tourist-Info Garmisch", "info@garmisch.example", "+49 8821 180 700"
    staff = make_user(session, "staff", office)
    session.commit()
    s = Seeded(staff.email, prop.slug, host.name, prop.name)
    session.close()
    return s


def _inside(page, box) -> bool:
    vp = page.viewport_size
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= vp["width"] + 0.5


def test_the_banner_on_a_phone_and_leave(seeded, open_tab):
    tab = open_tab(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = tab.page
    page.goto("/login")
    page.fill("input[name=email]", seeded.staff_email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/office$"))

    # Start it as the "Work as host" button does: a POST with the page's CSRF token, in this tab's session.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    started = page.request.post(f"/office/p/{seeded.slug}/assist", form={"csrf_token": token}, max_redirects=0)
    assert started.status == 303 and started.headers["location"] == f"/p/{seeded.slug}/calendar"
    page.goto(f"/p/{seeded.slug}/calendar")

    banner = page.locator(".banner.assist")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(f"{seeded.host_name} ({seeded.prop_name})")
    leave = banner.locator("button.leave-assist")
    expect(leave).to_be_visible()
    box = banner.bounding_box()
    assert _inside(page, box), box
    assert box["y"] + box["height"] <= PHONE["height"], "the banner must be seen without scrolling"
    assert leave.bounding_box()["height"] >= 36  # a finger-sized button
    # In the page's flow: it covers nothing (the menu button and the plan stay where a tap reaches them).
    assert banner.evaluate("b => getComputedStyle(b).position") == "static"
    for target in ("button.menu-toggle", "table.cal"):
        el = page.locator(target).first
        expect(el).to_be_visible()
        el.scroll_into_view_if_needed()
        hit = el.evaluate("""e => { const r = e.getBoundingClientRect();
            const h = document.elementFromPoint(r.left + Math.min(r.width, 40) / 2, r.top + Math.min(r.height, 20) / 2);
            return !!h && (e === h || e.contains(h)); }""")
        assert hit, f"{target} is covered"
    page.evaluate("window.scrollTo(0, 0)")
    overlapping = banner.evaluate("""b => { const r = b.getBoundingClientRect();
        return [...document.querySelectorAll('a, button, input, select, textarea')]
          .filter(e => !b.contains(e) && e.offsetParent !== null)
          .filter(e => { const o = e.getBoundingClientRect();
                         return o.width && o.height && o.left < r.right && o.right > r.left && o.top < r.bottom && o.bottom > r.top; })
          .map(e => e.outerHTML.slice(0, 80)); }""")
    assert overlapping == [], overlapping
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The office's contact at the foot of the host's page.
    footer = page.locator("footer.office-contact")
    expect(footer).to_contain_text("Tourist-Info Garmisch")
    expect(footer.locator('a[href="mailto:info@garmisch.example"]')).to_have_count(1)
    tab.shot("assist-banner-phone.png")

    leave.click()
    page.wait_for_url(re.compile(r"/office$"))
    expect(page.locator(".banner.assist")).to_have_count(0)
    expect(page.locator("#flash")).to_contain_text(seeded.host_name)
    tab.shot("assist-left-phone.png")
    page.goto(f"/p/{seeded.slug}/calendar")
    expect(page.locator(".banner.assist")).to_have_count(0)

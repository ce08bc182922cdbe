"""The plan's "overbooked" lane in a real browser (issue 11), at the desktop and the phone size:
red, under the category's units, the bar opens the booking, the category cell says -1."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from services.availability import inventory
from services.models import Property
from tests.browser.conftest import DESKTOP, PHONE, log_in
from tests.browser.test_accessibility import axe_problems
from tests.factories import new_booking

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_overbooked_lane_is_red_and_opens_the_booking(session, seed, open_tab, size):
    host = seed(units=3)
    prop = session.scalar(sa.select(Property).where(Property.slug == host.slug))
    day = host.today + dt.timedelta(days=1)
    for i in range(3):
        b = new_booking(prop, arrival=day, nights=2, source="booking", guest=f"Voll {i}")
        session.add(b)
        inventory.take(session, b, overbook=True)
    over = new_booking(prop, arrival=day, nights=2, source="booking", guest="Olga Überbucht")
    session.add(over)
    inventory.take(session, over, overbook=True)
    session.commit()
    over_id = over.id
    session.close()
    extra = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2} if size == "phone" else {}
    tab = open_tab(viewport=DESKTOP if size == "desktop" else PHONE, **extra)
    page = tab.page
    log_in(page, host)
    lane = page.locator("tr.overbooked-row")
    expect(lane).to_have_count(1)
    bar = lane.locator("td.bar.ob a")
    expect(bar).to_have_text("Olga Überbucht")
    expect(bar).to_be_visible()
    assert bar.evaluate("a => getComputedStyle(a).backgroundColor") == "rgb(180, 35, 24)"  # --danger
    cell = page.locator(f"#n-{host.category_id}-{day.isoformat()} .free-count")
    expect(cell).to_have_text("-1/3")
    assert cell.evaluate("e => getComputedStyle(e).color") == "rgb(180, 35, 24)"
    # The lane sits under the category's units.
    rows = page.locator(f"tbody#cat-{host.category_id} tr").evaluate_all("rs => rs.map(r => r.className)")
    assert rows[-1] == "unit-row overbooked-row" and rows.count("unit-row") == 3
    tab.shot(f"overbooked-lane-{size}.png")
    assert axe_problems(page) == []  # red on red keeps its contrast; the lane's cells are table cells
    bar.click()
    expect(page.locator("#editor")).to_contain_text("Olga Überbucht")
    assert str(over_id) in (bar.get_attribute("href") or "")

"""Undo of the last calendar edit and the gap nights' one-click fix, in a real browser (R1).

The live server runs with CSRF protection on: each htmx POST that succeeds here (save, undo,
fix) proves the token is sent."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from services.models import NightRate
from tests.browser.conftest import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None

VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])


def night_cell(page, host, day: dt.date):
    return page.locator(f"#n-{host.category_id}-{day.isoformat()}")


@VIEWPORTS
def test_edit_a_night_then_undo_from_the_message(open_tab, seed, viewport):
    host = seed()
    tab = open_tab(viewport=viewport)
    page = tab.page
    log_in(page, host)
    day = host.today + dt.timedelta(days=1)
    cell = night_cell(page, host, day)
    expect(cell.locator(".price")).to_have_text("80")
    cell.locator("a").click()
    panel = page.locator("#editor section.panel")
    expect(panel.locator("input[name=price]")).to_be_focused()
    panel.locator("input[name=price]").fill("95.50")
    panel.locator("button.primary").click()
    expect(cell.locator(".price")).to_have_text("95,5")

    undo = page.locator("#flash .flash.success button.undo")
    expect(undo).to_be_visible()
    tab.shot(f"undo-offered-{viewport['width']}.png")
    undo.click()

    expect(night_cell(page, host, day).locator(".price")).to_have_text("80")
    expect(page.locator("#flash .flash.success")).to_contain_text("Rückgängig gemacht")
    expect(page.locator("#flash button.undo")).to_have_count(0)
    page.reload()
    expect(night_cell(page, host, day).locator(".price")).to_have_text("80")  # stored, not only drawn
    # The history says both, in the reader's language (German dates and money), and offers nothing more to undo.
    page.goto(f"/p/{host.slug}/history")
    rows = page.locator("table.list tbody tr")
    expect(rows.first).to_contain_text("95,50\xa0€ → 80,00\xa0€")
    expect(rows.nth(1)).to_contain_text("80,00\xa0€ → 95,50\xa0€")
    expect(page.locator("form.undo-form")).to_have_count(0)
    tab.shot(f"history-after-undo-{viewport['width']}.png", full_page=True)


@VIEWPORTS
def test_a_gap_is_marked_and_one_click_fixes_it(open_tab, seed, session, viewport):
    host = seed()
    first, last = host.today + dt.timedelta(days=2), host.today + dt.timedelta(days=5)
    # Closed on +2 and +5, a minimum stay of 3 from +2 on: +3 and +4 can never sell.
    session.execute(sa.update(NightRate).where(NightRate.category_id == host.category_id,
                                               NightRate.night.in_([first, last])).values(closed=True))
    session.execute(sa.update(NightRate).where(NightRate.category_id == host.category_id,
                                               NightRate.night >= first).values(min_stay=3))
    session.commit()
    session.close()
    tab = open_tab(viewport=viewport)
    page = tab.page
    log_in(page, host)
    gap_start = night_cell(page, host, host.today + dt.timedelta(days=3))
    expect(gap_start).to_have_class("night gap")
    expect(gap_start).to_have_attribute("title", re.compile(r"Lücke: 2 Nächte, Mindestaufenthalt 3$"))
    expect(night_cell(page, host, host.today + dt.timedelta(days=4))).to_have_class("night gap")
    expect(night_cell(page, host, host.today + dt.timedelta(days=1))).to_have_class("night")  # minimum stay 1 there
    tab.shot(f"gap-marked-{viewport['width']}.png")

    gap_start.locator("button.gap-fix").click()

    expect(night_cell(page, host, host.today + dt.timedelta(days=3))).to_have_class("night")  # no longer a gap
    expect(night_cell(page, host, host.today + dt.timedelta(days=3)).locator(".marks")).to_have_text("≥2")
    expect(night_cell(page, host, host.today + dt.timedelta(days=5)).locator(".marks")).to_contain_text("≥3")
    # The fix is undoable from its message too.
    page.locator("#flash button.undo").click()
    expect(night_cell(page, host, host.today + dt.timedelta(days=3))).to_have_class("night gap")

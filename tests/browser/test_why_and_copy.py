"""In a real browser: a night that offers nothing explains why and is fixed in one click; the
copy buttons of the Modules page put the key on the clipboard, or select it where they cannot."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from services.availability import rates
from services.models import Property, RoomCategory, User
from tests.browser.conftest import DESKTOP, PHONE, log_in
from tests.browser.test_accessibility import axe_problems

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None


def _close_night(session, host, day: dt.date) -> None:
    user = session.query(User).filter_by(email=host.email).one()
    prop = session.query(Property).filter_by(slug=host.slug).one()
    cat = session.get(RoomCategory, host.category_id)
    rates.set_night(session, user, prop, cat, day, rates.RateChange(closed=True))
    session.commit()
    session.close()  # the server needs SQLite's write lock


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_closed_night_says_why_and_one_click_opens_it(open_tab, seed, session, viewport):
    host = seed()
    day = host.today + dt.timedelta(days=3)
    _close_night(session, host, day)
    tab = open_tab(viewport=viewport)
    page = tab.page
    log_in(page, host)
    cell = page.locator(f"#n-{host.category_id}-{day.isoformat()}")
    expect(cell).to_have_class(re.compile(r"\bclosed\b"))
    cell.locator("a").click()
    reason = page.locator("#editor [data-reason=closed]")
    expect(reason).to_be_visible()
    expect(reason).to_contain_text("Die Nacht ist für Online-Buchungen geschlossen.")
    tab.shot(f"why-closed-{viewport['width']}.png")
    assert not axe_problems(page)
    reason.get_by_role("button", name="Diese Nacht öffnen").click()
    expect(page.locator("#editor")).to_contain_text("Gäste können diese Nacht online buchen.")
    expect(cell).not_to_have_class(re.compile(r"\bclosed\b"))
    assert "/calendar" in page.url  # swapped in place, no page load
    # The night editor stays one click away.
    page.locator("#editor").get_by_role("link", name="Diese Nacht bearbeiten").click()
    expect(page.locator("#editor input[name=price]")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_copy_button_puts_the_key_on_the_clipboard_or_selects_it(open_tab, seed, viewport):
    host = seed()
    tab = open_tab(viewport=viewport, permissions=["clipboard-read", "clipboard-write"])
    page = tab.page
    log_in(page, host)
    page.goto(f"/p/{host.slug}/modules")
    page.locator("#module-booking form button.primary").click()
    key = page.locator("#new-key")
    expect(key).to_be_visible()
    text = key.inner_text().strip()
    assert text.startswith("hp_")
    # The key shows as soon as the answer is parsed; its copy script runs just after (deferred):
    # a click before that would do nothing (CI under load caught it).
    page.wait_for_load_state("load")
    button = page.locator('button[data-copy="#new-key"]')
    button.click()
    status = button.locator("xpath=following-sibling::span[@data-copy-status][1]")
    expect(status).to_have_text("Kopiert")
    assert page.evaluate("navigator.clipboard.readText()") == text
    # Without a clipboard (an old browser, a plain http:// address) the key is selected instead.
    page.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true})")
    button.click()
    expect(status).to_contain_text("Strg+C")
    assert page.evaluate("window.getSelection().toString()").strip() == text
    # The technical detail is folded away until asked for.
    tech = page.locator("#module-booking details.tech")
    expect(tech.locator("li").first).to_be_hidden()
    tech.locator("summary").click()
    expect(tech).to_contain_text("X-Portal-Signature")
    assert not axe_problems(page)

"""Forms and first-run states in a real browser (issue 9): the checklist of an empty property,
the own-booking form's units following the category, prices that ask before an unusual value,
the settings on a phone, and an own booking entered on a phone in four taps."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from services.core import clock
from services.models import ExtraCost
from tests.browser.conftest import DESKTOP, PHONE, Host, log_in
from tests.factories import PASSWORD, make_property, make_user

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None

VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


def _open(open_tab, viewport):
    if viewport == PHONE:
        return open_tab(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    return open_tab(viewport=viewport)


def _press(page, locator, viewport):
    """A tap on a phone, a click elsewhere."""
    if viewport == PHONE:
        locator.tap()
    else:
        locator.click()


@pytest.fixture
def bare_host(session):
    """A host whose property has no room categories, prices or channels yet."""
    user = make_user(session)
    prop = make_property(session, owner=user, categories=0, days=0)
    host = Host(user.email, PASSWORD, user.name, prop.slug, prop.name, 0, "", {}, clock.today(prop.timezone))
    session.close()
    return host


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_empty_property_shows_the_first_steps_and_ticks_them(open_tab, bare_host, viewport):
    tab = _open(open_tab, viewport)
    page = tab.page
    log_in(page, bare_host)
    steps = page.locator("#first-steps")
    expect(steps).to_be_visible()
    expect(steps.locator("li.done")).to_have_count(0)
    expect(page.locator("#bulk-open")).to_have_count(0)
    expect(page.locator(".plan-nav a.primary", has_text="Eigenbelegung")).to_have_count(0)
    tab.shot(f"first-steps-{'phone' if viewport == PHONE else 'desktop'}.png", full_page=True)
    if viewport == PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    _press(page, steps.locator("li[data-step=rooms] a"), viewport)
    expect(page).to_have_url(re.compile(rf"/p/{bare_host.slug}/settings#categories$"))
    page.fill("input[name=c-name]", "Doppelzimmer")
    page.fill("textarea[name=c-unit_names]", "Zimmer 1, Zimmer 2")
    _press(page, page.locator("#categories form button.primary"), viewport)
    expect(page.locator("#categories input[value=Doppelzimmer]")).to_be_visible()

    page.goto(f"/p/{bare_host.slug}/calendar")
    expect(steps.locator("li[data-step=rooms]")).to_have_class("done")
    expect(steps.locator("li[data-step=prices]")).not_to_have_class("done")
    expect(page.locator("td.night.unpriced").first).to_be_visible()
    expect(page.locator(".legend .swatch.unpriced")).to_be_visible()
    _press(page, steps.locator("li[data-step=prices] a"), viewport)
    expect(page.locator("#editor input[name=price]")).to_be_visible()  # the bulk editor, in place


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_unit_list_follows_the_category(open_tab, seed, session, viewport):
    import sqlalchemy as sa
    from services.models import Property, RoomCategory
    host = seed(categories=2, units=2)
    prop_id = session.scalar(sa.select(Property.id).where(Property.slug == host.slug))
    session.execute(sa.update(RoomCategory).where(RoomCategory.property_id == prop_id, RoomCategory.name == "Category 2")
                    .values(max_guests=1))  # a single room
    session.commit()
    session.close()
    tab = _open(open_tab, viewport)
    page = tab.page
    log_in(page, host)
    page.goto(f"/p/{host.slug}/bookings/new")
    units = page.locator("select[name=unit_id] option")
    expect(units).to_have_text(["beliebige freie Einheit", "Category 1 – Room 101", "Category 1 – Room 102"])
    expect(page.locator("input[name=guests]")).to_have_value("2")
    page.select_option("select[name=category_id]", label="Category 2")
    expect(units).to_have_text(["beliebige freie Einheit", "Category 2 – Room 201", "Category 2 – Room 202"])
    expect(page.locator("input[name=guests]")).to_have_value("1")  # what a single room takes
    page.select_option("select[name=unit_id]", label="Category 2 – Room 202")
    page.select_option("select[name=category_id]", label="Category 1")
    expect(page.locator("select[name=unit_id]")).to_have_value("0")  # a unit of the other category is not kept
    expect(page.locator("input[name=units]")).to_have_value("1")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_unusual_price_asks_before_it_is_saved(open_tab, seed, viewport):
    host = seed()
    tab = _open(open_tab, viewport)
    tab.console.allow(r"status of 422")  # the refusal and the question are 422 answers, swapped in
    page = tab.page
    log_in(page, host)
    day = host.today + dt.timedelta(days=2)
    _press(page, page.locator(f"#n-{host.category_id}-{day.isoformat()} a"), viewport)
    editor = page.locator("#editor")
    price = editor.locator("input[name=price]")
    price.fill("89.999")
    _press(page, editor.locator("button.primary"), viewport)
    expect(editor.locator("#price-error")).to_be_visible()
    expect(price).to_have_value("89.999")

    price.fill("950")
    _press(page, editor.locator("button", has_text="Speichern").first, viewport)
    expect(editor.locator("#price-error")).to_contain_text("950")
    anyway = editor.locator("button[name=confirm_price]")
    expect(anyway).to_be_visible()
    tab.shot(f"price-confirm-{'phone' if viewport == PHONE else 'desktop'}.png")
    _press(page, anyway, viewport)
    expect(page.locator(f"#n-{host.category_id}-{day.isoformat()} .price")).to_have_text("950")


def test_settings_fit_a_phone_without_sideways_scrolling(open_tab, seed, session):
    host = seed(categories=2)
    from services.models import Property
    import sqlalchemy as sa
    prop_id = session.scalar(sa.select(Property.id).where(Property.slug == host.slug))
    session.add_all([ExtraCost(property_id=prop_id, name="Endreinigung inklusive Bettwäsche", amount=Decimal("45.00"),
                               per="stay"),
                     ExtraCost(property_id=prop_id, name="Kurtaxe", amount=Decimal("2.50"), per="night")])
    session.commit()
    session.close()
    tab = _open(open_tab, PHONE)
    page = tab.page
    log_in(page, host)
    page.goto(f"/p/{host.slug}/settings")
    expect(page.locator("#costs table")).to_be_visible()
    page.wait_for_load_state("load")
    tab.shot("settings-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Rename in place, then delete a unit after the confirmation step.
    unit_id = host.units["Room 103"]
    page.fill(f"#unit-name-{unit_id}", "Zimmer Seeblick")
    page.locator(f"#unit-{unit_id} form.rename button").tap()
    expect(page.locator(f"#unit-name-{unit_id}")).to_have_value("Zimmer Seeblick")
    page.locator(f"#unit-{unit_id} a.danger").tap()
    step = page.locator("#confirm-delete")
    expect(step).to_contain_text("Zimmer Seeblick")
    page.wait_for_load_state("load")  # measured with the style sheet applied
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    step.locator("button.danger").tap()
    expect(page.locator(f"#unit-{unit_id}")).to_have_count(0)
    expect(page.locator("#flash .flash.success")).to_contain_text("Zimmer Seeblick")


def test_an_own_booking_on_a_phone_takes_four_taps(open_tab, seed):
    """Tap the arrival night, tap the last night, type the name, tap save: the goal of issue 9."""
    host = seed(bookings=True)
    tab = _open(open_tab, PHONE)
    page = tab.page
    log_in(page, host)
    taps = 0

    def tap(locator):
        nonlocal taps
        taps += 1
        locator.tap()

    unit_id = host.units["Room 103"]
    arrival, last = host.today + dt.timedelta(days=1), host.today + dt.timedelta(days=2)
    row_cell = "td.free[data-unit='%s'][data-night='%s'] a"
    tap(page.locator(row_cell % (unit_id, arrival.isoformat())))
    tap(page.locator(row_cell % (unit_id, last.isoformat())))
    name = page.locator("#editor input[name=guest_name]")
    expect(name).to_be_focused()  # no tap needed to start typing
    page.keyboard.type("Erika Mustermann")
    tab.shot("own-booking-phone.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tap(page.locator("#editor button[type=submit]"))

    bar = page.locator(f"tr.unit-row td.bar.k-own", has_text="Erika Mustermann")
    expect(bar).to_have_count(1)
    expect(page.locator("#flash .flash.success")).to_contain_text("Erika Mustermann")
    assert taps <= 4, taps

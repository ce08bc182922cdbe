"""The occupancy calendar in a real browser, the way a new host uses it.

Every test logs in through the /login form of a live server with CSRF protection on, so each
htmx POST that succeeds proves the X-CSRFToken header from <body hx-headers> is sent.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from babel.dates import format_interval

from tests.browser.conftest import PHONE, log_in

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None


def window_title(start: dt.date, days: int = 31) -> str:
    """The heading of the plan: its nights in the host's language, "26. Nov. – 26. Dez. 2026"."""
    return format_interval(start, start + dt.timedelta(days=days - 1), "yMMMd", locale="de")


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def plan_url(host, month: dt.date | None = None) -> str:
    return f"/p/{host.slug}/calendar" + (f"?month={month:%Y-%m}" if month else "")


def night_cell(page, host, day: dt.date):
    return page.locator(f"#n-{host.category_id}-{day.isoformat()}")


def unit_row(page, unit_name: str):
    return page.locator("tr.unit-row").filter(has=page.locator("th.unit", has_text=re.compile(rf"^{unit_name}$")))


def mark_document(page) -> None:
    """Set a flag that a full page load would lose."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded instead of swapped"


def test_login_lands_on_the_calendar_of_the_only_property(tab, seed):
    host = seed(bookings=True)
    page = tab.page
    page.goto("/")  # not logged in: sent to the login form
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("input[name=email]")).to_be_focused()
    tab.shot("login.png")

    log_in(page, host)

    expect(page).to_have_url(re.compile(rf"/p/{host.slug}/calendar$"))
    expect(page.locator("#plan h1.month")).to_have_text(window_title(host.today - dt.timedelta(days=1)))
    expect(page.locator("header.top .prop-name")).to_have_text(host.prop_name)
    expect(page.locator("header.top a[aria-current=page]")).to_have_attribute("href", plan_url(host))
    expect(page.locator("th.day.today")).to_have_count(1)
    expect(night_cell(page, host, host.today).locator(".price")).to_have_text("80")
    # The bookings of the coming days are bars on their unit rows.
    expect(page.locator("td.bar a", has_text="Familie Berger")).to_be_visible()
    expect(page.locator("td.bar.k-booking a", has_text="J. Smith")).to_be_visible()
    expect(page.locator("#session-timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
    tab.shot("calendar-desktop.png")


def test_window_navigation_pushes_the_url_and_survives_back_and_reload(tab, seed):
    """Prev/next move by one window of 31 nights from yesterday (tests/browser/test_plan_layout.py
    has the date picker and the phone's 7 nights)."""
    host = seed()
    page = tab.page
    log_in(page, host)
    heading = page.locator("#plan h1.month")
    first = host.today - dt.timedelta(days=1)
    nxt = first + dt.timedelta(days=31)
    expect(heading).to_have_text(window_title(first))
    mark_document(page)

    page.click("#plan a[rel=next]")

    expect(page).to_have_url(re.compile(rf"\?start={nxt}$"))
    expect(heading).to_have_text(window_title(nxt))
    expect(page.locator("#plan")).to_have_attribute("data-start", nxt.isoformat())
    assert_not_reloaded(page)

    page.go_back()
    expect(page).to_have_url(re.compile(rf"{plan_url(host)}$"))
    expect(heading).to_have_text(window_title(first))

    page.go_forward()
    expect(heading).to_have_text(window_title(nxt))
    page.reload()
    expect(page).to_have_url(re.compile(rf"\?start={nxt}$"))
    expect(heading).to_have_text(window_title(nxt))

    page.click("#plan a[rel=prev]")
    expect(heading).to_have_text(window_title(first))
    expect(page).to_have_url(re.compile(rf"{plan_url(host)}$"))  # the default window has no start


def test_night_editor_saves_the_price_in_place(tab, seed):
    host = seed()
    page = tab.page
    log_in(page, host)
    mark_document(page)
    cell = night_cell(page, host, host.today)
    expect(cell.locator(".price")).to_have_text("80")

    cell.locator("a").click()

    panel = page.locator("#editor.floating section.panel")
    expect(panel).to_be_visible()
    expect(panel.locator("h2")).to_contain_text(host.category_name)
    price = panel.locator("input[name=price]")
    expect(price).to_have_value("80.00")
    expect(price).to_be_focused()
    tab.shot("editor-open.png")

    price.fill("95.50")
    panel.locator("button.primary").click()

    expect(page.locator("#editor")).to_be_hidden()
    expect(cell.locator(".price")).to_have_text("95,5")
    expect(page.locator("#flash .flash.success")).to_contain_text(host.category_name)
    assert_not_reloaded(page)
    # The saved price is stored, not only drawn.
    page.reload()
    expect(night_cell(page, host, host.today).locator(".price")).to_have_text("95,5")


@pytest.mark.parametrize("quota", ["-1", "4"], ids=["negative", "above-units"])
def test_night_editor_shows_errors_next_to_the_field_and_escape_closes(tab, seed, quota):
    host = seed(units=3)
    page = tab.page
    # Expected for a validation error, and nothing else: Chromium logs every 4xx response, and
    # htmx logs one because the htmx-config in base.html marks 4xx swaps as errors.
    tab.console.allow(r"the server responded with a status of 422 ")
    tab.console.allow(r"Response Status Error Code 422 from /p/")
    log_in(page, host)
    cell = night_cell(page, host, host.today)
    cell.locator("a").click()
    panel = page.locator("#editor.floating section.panel")
    # htmx focuses [autofocus] after the settle delay: typing before that would land in the price.
    expect(panel.locator("input[name=price]")).to_be_focused()
    panel.locator("input[name=quota]").fill(quota)
    panel.locator("input[name=price]").fill("70")

    panel.locator("button.primary").click()

    field = panel.locator(".field.has-error")
    expect(field).to_have_count(1)
    expect(field.locator("input[name=quota]")).to_have_attribute("aria-invalid", "true")
    expect(field.locator("p.error")).to_be_visible()
    expect(field.locator("p.error")).to_have_attribute("id", "quota-error")
    expect(panel.locator("input[name=price]")).to_have_value("70")  # what was typed is kept
    expect(cell.locator(".price")).to_have_text("80")  # nothing saved

    page.keyboard.press("Escape")

    expect(page.locator("#editor")).to_be_hidden()
    expect(cell.locator(".price")).to_have_text("80")


def test_bulk_edit_sets_the_price_of_fridays_and_saturdays_in_a_range(tab, seed):
    host = seed()
    page = tab.page
    log_in(page, host)
    window = host.today + dt.timedelta(days=30)  # the next window: yesterday + 31 nights
    # Open the form first, then move: the form (in the editor, outside #plan) must still
    # refresh the window on screen.
    page.click("#bulk-open")
    form = page.locator("#editor #bulk form")
    expect(form).to_be_visible()
    page.click("#plan a[rel=next]")
    expect(page.locator("#plan")).to_have_attribute("data-start", window.isoformat())
    start, end = window + dt.timedelta(days=2), window + dt.timedelta(days=15)
    form.locator("input[name=start]").fill(start.isoformat())
    form.locator("input[name=end]").fill(end.isoformat())
    for value in range(7):
        box = form.locator(f"input[name=weekdays][value='{value}']")
        box.set_checked(value in (4, 5))
    form.locator("input[name=price]").fill("120")
    mark_document(page)

    form.locator("button.primary").click()

    expected = [start + dt.timedelta(days=i) for i in range(14)]
    weekend = [d for d in expected if d.weekday() in (4, 5)]
    expect(page.locator("#flash .flash.success")).to_contain_text(re.compile(rf"\b{len(weekend)}\b"))
    expect(page.locator("#plan h1.month")).to_have_text(window_title(window))
    expect(page).to_have_url(re.compile(rf"\?start={window}$"))
    for day in expected + [end + dt.timedelta(days=i) for i in range(1, 8)]:
        want = "120" if day in weekend else "80"
        expect(night_cell(page, host, day).locator(".price"), day.isoformat()).to_have_text(want)
    assert_not_reloaded(page)


def test_own_booking_from_two_clicks_on_a_unit_row(tab, seed):
    host = seed(bookings=True)
    page = tab.page
    log_in(page, host)
    month = next_month(host.today)
    page.goto(plan_url(host, month))
    unit_name, unit_id = "Room 103", host.units["Room 103"]
    row = unit_row(page, unit_name)
    arrival, last = month + dt.timedelta(days=14), month + dt.timedelta(days=16)

    row.locator(f"td.free[data-night='{arrival}'] a").click()
    expect(page.locator("#selection-hint")).to_be_visible()
    expect(row.locator(f"td.free.sel[data-night='{arrival}']")).to_have_count(1)
    row.locator(f"td.free[data-night='{last}'] a").click()

    panel = page.locator("#editor.floating section.panel")
    expect(panel).to_be_visible()
    expect(page.locator("#selection-hint")).to_be_hidden()
    expect(panel.locator("select[name=unit_id]")).to_have_value(str(unit_id))
    expect(panel.locator("select[name=category_id]")).to_have_value(str(host.category_id))
    expect(panel.locator("input[name=arrival]")).to_have_value(arrival.isoformat())
    expect(panel.locator("input[name=departure]")).to_have_value((last + dt.timedelta(days=1)).isoformat())
    expect(panel.locator("input[name=guest_name]")).to_be_focused()
    tab.shot("booking-form-open.png")

    panel.locator("input[name=guest_name]").fill("Erika Mustermann")
    panel.locator("button[type=submit]").click()

    bar = unit_row(page, unit_name).locator("td.bar.k-own", has_text="Erika Mustermann")
    expect(bar).to_have_count(1)
    expect(bar.locator("a")).to_have_text("Erika Mustermann")
    expect(bar).to_have_attribute("colspan", "3")
    expect(page.locator("#flash .flash.success")).to_contain_text("Erika Mustermann")
    expect(page.locator("#editor")).to_be_hidden()
    # Back on the window (of those prev/next reach from yesterday) that holds the arrival.
    yesterday = host.today - dt.timedelta(days=1)
    shown = yesterday + dt.timedelta(days=(arrival - yesterday).days // 31 * 31)
    expect(page).to_have_url(re.compile(rf"{plan_url(host)}" + ("$" if shown == yesterday else rf"\?start={shown}$")))


def test_phone_layout_scrolls_the_plan_not_the_page(open_tab, seed):
    host = seed(bookings=True)
    tab = open_tab(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = tab.page
    log_in(page, host)
    expect(page.locator("#plan h1.month")).to_be_visible()
    tab.shot("calendar-phone.png")
    # A phone opens on 7 nights that fit the width (tests/browser/test_plan_layout.py); 31 named
    # in the URL scroll inside the plan, not the page.
    page.goto(plan_url(host) + "?days=31")
    expect(page.locator("table.cal thead th.day")).to_have_count(31)

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    scroller = page.locator(".plan-scroll")
    box = scroller.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    sizes = scroller.evaluate("e => [e.scrollWidth, e.clientWidth, getComputedStyle(e).overflowX]")
    assert sizes[0] > sizes[1] and sizes[2] in ("auto", "scroll"), sizes
    # The plan opens scrolled to today: most of the month lies in the past.
    today = page.locator("table.cal thead th.today").bounding_box()
    assert box["x"] <= today["x"] and today["x"] + today["width"] <= box["x"] + box["width"], (today, box)
    headers = page.locator("table.cal th.sticky")
    assert set(headers.evaluate_all("hs => hs.map(h => getComputedStyle(h).position)")) == {"sticky"}

    # Scrolling the plan keeps the row headers in place and moves the nights.
    head = page.locator("table.cal tr.cat-row th.sticky").first
    x_before = head.bounding_box()["x"]
    scroller.evaluate("e => { e.scrollLeft = 0; }")
    day = page.locator("table.cal thead th.day").nth(10)
    day_x = day.bounding_box()["x"]
    scroller.evaluate("e => { e.scrollLeft = 300; }")
    assert abs(head.bounding_box()["x"] - x_before) < 1
    assert day.bounding_box()["x"] < day_x - 250
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_session_warning_appears_and_stay_logged_in_hides_it(open_tab, seed, short_session_server):
    host = seed()
    tab = open_tab(server=short_session_server)
    page = tab.page
    log_in(page, host)
    warning = page.locator("#session-warning")
    expect(warning).to_be_hidden()

    expect(warning).to_be_visible(timeout=10_000)  # 65 s session, warned in the last minute

    with page.expect_response(re.compile(r"/ping$")) as ping:
        warning.locator("button").click()
    assert ping.value.status == 204
    assert ping.value.request.headers.get("x-csrftoken")
    expect(warning).to_be_hidden()
    expect(page.locator("#session-timer")).to_have_text(re.compile(r"^1:0[0-5]$"))

"""The occupancy plan as a host on a phone between two check-ins, or at a desk, uses it (issue 9):
the window of nights from yesterday, steady columns, the editor beside or below the night it
edits, messages that replace each other, nothing moving under the pointer, the keyboard.

Each layout test runs at the desktop and the phone size of tests/browser/conftest.py; the phone
is a touch device (has_touch, is_mobile) like the host's.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from babel.dates import format_interval

from tests.browser.conftest import DESKTOP, PHONE, log_in

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None

SIZES = {"desktop": (DESKTOP, 31), "phone": (PHONE, 7)}


@pytest.fixture(params=["desktop", "phone"])
def device(request, open_tab):
    """(tab, nights the plan shows by default) at the desktop or the phone size."""
    viewport, nights = SIZES[request.param]
    extra = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2} if request.param == "phone" else {}
    return open_tab(viewport=viewport, **extra), nights


def base(host) -> str:
    return f"/p/{host.slug}/calendar"


def title(start: dt.date, nights: int) -> str:
    return format_interval(start, start + dt.timedelta(days=nights - 1), "yMMMd", locale="de")


def night(page, host, day: dt.date):
    return page.locator(f"#n-{host.category_id}-{day.isoformat()}")


def unit_row(page, unit_name: str):
    return page.locator("tr.unit-row").filter(has=page.locator("th.unit", has_text=re.compile(rf"^{unit_name}$")))


def overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def inside(inner: dict, outer: dict, slack: float = 1) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


def visible_area(page) -> dict:
    """What of the plan the host sees: the scroller's box cut to the viewport."""
    box = page.locator(".plan-scroll").bounding_box()
    vp = page.viewport_size
    top, bottom = max(box["y"], 0), min(box["y"] + box["height"], vp["height"])
    return {"x": box["x"], "y": top, "width": box["width"], "height": bottom - top}


def grid_boxes(page) -> list:
    return page.evaluate("""() => Array.from(document.querySelectorAll('table.cal th, table.cal td'))
        .map(e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height].map(v => Math.round(v * 10) / 10); })""")


# -- 1. the window -----------------------------------------------------------------------------

def test_the_plan_opens_on_yesterday_with_31_nights_or_7_on_a_phone(device, seed):
    tab, nights = device
    host = seed(bookings=True)
    page = tab.page
    log_in(page, host)
    yesterday = host.today - dt.timedelta(days=1)
    days = page.locator("table.cal thead th.day")
    expect(days).to_have_count(nights)
    assert days.first.get_attribute("data-night") == yesterday.isoformat()
    expect(page.locator("#plan h1.month")).to_have_text(title(yesterday, nights))
    # Yesterday is in sight whole, right of the sticky names, not scrolled under them.
    corner = page.locator("table.cal th.corner").bounding_box()
    assert days.first.bounding_box()["x"] >= corner["x"] + corner["width"] - 1
    tab.shot(f"plan-window-{nights}.png")
    if nights == 7:
        # Seven nights fill the phone's width: no sideways scrolling, of the page or the plan.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        sizes = page.locator(".plan-scroll").evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert sizes[0] <= sizes[1], sizes


def test_prev_next_date_picker_back_forward_and_reload(device, seed):
    tab, nights = device
    host = seed()
    page = tab.page
    log_in(page, host)
    heading = page.locator("#plan h1.month")
    first = host.today - dt.timedelta(days=1)
    page.evaluate("window.__noReload = true")

    page.click("#plan a[rel=next]")
    second = first + dt.timedelta(days=nights)
    expect(page).to_have_url(re.compile(rf"{base(host)}\?start={second}$"))
    expect(heading).to_have_text(title(second, nights))
    settled(page)  # the new plan's date picker is wired only once htmx has taken it on

    # The date picker jumps to any first night.
    jump = host.today + dt.timedelta(days=100)
    page.fill("#plan-start", jump.isoformat())
    expect(page).to_have_url(re.compile(rf"{base(host)}\?start={jump}$"))
    expect(heading).to_have_text(title(jump, nights))
    expect(page.locator("table.cal thead th.day").first).to_have_attribute("data-night", jump.isoformat())
    assert page.evaluate("window.__noReload === true"), "the page was reloaded instead of swapped"

    page.go_back()
    expect(heading).to_have_text(title(second, nights))
    page.go_back()
    expect(heading).to_have_text(title(first, nights))
    expect(page).to_have_url(re.compile(rf"{base(host)}$"))
    page.go_forward()
    page.go_forward()
    expect(heading).to_have_text(title(jump, nights))
    page.reload()
    expect(heading).to_have_text(title(jump, nights))
    expect(page.locator("table.cal thead th.day")).to_have_count(nights)

    page.click("#plan a[rel=prev]")
    expect(heading).to_have_text(title(jump - dt.timedelta(days=nights), nights))
    expect(page.locator("table.cal a:not([tabindex='-1'])")).to_have_count(1)  # a swapped plan: one tab stop
    settled(page)
    page.click("#plan a[data-today]")
    expect(page).to_have_url(re.compile(rf"{base(host)}$"))
    expect(heading).to_have_text(title(first, nights))


def test_the_count_follows_the_screen_when_the_cookie_is_stale_or_the_window_narrows(open_tab, seed):
    """The server counts nights from the plan_days cookie that portal.js sets on every page; a
    plan drawn from an older cookie is fetched again with the count that fits."""
    host = seed()
    tab = open_tab(viewport=PHONE, is_mobile=True, has_touch=True)
    page = tab.page
    log_in(page, host)
    expect(page.locator("table.cal thead th.day")).to_have_count(7)  # the login page set the cookie already
    page.context.add_cookies([{"name": "plan_days", "value": "31", "url": tab.live.url}])
    page.goto(base(host))
    expect(page.locator("table.cal thead th.day")).to_have_count(7)
    assert {c["name"]: c["value"] for c in page.context.cookies()}["plan_days"] == "7"

    desk = open_tab(viewport=DESKTOP)
    page = desk.page
    log_in(page, host)
    expect(page.locator("table.cal thead th.day")).to_have_count(31)
    page.set_viewport_size(PHONE)
    expect(page.locator("table.cal thead th.day")).to_have_count(7)
    page.goto(f"{base(host)}?days=10")  # a count in the URL is kept
    expect(page.locator("table.cal thead th.day")).to_have_count(10)


def settled(page) -> None:
    """htmx has finished with the swapped plan (its classes gone, its links wired)."""
    expect(page.locator("#plan")).not_to_have_class(re.compile(r"htmx-(added|settling|swapping)"))


def test_the_keyboard_stays_on_the_button_that_moved_the_window(tab, seed):
    host = seed()
    page = tab.page
    log_in(page, host)
    page.focus("#plan-next")
    page.keyboard.press("Enter")
    expect(page.locator("#plan")).to_have_attribute("data-start", (host.today + dt.timedelta(days=30)).isoformat())
    expect(page.locator("#plan-next")).to_be_focused()
    settled(page)  # a key pressed before htmx has taken on the new plan follows the link as a plain page load
    page.keyboard.press("Enter")
    expect(page.locator("#plan")).to_have_attribute("data-start", (host.today + dt.timedelta(days=61)).isoformat())
    expect(page.locator("#plan-next")).to_be_focused()


def test_an_old_month_link_opens_on_the_first_of_the_month(tab, seed):
    host = seed()
    page = tab.page
    log_in(page, host)
    month = (host.today.replace(day=1) + dt.timedelta(days=40)).replace(day=1)
    page.goto(f"{base(host)}?month={month:%Y-%m}")
    expect(page.locator("table.cal thead th.day").first).to_have_attribute("data-night", month.isoformat())
    expect(page.locator("#plan h1.month")).to_have_text(title(month, 31))


# -- 2. steady columns -------------------------------------------------------------------------

def test_night_columns_keep_one_width_with_a_long_guest_name(device, seed):
    tab, nights = device
    host = seed()
    page = tab.page
    log_in(page, host)

    def widths():
        return page.locator("table.cal thead th.day").evaluate_all("hs => hs.map(h => h.getBoundingClientRect().width)")

    before = widths()
    assert max(before) - min(before) < 0.5, before
    # An own booking of two nights with a long name, through the plan's two clicks.
    name = "Familie Ziegler-Oberhuber-Schwarzenbach aus Garmisch-Partenkirchen"
    row = unit_row(page, "Room 102")
    arrival = host.today + dt.timedelta(days=1)
    row.locator(f"td.free[data-night='{arrival}'] a").click()
    row.locator(f"td.free[data-night='{arrival + dt.timedelta(days=1)}'] a").click()
    form = page.locator("#editor section.panel")
    form.locator("input[name=guest_name]").fill(name)
    form.locator("button[type=submit]").click()
    expect(page.locator("#flash .flash.success")).to_contain_text(name)
    page.goto(base(host))

    bar = unit_row(page, "Room 102").locator("td.bar", has_text=name)
    expect(bar).to_have_count(1)
    after = widths()
    assert len(after) == nights
    assert max(after) - min(after) < 0.5 and abs(after[0] - before[0]) < 0.5, (before, after)
    assert abs(bar.bounding_box()["width"] - 2 * after[0]) < 1.5  # two nights: two columns
    # The name is cut in the bar, whole on hover (title) and for the keyboard and screen readers (aria-label).
    link = bar.locator("a")
    assert link.evaluate("a => a.scrollWidth > a.clientWidth")
    assert name in link.get_attribute("title") and name in link.get_attribute("aria-label")
    # Focused from the keyboard, the bar shows the whole name over the next nights; no column moves.
    link.focus()
    assert link.evaluate("a => a.scrollWidth <= a.clientWidth")
    assert widths() == after


# -- 3. the editor beside (desktop) or below (phone) the night ----------------------------------

def test_the_editor_never_covers_the_night_it_edits_and_marks_it(device, seed):
    tab, nights = device
    host = seed()
    page = tab.page
    log_in(page, host)
    last = host.today + dt.timedelta(days=nights - 2)  # the window's last night
    cell = night(page, host, last)
    cell.locator("a").click()

    panel = page.locator("#editor section.panel")
    expect(panel).to_be_visible()
    expect(panel.locator("input[name=price]")).to_be_focused()
    expect(cell).to_have_class(re.compile(r"\bediting\b"))
    tab.shot(f"editor-beside-{nights}.png")
    editor_box, cell_box = page.locator("#editor").bounding_box(), cell.bounding_box()
    assert not overlap(editor_box, cell_box), (editor_box, cell_box)
    assert not overlap(panel.bounding_box(), cell_box)
    assert inside(cell_box, visible_area(page)), (cell_box, visible_area(page))  # not scrolled out of sight
    if nights == 31:
        # The plan makes room: it ends left of the panel.
        plan_box = page.locator(".plan-scroll").bounding_box()
        assert plan_box["x"] + plan_box["width"] <= editor_box["x"] + 1, (plan_box, editor_box)

    panel.locator("[data-close-editor].btn").click()
    expect(page.locator("#editor")).to_be_hidden()
    expect(page.locator("table.cal td.editing")).to_have_count(0)


def test_the_own_booking_form_never_covers_the_chosen_nights(device, seed):
    tab, nights = device
    host = seed()
    page = tab.page
    log_in(page, host)
    row = unit_row(page, "Room 101")
    first, last = host.today + dt.timedelta(days=nights - 4), host.today + dt.timedelta(days=nights - 2)
    row.locator(f"td.free[data-night='{first}'] a").click()
    row.locator(f"td.free[data-night='{last}'] a").click()

    panel = page.locator("#editor section.panel")
    expect(panel.locator("input[name=guest_name]")).to_be_focused()
    marked = row.locator("td.editing")
    expect(marked).to_have_count(3)
    tab.shot(f"booking-beside-{nights}.png")
    for i in range(3):
        box = marked.nth(i).bounding_box()
        assert not overlap(page.locator("#editor").bounding_box(), box), box
    assert inside(marked.first.bounding_box(), visible_area(page))

    page.keyboard.press("Escape")
    expect(page.locator("#editor")).to_be_hidden()
    expect(page.locator("table.cal td.editing")).to_have_count(0)


# -- 5. nothing moves between the two clicks of an own booking ---------------------------------

def test_no_part_of_the_grid_moves_between_the_two_clicks(device, seed):
    tab, nights = device
    host = seed(bookings=True)
    page = tab.page
    log_in(page, host)
    row = unit_row(page, "Room 103")
    arrival = host.today + dt.timedelta(days=2)
    before = grid_boxes(page)
    target = row.locator(f"td.free[data-night='{arrival + dt.timedelta(days=2)}']")
    target_box = target.bounding_box()

    row.locator(f"td.free[data-night='{arrival}'] a").click()

    hint = page.locator("#selection-hint")
    expect(hint).to_be_visible()
    tab.shot(f"selection-hint-{nights}.png")
    assert grid_boxes(page) == before
    assert target.bounding_box() == target_box
    assert not overlap(hint.bounding_box(), target_box)  # the hint floats clear of the second click
    target.locator("a").click()
    expect(page.locator("#editor section.panel input[name=departure]")).to_have_value(
        (arrival + dt.timedelta(days=3)).isoformat())


# -- 6. the keyboard ---------------------------------------------------------------------------

def test_keyboard_skip_link_arrows_home_end_enter_and_escape(tab, seed):
    host = seed()
    page = tab.page
    log_in(page, host)
    cat, today = host.category_id, host.today
    link = lambda day: night(page, host, day).locator("a")  # noqa: E731

    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    # German once the lead has translated it (the .po files are not this change's).
    expect(skip).to_have_text(re.compile(r"^(Skip to the occupancy plan|Zum Belegungsplan springen)$"))
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(link(today)).to_be_focused()  # the plan's one tab stop: today's night
    # One tab stop in the whole grid: Tab leaves it.
    assert page.locator("table.cal [tabindex='0']").count() == 1
    assert page.locator("table.cal a:not([tabindex='-1'])").count() == 1

    page.keyboard.press("ArrowRight")
    expect(link(today + dt.timedelta(days=1))).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(unit_row(page, "Room 101").locator(f"td[data-night='{today + dt.timedelta(days=1)}'] a")).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowLeft")
    expect(link(today)).to_be_focused()
    page.keyboard.press("End")
    expect(link(today + dt.timedelta(days=29))).to_be_focused()
    page.keyboard.press("Home")
    expect(page.locator(f"#n-{cat}-{today - dt.timedelta(days=1)}")).to_be_focused()  # yesterday: shown, not editable
    page.keyboard.press("ArrowRight")
    expect(link(today)).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("!document.activeElement.closest('table.cal')")
    page.keyboard.press("Shift+Tab")
    expect(link(today)).to_be_focused()  # the tab stop stayed where the arrows left it

    page.keyboard.press("Enter")
    price = page.locator("#editor input[name=price]")
    expect(price).to_be_focused()
    expect(night(page, host, today)).to_have_class(re.compile(r"\bediting\b"))
    page.keyboard.type("95")
    expect(price).to_have_value("95")  # the old price was selected, not prefixed
    page.keyboard.press("Escape")
    expect(page.locator("#editor")).to_be_hidden()
    expect(link(today)).to_be_focused()
    expect(night(page, host, today)).not_to_have_class(re.compile(r"\bediting\b"))

    # Saving with Enter: the cell is drawn anew and keeps the focus.
    page.keyboard.press("Enter")
    expect(price).to_be_focused()
    page.keyboard.type("91")
    page.keyboard.press("Enter")
    expect(night(page, host, today).locator(".price")).to_have_text("91")
    expect(link(today)).to_be_focused()


# -- 4. messages replace each other ------------------------------------------------------------

def test_an_error_replaces_the_success_message_before_it(tab, seed):
    host = seed(units=3)
    tab.console.allow(r"the server responded with a status of 422 ")
    tab.console.allow(r"Response Status Error Code 422 from /p/")
    page = tab.page
    log_in(page, host)
    night(page, host, host.today).locator("a").click()
    panel = page.locator("#editor section.panel")
    expect(panel.locator("input[name=price]")).to_be_focused()
    panel.locator("input[name=price]").fill("85")
    panel.locator("button.primary").click()
    expect(page.locator("#flash .flash.success")).to_be_visible()

    night(page, host, host.today + dt.timedelta(days=1)).locator("a").click()
    expect(panel.locator("input[name=price]")).to_be_focused()
    panel.locator("input[name=quota]").fill("-1")
    panel.locator("button.primary").click()

    expect(panel.locator("p.error")).to_be_visible()
    expect(page.locator("#flash .flash")).to_have_count(0)  # only the error is on screen
    tab.shot("message-replaced.png")


# -- 7. touch: no keyboard hints ---------------------------------------------------------------

def test_no_esc_hint_on_a_touch_screen(device, seed):
    tab, nights = device
    host = seed()
    page = tab.page
    log_in(page, host)
    night(page, host, host.today).locator("a").click()
    expect(page.locator("#editor section.panel")).to_be_visible()
    hints = page.locator(".kbd-hint")
    assert hints.count() == 2  # the page's keyboard hint and the editor's "Esc cancels"
    for i in range(hints.count()):
        if nights == 7:  # the phone: a touch screen without hover
            expect(hints.nth(i)).to_be_hidden()
        else:
            expect(hints.nth(i)).to_be_visible()


# -- 8. bulk edit behind one button ------------------------------------------------------------

def test_bulk_edit_opens_from_one_button_in_the_panel(device, seed):
    tab, nights = device
    host = seed()
    page = tab.page
    log_in(page, host)
    expect(page.locator("details.bulk")).to_have_count(0)
    expect(page.locator(".bulk-form")).to_have_count(0)
    if nights == 7:
        # The first night follows the plan's two rows of buttons right away: no bulk form in between.
        first = night(page, host, host.today).bounding_box()
        top = page.locator("#plan").bounding_box()["y"]
        assert first["y"] + first["height"] - top < 200, (first, top)
        assert page.locator("#plan .plan-nav").bounding_box()["height"] < 110
    page.click("#bulk-open")
    form = page.locator("#editor #bulk form.bulk-form")
    expect(form).to_be_visible()
    expect(form.locator("input[name=start]")).to_have_value(host.today.isoformat())
    expect(form.locator("input[name=end]")).to_have_value((host.today + dt.timedelta(days=nights - 2)).isoformat())
    tab.shot(f"bulk-panel-{nights}.png")
    form.locator("input[name=price]").fill("99")
    form.locator("button.primary").click()
    expect(page.locator("#flash .flash.success")).to_be_visible()
    expect(night(page, host, host.today).locator(".price")).to_have_text("99")
    # The refreshed plan (swapped out of band) keeps one tab stop.
    expect(page.locator("table.cal a:not([tabindex='-1'])")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page.locator("#editor")).to_be_hidden()
    expect(page.locator("#bulk-open")).to_be_focused()

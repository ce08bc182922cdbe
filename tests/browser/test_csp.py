"""The Content-Security-Policy in Chromium: the main pages of a host and of the tourist office
run under it without a single violation, and what moved from inline handlers and styles into
portal.js / portal.css still works (language switch, confirm before a new key, htmx indicator).

Violations are caught twice: a `securitypolicyviolation` listener installed before any page
script (reported to Python across navigations and kept in window.__csp), and Chromium's console
messages about the policy. The `open_tab` fixture also fails the test on any console error.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from services.models import Property
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None

LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var v = e.violatedDirective + " blocked " + (e.blockedURI || "?") + " at " + (e.sourceFile || location.href)
          + ":" + e.lineNumber + " " + (e.sample || "");
  window.__csp.push(v);
  if (window.__cspReport) window.__cspReport(v);
}, true);
"""


class CspWatch:
    """The policy violations of one tab, across its navigations."""

    def __init__(self, tab):
        self.page = tab.page
        self.reported: list[str] = []  # from every page the tab showed
        self.console: list[str] = []
        self.page.expose_function("__cspReport", lambda v: self.reported.append(v))
        self.page.add_init_script(LISTENER)
        self.page.on("console", self._on_console)

    def _on_console(self, msg) -> None:
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
            self.console.append(f"{msg.type}: {msg.text}")

    def violations(self) -> list[str]:
        # The current page's list as well, in case a report is still on its way to Python.
        on_page = [v for v in self.page.evaluate("window.__csp || []") if v not in self.reported]
        return self.reported + on_page + self.console


def _staff_of(session, host) -> str:
    """A tourist-office employee of the host's office; returns the e-mail (password PASSWORD)."""
    prop = session.scalar(sa.select(Property).where(Property.slug == host.slug))
    staff = make_user(session, "staff", office=prop.office)
    email = staff.email
    session.commit()
    session.close()
    return email


def _wait_for_quiet(page) -> None:
    page.wait_for_load_state("networkidle")


def test_the_main_pages_run_under_the_policy(open_tab, seed, session):
    host = seed(bookings=True)
    staff_email = _staff_of(session, host)
    tab = open_tab()
    watch = CspWatch(tab)
    page = tab.page
    slug = host.slug

    page.goto("/login")
    expect(page.locator("input[name=email]")).to_be_visible()
    assert "script-src 'self'" in page.request.get("/login").headers["content-security-policy"]
    log_in(page, host)

    # The calendar: month change, back, the night editor.
    heading = page.locator("#plan h1.month")
    first = heading.inner_text()
    page.click("#plan a[rel=next]")
    expect(heading).not_to_have_text(first)
    page.click("#plan a[rel=prev]")
    expect(heading).to_have_text(first)
    page.locator(f"#n-{host.category_id}-{host.today.isoformat()} a").click()
    panel = page.locator("#editor.floating section.panel")
    expect(panel).to_be_visible()
    tab.shot("csp-calendar-editor.png")
    page.keyboard.press("Escape")
    expect(page.locator("#editor")).to_be_hidden()

    # Bookings: search (an htmx swap), detail, the form of a new own booking.
    page.goto(f"/p/{slug}/bookings")
    page.fill("#q", "Berger")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.click("#results a")
    expect(page.locator("main")).to_contain_text("Familie Berger")
    page.goto(f"/p/{slug}/bookings/new")
    expect(page.locator("input[name=guest_name]")).to_be_visible()
    tab.shot("csp-booking-new.png", full_page=True)

    for path in ("settings", "calendars", "messages", "history", "modules"):
        page.goto(f"/p/{slug}/{path}")
        expect(page.locator("main h1").first).to_be_visible()
        _wait_for_quiet(page)
    tab.shot("csp-modules.png", full_page=True)
    page.goto("/account")
    expect(page.locator("input[name='pw-current']")).to_be_visible()

    # Tourist-office staff: the hosts list.
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=email]", staff_email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto("/office")
    expect(page.locator("main")).to_contain_text(host.prop_name)
    tab.shot("csp-office.png", full_page=True)
    _wait_for_quiet(page)

    assert watch.violations() == []


def test_language_switch_works_without_an_inline_handler(tab, seed):
    host = seed()
    watch = CspWatch(tab)
    page = tab.page
    log_in(page, host)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("header.top nav")).to_contain_text("Buchungen")

    page.select_option("#lang-locale", "en")  # no button: picking the language sends the form

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(rf"/p/{host.slug}/calendar"))
    expect(page.locator("header.top nav")).to_contain_text("Bookings")
    expect(page.locator("#lang-locale")).to_have_value("en")
    page.reload()  # it sticks to the account
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert watch.violations() == []


def test_a_new_key_is_made_only_after_confirmation(tab, seed):
    host = seed()
    watch = CspWatch(tab)
    page = tab.page
    log_in(page, host)
    page.goto(f"/p/{host.slug}/modules")
    module = page.locator("#module-slevomat")
    module.locator("button.primary").click()  # switch on: the first key is shown
    first_key = page.locator("#new-key")
    expect(first_key).to_be_visible()
    key = first_key.inner_text()

    questions = []
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/regenerate" in r.url else None)

    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    page.locator("#module-slevomat form[data-confirm] button").click()
    expect(page.locator("#new-key")).to_have_text(key)  # Cancel: nothing sent, nothing changed
    page.wait_for_timeout(300)
    assert posts == []

    page.once("dialog", lambda d: (questions.append(d.message), d.accept()))
    page.locator("#module-slevomat form[data-confirm] button").click()
    expect(page.locator("#new-key")).not_to_have_text(key)
    expect(page.locator("#new-key")).to_have_text(re.compile(r"^hp_"))
    assert len(posts) == 1
    # The question is the form's data-confirm text (tests/web/test_headers.py checks its wording).
    asked = page.locator("#module-slevomat form[data-confirm]").get_attribute("data-confirm")
    assert asked and questions == [asked, asked]
    assert watch.violations() == []


def test_the_htmx_indicator_shows_while_the_bulk_edit_is_sent(tab, seed):
    host = seed()
    watch = CspWatch(tab)
    page = tab.page
    log_in(page, host)
    page.click("#bulk-open")
    form = page.locator("#bulk form")
    start = host.today + dt.timedelta(days=2)
    form.locator("input[name=start]").fill(start.isoformat())
    form.locator("input[name=end]").fill((start + dt.timedelta(days=3)).isoformat())
    form.locator("input[name=price]").fill("111")
    spinner = page.locator("#bulk-spinner")
    expect(spinner).to_be_hidden()

    held = []
    page.route(re.compile(r"/calendar/bulk"), lambda route: held.append(route))
    form.locator("button.primary").click()

    # While the answer is held back: the indicator is shown (htmx-request), the button disabled.
    expect(spinner).to_be_visible()
    expect(spinner).to_have_css("opacity", "1")
    expect(form.locator("button.primary")).to_be_disabled()
    # A screenshot leaves style="" on inputs (Playwright hides the caret); htmx must not copy
    # it onto the swapped-in form (attributesToSettle in base.html), or the policy refuses it.
    tab.shot("csp-indicator.png")
    assert len(held) == 1
    held[0].continue_()

    expect(page.locator("#flash .flash.success")).to_be_visible()
    expect(page.locator("#bulk-spinner")).to_be_hidden()
    expect(page.locator(f"#n-{host.category_id}-{start.isoformat()} .price")).to_have_text("111")
    page.unroute(re.compile(r"/calendar/bulk"))
    assert watch.violations() == []


def test_a_violation_would_be_caught(tab, seed):
    """The watch itself: an inline handler and an inline style put into a page are reported."""
    host = seed()
    watch = CspWatch(tab)
    page = tab.page
    tab.console.allow(r"Content Security Policy")  # the violations provoked here
    log_in(page, host)
    page.evaluate("""() => {
        const div = document.createElement('div');
        div.innerHTML = '<img src="/static/img/favicon.svg" onload="window.__ran = 1">';
        document.body.appendChild(div);
        const s = document.createElement('script');
        s.textContent = 'window.__ran2 = 1';
        document.body.appendChild(s);
    }""")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__ran === undefined && window.__ran2 === undefined")
    found = watch.violations()
    assert any("script-src" in v for v in found), found

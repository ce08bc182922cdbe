"""Commission statements on a phone (390 px): staff send a month's statement from the office's
list after confirming, and see it sent; the host reads it. No page is wider than the phone."""
from __future__ import annotations

import datetime as dt

import pytest

from services.core import clock
from services.models import Property, Statement
from services.office import contracts
from services.office.statements import month_start
from tests.browser.conftest import PHONE
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _log_in(page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_load_state()


def test_staff_send_a_statement_on_a_phone_and_the_host_reads_it(open_tab, seed, session):
    host = seed(bookings=True)
    prop = session.query(Property).filter_by(slug=host.slug).one()
    staff = make_user(session, "staff", prop.office)
    contracts.set_rates(session, staff, prop, {"booking": "15"})
    staff_email = staff.email
    month = month_start(host.today + dt.timedelta(days=2))  # J. Smith's (Booking.com) arrival
    key = f"{month:%Y-%m}"
    session.close()
    clock.set_now(clock.now() + dt.timedelta(days=75))  # that month has ended: it can be sent

    tab = open_tab(viewport=PHONE)
    page = tab.page
    _log_in(page, staff_email)
    page.goto(f"/office/statements?month={key}")
    _fits(page)
    row = page.locator(f"#statement-{host.slug}")
    assert "draft" in row.inner_text().lower() or "entwurf" in row.inner_text().lower()
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    with page.expect_navigation():
        row.locator("form button").click()
    assert asked and host.prop_name in asked[0]
    page.wait_for_selector(".flash.success")
    _fits(page)
    tab.shot("statements-office-phone.png", full_page=True)
    assert session.query(Statement).filter_by(status="sent").count() == 1
    session.close()

    page.goto(f"/office/p/{host.slug}/statements/{key}")
    _fits(page)
    assert "J. Smith" in page.inner_text("main")

    other = open_tab(viewport=PHONE)
    _log_in(other.page, host.email)
    other.page.goto(f"/p/{host.slug}/statements")
    _fits(other.page)
    other.page.click(f"a[href='/p/{host.slug}/statements/{key}']")
    other.page.wait_for_selector("table.statement-lines")
    _fits(other.page)
    other.shot("statement-host-phone.png", full_page=True)
    assert "J. Smith" in other.page.inner_text("main")

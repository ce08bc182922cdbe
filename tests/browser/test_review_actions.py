"""Replies and reports under a review in a real browser (R64): the reply form fails next to the
field and succeeds in place, the reply shows under the review; the report asks first, then
shows its state. German (the default UI language), on a phone."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

import pytest

from services.core import clock
from services.models import ChannelConnection, Review
from tests.browser.conftest import PHONE_375
from tests.factories import PASSWORD, make_office, make_property, make_user

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None



@dataclasses.dataclass(frozen=True)
class Seeded:
    email: str
    url: str
    review_id: int


@pytest.fixture
def reviewed(session):
    office = make_office(session, "Tourist-Info")
    user = make_user(session)
    prop = make_property(session, owner=user, office=office, days=0)
    now = clock.now()
    conn = ChannelConnection(property_id=prop.id, channel="holidaycheck", scope="reviews",
                             webhook_url="https://partner.example.org/hook", created_at=now, updated_at=now)
    session.add(conn)
    session.flush()
    ids = []
    for i, author in enumerate(["Petra", "Paul", "Pia"]):
        r = Review(property_id=prop.id, connection_id=conn.id, partner_review_id=f"HC-{i}",
                   written_on=clock.today(prop.timezone) - dt.timedelta(days=10 + i), author=author,
                   overall=Decimal("5.0"), scale_min=Decimal("1"), scale_max=Decimal("6"), recommends=True,
                   text=f"Schöner Aufenthalt, sagt {author}.", language="de", status="published",
                   received_at=now, updated_at=now)
        session.add(r)
        session.flush()
        ids.append(r.id)
    session.commit()
    seeded = Seeded(user.email, f"/p/{prop.slug}/reviews", ids[0])
    session.close()
    return seeded


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("document.documentElement.clientWidth")


def test_a_host_replies_and_reports_in_place(open_tab, reviewed):
    c = reviewed
    tab = open_tab(viewport=PHONE_375, is_mobile=True, has_touch=True, device_scale_factor=2)
    tab.console.allow(r"status of 422")  # the empty reply: a 422 answer, swapped in
    tab.console.allow(r"Response Status Error Code 422 from /p/")
    page = tab.page
    page.goto("/login")
    page.fill("input[name=email]", c.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/p/[^/]+/calendar"))
    page.goto(c.url)
    box = page.locator(f"#review-actions-{c.review_id}")
    prefix = f"review{c.review_id}"

    box.locator("details.reply-form > summary").click()
    expect(page.locator(f"#{prefix}-reply-reply")).to_be_visible()
    _no_sideways_scroll(page)
    page.locator(f"#review-actions-{c.review_id} details.reply-form button").click()
    expect(page.locator(f"#{prefix}-reply-reply-error")).to_be_visible()  # "Write your reply." next to the field
    expect(page).to_have_url(re.compile(re.escape(c.url) + "$"))

    page.fill(f"#{prefix}-reply-reply", "Vielen Dank, liebe Petra!\nBis zum nächsten Mal.")
    page.locator(f"#review-actions-{c.review_id} details.reply-form button").click()
    box = page.locator(f"#review-actions-{c.review_id}")
    expect(box.locator(".flash.success")).to_be_visible()
    expect(box.locator(".review-reply-text")).to_have_text("Vielen Dank, liebe Petra!\nBis zum nächsten Mal.")
    tab.shot("review-reply-phone.png", full_page=True)

    box.locator("details.report-form > summary").click()
    page.fill(f"#{prefix}-report-reason", "Nennt unsere Mitarbeiterin beim vollen Namen.")
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    box.locator("details.report-form button").click()
    expect(page.locator(f"#review-actions-{c.review_id} .review-reported")).to_contain_text(
        "Nennt unsere Mitarbeiterin beim vollen Namen.")
    assert asked
    expect(page.locator(f"#review-actions-{c.review_id} details.report-form")).to_have_count(0)
    _no_sideways_scroll(page)
    tab.shot("review-report-phone.png", full_page=True)

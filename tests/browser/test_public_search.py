"""The public availability search in a real browser at phone width (390 px): the guest fills the
form, gets the office's free properties with their final prices, cover photo and score, no
sideways scrolling, no serious or critical axe finding; a wrong date shows its message next to
the field. Screenshots: test-artifacts/screenshots/search-*.png."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from PIL import Image

from services.core import clock, storage
from services.models import ChannelConnection, ExtraCost, Photo, Review
from tests.browser.conftest import PHONE
from tests.browser.test_accessibility import axe_problems
from tests.factories import make_office, make_property

pytestmark = pytest.mark.browser


def _thumb() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (70, 120, 160)).save(out, "WEBP")
    return out.getvalue()


def _seed(session) -> int:
    now = clock.now()
    office = make_office(session, "Tourist-Info Berchtesgaden")
    names = [("Gästehaus Alpenblick", "Berchtesgaden", "72.00"), ("Pension Watzmann", "Schönau am Königssee", "89.00"),
             ("Ferienwohnungen Sonnenhang mit einem sehr langen Namen", "Ramsau bei Berchtesgaden", "115.00")]
    for i, (name, city, price) in enumerate(names):
        prop = make_property(session, office=office, units=2, categories=2, days=60, price=price)
        prop.name, prop.city = name, city
        prop.categories[1].name, prop.categories[1].kind, prop.categories[1].max_guests = "Ferienwohnung", "apartment", 4
        session.add(ExtraCost(property_id=prop.id, name="Endreinigung", amount=Decimal("35.00"), per="stay"))
        session.add(ExtraCost(property_id=prop.id, name="Kurtaxe", amount=Decimal("2.80"), per="night"))
        if i < 2:
            key = storage.new_key("photos", prop.id, ".webp")
            storage.current().put(key, _thumb())
            session.add(Photo(property_id=prop.id, position=0, is_cover=True, original_key=key, web_key=key,
                              thumb_key=key, width=2048, height=1536, source_format="JPEG", size_bytes=1,
                              created_at=now))
        if i == 1:
            conn = ChannelConnection(property_id=prop.id, channel="holidaycheck", scope="reviews", created_at=now,
                                     updated_at=now)
            session.add(conn)
            session.flush()
            for n, score in enumerate(("5.5", "5.0", "6.0")):
                session.add(Review(property_id=prop.id, connection_id=conn.id, partner_review_id=f"S-{n}",
                                   written_on=clock.today(prop.timezone) - dt.timedelta(days=30 + n), author="Gast",
                                   overall=Decimal(score), scale_min=Decimal(1), scale_max=Decimal(6),
                                   status="published", received_at=now, updated_at=now))
    session.commit()
    office_id = office.id
    session.close()
    return office_id


def _scroll_width(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def test_search_on_a_phone(open_tab, session):
    office_id = _seed(session)
    today = clock.today("Europe/Berlin")
    tab = open_tab(viewport=PHONE)
    page = tab.page
    page.goto(f"/search?office={office_id}&lang=en")
    assert page.locator("h1").inner_text() == "Find a place to stay"
    page.fill("#f-arrival", (today + dt.timedelta(days=7)).isoformat())
    page.fill("#f-departure", (today + dt.timedelta(days=10)).isoformat())
    page.fill("#f-guests", "2")
    page.click("button.search-button")
    page.wait_for_selector("li.search-result")
    assert page.locator("li.search-result").count() == 3
    assert page.locator("li.search-result").first.locator("h2").inner_text() == "Gästehaus Alpenblick"  # cheapest
    first = page.locator("li.search-result").first.inner_text()
    # 3 nights at 72.00 plus the final cleaning and the tourist tax (R4)
    assert "€259.40" in first and "Endreinigung €35.00" in first and "Kurtaxe €8.40" in first
    assert page.locator("img.search-photo").count() == 2
    # The photos load lazily, as they come near the screen: bring each there, then wait for it.
    for photo in page.locator("img.search-photo").all():
        photo.scroll_into_view_if_needed()
    page.wait_for_function("[...document.querySelectorAll('img.search-photo')].every(i => i.complete && i.naturalWidth > 0)",
                           timeout=10_000)
    page.evaluate("window.scrollTo(0, 0)")
    assert "5.5 / 6, 3 reviews" in page.locator("li.search-result").nth(1).inner_text()
    assert _scroll_width(page) <= PHONE["width"], _scroll_width(page)
    assert not axe_problems(page)
    tab.shot("search-results-phone.png", full_page=True)

    page.select_option("#f-kind", "apartment")
    page.select_option("#f-sort", "score")
    page.click("button.search-button")
    page.wait_for_selector("li.search-result")
    assert page.locator("li.search-result").first.locator("h2").inner_text() == "Pension Watzmann"
    assert page.locator("li.search-category").count() == 3  # the apartments only

    tab.console.allow(r"status of 422")  # the refused search is answered 422, as every refused form
    page.fill("#f-departure", (today + dt.timedelta(days=5)).isoformat())  # before the arrival
    page.click("button.search-button")
    page.wait_for_selector("#e-departure")
    assert page.locator("#e-departure").inner_text() == "The departure must be after the arrival."
    assert page.locator("#f-departure").get_attribute("aria-invalid") == "true"
    assert page.locator("li.search-result").count() == 0
    assert _scroll_width(page) <= PHONE["width"]
    assert not axe_problems(page)
    tab.shot("search-error-phone.png", full_page=True)

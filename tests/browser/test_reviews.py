"""The host's reviews page and the public block in a real browser (issue 12): German, English
and Czech at phone (375 px) and desktop width, no serious or critical axe finding, no sideways
scrolling on the phone, user content escaped (no script of a review runs). Screenshots:
test-artifacts/screenshots/reviews-*.png."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.core import clock
from services.models import ChannelConnection, Property, Review, User
from tests.browser.conftest import DESKTOP, log_in
from tests.browser.test_accessibility import axe_problems

pytestmark = pytest.mark.browser

PHONE_375 = {"width": 375, "height": 812}
TEXTS = [
    ("de", "Sehr freundliche Gastgeber, das Frühstück war reichlich und der Blick auf die Berge einmalig."),
    ("en", "Lovely quiet room, spotless bathroom. Parking is a bit tight."),
    ("cs", "Krásné prostředí, velmi ochotný personál. Rádi se vrátíme."),
]


def _seed_reviews(session, slug: str) -> None:
    prop = session.query(Property).filter_by(slug=slug).one()
    now = clock.now()
    today = clock.today(prop.timezone)
    conn = ChannelConnection(property_id=prop.id, channel="holidaycheck", scope="reviews", key_prefix=None,
                             created_at=now, updated_at=now)
    session.add(conn)
    session.flush()
    rows = []
    for i in range(12):
        lang, text = TEXTS[i % 3]
        rows.append(dict(days=5 + i * 40, status="published", overall=Decimal("4.5") + Decimal(i % 4) / 2,
                         text=text, language=lang, reply="Vielen Dank für Ihren Besuch!" if i % 3 == 0 else None))
    rows.append(dict(days=2, status="pending", overall=Decimal("2.0"), text="Noch nicht geprüft.", language="de", reply=None))
    rows.append(dict(days=20, status="archived", overall=Decimal("3.0"), text="Archiviert.", language="de", reply=None))
    rows.append(dict(days=800, status="published", overall=Decimal("3.5"), text="<script>alert('xss')</script> Alt.",
                     language="de", reply=None))
    for n, r in enumerate(rows):
        written = today - dt.timedelta(days=r["days"])
        session.add(Review(property_id=prop.id, connection_id=conn.id, partner_review_id=f"HC-{1000 + n}",
                           written_on=written, travel_date=written - dt.timedelta(days=7),
                           author=("Petra", "John", "Jana", "<b>Max</b>")[n % 4], overall=r["overall"],
                           scale_min=Decimal("1"), scale_max=Decimal("6"),
                           sub_scores={"room": 5, "service": 5.5, "location": 6, "food": 4.5, "hotel": 5},
                           recommends=n % 5 != 0, text=r["text"], language=r["language"], status=r["status"],
                           received_at=now, updated_at=now, reply_text=r["reply"],
                           replied_at=now if r["reply"] else None))
    session.commit()


def _set_locale(session, email: str, locale: str) -> None:
    session.query(User).filter_by(email=email).one().locale = locale
    session.commit()
    session.close()


def _scroll_width(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_reviews_page_in_three_languages(open_tab, seed, session, width):
    host = seed()
    _seed_reviews(session, host.slug)
    session.close()
    viewport = PHONE_375 if width == "phone" else DESKTOP
    tab = open_tab(viewport=viewport)
    page = tab.page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, host)
    headings = {"de": None, "en": "Reviews", "cs": None}
    for lang in ("de", "en", "cs"):
        _set_locale(session, host.email, lang)
        page.goto(f"/p/{host.slug}/reviews")
        page.wait_for_load_state("load")
        assert page.locator("html").get_attribute("lang") == lang
        if headings[lang]:
            assert page.locator("h1").first.inner_text() == headings[lang]
        assert page.locator(".review-block li.review").count() == 10  # the newest 10 of 13 published
        assert page.locator("li.review-row").count() == 15  # every review, with its reason
        assert page.locator("svg[role=img]").count() == 1
        assert page.locator("text=<script>alert('xss')</script> Alt.").count() == 1  # shown as text
        problems = axe_problems(page)
        assert not problems, f"{lang} {width}: {problems}"
        if width == "phone":
            assert _scroll_width(page) <= viewport["width"], f"{lang}: {_scroll_width(page)} px wide"
        tab.shot(f"reviews-{lang}-{width}.png", full_page=True)
    assert dialogs == []  # no script of a review ran


def test_reviews_page_empty_and_public_block(open_tab, seed, session):
    host = seed()
    session.close()
    tab = open_tab(viewport=PHONE_375)
    page = tab.page
    log_in(page, host)
    _set_locale(session, host.email, "en")
    page.goto(f"/p/{host.slug}/reviews")
    assert page.locator("text=No reviews yet.").count() == 1
    assert not axe_problems(page)
    tab.shot("reviews-empty-phone.png", full_page=True)
    _seed_reviews(session, host.slug)
    session.close()
    public = open_tab(viewport=PHONE_375).page
    dialogs = []
    public.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for lang in ("de", "en", "cs"):
        public.goto(f"/embed/{host.slug}/reviews?lang={lang}")
        assert public.locator("[data-review-id]").count() == 10
        assert not axe_problems(public), lang
        assert _scroll_width(public) <= PHONE_375["width"]
        public.screenshot(path=tab_path(f"reviews-embed-{lang}-phone.png"), full_page=True)
    assert dialogs == []


def tab_path(name: str) -> str:
    import os
    from tests.browser.conftest import SHOTS
    return os.path.join(SHOTS, name)

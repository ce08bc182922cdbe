"""Arranging photos in a real browser (js/photo_order.js with htmx): the room category shows for
"room" only, a refused save puts the message and the focus on the field, the order by drag and
drop (desktop) and by the arrow buttons with the keyboard's focus kept, a new cover, delete after
the confirmation; on a 390 px phone the arrows instead of the handle, nothing wider than the screen."""
from __future__ import annotations

import dataclasses
import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from services.core import storage
from services.models import Photo
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_accessibility import axe_problems
from tests.factories import PASSWORD, make_property, make_user
from tests.photo_rows import make_photo

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None


@dataclasses.dataclass(frozen=True)
class Seeded:
    email: str
    slug: str
    ids: list[int]
    categories: list[int]


def _webp(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, "WEBP")
    return out.getvalue()


@pytest.fixture
def arranged(session):
    """A host with two room categories and three photos (real WebP thumbnails), the first the cover."""
    user = make_user(session)
    prop = make_property(session, owner=user, categories=2, days=0)
    ids = []
    for n, colour in enumerate([(200, 60, 60), (60, 160, 60), (60, 60, 200)], 1):
        photo = make_photo(session, prop.id, description=f"Foto {n}")
        for key in (photo.thumb_key, photo.web_key):
            storage.current().put(key, _webp(colour))
        ids.append(photo.id)
    seeded = Seeded(user.email, prop.slug, ids, [c.id for c in prop.categories])
    session.close()
    return seeded


def _log_in(page, s: Seeded) -> None:
    page.goto("/login")
    page.fill("input[name=email]", s.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/p/[^/]+/calendar"))
    page.goto(f"/p/{s.slug}/photos")


def _order(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all("#photo-grid [data-photo-id]", "els => els.map(e => e.dataset.photoId)")]


def _expect_at(page, place: int, photo_id: int) -> None:
    """Wait until the grid shows `photo_id` at `place` (0-based): the swap came back."""
    expect(page.locator("#photo-grid [data-photo-id]").nth(place)).to_have_attribute("data-photo-id", str(photo_id))


def _stored_order(app, slug_ids) -> list[int]:
    from portal.extensions import db

    with app.app_context():
        try:
            return list(db.session.scalars(sa.select(Photo.id).where(Photo.id.in_(slug_ids))
                                           .order_by(Photo.position, Photo.id)))
        finally:
            db.session.remove()


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("document.documentElement.clientWidth")


def test_arrange_photos_on_a_desktop(open_tab, arranged, app):
    s = arranged
    tab = open_tab(viewport=DESKTOP)
    tab.console.allow(r"status of 422")
    tab.console.allow(r"Response Status Error Code 422 from /p/")
    page = tab.page
    _log_in(page, s)
    a1, a2, a3 = s.ids
    assert axe_problems(page) == []

    # The room category only for "room".
    category = page.locator(f"#photo{a1}-category_id")
    expect(category).to_be_hidden()
    page.select_option(f"#photo{a1}-motive", "room")
    expect(category).to_be_visible()
    page.click(f"#photo{a1}-save")  # no category: refused, next to the field, focus on it
    expect(page.locator(f"#photo{a1}-category_id-error")).to_be_visible()
    expect(page.locator(f"#photo{a1}-category_id")).to_be_focused()
    page.select_option(f"#photo{a1}-category_id", str(s.categories[1]))
    page.fill(f"#photo{a1}-description", "Doppelzimmer mit Balkon")
    page.click(f"#photo{a1}-save")
    expect(page.locator("#photo-grid-status .flash.success")).to_be_visible()
    expect(page.locator(f"#photo-{a1} img")).to_have_attribute("alt", "Doppelzimmer mit Balkon")
    expect(page.locator(f"#photo-checklist li[data-category='{s.categories[1]}']")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator(f"#photo-checklist li[data-category='{s.categories[0]}']")).to_have_class(re.compile(r"\bmissing\b"))
    expect(page.locator(f"#photo{a2}-category_id")).to_be_hidden()
    assert axe_problems(page) == []  # with a message and a refused field before

    # Drag the third photo by its handle onto the first: the new order is saved.
    page.locator(f"#photo-{a3} [data-drag-handle]").drag_to(page.locator(f"#photo-{a1} .photo-thumb"))
    expect(page.locator("#photo-grid-status .flash.success")).to_be_visible()
    _expect_at(page, 0, a3)
    assert _order(page) == [a3, a1, a2]
    assert _stored_order(app, s.ids) == [a3, a1, a2]
    tab.shot("photos-arrange-desktop.png", full_page=True)

    # The keyboard: "down" on the first photo, then the focus stays on that photo's arrow.
    page.focus(f"#photo{a3}-down")
    page.keyboard.press("Enter")
    _expect_at(page, 1, a3)
    expect(page.locator(f"#photo{a3}-down")).to_be_focused()
    page.keyboard.press("Enter")  # to the end: "down" is disabled there, the focus goes to "up"
    _expect_at(page, 2, a3)
    expect(page.locator(f"#photo{a3}-up")).to_be_focused()
    assert _stored_order(app, s.ids) == [a1, a2, a3]

    # A new cover, then the cover deleted after the question: the next photo becomes the cover.
    page.click(f"#photo{a2}-cover")
    expect(page.locator(f"#photo-{a2} .cover-badge")).to_be_visible()
    expect(page.locator("#photo-grid .cover-badge")).to_have_count(1)
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.click(f"#photo{a2}-delete")
    expect(page.locator(f"#photo-{a2}")).to_have_count(0)
    assert asked and "2" in asked[0]
    expect(page.locator(f"#photo-{a3} .cover-badge")).to_be_visible()
    page.once("dialog", lambda d: d.dismiss())  # "Cancel" deletes nothing
    page.click(f"#photo{a1}-delete")
    expect(page.locator(f"#photo-{a1}")).to_have_count(1)


def test_arrange_photos_on_a_phone(open_tab, arranged, app):
    s = arranged
    tab = open_tab(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = tab.page
    _log_in(page, s)
    a1, a2, a3 = s.ids
    expect(page.locator(f"#photo-{a1} [data-drag-handle]")).to_be_hidden()  # touch: the arrows instead
    box = page.locator(f"#photo{a3}-up").bounding_box()
    assert box["width"] >= 40 and box["height"] >= 40  # a finger's target
    page.locator(f"#photo{a3}-up").tap()
    _expect_at(page, 1, a3)
    assert _stored_order(app, s.ids) == [a1, a3, a2]
    _no_sideways_scroll(page)
    assert axe_problems(page) == []
    tab.shot("photos-arrange-phone.png", full_page=True)

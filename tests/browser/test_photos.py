"""Photo upload in a real browser (issue 13): three files, one too small, on a 390 px phone and on
a desktop, each with its own progress bar (the upload is slowed down so the bars can be seen)
and its own answer; a file dropped onto the drop zone; the plain form without JavaScript."""
from __future__ import annotations

import os
import re

import pytest

from tests.browser.conftest import DESKTOP, PHONE, log_in
from tests.web import photo_images as images

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # skipped (or failed, with REQUIRE_BROWSER=1) by conftest.py
    expect = None

VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
UPLOAD_BYTES_PER_SECOND = 1024 * 1024


def _files(tmp_path) -> list[str]:
    """Two good photos and one too small, written as files the browser picks."""
    out = []
    for name, data in (("garten.jpg", images.jpeg(2048, 1536, seed=101, quality=95)),
                       ("klein.jpg", images.jpeg(1600, 1200, seed=102, quality=95)),
                       ("balkon.jpg", images.jpeg(2048, 1536, seed=103, quality=95))):
        path = tmp_path / name
        path.write_bytes(data)
        out.append(str(path))
    return out


def _open(open_tab, viewport):
    if viewport == PHONE:
        return open_tab(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    return open_tab(viewport=viewport)


def _slow_upload(page) -> None:
    """Chromium's network emulation: uploads at UPLOAD_BYTES_PER_SECOND."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": UPLOAD_BYTES_PER_SECOND})


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_three_photos_one_too_small_with_progress_and_an_answer_each(open_tab, seed, tmp_path, viewport):
    tab = _open(open_tab, viewport)
    page = tab.page
    name = "phone" if viewport == PHONE else "desktop"
    host = seed()
    log_in(page, host)
    page.goto(f"/p/{host.slug}/photos")
    _slow_upload(page)
    page.set_input_files("#photos-input", _files(tmp_path))
    queue = page.locator("#upload-queue li")
    expect(queue).to_have_count(3)
    # Sent without the confirmation: nothing goes, the field says why.
    page.locator("form[data-photo-upload] button[type=submit]").click()
    expect(page.locator("#confirm_no_text-error")).to_be_visible()
    expect(page.locator("#upload-results li")).to_have_count(0)
    page.check("#confirm_no_text")
    expect(page.locator("#confirm_no_text-error")).to_be_hidden()
    page.locator("form[data-photo-upload] button[type=submit]").click()

    # Each file has its own progress bar; the first is under way while the others wait.
    bars = page.locator("#upload-results li.pending progress")
    expect(bars).to_have_count(3)
    page.wait_for_function(
        "() => { const p = document.querySelector('#upload-results li.pending progress');"
        " return p && p.value > 5 && p.value < 100; }", timeout=10_000)
    tab.shot(f"photos-{name}-progress.png", full_page=True)

    results = page.locator("#upload-results li.upload-result:not(.pending)")
    expect(results).to_have_count(3, timeout=30_000)
    ok = page.locator("#upload-results li.upload-result.ok")
    refused = page.locator("#upload-results li.upload-result.refused")
    expect(ok).to_have_count(2)
    expect(refused).to_have_count(1)
    expect(refused.locator(".file-name")).to_have_text("klein.jpg")
    expect(refused.locator(".status")).to_contain_text("1600 x 1200 px")
    expect(ok.locator("img.thumb")).to_have_count(2)
    # In the order chosen, whatever the order of the answers.
    expect(page.locator("#upload-results li .file-name")).to_have_text(["garten.jpg", "klein.jpg", "balkon.jpg"])
    page.wait_for_function("() => [...document.querySelectorAll('#upload-results img.thumb')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    if viewport == PHONE:  # nothing wider than the phone
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        box = page.locator("form[data-photo-upload] button[type=submit]").bounding_box()
        assert box["height"] >= 44  # a big enough target for a thumb
    tab.shot(f"photos-{name}-results.png", full_page=True)


def test_a_photo_dropped_on_the_drop_zone(open_tab, seed, tmp_path):
    tab = open_tab(viewport=DESKTOP)
    page = tab.page
    host = seed()
    log_in(page, host)
    page.goto(f"/p/{host.slug}/photos")
    small = images.png(800, 600, seed=111)
    data_transfer = page.evaluate_handle(
        """(bytes) => { const dt = new DataTransfer();
             dt.items.add(new File([new Uint8Array(bytes)], "gezogen.png", {type: "image/png"}));
             return dt; }""", list(small))
    page.dispatch_event("[data-drop-zone]", "dragenter", {"dataTransfer": data_transfer})
    expect(page.locator("[data-drop-zone]")).to_have_class(re.compile(r"\bdragging\b"))
    page.dispatch_event("[data-drop-zone]", "drop", {"dataTransfer": data_transfer})
    expect(page.locator("#upload-queue li")).to_have_count(1)
    page.check("#confirm_no_text")
    page.locator("form[data-photo-upload] button[type=submit]").click()
    refused = page.locator("#upload-results li.upload-result.refused")
    expect(refused).to_have_count(1)
    expect(refused.locator(".file-name")).to_have_text("gezogen.png")
    expect(refused.locator(".status")).to_contain_text("800 x 600 px")
    tab.shot("photos-desktop-dropped.png")


def test_without_javascript_the_plain_form_uploads_them_all(open_tab, seed, tmp_path):
    tab = open_tab(viewport=PHONE, java_script_enabled=False)
    page = tab.page
    host = seed()
    log_in(page, host)
    page.goto(f"/p/{host.slug}/photos")
    page.set_input_files("#photos-input", _files(tmp_path))
    page.check("#confirm_no_text")
    page.locator("form[data-photo-upload] button[type=submit]").click()
    page.wait_for_url(f"**/p/{host.slug}/photos")
    expect(page.locator("#upload-results li.upload-result.ok")).to_have_count(2)
    refused = page.locator("#upload-results li.upload-result.refused")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("klein.jpg")
    assert os.path.basename(page.url) == "photos"
    tab.shot("photos-phone-nojs.png", full_page=True)

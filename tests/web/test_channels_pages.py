"""The channels blueprint: channel modules and their API keys (R30), imported calendars."""
from __future__ import annotations

import re

from tests.web.conftest import d, new_client


def test_module_key_is_shown_once_works_and_dies_with_regenerate_and_off(app, host, world):
    """R30: switching a module on shows its key once; the key opens the API for this property
    only; a new key ends the old one; switching off ends it; the history names the channel."""
    base = f"/p/{world.A.slug}/modules"
    api = new_client(app)

    def property_with(key):
        return api.get("/api/v1/property", headers={"Authorization": f"Bearer {key}"})

    page = host.post(f"{base}/booking/on", data={"booking-hold_minutes": "30", "booking-webhook_url": "",
                                                "booking-payment_mode": "on_arrival"}).get_data(as_text=True)
    key = re.search(r'id="new-key">([^<]+)<', page).group(1)
    resp = property_with(key)
    assert resp.status_code == 200 and resp.json["name"] == world.A.name
    again = host.get(base).get_data(as_text=True)
    assert key not in again and f"{key[:15]}_…" in again  # only the prefix stays visible
    assert host.post(f"{base}/booking/on", data={"booking-hold_minutes": "45", "booking-webhook_url": "",
                                                 "booking-payment_mode": "prepaid"}).status_code == 303  # settings only
    assert property_with(key).status_code == 200  # saving settings keeps the key
    page = host.post(f"{base}/booking/regenerate").get_data(as_text=True)
    new_key = re.search(r'id="new-key">([^<]+)<', page).group(1)
    assert property_with(key).status_code == 401 and property_with(new_key).status_code == 200
    assert host.post(f"{base}/booking/off").status_code == 303
    assert property_with(new_key).status_code == 401
    history = re.sub(r"\s+", " ", host.get(f"/p/{world.A.slug}/history").get_data(as_text=True))
    assert "Channel module switched on</b> Booking.com" in history
    assert "Channel module switched off</b> Booking.com" in history
    assert ("Channel settings changed</b> Booking.com: hold time: 30 min → 45 min; "
            "payment: Guest pays on arrival → Prepaid by the channel (e.g. e-domizil)") in history  # old -> new


def test_imported_calendar_status_is_worded_for_the_host(host, db_session, world):
    from services.channels import ical
    from tests.services.channels.test_ical import _ics

    page = f"/p/{world.A.slug}/calendars"
    with db_session() as s:
        ical.sync_feed(s, world.A.feed_id, fetcher=lambda url: _ics(("a@x", d(30), d(32)), ("b@x", d(34), d(35))))
    assert "2 entries read: 2 newly blocked, 0 released, 0 in conflict" in host.get(page).get_data(as_text=True)

    def boom(url):
        raise ConnectionRefusedError("connection refused by 10.0.0.7:5432")

    with db_session() as s:
        ical.sync_feed(s, world.A.feed_id, fetcher=boom)
    shown = host.get(page).get_data(as_text=True)
    # The reason, worded for the host; never what the exception (or the address) said.
    assert "Could not be read: connection refused" in shown
    assert "ConnectionRefusedError" not in shown and "10.0.0.7" not in shown


def _modules_page(host, world, channel="booking"):
    return host.post(f"/p/{world.A.slug}/modules/{channel}/on",
                     data={f"{channel}-hold_minutes": "30", f"{channel}-webhook_url": "",
                           f"{channel}-payment_mode": "on_arrival"}).get_data(as_text=True)


def test_modules_page_speaks_plainly_and_folds_the_technical_detail(host, world):
    page = _modules_page(host, world)
    plain, tech = page.split('<details class="tech">', 1)[0], page.split('<details class="tech">', 1)[1].split("</details>")[0]
    assert "Your booking partner&#39;s address for notifications (optional)" in plain or \
        "Your booking partner's address for notifications (optional)" in plain
    assert "Webhook URL" not in page and "HMAC" not in plain and "X-Portal-Signature" not in plain
    assert "<summary>For your IT person</summary>" in page
    assert "X-Portal-Signature" in tech and "HMAC-SHA256" in tech and "{id, event, created_at, data}" in tech
    assert "/api/v1/openapi.json" in tech


def test_new_key_secret_and_ical_address_have_copy_buttons_and_the_script(host, world):
    page = _modules_page(host, world)
    assert 'data-copy="#new-key"' in page and 'data-copy="#new-secret"' in page
    assert 'aria-live="polite"' in page and '/static/js/copy.js' in page
    assert re.search(r'id="new-secret">[^<]+<', page)
    cal = host.post(f"/p/{world.A.slug}/calendars/export/{world.A.cat_id}/renew").get_data(as_text=True)
    assert f'data-copy="#new-url-{world.A.cat_id}"' in cal and f'id="new-url-{world.A.cat_id}"' in cal
    assert '/static/js/copy.js' in cal

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


# -- the inventory mode (issue 11) ---------------------------------------------------------------

def _mode_checked(page, channel):
    section = page.split(f'id="module-{channel}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<input checked id="%s-inventory_mode-\d" name="%s-inventory_mode" type="radio" value="(\w+)"'
                      % (channel, channel), section)


def test_inventory_mode_defaults_per_channel_and_is_explained(host, world, db_session):
    page = host.get(f"/p/{world.A.slug}/modules").get_data(as_text=True)
    # Not switched on yet: the default it would get; world's Slevomat connection: what it has.
    assert _mode_checked(page, "booking") == ["notify"] and _mode_checked(page, "e_domizil") == ["notify"]
    assert _mode_checked(page, "slevomat") == ["request"] and _mode_checked(page, "api") == ["request"]
    assert "How this channel books" in page and "The channel asks first" in page
    assert "The channel has already sold" in page and "you see a double booking to resolve" in page
    _modules_page(host, world, "booking")  # switched on without naming a mode: the channel's default
    with db_session() as s:
        from services.models import ChannelConnection
        import sqlalchemy as sa
        modes = dict(s.execute(sa.select(ChannelConnection.channel, ChannelConnection.inventory_mode)
                               .where(ChannelConnection.property_id == world.A.id)).all())
    assert modes == {"booking": "notify", "slevomat": "request"}


def test_inventory_mode_is_changed_in_modules_with_a_history_line(host, world, db_session):
    from services.models import ChannelConnection
    import sqlalchemy as sa

    base = f"/p/{world.A.slug}/modules"
    page = _modules_page(host, world, "booking")
    assert _mode_checked(page, "booking") == ["notify"]
    data = {"booking-hold_minutes": "30", "booking-webhook_url": "", "booking-payment_mode": "on_arrival",
            "booking-inventory_mode": "request"}
    assert host.post(f"{base}/booking/on", data=data).status_code == 303
    with db_session() as s:
        assert s.scalar(sa.select(ChannelConnection.inventory_mode).where(
            ChannelConnection.property_id == world.A.id, ChannelConnection.channel == "booking")) == "request"
    assert _mode_checked(host.get(base).get_data(as_text=True), "booking") == ["request"]
    history = re.sub(r"\s+", " ", host.get(f"/p/{world.A.slug}/history").get_data(as_text=True))
    assert ("Channel settings changed</b> Booking.com: bookings: The channel has already sold → "
            "The channel asks first") in history
    bad = host.post(f"{base}/booking/on", data={**data, "booking-inventory_mode": "sometimes"})
    assert bad.status_code == 422
    assert "Choose how this channel books: request, notify." in bad.get_data(as_text=True)
    with db_session() as s:
        assert s.scalar(sa.select(ChannelConnection.inventory_mode).where(
            ChannelConnection.property_id == world.A.id, ChannelConnection.channel == "booking")) == "request"


def test_inventory_mode_form_needs_the_csrf_token(csrf_app, world, db_session):
    from portal.extensions import db
    from services.models import ChannelConnection
    import sqlalchemy as sa
    from tests.factories import PASSWORD
    from tests.web.conftest import csrf_from

    c = new_client(csrf_app)
    try:
        token = csrf_from(c.get("/login").get_data(as_text=True))
        assert c.post("/login", data={"email": world.host_a.email, "password": PASSWORD,
                                      "csrf_token": token}).status_code == 302
        data = {"slevomat-hold_minutes": "60", "slevomat-payment_mode": "on_arrival", "slevomat-inventory_mode": "notify"}
        assert c.post(f"/p/{world.A.slug}/modules/slevomat/on", data=data).status_code == 400
        with db_session() as s:
            assert s.scalar(sa.select(ChannelConnection.inventory_mode).where(
                ChannelConnection.property_id == world.A.id, ChannelConnection.channel == "slevomat")) == "request"
        page = c.get(f"/p/{world.A.slug}/modules").get_data(as_text=True)
        token = re.search(r'id="slevomat-csrf_token" name="slevomat-csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "the module's form carries its token"
        assert c.post(f"/p/{world.A.slug}/modules/slevomat/on",
                      data={**data, "slevomat-csrf_token": token.group(1)}).status_code == 303
    finally:
        with csrf_app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- availability pushed to channels: the full sync (issue 11) -------------------------------------

def _section(page, channel):
    return page.split(f'id="module-{channel}"', 1)[1].split("</section>", 1)[0]


def _ari_events(db_session, prop_id):
    import sqlalchemy as sa
    from services.models import ChannelConnection, OutboxEvent

    with db_session() as s:
        return [(channel, row.pending_nights) for channel, row in s.execute(
            sa.select(ChannelConnection.channel, OutboxEvent).join(ChannelConnection, ChannelConnection.id == OutboxEvent.connection_id)
            .where(ChannelConnection.property_id == prop_id, OutboxEvent.event == "availability_changed")
            .order_by(OutboxEvent.id))]


def test_full_sync_button_queues_every_night_for_that_channel(host, world, db_session):
    from tests.web.conftest import TODAY
    import datetime as dt

    base = f"/p/{world.A.slug}/modules"
    assert host.post(f"{base}/booking/on", data={"booking-hold_minutes": "30", "booking-webhook_url": "http://127.0.0.1:9/hook",
                                                "booking-payment_mode": "on_arrival"}).status_code == 200
    page = host.get(base).get_data(as_text=True)
    assert f'action="{base}/booking/full-sync"' in _section(page, "booking")
    assert "/full-sync" not in _section(page, "slevomat")  # no webhook address: nowhere to send to
    assert "availability_changed" in _section(page, "booking").split('<details class="tech">', 1)[1]
    resp = host.post(f"{base}/booking/full-sync")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(base)
    page = host.get(base).get_data(as_text=True)
    assert ("Full sync started: Booking.com receives availability, prices and restrictions of the next 500 days "
            "within a minute.") in page
    last = (TODAY + dt.timedelta(days=499)).isoformat()
    assert _ari_events(db_session, world.A.id) == [
        ("booking", {str(world.A.cat_id): [[TODAY.isoformat(), last]]})]
    history = re.sub(r"\s+", " ", host.get(f"/p/{world.A.slug}/history").get_data(as_text=True))
    assert "All availability sent again</b> Booking.com: the next 500 days" in history


def test_full_sync_of_a_channel_without_address_says_why_and_queues_nothing(host, world, db_session):
    base = f"/p/{world.A.slug}/modules"
    resp = host.post(f"{base}/slevomat/full-sync", headers={"HX-Request": "true"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].endswith(base)
    page = host.get(base).get_data(as_text=True)
    assert "This channel has no webhook address: there is nowhere to send availability to." in page
    assert _ari_events(db_session, world.A.id) == []
    assert host.post(f"/p/{world.B.slug}/modules/booking/full-sync").status_code in (403, 404)  # another host's


def test_full_sync_needs_the_csrf_token(csrf_app, world, db_session):
    import sqlalchemy as sa
    from portal.extensions import db
    from services.models import ChannelConnection
    from tests.factories import PASSWORD
    from tests.web.conftest import csrf_from

    with db_session() as s:
        s.execute(sa.update(ChannelConnection).where(ChannelConnection.property_id == world.A.id)
                  .values(webhook_url="http://127.0.0.1:9/hook"))
        s.commit()
    c = new_client(csrf_app)
    try:
        token = csrf_from(c.get("/login").get_data(as_text=True))
        assert c.post("/login", data={"email": world.host_a.email, "password": PASSWORD,
                                      "csrf_token": token}).status_code == 302
        url = f"/p/{world.A.slug}/modules/slevomat/full-sync"
        assert c.post(url).status_code == 400
        assert _ari_events(db_session, world.A.id) == []
        section = _section(c.get(f"/p/{world.A.slug}/modules").get_data(as_text=True), "slevomat")
        form = section.split(f'action="{url}"', 1)[1].split("</form>", 1)[0]
        assert c.post(url, data={"csrf_token": csrf_from(form)}).status_code == 303
        assert [channel for channel, _ in _ari_events(db_session, world.A.id)] == ["slevomat"]
    finally:
        with csrf_app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- a review partner (issue 12) -----------------------------------------------------------------

def _section(page, source):
    return page.split(f'id="module-{source}"', 1)[1].split("</section>", 1)[0]


def test_modules_shows_holidaycheck_and_switches_it_on_with_a_reviews_only_key(app, host, world, db_session):
    from services.models import ChannelConnection
    import sqlalchemy as sa

    base = f"/p/{world.A.slug}/modules"
    section = _section(host.get(base).get_data(as_text=True), "holidaycheck")
    assert "HolidayCheck (reviews)" in section
    # Only what a review partner has: no hold time, payment or inventory mode.
    assert "holidaycheck-webhook_url" in section
    assert "hold_minutes" not in section and "payment_mode" not in section and "inventory_mode" not in section
    page = host.post(f"{base}/holidaycheck/on", data={"holidaycheck-webhook_url": ""}).get_data(as_text=True)
    section = _section(page, "holidaycheck")
    key = re.search(r'id="new-key">([^<]+)<', section).group(1)
    assert "give it to the review partner" in section
    assert "Send all availability again" not in section
    api = new_client(app)

    def call(url, key=key):
        return api.get(f"/api/v1{url}", headers={"Authorization": f"Bearer {key}"})

    assert call("/reviews").status_code == 200
    assert call("/availability?from=2030-06-01&to=2030-06-02").json["error"]["code"] == "scope"
    with db_session() as s:
        conn = s.scalar(sa.select(ChannelConnection).where(ChannelConnection.property_id == world.A.id,
                                                           ChannelConnection.channel == "holidaycheck"))
        assert conn.scope == "reviews" and conn.active
    # Its webhook address is saved like any module's; the key stays.
    assert host.post(f"{base}/holidaycheck/on",
                     data={"holidaycheck-webhook_url": "https://example.org/hc"}).status_code == 303
    assert key not in host.get(base).get_data(as_text=True) and call("/reviews").status_code == 200
    page = host.post(f"{base}/holidaycheck/regenerate").get_data(as_text=True)
    new_key = re.search(r'id="new-key">([^<]+)<', page).group(1)
    assert call("/reviews").status_code == 401 and call("/reviews", new_key).status_code == 200
    assert host.post(f"{base}/holidaycheck/off").status_code == 303
    assert call("/reviews", new_key).status_code == 401
    history = re.sub(r"\s+", " ", host.get(f"/p/{world.A.slug}/history").get_data(as_text=True))
    assert "Channel module switched on</b> HolidayCheck (reviews)" in history


def test_a_bad_webhook_address_of_the_review_partner_is_a_field_error(host, world):
    resp = host.post(f"/p/{world.A.slug}/modules/holidaycheck/on", data={"holidaycheck-webhook_url": "ftp://x"})
    assert resp.status_code == 422
    assert "Enter a full http:// or https:// address" in _section(resp.get_data(as_text=True), "holidaycheck")

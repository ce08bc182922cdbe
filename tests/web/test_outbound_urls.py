"""The iCal import URL and the webhook URL on their pages: an address that is not public is
refused next to its field (422), and a failed import shows a reason, never the answer (SSRF).
The suite allows private addresses (tests/conftest.py); these tests act as production does."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.channels import ical
from services.core import outbound
from services.models import ChannelConnection, IcalFeed
from tests.services.core.test_outbound import MARKER, answer, listener as server  # noqa: F401 (a fixture)
from tests.web.conftest import HTMX, assert_no_trace, field_errors, login, snapshot

REFUSED = "This address points to a local or private network; enter a public internet address."

FORMS = ["http://127.0.0.1:5432/", "http://0x7f000001/", "http://2130706433/", "http://0177.0.0.1/", "http://127.1/",
         "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://localhost/", "http://cal.localhost/",
         "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://172.16.0.1/", "http://192.168.0.1/",
         "http://100.64.0.1/", "http://0.0.0.0/", "http://224.0.0.1/", "http://[fd00::1]/", "http://[fe80::1]/"]


@pytest.fixture
def host(client, world, monkeypatch):
    """Host A's browser (English), with outbound private addresses refused as in production."""
    monkeypatch.delenv(outbound.ALLOW_PRIVATE_ENV, raising=False)
    login(client, world.host_a)
    return client


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
@pytest.mark.parametrize("url", FORMS)
def test_calendar_url_refused_next_to_the_field(app, host, world, url, headers):
    before = snapshot(app) if url == FORMS[0] else None
    resp = host.post(f"/p/{world.A.slug}/calendars", headers=headers,
                     data={"category_id": world.A.cat_id, "name": "Airbnb", "url": url})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(html, "url") == [REFUSED]
    assert_no_trace(html)
    if before is not None:
        assert snapshot(app) == before


@pytest.mark.parametrize("channel, source", [("booking", "booking"), ("slevomat", "slevomat")],
                         ids=["switch-on", "save-settings"])  # host A's slevomat module is on already
@pytest.mark.parametrize("url", FORMS)
def test_webhook_url_refused_next_to_the_field(app, host, world, db_session, url, channel, source):
    resp = host.post(f"/p/{world.A.slug}/modules/{channel}/on", headers=HTMX,
                     data={f"{source}-hold_minutes": "30", f"{source}-webhook_url": url, f"{source}-payment_mode": "on_arrival"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(html, f"{source}-webhook_url") == [REFUSED]
    with db_session() as s:
        urls = s.scalars(sa.select(ChannelConnection.webhook_url).where(ChannelConnection.property_id == world.A.id))
        assert url not in list(urls)


def test_a_public_webhook_url_is_saved(host, world, db_session):
    resp = host.post(f"/p/{world.A.slug}/modules/slevomat/on", data={
        "slevomat-hold_minutes": "30", "slevomat-webhook_url": "https://hooks.example.com/portal",
        "slevomat-payment_mode": "on_arrival"})
    assert resp.status_code == 303
    with db_session() as s:
        conn = s.scalar(sa.select(ChannelConnection).where(ChannelConnection.property_id == world.A.id,
                                                           ChannelConnection.channel == "slevomat"))
        assert conn.webhook_url == "https://hooks.example.com/portal"


@pytest.mark.parametrize("respond, words", [
    (answer(f"<html><body>{MARKER}</body></html>".encode()), "Could not be read: not an iCal calendar"),
    (answer(f"{MARKER} not here".encode(), 404), "Could not be read: HTTP 404"),
], ids=["not-ical", "404"])
def test_the_calendar_page_shows_a_reason_never_the_answer(host, world, db_session, server, monkeypatch, respond, words):
    """An internal service's answer (a feed saved while private addresses were allowed, or a
    public URL that answers with something else) never reaches the page."""
    listener = server(respond)
    monkeypatch.setenv(outbound.ALLOW_PRIVATE_ENV, "1")
    with db_session() as s:
        s.get(IcalFeed, world.A.feed_id).url = listener.url
        s.commit()
        ical.sync_feed(s, world.A.feed_id)
    assert listener.requests  # it was read
    html = host.get(f"/p/{world.A.slug}/calendars").get_data(as_text=True)
    assert words in html
    assert MARKER not in html
    host.post("/language", data={"lang-locale": "de", "next": "/"})
    german = host.get(f"/p/{world.A.slug}/calendars").get_data(as_text=True)
    assert "Could not be read" not in german and MARKER not in german


def test_a_private_feed_is_refused_at_sync_and_says_so(host, world, db_session, server):
    listener = server(answer(MARKER.encode()))
    with db_session() as s:
        s.get(IcalFeed, world.A.feed_id).url = listener.url  # stored before the check existed
        s.commit()
        ical.sync_feed(s, world.A.feed_id)
    assert listener.requests == []
    html = host.get(f"/p/{world.A.slug}/calendars").get_data(as_text=True)
    assert "Could not be read: address not allowed" in html and MARKER not in html


def test_a_status_stored_with_exception_text_is_not_shown(host, world, db_session):
    """Statuses written before reasons were codes carried the exception's text."""
    with db_session() as s:
        s.get(IcalFeed, world.A.feed_id).last_status = '{"error":"BadStatusLine: %s","ok":false}' % MARKER
        s.commit()
    html = host.get(f"/p/{world.A.slug}/calendars").get_data(as_text=True)
    assert "Could not be read." in html and MARKER not in html

"""services.channels.ical: export of fully booked nights; external calendars imported as blocks."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from services.availability import inventory
from services.channels import ical
from services.core import clock
from services.core.errors import NotFound
from services.models import Booking
from tests.factories import make_property, new_booking


def _ics(*events):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    for uid, start, end in events:
        lines += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
                  f"DTEND;VALUE=DATE:{end:%Y%m%d}", "SUMMARY:Airbnb guest", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_export_lists_only_fully_booked_nights(session):
    prop = make_property(session, units=2)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=3)
    for nights in (3, 1):
        b = new_booking(prop, arrival=day, nights=nights)
        session.add(b)
        inventory.take(session, b)
    session.commit()
    token = ical.renew_export_url(session, prop.owner, prop, cat.id)
    cal = Calendar.from_ical(ical.export(session, token))
    events = [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in cal.walk("VEVENT")]
    assert events == [(day, day + dt.timedelta(days=1))]
    assert b"Guest" not in ical.export(session, token)  # no guest data leaves


def test_export_url_is_stored_hashed_and_renewal_ends_the_old_one(session):
    prop = make_property(session, units=1)
    cat = prop.categories[0]
    first = ical.renew_export_url(session, prop.owner, prop, cat.id)
    assert first not in (cat.ical_token_hash or "") and len(cat.ical_token_hash) == 64  # only a digest at rest
    assert ical.export(session, first)
    second = ical.renew_export_url(session, prop.owner, prop, cat.id)
    assert ical.export(session, second)
    with pytest.raises(NotFound):
        ical.export(session, first)  # the old secret URL stopped working at once


def test_import_blocks_updates_and_releases(session):
    prop = make_property(session, units=1)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    feed = ical.add_feed(session, prop.owner, prop, cat.id, "Airbnb", "https://example.invalid/a.ics")
    data = {"body": _ics(("a@x", day, day + dt.timedelta(days=2)))}
    status = ical.sync_feed(session, feed.id, fetcher=lambda url: data["body"])
    assert status.startswith("ok: 1 events, 1 blocked")
    n = inventory.nights_for(session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]
    assert n.free == 0
    data["body"] = _ics(("a@x", day + dt.timedelta(days=1), day + dt.timedelta(days=3)))
    ical.sync_feed(session, feed.id, fetcher=lambda url: data["body"])
    n = inventory.nights_for(session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]
    assert n.free == 1
    data["body"] = _ics()
    ical.sync_feed(session, feed.id, fetcher=lambda url: data["body"])
    active = session.scalar(sa.select(sa.func.count(Booking.id)).where(Booking.source == "ical", Booking.status == "confirmed"))
    assert active == 0


def test_import_conflict_is_reported_not_overbooked(session):
    prop = make_property(session, units=1)
    cat = prop.categories[0]
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    b = new_booking(prop, arrival=day, nights=2, source="booking")
    session.add(b)
    inventory.take(session, b)
    session.commit()
    feed = ical.add_feed(session, prop.owner, prop, cat.id, "Airbnb", "https://example.invalid/a.ics")
    status = ical.sync_feed(session, feed.id, fetcher=lambda url: _ics(("c@x", day, day + dt.timedelta(days=1))))
    assert "1 in conflict" in status
    n = inventory.nights_for(session, [cat.id], day, day + dt.timedelta(days=1))[cat.id][day]
    assert n.occupied == 1


def test_broken_feed_records_the_error(session):
    prop = make_property(session)
    feed = ical.add_feed(session, prop.owner, prop, prop.categories[0].id, "Broken", "https://example.invalid/x.ics")

    def boom(url):
        raise ConnectionRefusedError("[Errno 111] secret-detail")

    assert ical.sync_feed(session, feed.id, fetcher=boom) == "error: connection refused"
    session.refresh(feed)
    assert json.loads(feed.last_status) == {"ok": False, "reason": "connection_refused"}  # no exception text

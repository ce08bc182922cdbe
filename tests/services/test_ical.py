"""services.ical: export of fully booked nights; external calendars imported as blocks."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from icalendar import Calendar

from services import clock, ical, inventory
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
    cal = Calendar.from_ical(ical.export(session, cat.ical_token))
    events = [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in cal.walk("VEVENT")]
    assert events == [(day, day + dt.timedelta(days=1))]
    assert b"Guest" not in ical.export(session, cat.ical_token)  # no guest data leaves


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
        raise OSError("connection refused")

    assert ical.sync_feed(session, feed.id, fetcher=boom).startswith("error: OSError")

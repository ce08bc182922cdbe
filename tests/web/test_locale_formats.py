"""Dates, times and money in the reader's own formats (issue 9): English day-month order
("Tue, 18 Jun 2030", never 06/18/30), German "Di., 18. Juni 2030", Czech "út 18. 6. 2030";
times on the 24-hour clock in every language; the booking's code called a voucher only for the
deal site (R37) and a reservation number for the other channels."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.web.i18n import fmt_date, fmt_moment
from services.models import Booking, User
from tests.web.conftest import d

STAY = {  # world.A's online booking: 18-20 June 2030
    "en": ("Tue, 18 Jun 2030 – Thu, 20 Jun 2030", "18/06/2030 – 20/06/2030"),
    "de": ("Di., 18. Juni 2030 – Do., 20. Juni 2030", "18.06.30 – 20.06.30"),
    "cs": ("út 18. 6. 2030 – čt 20. 6. 2030", "18.06.30 – 20.06.30"),
}


def _reader(db_session, world, locale):
    with db_session() as s:
        s.get(User, world.host_a.id).locale = locale
        s.commit()


def _text(resp):
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


@pytest.mark.parametrize("locale", ["en", "de", "cs"])
def test_booking_detail_and_list_show_dates_the_readers_way(host, db_session, world, locale):
    _reader(db_session, world, locale)
    detail = _text(host.get(f"/p/{world.A.slug}/bookings/{world.A.online_id}"))
    assert STAY[locale][0] in detail
    listing = _text(host.get(f"/p/{world.A.slug}/bookings"))
    assert STAY[locale][1] in listing
    assert "6/18/30" not in listing and "06/18/2030" not in listing  # never the US month-first order


@pytest.mark.parametrize("locale,moment", [("en", "12/06/2030, 10:00"), ("de", "12.06.30, 10:00"), ("cs", "12.06.30 10:00")])
def test_history_times_are_on_the_24_hour_clock(host, db_session, world, locale, moment):
    """The world's history entry was written at 08:00 UTC: 10:00 in Berlin."""
    _reader(db_session, world, locale)
    page = _text(host.get(f"/p/{world.A.slug}/history"))
    assert moment in page and " AM" not in page and " PM" not in page


@pytest.mark.parametrize("locale,expected", [
    ("en", "Tue, 18 Jun 2030 · 15:30 · 18/06/2030, 15:30"),
    ("de", "Di., 18. Juni 2030 · 15:30 · 18.06.30, 15:30"),
    ("cs", "út 18. 6. 2030 · 15:30 · 18.06.30 15:30"),
])
def test_the_helpers_in_each_language(app, locale, expected):
    afternoon = dt.datetime(2030, 6, 18, 13, 30, tzinfo=dt.timezone.utc)  # 15:30 in Berlin
    with app.test_request_context():
        from flask import session
        session["locale"] = locale
        got = " · ".join([fmt_date(d(6), "weekday"), fmt_moment(afternoon, "Europe/Berlin", with_date=False),
                          fmt_moment(afternoon, "Europe/Berlin")])
    assert got == expected


def test_voucher_only_for_the_deal_site_reservation_number_for_other_channels(host, db_session, world):
    with db_session() as s:
        b = s.get(Booking, world.A.online_id)  # the deal site's (slevomat) booking
        b.voucher = "VCH2345678"
        s.commit()
    page = _text(host.get(f"/p/{world.A.slug}/bookings/{world.A.online_id}"))
    assert "<dt>Voucher</dt><dd><code>VCH2345678</code>" in page
    with db_session() as s:
        s.get(Booking, world.A.online_id).source = "booking"
        s.commit()
    page = _text(host.get(f"/p/{world.A.slug}/bookings/{world.A.online_id}"))
    assert "<dt>Reservation number</dt><dd><code>VCH2345678</code>" in page and "Voucher" not in page
    listing = _text(host.get(f"/p/{world.A.slug}/bookings"))
    assert "Reservation number VCH2345678" in listing

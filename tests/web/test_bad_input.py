"""Input the pages cannot take is a 4xx with a clear message, never a 500 (issue 7): text that
is no text (NUL), control characters in names (a message next to the field), huge numbers,
prices and costs that would overflow a booking's total, page numbers and months out of range;
and the iCal export survives a category name stored with a line break."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from services.core.inputs import MAX_COSTS, MAX_NIGHT_PRICE, MAX_UNITS_PER_BOOKING
from services.models import Booking, ExtraCost, NightRate, RoomCategory
from tests.web.conftest import HTMX, assert_no_trace, d, english, field_errors, snapshot
from tests.web.conftest import bulk_form as _bulk, own_form as _own

UNSTORABLE = "Contains characters that cannot be stored (such as a NUL byte)."
NOT_A_LINE = "Use a single line without control characters (such as line breaks or tabs)."
TOO_LARGE = "more than a booking can hold"


def _night_url(w, day):
    return f"/p/{w.A.slug}/calendar/night/{w.A.cat_id}/{day.isoformat()}"


# -- NUL: no text at all; refused before any query -------------------------------------------

def test_nul_in_the_login_email_is_a_422_not_a_500(app, client, world):
    english(client)
    before = snapshot(app)
    resp = client.post("/login", data={"email": "host-a@example.com\x00", "password": "x"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422, body[:500]
    assert UNSTORABLE in body
    assert_no_trace(body)
    assert snapshot(app) == before


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("url, data", [
    ("/p/{slug}/bookings/new", lambda w: _own(w, guest_name="Paula\x00Telefon")),
    ("/p/{slug}/settings", lambda w: {"p-name": "Pension\x00", "p-country": "DE"}),
    ("/p/{slug}/categories", lambda w: {"c-name": "Suite", "c-max_guests": "2", "c-unit_names": "S1\x00"}),
    ("/p/{slug}/costs", lambda w: {"x-name": "Linen\x00", "x-amount": "3", "x-per": "stay", "x-category_id": "0"}),
])
def test_nul_in_a_form_field_is_a_422_and_writes_nothing(app, host, world, htmx, url, data):
    before = snapshot(app)
    resp = host.post(url.format(slug=world.A.slug), data=data(world), headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422, body[:500]
    assert UNSTORABLE in body
    assert_no_trace(body)
    if htmx:
        assert resp.headers["HX-Retarget"] == "#flash"  # the message where htmx shows messages
    assert snapshot(app) == before


@pytest.mark.parametrize("query", ["q=%00", "q=Gustav%00", "source=%00", "arrival_from=2030-01-01%00"])
def test_nul_in_the_bookings_search_is_a_422(host, world, query):
    resp = host.get(f"/p/{world.A.slug}/bookings?{query}")
    assert resp.status_code == 422
    assert UNSTORABLE in resp.get_data(as_text=True)


def test_nul_in_a_path_segment_is_a_422(host, world):
    assert host.get("/p/haus-a%00/bookings").status_code == 422
    assert host.get("/ical/abc%00.ics").status_code == 422


def test_bytes_that_are_no_utf8_in_a_form_are_taken_safely(app, host, world, db_session):
    """A lone surrogate cannot travel in form data: its UTF-8 bytes arrive as U+FFFD."""
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=b"guest_name=Paula%ED%A0%80&" + "&".join(
        f"{k}={v}" for k, v in _own(world).items() if k != "guest_name").encode(),
        content_type="application/x-www-form-urlencoded")
    assert resp.status_code in (303, 422)
    assert_no_trace(resp.get_data(as_text=True))


# -- control characters in single-line names: a message next to the field ----------------------

@pytest.mark.parametrize("url, data, field", [
    ("categories", {"c-name": "Double\nroom", "c-max_guests": "2", "c-unit_names": "D1"}, "c-name"),
    ("categories", {"c-name": "Double\rroom", "c-max_guests": "2", "c-unit_names": "D1"}, "c-name"),
    ("categories", {"c-name": "Double\troom", "c-max_guests": "2", "c-unit_names": "D1"}, "c-name"),
    ("categories", {"c-name": "Double", "c-max_guests": "2", "c-unit_names": "D1\x07, D2"}, "c-unit_names"),
    ("settings", {"p-name": "Pension\u2028Alpenblick", "p-country": "DE"}, "p-name"),
    ("settings", {"p-name": "Pension", "p-city": "Garmisch\x1b[31m", "p-country": "DE"}, "p-city"),
    ("costs", {"x-name": "Linen\r\nX-Evil: 1", "x-amount": "3", "x-per": "stay", "x-category_id": "0"}, "x-name"),
])
def test_control_characters_in_names_are_refused_next_to_the_field(app, host, world, url, data, field):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/{url}", data=data)
    assert resp.status_code == 422
    assert NOT_A_LINE in field_errors(resp.get_data(as_text=True), field)
    assert snapshot(app) == before


@pytest.mark.parametrize("field, value, message", [
    ("guest_name", "Paula\nTelefon", NOT_A_LINE), ("guest_phone", "+49\t1", NOT_A_LINE),
    ("guest_email", "paula\x01@example.com", "Enter a valid e-mail address."),
])
def test_control_characters_in_guest_details_are_refused_next_to_the_field(app, host, world, field, value, message):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world, **{field: value}))
    assert resp.status_code == 422
    assert message in field_errors(resp.get_data(as_text=True), field)
    assert snapshot(app) == before


def test_notes_keep_their_line_breaks(host, world, db_session):
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world, notes="late arrival\r\n\tdog"))
    assert resp.status_code == 303
    with db_session() as s:
        assert s.scalar(sa.select(Booking.notes).where(Booking.guest_name == "Paula Telefon")) == "late arrival\r\n\tdog"


def test_ical_export_survives_a_category_name_stored_with_a_line_break(client, world, db_session):
    """Names stored before they were checked: the feed stays valid for every subscriber."""
    with db_session() as s:
        s.get(RoomCategory, world.A.cat_id).name = "Double\r\nroom\x07 \u2028X\x1b"
        s.commit()
    resp = client.get(f"/ical/{world.A.ical_token}.ics")
    assert resp.status_code == 200
    raw = resp.get_data()
    assert all(b"\r" not in line and b"\n" not in line and b"\x07" not in line for line in raw.split(b"\r\n"))
    cal = Calendar.from_ical(raw)
    assert str(cal["X-WR-CALNAME"]) == "Double room X"


# -- numbers out of range ------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["1" + "0" * 30, "²", "-5", "0", "abc", "9" * 9])
def test_any_page_number_is_answered(host, world, page):
    resp = host.get(f"/p/{world.A.slug}/bookings?page={page}")
    assert resp.status_code == 200
    assert world.A.own_guest in resp.get_data(as_text=True)  # out of range shows the last page


@pytest.mark.parametrize("month", ["99999999999999999999-01", "2030-99999999999999999999", "²-01"])
def test_a_month_beyond_any_calendar_is_a_404(host, world, month):
    assert host.get(f"/p/{world.A.slug}/calendar?month={month}").status_code == 404


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("price, message", [
    ("999999999999", f"The price can be at most {MAX_NIGHT_PRICE}."),
    (str(MAX_NIGHT_PRICE + 1), f"The price can be at most {MAX_NIGHT_PRICE}."),
    ("Infinity", "Not a valid decimal value."),
    ("sNaN", "Not a valid decimal value."),
    ("NaN", "Not a valid decimal value."),
    ("1e999999999", f"The price can be at most {MAX_NIGHT_PRICE}."),
])
def test_a_night_price_out_of_range_is_refused_by_the_field(app, host, world, htmx, price, message):
    before = snapshot(app)
    resp = host.post(_night_url(world, d(10)), data={"price": price, "quota": "2", "min_stay": "1"},
                     headers=HTMX if htmx else None)
    assert resp.status_code == 422
    assert message in field_errors(resp.get_data(as_text=True), "price")
    assert snapshot(app) == before
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk", data=_bulk(world, price=price), headers=HTMX if htmx else None)
    assert resp.status_code == 422
    assert message in field_errors(resp.get_data(as_text=True), "price")
    assert snapshot(app) == before


def test_the_highest_night_price_is_taken(host, world, db_session):
    """Far above the usual price, it is asked about first (issue 9), then taken when confirmed."""
    data = {"price": str(MAX_NIGHT_PRICE), "quota": "2", "min_stay": "1"}
    asked = host.post(_night_url(world, d(10)), data=data)
    assert asked.status_code == 422 and "Save anyway" in asked.get_data(as_text=True)
    resp = host.post(_night_url(world, d(10)), data={**data, "confirm_price": "1"})
    assert resp.status_code == 302


@pytest.mark.parametrize("amount, message", [
    ("99999999.99", f"A mandatory cost can be at most {MAX_COSTS}."),
    ("99999999999999", f"A mandatory cost can be at most {MAX_COSTS}."),
    ("Infinity", "Not a valid decimal value."),
    ("sNaN", "Not a valid decimal value."),
])
def test_a_mandatory_cost_out_of_range_is_refused_by_the_field(app, host, world, amount, message):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/costs",
                     data={"x-name": "Huge", "x-amount": amount, "x-per": "night", "x-category_id": "0"})
    assert resp.status_code == 422
    assert message in field_errors(resp.get_data(as_text=True), "x-amount")
    assert snapshot(app) == before


def test_mandatory_costs_together_are_bounded(app, host, world, db_session):
    with db_session() as s:
        existing = sum(c.amount for c in s.scalars(sa.select(ExtraCost).where(ExtraCost.property_id == world.A.id)))
    room = MAX_COSTS - existing
    ok = host.post(f"/p/{world.A.slug}/costs", data={"x-name": "Tax", "x-amount": str(room), "x-per": "night",
                                                      "x-category_id": "0"})
    assert ok.status_code == 303
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/costs", data={"x-name": "More", "x-amount": "0.01", "x-per": "stay",
                                                        "x-category_id": "0"})
    assert resp.status_code == 422
    assert any(str(MAX_COSTS) in m for m in field_errors(resp.get_data(as_text=True), "x-amount"))
    assert snapshot(app) == before


def test_an_own_booking_whose_total_would_not_fit_is_refused(app, host, world, db_session):
    """Prices stored before the bounds existed make a total Numeric(14, 2) cannot hold: the
    booking is refused next to the field (PostgreSQL answered 500), nothing is written."""
    from services.properties import registry
    from services.models import Property, User

    nights = 366
    with db_session() as s:
        cat = registry.add_category(s, s.get(User, world.A.owner_id), s.get(Property, world.A.id), "Dorm", 2,
                                      ", ".join(f"Bed {i}" for i in range(30)))
        cat_id = cat.id
        s.execute(sa.insert(NightRate), [
            {"category_id": cat_id, "night": d(1 + i), "quota": 30, "price": 99999999, "min_stay": 1, "closed": False,
             "closed_to_arrival": False, "closed_to_departure": False} for i in range(nights)])
        s.commit()
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/new",
                     data=_own(world, category_id=cat_id, arrival=d(1).isoformat(), departure=d(1 + nights).isoformat(),
                               units="30"))
    assert resp.status_code == 422
    assert TOO_LARGE in " ".join(field_errors(resp.get_data(as_text=True), "departure"))
    assert snapshot(app) == before


def test_more_units_than_a_booking_may_take_is_refused(app, host, world, db_session):
    from services.properties import registry
    from services.models import Property, User

    with db_session() as s:
        cat = registry.add_category(s, s.get(User, world.A.owner_id), s.get(Property, world.A.id), "Dorm", 2,
                                      ", ".join(f"Bed {i}" for i in range(MAX_UNITS_PER_BOOKING)))
        cat_id = cat.id
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/new",
                     data=_own(world, category_id=cat_id, units=str(MAX_UNITS_PER_BOOKING + 1), guests="2"))
    assert resp.status_code == 422
    # A category holds at most as many units as a booking may take: the category's limit speaks first.
    assert "This category has only 200 units." in field_errors(resp.get_data(as_text=True), "units")
    assert snapshot(app) == before
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world, units="1" + "0" * 30, guests="1" + "0" * 30))
    assert resp.status_code == 422
    assert snapshot(app) == before
    ok = host.post(f"/p/{world.A.slug}/bookings/new",
                   data=_own(world, category_id=cat_id, units=str(MAX_UNITS_PER_BOOKING), guests="2"))
    assert ok.status_code == 303


def test_a_huge_deposit_on_a_booking_without_a_price_is_refused(app, host, world, db_session):
    with db_session() as s:
        s.execute(sa.update(Booking).where(Booking.id == world.A.own_id).values(total_price=None))
        s.commit()
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/deposit",
                     data={"deposit_amount": "999999999999", "deposit_due": d(5).isoformat()})
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "deposit_amount")
    assert snapshot(app) == before

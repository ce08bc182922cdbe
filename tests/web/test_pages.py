"""What the pages do, for plain requests and for htmx (HX-Request: true): the calendar, the
night editor, bulk editing, own bookings, the final price (R4), error pages, the office."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services import inventory
from services.models import AuditEntry, Booking, NightRate, Occupancy, Property, User
from tests.factories import new_booking
from tests.web.conftest import (
    HTMX, TODAY, assert_no_trace, english, field_errors, login, new_client, snapshot,
)


def d(days: int) -> dt.date:
    return TODAY + dt.timedelta(days=days)


@pytest.fixture
def host(client, world):
    """Host A's browser, logged in."""
    login(client, world.host_a)
    return client


def _rate(db_session, cat_id, night):
    with db_session() as s:
        r = s.get(NightRate, (cat_id, night))
        return None if r is None else (r.price, r.quota, r.min_stay, r.closed)


def _occupied_nights(db_session, booking_id):
    with db_session() as s:
        return sorted(s.scalars(sa.select(Occupancy.night).where(Occupancy.booking_id == booking_id)))


def _booking(db_session, **where):
    with db_session() as s:
        b = s.scalar(sa.select(Booking).filter_by(**where))
        if b is None:
            return None
        s.expunge(b)
        return b


# -- the calendar: the same URL gives the page or the plan fragment --------------------------

def test_calendar_full_page(host, world):
    resp = host.get(f"/p/{world.A.slug}/calendar")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert body.lstrip().startswith("<!doctype html>") and "<html" in body
    assert "HX-Request" in resp.headers["Vary"]
    assert 'id="plan"' in body and 'id="editor"' in body and 'class="bulk-form"' in body
    assert world.A.own_guest in body and world.A.online_guest in body  # the bars of the bookings


def test_calendar_fragment_for_htmx_navigation(host, world):
    resp = host.get(f"/p/{world.A.slug}/calendar?month=2030-07", headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<html" not in body and "<header" not in body and "<body" not in body
    assert body.lstrip().startswith('<div id="plan"')
    assert 'data-month="2030-07"' in body
    assert "HX-Request" in resp.headers["Vary"]
    # Month navigation: htmx swaps the plan and pushes the month's URL into the history.
    links = {re.search(r'href="([^"]*)"', tag).group(1): tag for tag in re.findall(r"<a [^>]*>", body)}
    base = f"/p/{world.A.slug}/calendar"
    for url in (f"{base}?month=2030-06", f"{base}?month=2030-08", base):  # previous, next, today
        tag = links[url]
        assert f'hx-get="{url}"' in tag and 'hx-target="#plan"' in tag and 'hx-push-url="true"' in tag


@pytest.mark.parametrize("header", ["HX-Boosted", "HX-History-Restore-Request"])
def test_boosted_or_history_restore_requests_get_the_full_page(host, world, header):
    resp = host.get(f"/p/{world.A.slug}/calendar", headers=HTMX | {header: "true"})
    assert resp.status_code == 200 and "<html" in resp.get_data(as_text=True)


@pytest.mark.parametrize("month", ["2030-13", "June", "2030-00", "9999-12", "0-1"])
def test_bad_month_is_404_not_500(host, world, month):
    resp = host.get(f"/p/{world.A.slug}/calendar?month={month}")
    assert resp.status_code == 404
    assert_no_trace(resp.get_data(as_text=True))


# -- the night editor ----------------------------------------------------------------------

def _night_url(w, day):
    return f"/p/{w.A.slug}/calendar/night/{w.A.cat_id}/{day.isoformat()}"


def test_night_editor_fragment_and_full_page(host, world):
    url = _night_url(world, d(10))
    frag = host.get(url, headers=HTMX)
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<section class="panel"')
    assert f'hx-post="{url}"' in body and 'name="price"' in body and 'value="80.00"' in body
    # R4: the final price of one night, the mandatory cost included.
    assert "Final price for one night incl. mandatory costs: €120.00" in body
    page = host.get(url)
    full = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in full and 'id="editor"' in full and world.A.name in full
    assert "HX-Request" in frag.headers["Vary"] and "HX-Request" in page.headers["Vary"]


def test_night_post_via_htmx_returns_the_updated_cell_out_of_band(host, db_session, world):
    url = _night_url(world, d(10))
    resp = host.post(url, data={"price": "99.50", "quota": "2", "min_stay": "3", "closed_to_arrival": "y"},
                     headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    cell = re.search(r'<td id="n-%s-%s" hx-swap-oob="true"[^>]*>(.*?)</td>' % (world.A.cat_id, d(10).isoformat()), body, re.S)
    assert cell, body
    assert "99.5" in cell.group(1) and "→|" in cell.group(1) and "≥3" in cell.group(1)
    assert 'id="flash" hx-swap-oob="innerHTML"' in body and "saved" in body
    assert _rate(db_session, world.A.cat_id, d(10)) == (Decimal("99.50"), 2, 3, False)


def test_night_post_without_htmx_redirects_to_the_month(host, db_session, world):
    resp = host.post(_night_url(world, d(25)), data={"price": "70", "quota": "1", "min_stay": "1"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/p/{world.A.slug}/calendar?month=2030-07"
    assert _rate(db_session, world.A.cat_id, d(25)) == (Decimal("70.00"), 1, 1, False)


def test_night_price_with_a_decimal_comma(host, db_session, world):
    """Hosts in Germany and Czechia type 99,50."""
    resp = host.post(_night_url(world, d(10)), data={"price": "99,50", "quota": "3", "min_stay": "1"}, headers=HTMX)
    assert resp.status_code == 200
    assert _rate(db_session, world.A.cat_id, d(10)) == (Decimal("99.50"), 3, 1, False)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("data,field,message", [
    ({"price": "-5", "quota": "2", "min_stay": "1"}, "price", "Number must be at least 0."),
    ({"price": "abc", "quota": "2", "min_stay": "1"}, "price", "Not a valid decimal value."),
    ({"price": "1.234,50", "quota": "2", "min_stay": "1"}, "price", "Not a valid decimal value."),
    ({"price": "80", "quota": "4", "min_stay": "1"}, "quota", "The quota cannot exceed the 3 physical units."),
    ({"price": "80", "quota": "-1", "min_stay": "1"}, "quota", "Number must be at least 0."),
    ({"price": "80", "quota": "2", "min_stay": "0"}, "min_stay", "Number must be between 1 and 365."),
])
def test_night_post_with_bad_values_is_422_with_the_message_by_the_field(app, host, world, htmx, data, field, message):
    before = snapshot(app)
    resp = host.post(_night_url(world, d(10)), data=data, headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in field_errors(body, field)
    assert f'id="{field}"' in body and 'aria-invalid="true"' in body
    assert ("<html" in body) is not htmx
    assert snapshot(app) == before


def test_nights_in_the_past_cannot_be_changed(app, host, world):
    before = snapshot(app)
    resp = host.post(_night_url(world, d(-1)), data={"price": "10", "quota": "1", "min_stay": "1"}, headers=HTMX)
    assert resp.status_code == 422
    assert "Nights in the past cannot be changed." in resp.get_data(as_text=True)
    assert snapshot(app) == before


def test_quota_cannot_go_below_online_sales_and_the_booking_is_named(app, host, db_session, world):
    with db_session() as s:
        prop = s.get(Property, world.A.id)
        b = new_booking(prop, arrival=d(12), nights=2, source="booking", units=2, guest="Vera Voucher")
        s.add(b)
        inventory.take(s, b)
        s.commit()
        booking_id = b.id
    before = snapshot(app)
    resp = host.post(_night_url(world, d(13)), data={"price": "80", "quota": "1", "min_stay": "1"}, headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    [msg] = field_errors(body, "quota")
    assert "The quota cannot go below what is already sold online" in msg
    assert f"#{booking_id} Vera Voucher (24.06.–26.06.)" in msg
    assert snapshot(app) == before
    # Two units are sold: a quota of 2 is fine.
    ok = host.post(_night_url(world, d(13)), data={"price": "80", "quota": "2", "min_stay": "1"}, headers=HTMX)
    assert ok.status_code == 200


def test_unknown_category_or_bad_night_is_404(host, world):
    for url in (f"/p/{world.A.slug}/calendar/night/999999/{d(3).isoformat()}",
                f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/2030-02-30",
                f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/tomorrow",
                f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/9999-12-31"):
        resp = host.get(url)
        assert resp.status_code == 404, url
        assert_no_trace(resp.get_data(as_text=True))


# -- bulk editing --------------------------------------------------------------------------

def _bulk(w, **over):
    data = {"categories": [w.A.cat_id], "start": d(5).isoformat(), "end": d(11).isoformat(),
            "weekdays": [4, 5], "price": "150.00", "quota": "", "min_stay": "",
            "closed": "", "closed_to_arrival": "", "closed_to_departure": ""}
    data.update(over)
    return data


def test_bulk_edit_changes_only_the_chosen_weekdays(host, db_session, world):
    # d(5)..d(11) is Monday 17 June to Sunday 23 June 2030: Friday 21 and Saturday 22 change.
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk?month=2030-06", data=_bulk(world))
    assert resp.status_code == 302 and resp.headers["Location"] == f"/p/{world.A.slug}/calendar?month=2030-06"
    with db_session() as s:
        prices = dict(s.execute(sa.select(NightRate.night, NightRate.price).where(NightRate.category_id == world.A.cat_id)).all())
        summary = s.scalar(sa.select(AuditEntry.summary).where(AuditEntry.action == "rates_bulk"))
    changed = {night.strftime("%a %d") for night, price in prices.items() if price != Decimal("80.00")}
    assert changed == {"Fri 21", "Sat 22"} and prices[d(9)] == Decimal("150.00")
    assert "(2 nights)" in summary


def test_bulk_edit_via_htmx_returns_the_form_and_the_refreshed_plan(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk?month=2030-06", data=_bulk(world, min_stay="2"), headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert 'class="bulk-form"' in body
    assert re.search(r'<div id="plan" class="plan" hx-swap-oob="true"', body)
    assert "2 nights updated." in body
    assert _rate(db_session, world.A.cat_id, d(10))[2] == 2


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("over,field,message", [
    ({"start": d(-1).isoformat()}, "start", "Nights in the past cannot be changed."),
    ({"end": d(800).isoformat()}, "end", "A range can span at most two years."),
    ({"end": "9999-12-31"}, "end", "A range can span at most two years."),
    ({"end": d(4).isoformat()}, "end", "The end must be after the start."),
    ({"weekdays": []}, "weekdays", "Choose at least one weekday."),
    ({"price": "-1"}, "price", "Number must be at least 0."),
    ({"quota": "9"}, "quota", "The quota cannot exceed the 3 physical units."),
    ({"min_stay": "0"}, "min_stay", "Number must be between 1 and 365."),
    ({"start": ""}, "start", "Enter a date."),
])
def test_bulk_edit_refuses_bad_input_and_writes_nothing(app, host, world, htmx, over, field, message):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk", data=_bulk(world, **over), headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in field_errors(body, field)
    assert ("<html" in body) is not htmx
    assert snapshot(app) == before


def test_bulk_edit_needs_something_to_change(app, host, world):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk", data=_bulk(world, price=""))
    assert resp.status_code == 422
    assert "Set at least one value to change." in field_errors(resp.get_data(as_text=True), "price")
    assert snapshot(app) == before


def test_bulk_page_and_fragment(host, world):
    page = host.get(f"/p/{world.A.slug}/calendar/bulk")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    frag = host.get(f"/p/{world.A.slug}/calendar/bulk", headers=HTMX)
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in body and 'class="bulk-form"' in body


# -- own bookings (R2) -----------------------------------------------------------------------

def _own(w, **over):
    data = {"category_id": w.A.cat_id, "unit_id": 0, "arrival": d(20).isoformat(), "departure": d(22).isoformat(),
            "units": 1, "guests": 2, "guest_name": "Paula Telefon", "guest_email": "paula@example.com",
            "guest_phone": "+49 8821 1234", "notes": "regular guest"}
    data.update(over)
    return data


def test_new_booking_form_fragment_and_page(host, world):
    url = f"/p/{world.A.slug}/bookings/new?unit_id={world.A.unit_ids[1]}&arrival={d(20).isoformat()}"
    frag = host.get(url, headers=HTMX)
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in body
    assert f'value="{d(20).isoformat()}"' in body and f'value="{d(21).isoformat()}"' in body  # departure: next day
    assert re.search(r'<option selected value="%s">' % world.A.unit_ids[1], body) or \
        re.search(r'<option value="%s" selected>' % world.A.unit_ids[1], body)
    page = host.get(url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)


def test_own_booking_via_htmx_answers_with_hx_redirect(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world), headers=HTMX)
    assert resp.status_code == 204
    assert resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/calendar?month=2030-07"
    b = _booking(db_session, guest_name="Paula Telefon")
    assert (b.source, b.status, b.arrival, b.departure, b.created_by_id) == ("own", "confirmed", d(20), d(22), world.host_a.id)
    assert _occupied_nights(db_session, b.id) == [d(20), d(21)]
    page = host.get(resp.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Own booking for Paula Telefon saved." in page and "Paula Telefon" in page


def test_own_booking_without_htmx_answers_303(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world, unit_id=world.A.unit_ids[2]))
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/p/{world.A.slug}/calendar?month=2030-07"
    b = _booking(db_session, guest_name="Paula Telefon")
    with db_session() as s:
        units = set(s.scalars(sa.select(Occupancy.unit_id).where(Occupancy.booking_id == b.id)))
    assert units == {world.A.unit_ids[2]}


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("over,field,message", [
    ({"departure": d(19).isoformat()}, "departure", "The departure must be after the arrival."),
    ({"departure": d(20).isoformat()}, "departure", "The departure must be after the arrival."),
    ({"arrival": d(-2).isoformat(), "departure": d(1).isoformat()}, "arrival", "The arrival cannot be in the past."),
    ({"departure": d(20 + 800).isoformat()}, "departure", "A stay can last at most two years."),
    ({"departure": "9999-12-31"}, "departure", "A stay can last at most two years."),
    ({"guest_name": ""}, "guest_name", "Enter the guest's name."),
    ({"guest_name": "   "}, "guest_name", "Enter the guest's name."),
    ({"arrival": ""}, "arrival", "Enter a date."),
    ({"arrival": "2030-02-31"}, "arrival", "Enter a date."),
    ({"units": "4"}, "units", "This category has only 3 units."),
    ({"units": "0"}, "units", "Number must be at least 1."),
    ({"guests": "7"}, "guests", "At most 2 guests fit."),
    ({"guest_email": "not-an-address"}, "guest_email", "Enter a valid e-mail address."),
])
def test_own_booking_with_bad_input_is_422_and_writes_nothing(app, host, world, htmx, over, field, message):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world, **over), headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in field_errors(body, field), field_errors(body, field)
    assert ("<html" in body) is not htmx
    assert snapshot(app) == before


def test_a_unit_already_taken_is_refused_naming_the_nights(app, host, world):
    # Gustav (own booking) has the first unit on 15 and 16 June; 17 June is free.
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/new", headers=HTMX,
                     data=_own(world, unit_id=world.A.unit_ids[0], arrival=d(4).isoformat(), departure=d(6).isoformat()))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    [msg] = field_errors(body, "arrival")
    assert msg == f"{world.A.unit_names[0]} is already booked on these nights. (16.06.)"
    assert snapshot(app) == before


def test_no_free_unit_left_names_the_nights(app, host, world):
    for name in ("Erster", "Zweiter"):
        assert host.post(f"/p/{world.A.slug}/bookings/new",
                         data=_own(world, guest_name=name, arrival=d(3).isoformat(), departure=d(4).isoformat())).status_code == 303
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world, arrival=d(2).isoformat(), departure=d(5).isoformat()))
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "arrival") == ["No free unit on these nights. (15.06.)"]
    assert snapshot(app) == before


def test_edit_own_booking_moves_its_nights(host, db_session, world):
    url = f"/p/{world.A.slug}/bookings/{world.A.own_id}/edit"
    form = host.get(url, headers=HTMX)
    body = form.get_data(as_text=True)
    assert form.status_code == 200 and "<html" not in body and f'value="{world.A.own_guest}"' in body
    resp = host.post(url, data=_own(world, arrival=d(8).isoformat(), departure=d(11).isoformat(),
                                    guest_name=world.A.own_guest), headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/calendar?month=2030-06"
    b = _booking(db_session, id=world.A.own_id)
    assert (b.arrival, b.departure, b.guests, b.notes) == (d(8), d(11), 2, "regular guest")
    assert _occupied_nights(db_session, b.id) == [d(8), d(9), d(10)]
    # The old nights are free again: the same unit can be booked on them.
    again = host.post(f"/p/{world.A.slug}/bookings/new",
                      data=_own(world, unit_id=world.A.unit_ids[0], arrival=d(3).isoformat(), departure=d(5).isoformat()))
    assert again.status_code == 303


def test_edit_own_booking_into_taken_nights_keeps_the_old_stay(app, host, db_session, world):
    before = snapshot(app)
    # Olga (online) has the first unit on 18-19 June.
    resp = host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/edit",
                     data=_own(world, unit_id=world.A.unit_ids[0], arrival=d(5).isoformat(), departure=d(7).isoformat(),
                               guest_name=world.A.own_guest))
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "arrival") == [
        f"{world.A.unit_names[0]} is already booked on these nights. (18.06.)"]
    assert snapshot(app) == before


def test_cancel_own_booking_frees_its_nights(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/cancel", headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/calendar?month=2030-06"
    assert _booking(db_session, id=world.A.own_id).status == "cancelled"
    assert _occupied_nights(db_session, world.A.own_id) == []
    flash = host.get(resp.headers["HX-Redirect"]).get_data(as_text=True)
    assert f"Booking of {world.A.own_guest} cancelled; its nights are free again." in flash
    again = host.post(f"/p/{world.A.slug}/bookings/new",
                      data=_own(world, unit_id=world.A.unit_ids[0], arrival=d(3).isoformat(), departure=d(5).isoformat()))
    assert again.status_code == 303
    # Cancelling twice is harmless; a cancelled booking cannot be edited.
    assert host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/cancel").status_code == 303
    assert host.get(f"/p/{world.A.slug}/bookings/{world.A.own_id}/edit").status_code == 409


def test_online_bookings_are_cancelled_and_changed_by_the_channel_only(app, host, world):
    before = snapshot(app)
    cancel = host.post(f"/p/{world.A.slug}/bookings/{world.A.online_id}/cancel")
    assert cancel.status_code == 409
    assert "Only the channel can cancel this booking." in cancel.get_data(as_text=True)
    edit = host.post(f"/p/{world.A.slug}/bookings/{world.A.online_id}/edit", data=_own(world))
    assert edit.status_code == 409
    for resp in (cancel, edit):
        assert_no_trace(resp.get_data(as_text=True))
    assert snapshot(app) == before
    detail = host.get(f"/p/{world.A.slug}/bookings/{world.A.online_id}").get_data(as_text=True)
    # R32: no cancel button; the detail explains that only the channel cancels and offers the request.
    assert "can cancel this booking" in detail and "Request cancellation" in detail and "Cancel booking" not in detail


def test_detail_shows_the_final_price_with_mandatory_costs(host, db_session, world):
    """R4: the final price includes every mandatory flat cost."""
    assert host.post(f"/p/{world.A.slug}/costs", data={"x-name": "Kurtaxe", "x-amount": "2.50", "x-per": "night",
                                                       "x-category_id": str(world.A.cat_id)}).status_code == 303
    assert host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world)).status_code == 303
    b = _booking(db_session, guest_name="Paula Telefon")
    assert b.total_price == Decimal("205.00")  # 2 x 80 + 40 per stay + 2 x 2.50 per night
    for headers in (None, HTMX):
        resp = host.get(f"/p/{world.A.slug}/bookings/{b.id}", headers=headers)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200 and ("<html" in body) is (headers is None)
        table = re.search(r'<table class="price-breakdown">(.*?)</table>', body, re.S).group(1)
        cells = [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)]
        assert cells == ["Lodging", "€160.00", "Endreinigung Aurora", "€40.00", "Kurtaxe", "€5.00",
                         "Final price", "€205.00"]
    listing = host.get(f"/p/{world.A.slug}/bookings").get_data(as_text=True)
    assert "€205.00" in listing


# -- settings --------------------------------------------------------------------------------

@pytest.mark.parametrize("url,data,field,message", [
    ("settings", {"p-name": "", "p-country": "DE"}, "p-name", "Enter the property's name."),
    ("settings", {"p-name": "X", "p-country": "D1"}, "p-country", "Use the two-letter country code, e.g. DE."),
    ("settings", {"p-name": "X", "p-email": "nope"}, "p-email", "Enter a valid e-mail address."),
    ("categories", {"c-name": "Suite", "c-max_guests": "2", "c-unit_names": "S1, S1"}, "c-unit_names",
     "Each unit needs its own name."),
    ("categories", {"c-name": "Suite", "c-max_guests": "0", "c-unit_names": "S1"}, "c-max_guests",
     "Number must be between 1 and 30."),
    ("costs", {"x-name": "Linen", "x-amount": "-3", "x-per": "stay", "x-category_id": "0"}, "x-amount",
     "Number must be at least 0."),
    ("costs", {"x-name": "", "x-amount": "3", "x-per": "stay", "x-category_id": "0"}, "x-name",
     "Enter a name, e.g. Final cleaning."),
])
def test_settings_validation_messages_stand_by_the_field(app, host, world, url, data, field, message):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/{url}", data=data)
    assert resp.status_code == 422
    assert message in field_errors(resp.get_data(as_text=True), field)
    assert snapshot(app) == before


def test_settings_changes_and_a_cost_for_all_categories(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/settings", data={"p-name": "Pension Aurora", "p-city": "Garmisch",
                                                          "p-country": "de"}, headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/settings"
    resp = host.post(f"/p/{world.A.slug}/costs", data={"x-name": "Bettwaesche", "x-amount": "12,50", "x-per": "stay",
                                                       "x-category_id": "0"})
    assert resp.status_code == 303, field_errors(resp.get_data(as_text=True), "x-amount")
    page = host.get(f"/p/{world.A.slug}/settings").get_data(as_text=True)
    assert "Garmisch" in page and "Bettwaesche" in page and "all room categories" in page
    with db_session() as s:
        assert s.get(Property, world.A.id).country == "DE"


# -- errors: proper pages, never a trace -------------------------------------------------------

@pytest.mark.parametrize("who", ["anonymous", "host_a"])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_unknown_route_is_a_404_page(client, world, who, htmx):
    english(client)
    if who != "anonymous":
        login(client, world.host_a)
    resp = client.get("/no/such/page", headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert "This page does not exist." in body
    assert_no_trace(body)
    if htmx:
        assert resp.headers["HX-Retarget"] == "#flash" and "<html" not in body
    else:
        assert "<html" in body


@pytest.mark.parametrize("url", ["/p/haus-a/bookings/999999", "/p/haus-a/bookings/999999/edit",
                                 "/p/no-such-house/bookings/1", "/p/haus-a/bookings/abc"])
def test_unknown_ids_are_404(host, world, url):
    resp = host.get(url)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert_no_trace(body)


def test_unknown_booking_post_is_404_and_writes_nothing(app, host, world):
    before = snapshot(app)
    for url in (f"/p/{world.A.slug}/bookings/999999/cancel", f"/p/{world.A.slug}/costs/999999/delete"):
        resp = host.post(url, headers=HTMX)
        assert resp.status_code == 404 and resp.headers["HX-Retarget"] == "#flash"
        assert_no_trace(resp.get_data(as_text=True))
    assert snapshot(app) == before


def test_wrong_method_is_405_page(host, world):
    resp = host.get(f"/p/{world.A.slug}/bookings/{world.A.own_id}/cancel")
    assert resp.status_code == 405
    assert "This action is not allowed here." in resp.get_data(as_text=True)


def test_forbidden_htmx_request_shows_the_message_in_the_flash_area(client, world):
    login(client, world.host_b)
    resp = client.get(f"/p/{world.A.slug}/calendar", headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 403
    assert resp.headers["HX-Retarget"] == "#flash" and resp.headers["HX-Reswap"] == "innerHTML"
    assert "<html" not in body and "You have no access to this property." in body
    assert world.A.name not in body


def test_an_unexpected_error_is_a_500_page_without_details(host, world, monkeypatch):
    from services import channel_bookings

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals: connection string postgres://user:pw@db")

    monkeypatch.setattr(channel_bookings, "search", boom)
    resp = host.get(f"/p/{world.A.slug}/bookings")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "Something went wrong on our side." in body
    assert "secret internals" not in body and "RuntimeError" not in body
    assert_no_trace(body)


# -- the office: registering hosts, the brokerage contract ---------------------------------------

def test_staff_register_a_host_who_gets_access_once_the_contract_is_active(app, world, db_session):
    staff = new_client(app)
    login(staff, world.staff1)
    resp = staff.post("/office/hosts", data={"host_name": "Nora Neumann", "email": "Nora@Example.com",
                                             "property_name": "Haus Seeblick", "slug": "haus-seeblick"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    codes = re.findall(r"<code>([^<]+)</code>", body)
    assert codes[0] == "nora@example.com"
    password = codes[1]
    assert len(password) >= 8
    assert "the password is shown only now" in body
    with db_session() as s:
        user = s.scalar(sa.select(User).where(User.email == "nora@example.com"))
        prop = s.scalar(sa.select(Property).where(Property.slug == "haus-seeblick"))
        assert user.role == "host" and password not in user.password_hash
        assert prop.office_id == world.offices[1] and prop.owner_id == user.id and prop.contract_active_since is None
    # Shown once: the office page does not show it again.
    assert password not in staff.get("/office").get_data(as_text=True)

    host = new_client(app)
    assert host.post("/login", data={"email": "nora@example.com", "password": password}).status_code == 302
    assert host.post("/language", data={"lang-locale": "en", "next": "/"}).status_code == 302
    refused = host.get("/p/haus-seeblick/calendar")
    assert refused.status_code == 403
    assert "waiting for the tourist office to activate the brokerage contract" in refused.get_data(as_text=True)
    assert "No property is open to you yet" in host.get("/").get_data(as_text=True)

    act = staff.post("/office/p/haus-seeblick/contract/activate", headers=HTMX)
    assert act.status_code == 204 and act.headers["HX-Redirect"] == "/office"
    assert "Contract for Haus Seeblick activated" in staff.get("/office").get_data(as_text=True)

    assert host.get("/p/haus-seeblick/calendar").status_code == 200
    history = host.get("/p/haus-seeblick/history").get_data(as_text=True)
    assert "Host registered" in history and "Contract activated" in history
    assert world.staff1.name in history

    # Ending the contract takes the access away again.
    assert staff.post("/office/p/haus-seeblick/contract/end").status_code == 303
    assert host.get("/p/haus-seeblick/calendar").status_code == 403


def test_staff_of_another_office_do_not_see_the_host(app, world):
    other = new_client(app)
    login(other, world.staff2)
    page = other.get("/office").get_data(as_text=True)
    assert "Tourist-Info Zwei" in page
    for p in world.props.values():
        assert p.name not in page and f"/p/{p.slug}/" not in page


@pytest.mark.parametrize("data,field,message", [
    ({"host_name": "N", "email": "nora@example.com", "property_name": "Haus", "slug": "Haus Seeblick!"},
     "slug", "Use lower-case letters, digits and dashes only."),
    ({"host_name": "N", "email": "nora@example.com", "property_name": "Haus", "slug": "haus-a"},
     "slug", "This address is taken already."),
    ({"host_name": "N", "email": "host-b@example.com", "property_name": "Haus", "slug": "haus-neu"},
     "email", "An account with this e-mail address exists already."),
    ({"host_name": "N", "email": "not-an-address", "property_name": "Haus", "slug": "haus-neu"},
     "email", "Enter a valid e-mail address."),
    ({"host_name": "", "email": "nora@example.com", "property_name": "Haus", "slug": "haus-neu"},
     "host_name", "Enter a name."),
])
def test_registering_a_host_validates_every_field(app, world, data, field, message):
    staff = new_client(app)
    login(staff, world.staff1)
    before = snapshot(app)
    resp = staff.post("/office/hosts", data=data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in field_errors(body, field)
    assert "<code>" not in body
    assert snapshot(app) == before


def test_guest_input_is_escaped_everywhere(host, db_session, world):
    evil = '<script>alert("x")</script>'
    assert host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world, guest_name=evil, notes=evil)).status_code == 303
    b = _booking(db_session, guest_name=evil)
    for url in (f"/p/{world.A.slug}/calendar?month=2030-07", f"/p/{world.A.slug}/bookings",
                f"/p/{world.A.slug}/bookings/{b.id}", f"/p/{world.A.slug}/history"):
        body = host.get(url).get_data(as_text=True)
        assert "<script>alert" not in body, url
        assert "&lt;script&gt;" in body, url


def test_booking_history_is_worded_in_the_readers_language(host, world):
    """Event details are stored as parameters and worded on display: no codes, no ISO timestamps."""
    base = f"/p/{world.A.slug}/bookings/{world.A.online_id}"
    moved = host.post(f"{base}/modify", data={"arrival": d(10).isoformat(), "departure": d(12).isoformat(),
                                              "category_id": world.A.cat_id})
    assert moved.status_code == 303
    new_url = moved.headers["Location"]
    assert host.post(f"{new_url}/deposit", data={"deposit_amount": "30.00", "deposit_due": d(5).isoformat()}).status_code == 303
    english_page = host.get(new_url).get_data(as_text=True)
    short = lambda day: f"{day.month}/{day.day}/{day:%y}"  # noqa: E731 - English short dates
    assert f"change of #{world.A.online_id}: {short(d(6))}–{short(d(8))}" in english_page
    assert f"→ {short(d(10))}–{short(d(12))}" in english_page
    assert f"€30.00 due {short(d(5))}" in english_page
    host.post("/language", data={"lang-locale": "de", "next": new_url})
    german_page = host.get(new_url).get_data(as_text=True)
    assert f"Änderung von #{world.A.online_id}: {d(6):%d.%m.%y}–{d(8):%d.%m.%y}" in german_page
    assert f"30,00\xa0€ fällig am {d(5):%d.%m.%y}" in german_page
    old_page = host.get(base).get_data(as_text=True)
    assert "ersetzt durch #" in old_page and "T0" not in re.sub(r"<[^>]+>", "", old_page).split("Verlauf")[-1]


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
    assert "Channel settings changed</b> Booking.com: hold time 45 min, Prepaid by the channel (e.g. e-domizil)" in history


def test_imported_calendar_status_is_worded_for_the_host(host, db_session, world):
    from services import ical
    from tests.services.test_ical import _ics

    page = f"/p/{world.A.slug}/calendars"
    with db_session() as s:
        ical.sync_feed(s, world.A.feed_id, fetcher=lambda url: _ics(("a@x", d(30), d(32)), ("b@x", d(34), d(35))))
    assert "2 entries read: 2 newly blocked, 0 released, 0 in conflict" in host.get(page).get_data(as_text=True)

    def boom(url):
        raise OSError("connection refused")

    with db_session() as s:
        ical.sync_feed(s, world.A.feed_id, fetcher=boom)
    assert "Could not be read: OSError: connection refused" in host.get(page).get_data(as_text=True)

"""The calendar blueprint, for plain requests and for htmx (HX-Request: true): the plan of a
window of nights (the same URL gives the page or the plan fragment), the night editor, bulk editing."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from babel.dates import format_date
import sqlalchemy as sa

from services.availability import inventory
from services.models import AuditEntry, Booking, NightRate, Occupancy, Property, RoomNight
from tests.factories import new_booking
from tests.web.conftest import HTMX, assert_no_trace, bulk_form as _bulk, d, field_errors, snapshot


def _rate(db_session, cat_id, night):
    with db_session() as s:
        r = s.get(NightRate, (cat_id, night))
        return None if r is None else (r.price, r.quota, r.min_stay, r.closed)


# -- the calendar: the same URL gives the page or the plan fragment --------------------------
def test_calendar_full_page(host, world):
    resp = host.get(f"/p/{world.A.slug}/calendar")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert body.lstrip().startswith("<!doctype html>") and "<html" in body
    assert "HX-Request" in resp.headers["Vary"]
    assert 'id="plan"' in body and 'id="editor"' in body
    # Bulk editing is one button that opens the form in the editor panel.
    assert re.search(r'<a class="btn" id="bulk-open" href="/p/%s/calendar/bulk" hx-get="[^"]+" hx-target="#editor">'
                     % world.A.slug, body)
    assert 'class="bulk-form"' not in body
    assert world.A.own_guest in body and world.A.online_guest in body  # the bars of the bookings
    # The skip link is the first thing to focus, before the site header.
    assert body.index('class="skip-link" href="#plan-grid"') < body.index("<header")
    assert 'id="plan-grid"' in body


def test_the_plan_builds_no_bulk_form_until_it_is_opened(host, world, monkeypatch):
    """Issue 16: the folded-away bulk form (WTForms, 14 % of the page) is built only when the
    host opens it (htmx GET into the panel; without JavaScript the same link is a page)."""
    from portal.blueprints.calendar import forms

    built = []
    real_init = forms.BulkForm.__init__
    monkeypatch.setattr(forms.BulkForm, "__init__", lambda self, *a, **k: built.append(1) or real_init(self, *a, **k))
    for headers in (None, HTMX):
        body = host.get(f"/p/{world.A.slug}/calendar", headers=headers).get_data(as_text=True)
        assert 'id="bulk-open"' in body and 'class="bulk-form"' not in body
    assert built == []
    panel = host.get(f"/p/{world.A.slug}/calendar/bulk", headers=HTMX).get_data(as_text=True)
    assert 'class="bulk-form"' in panel and built


def test_calendar_fragment_for_htmx_navigation(host, world):
    resp = host.get(f"/p/{world.A.slug}/calendar?start=2030-07-01", headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<html" not in body and "<header" not in body and "<body" not in body
    assert body.lstrip().startswith('<div id="plan"')
    assert 'data-start="2030-07-01"' in body and 'data-days="31"' in body
    assert "HX-Request" in resp.headers["Vary"]
    # Navigation by one window: htmx swaps the plan and pushes the window's URL into the history.
    links = {re.search(r'href="([^"]*)"', tag).group(1): tag for tag in re.findall(r"<a [^>]*>", body)}
    base = f"/p/{world.A.slug}/calendar"
    for url in (f"{base}?start=2030-05-31", f"{base}?start=2030-08-01", base):  # previous, next, today
        tag = links[url]
        assert f'hx-get="{url}"' in tag and 'hx-target="#plan"' in tag and 'hx-push-url="true"' in tag
    # The date picker jumps the same way.
    form = re.search(r'<form class="jump"[^>]*>', body).group(0)
    assert f'hx-get="{base}"' in form and 'hx-target="#plan"' in form and 'hx-push-url="true"' in form
    assert '<input type="date" id="plan-start" name="start" value="2030-07-01"' in body


def _nights(body: str) -> list[str]:
    return re.findall(r'<th scope="col" class="day[^"]*" data-night="([\d-]+)">', body)


def _window(body: str) -> tuple[str, int]:
    nights = _nights(body)
    return nights[0], len(nights)


def test_the_plan_opens_on_yesterday_with_31_nights(host, world):
    """On the 12th a host sees from the 11th (the guest who left this morning) 31 nights on."""
    body = host.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    assert _window(body) == (d(-1).isoformat(), 31)
    assert _nights(body)[-1] == d(29).isoformat()
    assert "<h1 class=\"month range\">11 Jun\u2009–\u200911 Jul 2030</h1>" in body  # en_GB, thin spaces
    assert "data-auto-days" in body  # the count was not in the URL: portal.js may fit it to the screen
    # The cells say which category and night they are.
    assert f'data-cat="{world.A.cat_id}" data-night="{d(0).isoformat()}"' in body


def test_a_phone_gets_7_nights_from_its_cookie_and_the_url_can_name_the_count(host, world):
    base = f"/p/{world.A.slug}/calendar"
    host.set_cookie("plan_days", "7")
    body = host.get(base).get_data(as_text=True)
    assert _window(body) == (d(-1).isoformat(), 7)
    assert f'href="{base}?start={d(6).isoformat()}"' in body  # next: the links leave the count to the cookie
    host.delete_cookie("plan_days")
    body = host.get(f"{base}?start=2030-06-20&days=10").get_data(as_text=True)
    assert _window(body) == ("2030-06-20", 10)
    assert "data-auto-days" not in body
    # A count named in the URL stays in every link, and in the date picker's form.
    assert f'href="{base}?start=2030-06-10&amp;days=10"' in body and f'href="{base}?start=2030-06-30&amp;days=10"' in body
    assert f'href="{base}?days=10"' in body  # today
    assert '<input type="hidden" name="days" value="10">' in body


def test_old_month_links_open_on_the_first_night_of_the_month(host, world):
    body = host.get(f"/p/{world.A.slug}/calendar?month=2030-07").get_data(as_text=True)
    assert _window(body) == ("2030-07-01", 31)
    body = host.get(f"/p/{world.A.slug}/calendar?month=2030-07&start=2030-07-20").get_data(as_text=True)
    assert _window(body)[0] == "2030-07-20"  # start wins


@pytest.mark.parametrize("days,count", [("1", 1), ("62", 62), ("0", 1), ("63", 62), ("100000", 62), (" 7", 7)])
def test_the_number_of_nights_is_clamped_to_1_to_62(host, world, days, count):
    resp = host.get(f"/p/{world.A.slug}/calendar", query_string={"start": "2030-07-01", "days": days})
    assert resp.status_code == 200
    assert _window(resp.get_data(as_text=True)) == ("2030-07-01", count)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("query,message", [
    ({"start": "2030-02-30"}, "Choose a valid date for the first night (YYYY-MM-DD)."),
    ({"start": "tomorrow"}, "Choose a valid date for the first night (YYYY-MM-DD)."),
    ({"start": "9999-12-30"}, "Choose a valid date for the first night (YYYY-MM-DD)."),
    ({"start": "0001-01-02"}, "Choose a valid date for the first night (YYYY-MM-DD)."),
    ({"days": "-3"}, "The number of nights must be a whole number from 1 to 62."),
    ({"days": "seven"}, "The number of nights must be a whole number from 1 to 62."),
    ({"days": "7.5"}, "The number of nights must be a whole number from 1 to 62."),
])
def test_a_bad_window_is_422_with_a_clear_message(host, world, htmx, query, message):
    resp = host.get(f"/p/{world.A.slug}/calendar", query_string=query, headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert message in body
    assert_no_trace(body)
    if htmx:  # shown in the flash area, the plan stays
        assert resp.headers["HX-Retarget"] == "#flash"


def test_an_empty_start_or_a_bad_cookie_opens_the_default_window(host, world):
    base = f"/p/{world.A.slug}/calendar"
    assert _window(host.get(f"{base}?start=").get_data(as_text=True)) == (d(-1).isoformat(), 31)
    host.set_cookie("plan_days", "lots")
    assert _window(host.get(base).get_data(as_text=True)) == (d(-1).isoformat(), 31)


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


def test_night_post_without_htmx_redirects_to_the_window_of_the_night(host, db_session, world):
    base = f"/p/{world.A.slug}/calendar"
    resp = host.post(_night_url(world, d(25)), data={"price": "70", "quota": "1", "min_stay": "1"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == base  # d(25) is in the window that opens by default
    assert _rate(db_session, world.A.cat_id, d(25)) == (Decimal("70.00"), 1, 1, False)
    # Further on: the window "next" reaches (yesterday + 31 nights), not the month.
    resp = host.post(_night_url(world, d(40)), data={"price": "70", "quota": "1", "min_stay": "1"})
    assert resp.headers["Location"] == f"{base}?start={d(30).isoformat()}"
    host.set_cookie("plan_days", "7")  # a phone: windows of 7 nights
    resp = host.post(_night_url(world, d(25)), data={"price": "70", "quota": "1", "min_stay": "1"})
    assert resp.headers["Location"] == f"{base}?start={d(20).isoformat()}"
    # The editor's Close and Cancel lead there too.
    body = host.get(_night_url(world, d(25))).get_data(as_text=True)
    assert body.count(f'href="{base}?start={d(20).isoformat()}" data-close-editor') == 2


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
    # The booking's dates in the reader's (English) format, not a fixed pattern.
    arrival, departure = (format_date(x, "medium", locale="en_GB") for x in (d(12), d(14)))
    assert f"#{booking_id} Vera Voucher ({arrival}–{departure})" in msg
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
def test_bulk_edit_changes_only_the_chosen_weekdays(host, db_session, world):
    # d(5)..d(11) is Monday 17 June to Sunday 23 June 2030: Friday 21 and Saturday 22 change.
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk?start=2030-06-15&days=7", data=_bulk(world))
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/p/{world.A.slug}/calendar?start=2030-06-15&days=7"  # the window it came from
    with db_session() as s:
        prices = dict(s.execute(sa.select(NightRate.night, NightRate.price).where(NightRate.category_id == world.A.cat_id)).all())
        summary = s.scalar(sa.select(AuditEntry.summary).where(AuditEntry.action == "rates_bulk"))
    changed = {night.strftime("%a %d") for night, price in prices.items() if price != Decimal("80.00")}
    assert changed == {"Fri 21", "Sat 22"} and prices[d(9)] == Decimal("150.00")
    assert '"nights":2' in summary  # parameters, worded for each reader on the history page


def test_bulk_edit_via_htmx_returns_the_form_and_the_refreshed_plan(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk?start=2030-06-15", data=_bulk(world, min_stay="2"), headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert 'class="bulk-form"' in body
    assert re.search(r'<div id="plan" class="plan" hx-swap-oob="true" data-start="2030-06-15"', body)
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
    # The panel the "Bulk edit" button opens in the editor: a heading, a close button, the form.
    assert body.lstrip().startswith('<section class="panel bulk-panel"') and "data-close-editor" in body
    # Its range is the window's nights from today on.
    assert f'name="start" required type="date" value="{d(0).isoformat()}"' in body
    assert f'name="end" required type="date" value="{d(29).isoformat()}"' in body
    body = host.get(f"/p/{world.A.slug}/calendar/bulk?start=2030-07-01&days=7", headers=HTMX).get_data(as_text=True)
    assert 'name="start" required type="date" value="2030-07-01"' in body and 'name="end" required type="date" value="2030-07-07"' in body
    assert 'action="/p/%s/calendar/bulk?start=2030-07-01&amp;days=7"' % world.A.slug in body


# -- "why can't this be booked?" (services.availability.explain) --------------------------------
def _why_url(w, day, slug=None, cat_id=None):
    return f"/p/{slug or w.A.slug}/calendar/why/{cat_id or w.A.cat_id}/{day.isoformat()}"


def _close(host, w, day):
    resp = host.post(_night_url(w, day), data={"price": "80", "quota": "3", "min_stay": "1", "closed": "y"}, headers=HTMX)
    assert resp.status_code == 200


def test_a_night_offering_nothing_links_to_why_and_others_to_the_editor(host, world):
    _close(host, world, d(10))
    body = host.get(f"/p/{world.A.slug}/calendar?start={d(1).isoformat()}", headers=HTMX).get_data(as_text=True)
    closed = re.search(r'<td id="n-%s-%s"[^>]*>(.*?)</td>' % (world.A.cat_id, d(10).isoformat()), body, re.S).group(0)
    assert f'hx-get="{_why_url(world, d(10))}"' in closed and "not bookable online: open it to see why" in closed
    offered = re.search(r'<td id="n-%s-%s"[^>]*>(.*?)</td>' % (world.A.cat_id, d(11).isoformat()), body, re.S).group(1)
    assert f'hx-get="{_night_url(world, d(11))}"' in offered


def test_why_fragment_names_the_reason_and_the_bookings_in_the_way(host, db_session, world):
    with db_session() as s:
        prop = s.get(Property, world.A.id)
        b = new_booking(prop, arrival=d(20), nights=2, source="booking", units=3, guest="Vera Voll")
        s.add(b)
        inventory.take(s, b)
        s.commit()
    frag = host.get(_why_url(world, d(20)), headers=HTMX)
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in body and body.lstrip().startswith('<section class="panel why"')
    assert 'data-reason="occupied"' in body and 'data-reason="quota_used"' in body
    assert "No unit is free; these bookings occupy them:" in body and "Vera Voll" in body and "Booking.com" in body
    assert "Category 1 · Tue, 2 Jul 2030" in body and "02/07/2030–04/07/2030" in body  # the reader's (en) formats
    assert f'hx-get="{_night_url(world, d(20))}"' in body  # the night editor stays one click away
    page = host.get(_why_url(world, d(20)))
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True) and 'id="editor"' in page.get_data(as_text=True)


def test_why_fix_opens_a_closed_night_records_history_and_updates_the_cell(host, db_session, world):
    _close(host, world, d(10))
    body = host.get(_why_url(world, d(10)), headers=HTMX).get_data(as_text=True)
    assert 'data-reason="closed"' in body and "Open this night" in body and 'name="action" value="open"' in body
    resp = host.post(_why_url(world, d(10)), data={"action": "open"}, headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Guests can book this night online." in body
    cell = re.search(r'<td id="n-%s-%s" hx-swap-oob="true"[^>]*>' % (world.A.cat_id, d(10).isoformat()), body)
    assert cell and "closed" not in cell.group(0)
    assert _rate(db_session, world.A.cat_id, d(10))[3] is False
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "rates")) >= 2


def test_why_fix_without_htmx_redirects_back_and_a_second_click_changes_nothing(app, host, db_session, world):
    _close(host, world, d(11))
    resp = host.post(_why_url(world, d(11)), data={"action": "open"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(_why_url(world, d(11)))
    before = snapshot(app)
    again = host.post(_why_url(world, d(11)), data={"action": "open"}, headers=HTMX)
    assert again.status_code == 200 and "Nothing to change: this was done already." in again.get_data(as_text=True)
    bogus = host.post(_why_url(world, d(11)), data={"action": "drop_table"}, headers=HTMX)
    assert bogus.status_code == 422 and "Unknown fix." in bogus.get_data(as_text=True)
    assert snapshot(app) == before


def test_why_is_not_shown_for_another_hosts_property(host, world):
    """Tenant isolation: host B's property is refused (403, as every page of it); B's category
    under A's address, or an impossible night, is not found (404); nothing of B shows."""
    other = _why_url(world, d(10), slug=world.B.slug, cat_id=world.B.cat_id)
    for method in ("get", "post"):
        resp = getattr(host, method)(other, data={"action": "open"}, headers=HTMX)
        assert resp.status_code == 403 and "Birke" not in resp.get_data(as_text=True)
    for url in (_why_url(world, d(10), cat_id=world.B.cat_id), f"/p/{world.A.slug}/calendar/why/{world.A.cat_id}/9999-12-31"):
        assert host.get(url).status_code == 404, url
        assert host.post(url, data={"action": "open"}, headers=HTMX).status_code == 404, url


# -- price sanity, first steps, the unpriced legend (issue 9) ------------------------------------

@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_price_with_three_decimals_is_refused_as_typed(app, host, world, htmx):
    before = snapshot(app)
    resp = host.post(_night_url(world, d(10)), data={"price": "89,999", "quota": "3", "min_stay": "1"},
                     headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(body, "price") == ["Use at most two decimal places, e.g. 89.99."]
    assert re.search(r'<input[^>]*name="price"[^>]*value="89.999"|<input[^>]*value="89.999"[^>]*name="price"', body)
    assert snapshot(app) == before
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk", data=_bulk(world, price="150.005"), headers=HTMX)
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "price") == ["Use at most two decimal places, e.g. 89.99."]
    assert snapshot(app) == before


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_unusual_night_price_asks_first_and_save_anyway_saves_it(app, host, db_session, world, htmx):
    """Prices are 80.00: 950 is more than three times the median (services.availability.rates)."""
    before = snapshot(app)
    data = {"price": "950", "quota": "3", "min_stay": "1"}
    resp = host.post(_night_url(world, d(10)), data=data, headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    [question] = field_errors(body, "price")
    assert question.startswith("950 is far from the usual price of Category 1") and question.endswith("Save anyway?")
    assert re.search(r'<button class="primary" name="confirm_price" value="1"[^>]*>Save anyway</button>', body)
    assert snapshot(app) == before
    resp = host.post(_night_url(world, d(10)), data={**data, "confirm_price": "1"}, headers=HTMX if htmx else None)
    assert resp.status_code == (200 if htmx else 302)
    assert _rate(db_session, world.A.cat_id, d(10))[0] == Decimal("950.00")


def test_an_unusual_bulk_price_asks_first(app, host, db_session, world):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk", data=_bulk(world, price="8900"), headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Save anyway?" in field_errors(body, "price")[0]
    assert 'name="confirm_price" value="1"' in body
    assert snapshot(app) == before
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk", data=_bulk(world, price="8900", confirm_price="1"), headers=HTMX)
    assert resp.status_code == 200
    assert _rate(db_session, world.A.cat_id, d(9))[0] == Decimal("8900.00")  # a Friday in the range


def _new_host_with(db_session, app, **kwargs):
    from tests.factories import make_property, make_user
    from tests.web.conftest import login, new_client
    with db_session() as s:
        user = make_user(s, locale="en")
        prop = make_property(s, owner=user, **kwargs)
        slug, email = prop.slug, user.email
    c = new_client(app)
    login(c, type("U", (), {"email": email}))
    return c, slug


def _step(body, name):
    return re.search(r'<li data-step="%s" class="([^"]*)"' % name, body).group(1)


def test_an_empty_property_gets_the_first_steps_instead_of_buttons(app, db_session, world):
    client, slug = _new_host_with(db_session, app, categories=0, days=0)
    body = client.get(f"/p/{slug}/calendar").get_data(as_text=True)
    assert 'id="first-steps"' in body
    assert [_step(body, s) for s in ("rooms", "prices", "channels")] == ["", "", ""]
    assert f'href="/p/{slug}/settings#categories"' in body and f'href="/p/{slug}/modules"' in body
    assert 'id="bulk-open"' not in body and "+ Own booking" not in body
    # Fragments (htmx navigation) leave the checklist where it is.
    assert 'id="first-steps"' not in client.get(f"/p/{slug}/calendar", headers=HTMX).get_data(as_text=True)


def test_first_steps_are_ticked_as_they_are_done(app, db_session, world):
    client, slug = _new_host_with(db_session, app, days=0)  # rooms, no prices, no channel
    body = client.get(f"/p/{slug}/calendar").get_data(as_text=True)
    assert [_step(body, s) for s in ("rooms", "prices", "channels")] == ["done", "", ""]
    assert re.search(r'<a href="/p/%s/calendar/bulk" hx-get="/p/%s/calendar/bulk" hx-target="#editor">Set prices' % (slug, slug), body)
    assert 'id="bulk-open"' in body and "+ Own booking" in body
    assert re.search(r'class="night unpriced"', body)


def test_a_bulk_edit_that_sets_the_first_prices_updates_the_checklist_in_place(app, db_session, world):
    client, slug = _new_host_with(db_session, app, days=0)  # rooms, no prices
    with db_session() as s:
        cat_id = s.scalar(sa.select(Property).where(Property.slug == slug)).categories[0].id
    data = {"categories": [cat_id], "start": d(1).isoformat(), "end": d(30).isoformat(), "weekdays": list(range(7)),
            "price": "80.00", "quota": "", "min_stay": "", "closed": "", "closed_to_arrival": "", "closed_to_departure": ""}
    resp = client.post(f"/p/{slug}/calendar/bulk", data=data, headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    # Rooms and prices are there now: the checklist's slot is emptied out of band.
    slot = re.search(r'<div id="first-steps-slot" hx-swap-oob="true">(.*?)</div>', body, re.S)
    assert slot and "First steps" not in slot.group(1)


def test_a_property_that_sells_has_no_checklist_and_the_legend_explains_unpriced_nights(host, world):
    body = host.get(f"/p/{world.A.slug}/calendar?start={d(35)}").get_data(as_text=True)
    assert 'id="first-steps"' not in body
    assert '<span class="swatch unpriced" aria-hidden="true"></span> no price: not offered online' in body
    assert f'id="n-{world.A.cat_id}-{d(45)}" class="night unpriced"' in body  # prices end after d(39)
    assert f'id="n-{world.A.cat_id}-{d(36)}" class="night"' in body


# -- undo of the last calendar edit (services.availability.undo, R1) ----------------------------
def _undo_url(body: str) -> str:
    return re.search(r'<button type="button" class="btn small undo" hx-post="([^"]+)"', body).group(1)


def test_undo_from_the_message_after_a_night_edit(host, db_session, world):
    night = d(20)
    before = _rate(db_session, world.A.cat_id, night)
    saved = host.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{night.isoformat()}",
                      data={"price": "99.00", "quota": "2", "min_stay": "1"}, headers=HTMX).get_data(as_text=True)
    url = _undo_url(saved)  # the message offers the undo
    assert re.fullmatch(rf"/p/{world.A.slug}/calendar/undo/\d+", url)
    assert _rate(db_session, world.A.cat_id, night)[:2] == (Decimal("99.00"), 2)
    resp = host.post(url, headers={**HTMX, "HX-Current-URL": f"http://localhost/p/{world.A.slug}/calendar?start={d(15)}"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and _rate(db_session, world.A.cat_id, night) == before
    assert '<div id="plan" class="plan" hx-swap-oob="true" data-start="%s"' % d(15) in body  # the window on screen
    assert 'id="flash" hx-swap-oob="innerHTML"' in body and "Undone:" in body
    again = host.post(url, headers=HTMX)
    assert again.status_code == 409 and "already been undone" in again.get_data(as_text=True)
    with db_session() as s:
        assert s.scalar(sa.select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)) == "rates_undo"


def test_undo_after_a_bulk_edit_is_offered_and_restores_the_prices(host, db_session, world):
    saved = host.post(f"/p/{world.A.slug}/calendar/bulk?start=2030-06-15&days=7", data=_bulk(world), headers=HTMX)
    assert saved.status_code == 200 and _rate(db_session, world.A.cat_id, d(9))[0] == Decimal("150.00")
    assert host.post(_undo_url(saved.get_data(as_text=True)), headers=HTMX).status_code == 200
    assert _rate(db_session, world.A.cat_id, d(9))[0] == Decimal("80.00")


def test_undo_is_refused_naming_the_booking_that_took_a_night(host, db_session, world):
    night = d(20)
    saved = host.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{night.isoformat()}",
                      data={"price": "99.00", "quota": "3", "min_stay": "1"}, headers=HTMX).get_data(as_text=True)
    url = _undo_url(saved)
    with db_session() as s:
        b = new_booking(s.get(Property, world.A.id), arrival=night, nights=1, source="booking", guest="Erna Spät")
        s.add(b)
        inventory.take(s, b)
        s.commit()
    resp = host.post(url, headers=HTMX)
    assert resp.status_code == 409 and "Erna Spät" in resp.get_data(as_text=True)
    assert _rate(db_session, world.A.cat_id, night)[0] == Decimal("99.00")
    # Without htmx (the history page's form): back to the history with the message.
    plain = host.post(url)
    assert plain.status_code == 303 and plain.headers["Location"] == f"/p/{world.A.slug}/history"


def test_undo_of_another_hosts_entry_is_not_found(client, db_session, world):
    from tests.factories import login
    from tests.web.conftest import new_client
    login(client, world.host_a)
    saved = client.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{d(20).isoformat()}",
                        data={"price": "99.00", "quota": "3", "min_stay": "1"}, headers=HTMX).get_data(as_text=True)
    entry_id = _undo_url(saved).rsplit("/", 1)[1]
    other = new_client(client.application)
    login(other, world.host_b)
    assert other.post(f"/p/{world.B.slug}/calendar/undo/{entry_id}", headers=HTMX).status_code == 404  # tenant isolation
    assert other.post(f"/p/{world.A.slug}/calendar/undo/{entry_id}", headers=HTMX).status_code in (403, 404)
    assert _rate(db_session, world.A.cat_id, d(20))[0] == Decimal("99.00")


# -- gap nights (services.availability.gaps, R1) -------------------------------------------------
def _make_gap(db_session, world):
    """d(20) and d(23) closed, a minimum stay of 3: d(21) and d(22) can never sell."""
    with db_session() as s:
        s.execute(sa.update(NightRate).where(NightRate.category_id == world.A.cat_id, NightRate.night.in_([d(20), d(23)]))
                  .values(closed=True))
        s.execute(sa.update(NightRate).where(NightRate.category_id == world.A.cat_id, NightRate.night >= d(20))
                  .values(min_stay=3))
        s.commit()


def test_a_gap_is_marked_and_one_click_fixes_it_undoably(host, db_session, world):
    _make_gap(db_session, world)
    plan = host.get(f"/p/{world.A.slug}/calendar?start={d(15)}&days=14", headers=HTMX).get_data(as_text=True)
    cell = re.search(rf'<td id="n-{world.A.cat_id}-{d(21)}"[^>]*>.*?</td>', plan, re.S).group(0)
    assert 'class="night gap"' in cell and "Gap: 2 nights, minimum stay 3" in cell
    fix = re.search(r'<button type="button" class="gap-fix" hx-post="([^"]+)"', cell).group(1)
    assert fix == f"/p/{world.A.slug}/calendar/gap/{world.A.cat_id}/{d(21)}"
    assert "gap" in re.search(rf'<td id="n-{world.A.cat_id}-{d(22)}"[^>]*>', plan).group(0)
    assert "gap-fix" not in re.search(rf'<td id="n-{world.A.cat_id}-{d(22)}".*?</td>', plan, re.S).group(0)
    assert f'n-{world.A.cat_id}-{d(24)}" class="night"' in plan or "gap" not in re.search(
        rf'<td id="n-{world.A.cat_id}-{d(24)}"[^>]*>', plan).group(0)

    resp = host.post(fix, headers={**HTMX, "HX-Current-URL": f"http://localhost/p/{world.A.slug}/calendar?start={d(15)}&days=14"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert [_rate(db_session, world.A.cat_id, d(n))[2] for n in (20, 21, 22, 23)] == [3, 2, 2, 3]
    assert 'hx-swap-oob="true"' in body and f'n-{world.A.cat_id}-{d(21)}" class="night"' in body  # no longer marked
    assert "Gap closed" in body
    assert host.post(fix, headers=HTMX).status_code == 409  # no gap any more
    assert host.post(_undo_url(body), headers=HTMX).status_code == 200
    assert [_rate(db_session, world.A.cat_id, d(n))[2] for n in (21, 22)] == [3, 3]


def test_gap_fix_without_htmx_goes_back_to_the_plan(host, db_session, world):
    _make_gap(db_session, world)
    resp = host.post(f"/p/{world.A.slug}/calendar/gap/{world.A.cat_id}/{d(21)}")
    assert resp.status_code == 303 and resp.headers["Location"].startswith(f"/p/{world.A.slug}/calendar")
    assert _rate(db_session, world.A.cat_id, d(21))[2] == 2


def test_a_night_edit_redraws_its_neighbours_gap_marks(host, db_session, world):
    """Closing d(23) makes d(21)-d(22) a gap: the answer to that one night's edit redraws the
    category's row in the window on screen, so the neighbours show the gap at once."""
    with db_session() as s:
        s.execute(sa.update(NightRate).where(NightRate.category_id == world.A.cat_id, NightRate.night == d(20))
                  .values(closed=True))
        s.execute(sa.update(NightRate).where(NightRate.category_id == world.A.cat_id, NightRate.night >= d(20))
                  .values(min_stay=3))
        s.commit()
    shown = {**HTMX, "HX-Current-URL": f"http://localhost/p/{world.A.slug}/calendar?start={d(15)}&days=14"}
    plan = host.get(f"/p/{world.A.slug}/calendar?start={d(15)}&days=14", headers=HTMX).get_data(as_text=True)
    assert "gap" not in re.search(rf'<td id="n-{world.A.cat_id}-{d(21)}"[^>]*>', plan).group(0)
    resp = host.post(_night_url(world, d(23)), headers=shown,
                     data={"price": "80", "quota": "2", "min_stay": "3", "closed": "y"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for night in (d(21), d(22)):
        cell = re.search(rf'<td id="n-{world.A.cat_id}-{night}"[^>]*>', body).group(0)
        assert 'hx-swap-oob="true"' in cell and "gap" in cell


def test_a_searched_night_blocked_by_a_restriction_is_marked(host, db_session, world):
    """R53: a category-night holding a searching risk-free room-night and closed is marked, with
    words saying why; the other searched night, open, is not; lifting the restriction clears it."""
    with db_session() as s:
        b = s.get(Booking, world.A.online_id)  # nights d(6), d(7)
        b.risk_free, b.status = True, "cancelled"
        for r in s.scalars(sa.select(RoomNight).where(RoomNight.booking_id == b.id)):
            r.state = "searching"
        s.execute(sa.delete(Occupancy).where(Occupancy.booking_id == b.id))
        s.execute(sa.update(NightRate).where(NightRate.category_id == world.A.cat_id, NightRate.night == d(7))
                  .values(closed=True))
        s.commit()

    def cell(day):
        body = host.get(f"/p/{world.A.slug}/calendar?start={d(1).isoformat()}", headers=HTMX).get_data(as_text=True)
        return re.search(r'<td id="n-%s-%s"[^>]*>' % (world.A.cat_id, day.isoformat()), body).group(0)

    title = "A risk-free room-night is searched here: lift the restriction to be sure of payment"
    blocked = cell(d(7))
    assert "resale-blocked" in blocked and title in blocked
    assert "resale-blocked" not in cell(d(6)) and title not in cell(d(6))
    resp = host.post(f"/p/{world.A.slug}/bookings/{world.A.online_id}/lift-restrictions", headers=HTMX)
    assert resp.status_code == 204
    assert "resale-blocked" not in cell(d(7))


# -- the maximum stay (issue 11) -----------------------------------------------------------------

def _max_stay(db_session, cat_id, night):
    with db_session() as s:
        return s.get(NightRate, (cat_id, night)).max_stay


def test_night_editor_sets_shows_and_clears_the_max_stay(host, db_session, world):
    url = _night_url(world, d(10))
    body = host.get(url, headers=HTMX).get_data(as_text=True)
    assert 'name="max_stay"' in body and "Empty: no limit." in body
    resp = host.post(url, data={"price": "80", "quota": "3", "min_stay": "2", "max_stay": "7"}, headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    cell = re.search(r'<td id="n-%s-%s" hx-swap-oob="true"[^>]*>(.*?)</td>' % (world.A.cat_id, d(10).isoformat()), body, re.S)
    assert "≥2" in cell.group(1) and "≤7" in cell.group(1)  # the plan's marks
    assert _max_stay(db_session, world.A.cat_id, d(10)) == 7
    assert 'name="max_stay" type="number" value="7"' in host.get(url, headers=HTMX).get_data(as_text=True)
    history = re.sub(r"\s+", " ", host.get(f"/p/{world.A.slug}/history").get_data(as_text=True))
    assert "Maximum stay: no limit → 7 nights" in history
    host.post(url, data={"price": "80", "quota": "3", "min_stay": "2", "max_stay": ""}, headers=HTMX)  # empty: no limit
    assert _max_stay(db_session, world.A.cat_id, d(10)) is None
    plan = host.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    cell = re.search(r'<td id="n-%s-%s"[^>]*>(.*?)</td>' % (world.A.cat_id, d(10).isoformat()), plan, re.S)
    assert "≥2" in cell.group(1) and "≤" not in cell.group(1)


@pytest.mark.parametrize("data,message", [
    ({"max_stay": "0"}, "Number must be between 1 and 365."),
    ({"min_stay": "5", "max_stay": "3"}, "The maximum stay cannot be shorter than the minimum stay (5 nights)."),
])
def test_night_editor_refuses_a_bad_max_stay_by_the_field(app, host, world, data, message):
    before = snapshot(app)
    resp = host.post(_night_url(world, d(10)), data={"price": "80", "quota": "3", "min_stay": "1", **data}, headers=HTMX)
    assert resp.status_code == 422
    assert message in field_errors(resp.get_data(as_text=True), "max_stay")
    assert snapshot(app) == before


def test_bulk_edit_sets_and_removes_the_max_stay(app, host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk", data=_bulk(world, price="", max_stay="4"))
    assert resp.status_code == 302
    assert _max_stay(db_session, world.A.cat_id, d(9)) == 4 and _max_stay(db_session, world.A.cat_id, d(8)) is None
    assert _rate(db_session, world.A.cat_id, d(9))[0] == Decimal("80.00")  # the price stays
    before = snapshot(app)
    both = host.post(f"/p/{world.A.slug}/calendar/bulk", data=_bulk(world, price="", max_stay="4", clear_max_stay="y"))
    assert both.status_code == 422
    assert "Either set a maximum stay or remove it, not both." in field_errors(both.get_data(as_text=True), "max_stay")
    assert snapshot(app) == before
    resp = host.post(f"/p/{world.A.slug}/calendar/bulk", data=_bulk(world, price="", clear_max_stay="y"))
    assert resp.status_code == 302
    assert _max_stay(db_session, world.A.cat_id, d(9)) is None


def test_bulk_form_has_the_max_stay_fields(host, world):
    body = host.get(f"/p/{world.A.slug}/calendar/bulk", headers=HTMX).get_data(as_text=True)
    assert 'name="max_stay"' in body and 'name="clear_max_stay"' in body and "Remove the maximum stay" in body


def test_why_names_a_max_stay_and_its_fix_raises_it(host, db_session, world):
    """No arrival on d(10), and d(9) (after a closed d(8)) allows only one night: d(10) cannot be reached."""
    from services.availability import rates
    from services.models import Property, RoomCategory, User

    with db_session() as s:
        prop = s.get(Property, world.A.id)
        cat = s.get(RoomCategory, world.A.cat_id)
        owner = s.get(User, prop.owner_id)
        for day, change in ((d(8), rates.RateChange(closed=True)), (d(9), rates.RateChange(max_stay=1)),
                            (d(10), rates.RateChange(closed_to_arrival=True))):
            rates.set_night(s, owner, prop, cat, day, change)
    url = _why_url(world, d(10))
    body = host.get(url, headers=HTMX).get_data(as_text=True)
    assert 'data-reason="max_stay"' in body and 'value="raise_max_stay"' in body
    assert "Raise the maximum stay to 2 nights" in body
    resp = host.post(url, data={"action": "raise_max_stay"}, headers=HTMX)
    assert resp.status_code == 200 and "Guests can book this night online." in resp.get_data(as_text=True)
    assert _max_stay(db_session, world.A.cat_id, d(9)) == 2

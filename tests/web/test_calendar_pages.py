"""The calendar blueprint, for plain requests and for htmx (HX-Request: true): the month plan
(the same URL gives the page or the plan fragment), the night editor, bulk editing."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import inventory
from services.models import AuditEntry, NightRate, Property
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

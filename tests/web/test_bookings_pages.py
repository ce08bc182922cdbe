"""The bookings blueprint: own bookings (R2) made, edited and cancelled by the host, with the
final price (R4); online bookings changed by their channel only; the booking history."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.models import AuditEntry, Booking, NightRate, Occupancy, RoomNight
from tests.web.conftest import HTMX, NOW, assert_no_trace, d, field_errors, own_form as _own, snapshot


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


# -- own bookings (R2) -----------------------------------------------------------------------
def test_new_booking_form_fragment_and_page(host, world):
    url = f"/p/{world.A.slug}/bookings/new?unit_id={world.A.unit_ids[1]}&arrival={d(20).isoformat()}"
    frag = host.get(url, headers=HTMX)
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in body
    assert f'value="{d(20).isoformat()}"' in body and f'value="{d(21).isoformat()}"' in body  # departure: next day
    assert _selected(body, "unit_id") == str(world.A.unit_ids[1])
    page = host.get(url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)


def test_own_booking_via_htmx_answers_with_hx_redirect(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world), headers=HTMX)
    assert resp.status_code == 204
    assert resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/calendar"  # the window that shows d(20)
    b = _booking(db_session, guest_name="Paula Telefon")
    assert (b.source, b.status, b.arrival, b.departure, b.created_by_id) == ("own", "confirmed", d(20), d(22), world.host_a.id)
    assert _occupied_nights(db_session, b.id) == [d(20), d(21)]
    page = host.get(resp.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Own booking for Paula Telefon saved." in page and "Paula Telefon" in page


def test_own_booking_without_htmx_answers_303(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world, unit_id=world.A.unit_ids[2]))
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/p/{world.A.slug}/calendar"
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
    assert msg == f"{world.A.unit_names[0]} is already booked on these nights. (16/06/2030)"  # the reader's short date, day first
    assert snapshot(app) == before


def test_no_free_unit_left_names_the_nights(app, host, world):
    for name in ("Erster", "Zweiter"):
        assert host.post(f"/p/{world.A.slug}/bookings/new",
                         data=_own(world, guest_name=name, arrival=d(3).isoformat(), departure=d(4).isoformat())).status_code == 303
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world, arrival=d(2).isoformat(), departure=d(5).isoformat()))
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "arrival") == ["No free unit on these nights. (15/06/2030)"]
    assert snapshot(app) == before


def test_edit_own_booking_moves_its_nights(host, db_session, world):
    url = f"/p/{world.A.slug}/bookings/{world.A.own_id}/edit"
    form = host.get(url, headers=HTMX)
    body = form.get_data(as_text=True)
    assert form.status_code == 200 and "<html" not in body and f'value="{world.A.own_guest}"' in body
    resp = host.post(url, data=_own(world, arrival=d(8).isoformat(), departure=d(11).isoformat(),
                                    guest_name=world.A.own_guest), headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/calendar"
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
        f"{world.A.unit_names[0]} is already booked on these nights. (18/06/2030)"]
    assert snapshot(app) == before


def test_cancel_own_booking_frees_its_nights(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/cancel", headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/calendar"
    assert _booking(db_session, id=world.A.own_id).status == "cancelled"
    assert _occupied_nights(db_session, world.A.own_id) == []
    flash = host.get(resp.headers["HX-Redirect"]).get_data(as_text=True)
    assert f"Booking of {world.A.own_guest} cancelled; its nights are free again." in flash
    again = host.post(f"/p/{world.A.slug}/bookings/new",
                      data=_own(world, unit_id=world.A.unit_ids[0], arrival=d(3).isoformat(), departure=d(5).isoformat()))
    assert again.status_code == 303
    # Cancelling twice is harmless; a cancelled booking cannot be edited.
    assert host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/cancel").status_code == 303
    refused = host.get(f"/p/{world.A.slug}/bookings/{world.A.own_id}/edit")
    assert refused.status_code == 409 and "A cancelled booking cannot be changed." in refused.get_data(as_text=True)


def test_online_bookings_are_cancelled_and_changed_by_the_channel_only(app, host, world):
    before = snapshot(app)
    cancel = host.post(f"/p/{world.A.slug}/bookings/{world.A.online_id}/cancel")
    assert cancel.status_code == 409
    assert "Only the channel can cancel this booking." in cancel.get_data(as_text=True)
    edit = host.post(f"/p/{world.A.slug}/bookings/{world.A.online_id}/edit", data=_own(world))
    assert edit.status_code == 409 and "Only own bookings can be edited here." in edit.get_data(as_text=True)
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
    short = lambda day: f"{day:%d/%m/%Y}"  # noqa: E731 - English short dates, day first (never 6/18/30)
    assert f"change of #{world.A.online_id}: {short(d(6))}–{short(d(8))}" in english_page
    assert f"→ {short(d(10))}–{short(d(12))}" in english_page
    assert f"€30.00 due {short(d(5))}" in english_page
    host.post("/language", data={"lang-locale": "de", "next": new_url})
    german_page = host.get(new_url).get_data(as_text=True)
    assert f"Änderung von #{world.A.online_id}: {d(6):%d.%m.%y}–{d(8):%d.%m.%y}" in german_page
    assert f"30,00\xa0€ fällig am {d(5):%d.%m.%y}" in german_page
    old_page = host.get(base).get_data(as_text=True)
    assert "ersetzt durch #" in old_page and "T0" not in re.sub(r"<[^>]+>", "", old_page).split("Verlauf")[-1]


# -- the own-booking form's defaults and choices (issue 9) ----------------------------------------

def _selected(body: str, field: str) -> str | None:
    """The value a <select> shows: its option marked selected, else its first."""
    select = re.search(r'<select[^>]*name="%s".*?</select>' % field, body, re.S).group(0)
    for opt in re.findall(r"<option[^>]*>", select):
        if re.search(r"\bselected\b", opt):
            return re.search(r'value="([^"]*)"', opt).group(1)
    first = re.search(r'<option[^>]*value="([^"]*)"', select)
    return first.group(1) if first else None


def _input_value(body: str, name: str) -> str:
    return re.search(r'<input[^>]*name="%s"[^>]*value="([^"]*)"' % name, body).group(1)


def test_new_booking_defaults_are_valid_for_the_category(host, db_session, world):
    from services.models import RoomCategory
    with db_session() as s:
        s.get(RoomCategory, world.A.cat_id).max_guests = 1  # a single room: the default of 2 would be refused
        s.commit()
    body = host.get(f"/p/{world.A.slug}/bookings/new", headers=HTMX).get_data(as_text=True)
    assert _selected(body, "category_id") == str(world.A.cat_id)
    assert _input_value(body, "guests") == "1" and _input_value(body, "units") == "1"
    # Saved as it stands (plus a name and dates), the defaults pass the use case.
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data={
        "category_id": _selected(body, "category_id"), "unit_id": _selected(body, "unit_id"),
        "units": _input_value(body, "units"), "guests": _input_value(body, "guests"),
        "arrival": d(20).isoformat(), "departure": d(21).isoformat(), "guest_name": "Single"})
    assert resp.status_code == 303


def test_unit_choices_carry_their_category_for_the_filter(host, world):
    body = host.get(f"/p/{world.A.slug}/bookings/new").get_data(as_text=True)
    assert re.search(r'<select[^>]*data-filters="unit_id"[^>]*name="category_id"|<select[^>]*name="category_id"[^>]*data-filters="unit_id"', body)
    for unit_id in world.A.unit_ids:
        assert re.search(r'<option data-category="%s" value="%s">' % (world.A.cat_id, unit_id), body)
    assert _selected(body, "unit_id") == "0"


def test_form_opened_from_the_plan_is_prefilled(host, world):
    """The plan's two taps on a unit row send unit, arrival and departure (portal.js openBooking)."""
    unit = world.A.unit_ids[2]
    body = host.get(f"/p/{world.A.slug}/bookings/new?unit_id={unit}&arrival={d(20)}&departure={d(23)}",
                    headers=HTMX).get_data(as_text=True)
    assert _selected(body, "unit_id") == str(unit) and _selected(body, "category_id") == str(world.A.cat_id)
    assert _input_value(body, "arrival") == d(20).isoformat() and _input_value(body, "departure") == d(23).isoformat()
    assert re.search(r'<input[^>]*autofocus[^>]*name="guest_name"|<input[^>]*name="guest_name"[^>]*autofocus', body)


def test_after_saving_the_plan_shows_the_window_of_the_arrival(host, world):
    """A phone shows 7 nights (its cookie): the plan it returns to is the one with the stay."""
    host.set_cookie("plan_days", "7")
    resp = host.post(f"/p/{world.A.slug}/bookings/new", data=_own(world), headers=HTMX)  # d(20)
    assert resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/calendar?start={d(20).isoformat()}"
    page = host.get(resp.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Paula Telefon" in page


def test_more_rooms_wanted_than_free_says_how_many(app, host, world):
    # Gustav has one unit on d(3) and d(4); a second guest takes another on d(3): one unit left that night.
    assert host.post(f"/p/{world.A.slug}/bookings/new",
                     data=_own(world, guest_name="Zweiter", arrival=d(3).isoformat(), departure=d(4).isoformat())).status_code == 303
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/new", headers=HTMX,
                     data=_own(world, units=2, arrival=d(2).isoformat(), departure=d(5).isoformat()))
    assert resp.status_code == 422
    [msg] = field_errors(resp.get_data(as_text=True), "arrival")
    assert msg.startswith("2 rooms wanted, 1 free on these nights. (")
    assert ", " not in msg.split("(", 1)[1]  # one night named: d(3)
    assert snapshot(app) == before


def test_a_deposit_with_more_than_two_decimals_is_refused(app, host, world):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/deposit",
                     data={"deposit_amount": "30.005", "deposit_due": d(2).isoformat()})
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "deposit_amount") == ["Use at most two decimal places, e.g. 89.99."]
    assert snapshot(app) == before


# -- who pays a risk-free booking (issue 10, R51, R54, R55, R57) --------------------------------

CHANGED = dt.datetime(2030, 6, 10, 7, 5, tzinfo=dt.timezone.utc)  # 09:05 in Berlin


def _settled(db_session, world, kept: bool):
    """A's online booking made risk-free; its first night resold to A's own booking (R54), the
    second paid by the platform (R55); with `kept`, a second room the guest kept (R57). Returns
    the booking's rows as (night, unit name)."""
    with db_session() as s:
        b = s.get(Booking, world.A.online_id)
        b.risk_free = True
        rows = sorted(s.scalars(sa.select(RoomNight).where(RoomNight.booking_id == b.id)), key=lambda r: r.night)
        rows[0].state, rows[0].amount_paid, rows[0].resold_by_id = "resold", Decimal("120.00"), world.A.own_id
        rows[1].state, rows[1].amount_paid = "paid_by_platform", Decimal("70.00")
        for r in rows:
            r.changed_at = CHANGED
        if kept:
            other = next(u for u in world.A.unit_ids if u != rows[0].unit_id)
            s.add(RoomNight(booking_id=b.id, night=rows[0].night, unit_id=other, price=Decimal("80.00"),
                            commissionable=Decimal("80.00"), state="sold", changed_at=CHANGED))
        s.commit()
        return [(r.night, r.unit.name) for r in rows]


def _status_cell(page, guest):
    rows = re.findall(r"<tr class=[^>]*>(.*?)</tr>", page, re.S)
    row = next(r for r in rows if guest in r)
    return re.search(r'<td data-label="[^"]*">((?:(?!<td).)*payment-status(?:(?!</td>).)*)</td>', row, re.S)


def _ledger_rows(page):
    table = re.search(r'<table class="list room-nights">(.*?)</table>', page, re.S).group(1)
    return [[re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr class=\"rn-[a-z_]+\">(.*?)</tr>", table, re.S)]


def test_a_risk_free_booking_paid_by_the_platform_is_labelled_and_shows_who_pays(host, db_session, world):
    """R51/R57: "Paid by Booking.com" next to the risk-free label in the list and on the detail;
    the detail's per room-night table says state, payer (a link to the resale), amount and when."""
    (n1, unit), (n2, _) = _settled(db_session, world, kept=False)
    listing = host.get(f"/p/{world.A.slug}/bookings").get_data(as_text=True)
    cell = _status_cell(listing, world.A.online_guest)
    assert cell and "Risk-free reservation" in cell.group(1) and "Paid by Booking.com" in cell.group(1)
    assert "Partially paid" not in listing
    own_row = next(r for r in re.findall(r"<tr class=[^>]*>(.*?)</tr>", listing, re.S) if world.A.own_guest in r)
    assert "payment-status" not in own_row and "Booking.com" not in own_row
    url = f"/p/{world.A.slug}/bookings/{world.A.online_id}"
    detail = host.get(url).get_data(as_text=True)
    assert '<span class="chip risk-free payment-status">Paid by Booking.com</span>' in detail
    resale = f'<a href="/p/{world.A.slug}/bookings/{world.A.own_id}">the new guest (#{world.A.own_id})</a>'
    assert _ledger_rows(detail) == [
        [f"{n1:%d/%m/%Y}", unit, "€80.00", "resold", resale, "€120.00", "10/06/2030, 09:05"],
        [f"{n2:%d/%m/%Y}", unit, "€80.00", "paid by the platform", "the platform", "€70.00", "10/06/2030, 09:05"],
    ]
    heads = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', detail)
    assert heads[-7:] == ["Night", "Unit", "Price", "State", "Paid by", "Amount paid", "Changed"]
    host.post("/language", data={"lang-locale": "de", "next": url})
    german = host.get(url).get_data(as_text=True)
    assert 'class="chip risk-free payment-status"' in german
    rows = _ledger_rows(german)
    assert [r[3] for r in rows] == ["weiterverkauft", "von der Plattform bezahlt"]
    assert [r[5] for r in rows] == ["120,00 €", "70,00 €"] and rows[0][6] == "10.06.30, 09:05"  # spaces normalised
    assert f'href="/p/{world.A.slug}/bookings/{world.A.own_id}"' in rows[0][4]
    german_list = host.get(f"/p/{world.A.slug}/bookings").get_data(as_text=True)
    assert _status_cell(german_list, world.A.online_guest)


def test_some_rooms_kept_is_partially_paid_by_booking_com(host, db_session, world):
    """R57: one room kept by the guest, the other's nights resold and paid by the platform."""
    _settled(db_session, world, kept=True)
    listing = host.get(f"/p/{world.A.slug}/bookings").get_data(as_text=True)
    assert "Partially paid by Booking.com" in _status_cell(listing, world.A.online_guest).group(1)
    detail = host.get(f"/p/{world.A.slug}/bookings/{world.A.online_id}").get_data(as_text=True)
    assert '<span class="chip risk-free payment-status">Partially paid by Booking.com</span>' in detail
    kept = [r for r in _ledger_rows(detail) if r[3] == "sold"]
    assert len(kept) == 1 and kept[0][4:] == ["the guest", "–", "–"]


def test_an_ordinary_booking_shows_no_payer_columns(host, db_session, world):
    """Outside the programme a cancelled room-night is just cancelled: no payment label, no payer."""
    with db_session() as s:
        for r in s.scalars(sa.select(RoomNight).where(RoomNight.booking_id == world.A.online_id)):
            r.state = "cancelled"
        s.commit()
    detail = host.get(f"/p/{world.A.slug}/bookings/{world.A.online_id}").get_data(as_text=True)
    assert [len(r) for r in _ledger_rows(detail)] == [4, 4]
    assert "payment-status" not in detail and ">Paid by<" not in detail


def test_the_list_loads_who_pays_in_one_query_for_the_whole_page(host, db_session, world, count_queries):
    """No N+1: the payment labels of one risk-free booking or of several cost the same queries."""
    _settled(db_session, world, kept=False)
    url = f"/p/{world.A.slug}/bookings"
    host.get(url)
    with count_queries() as one:
        assert host.get(url).status_code == 200
    with db_session() as s:
        s.get(Booking, world.A.own_id).risk_free = True
        for i in range(3):
            b = Booking(property_id=world.A.id, category_id=world.A.cat_id, source="booking", status="cancelled",
                        arrival=d(20 + i), departure=d(21 + i), units=1, guests=1, guest_name=f"Rita {i}",
                        risk_free=True, created_at=NOW, updated_at=NOW)
            s.add(b)
            s.flush()
            s.add(RoomNight(booking_id=b.id, night=d(20 + i), unit_id=world.A.unit_ids[0], price=Decimal("80.00"),
                            commissionable=Decimal("80.00"), state="paid_by_platform", amount_paid=Decimal("80.00"),
                            changed_at=CHANGED))
        s.commit()
    with count_queries() as several:
        page = host.get(url).get_data(as_text=True)
    assert len(several) == len(one)
    assert page.count("Paid by Booking.com") == 4


# -- R53: restrictions that stop the replacement search, lifted in one click --------------------

def _searching(db_session, world, tenant="A", close=(7,)):
    """The tenant's online booking (nights d(6), d(7)) made risk-free and cancelled: its room-nights
    searching, its nights free again (R52); the nights `close` closed for online bookings."""
    t = getattr(world, tenant)
    with db_session() as s:
        b = s.get(Booking, t.online_id)
        b.risk_free, b.status = True, "cancelled"
        for r in s.scalars(sa.select(RoomNight).where(RoomNight.booking_id == b.id)):
            r.state = "searching"
        s.execute(sa.delete(Occupancy).where(Occupancy.booking_id == b.id))
        for n in close:
            s.execute(sa.update(NightRate).where(NightRate.category_id == t.cat_id, NightRate.night == d(n))
                      .values(closed=True))
        s.commit()


def _blockers(page):
    m = re.search(r'<section class="banner warn resale-blockers".*?</section>', page, re.S)
    return m.group(0) if m else None


def test_the_detail_warns_of_restrictions_on_searched_nights(host, db_session, world):
    """R53/R59: the closed searched night is named with its reason, with one lift button."""
    url = f"/p/{world.A.slug}/bookings/{world.A.online_id}"
    _searching(db_session, world, close=())
    assert _blockers(host.get(url).get_data(as_text=True)) is None  # open availability: no warning
    _searching(db_session, world)
    warning = _blockers(host.get(url).get_data(as_text=True))
    assert warning and "Restrictions stop the replacement search" in warning
    items = re.findall(r'<li data-night="([^"]+)">(.*?)</li>', warning, re.S)
    assert [n for n, _ in items] == [d(7).isoformat()]
    assert "The night is closed for online bookings." in items[0][1]
    assert warning.count("<button") == 1 and "Lift these restrictions" in warning
    assert f'hx-post="{url}/lift-restrictions"' in warning and 'name="csrf_token"' in warning


def test_lifting_opens_exactly_those_nights_with_history_and_says_so(host, db_session, world):
    """R53: the lift opens the searched closed night (one history line), leaves another closed
    night alone, answers htmx with a redirect to the detail and a success message; a second
    click finds nothing to lift (409)."""
    _searching(db_session, world, close=(7, 20))
    url = f"/p/{world.A.slug}/bookings/{world.A.online_id}"
    with db_session() as s:
        edits = s.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "rates"))
    resp = host.post(f"{url}/lift-restrictions", headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == url
    with db_session() as s:
        assert s.get(NightRate, (world.A.cat_id, d(7))).closed is False
        assert s.get(NightRate, (world.A.cat_id, d(20))).closed is True
        assert s.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "rates")) == edits + 1
    page = host.get(url).get_data(as_text=True)
    assert "Restrictions lifted: the searched nights are open for a replacement guest." in page
    assert _blockers(page) is None
    again = host.post(f"{url}/lift-restrictions")
    assert again.status_code == 409
    assert "there is nothing to lift" in again.get_data(as_text=True)


def test_another_hosts_booking_cannot_be_lifted(host, db_session, world):
    """Tenant isolation: B's booking under A's address is 404, B's address is refused; nothing changes."""
    _searching(db_session, world, tenant="B")
    assert host.post(f"/p/{world.A.slug}/bookings/{world.B.online_id}/lift-restrictions").status_code == 404
    assert host.post(f"/p/{world.B.slug}/bookings/{world.B.online_id}/lift-restrictions").status_code in (403, 404)
    with db_session() as s:
        assert s.get(NightRate, (world.B.cat_id, d(7))).closed is True

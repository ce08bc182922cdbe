"""services.bookings.ledger: what each booking sold per room-night (issue 10, R55, R57).

Every booking path writes the rows through inventory.take; a cancellation changes states, never
amounts, so the original total stays readable next to what the guest still owes."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from services.availability import inventory
from services.bookings import ledger, own
from services.channels import connections, host_changes, reservations
from services.channels.reservations import ReservationInput
from services.core import clock
from services.models import NightRate, RoomNight
from services.properties import registry
from tests.factories import make_property, new_booking


def _reprice(session, prop, night, price):
    session.execute(sa.update(NightRate).where(NightRate.category_id == prop.categories[0].id, NightRate.night == night)
                    .values(price=Decimal(price)))
    session.commit()


def _setup(session):
    clock.set_now(clock.now())
    prop = make_property(session, units=2, price="100.00")
    registry.add_extra_cost(session, prop.owner, prop, "Endreinigung", "30", "stay", None)
    arrival = clock.today(prop.timezone) + dt.timedelta(days=1)
    _reprice(session, prop, arrival + dt.timedelta(days=1), "130.00")  # the second night costs more
    return prop, arrival


def _input(prop, arrival, external_id="ORD-1", nights=3, units=2, status="confirmed", total=None):
    return ReservationInput(
        external_id=external_id, room_category_id=prop.categories[0].id, arrival=arrival,
        departure=arrival + dt.timedelta(days=nights), units=units, guests=1, guest_name="Eva Gast",
        guest_email="eva@example.com", guest_phone="+420 1", status=status, total_price=total, risk_free=False,
        free_cancellation_until=None)


def _rows(session, booking):
    return [(r.night, r.unit_id, r.price, r.commissionable, r.state) for r in ledger.ledger(session, booking)]


def test_api_booking_of_two_units_three_nights_has_six_rows_priced_as_quoted(session):
    """R57: each room-night keeps its price; commissionable is lodging only, the cleaning is not."""
    prop, arrival = _setup(session)
    conn, _ = connections.switch_on(session, None, prop, "slevomat")
    b, _ = reservations.create(session, conn, _input(prop, arrival))
    assert b.total_price == Decimal("720.00")  # (100 + 130 + 100) x 2 + 30 x 2
    rows = ledger.ledger(session, b)
    assert len(rows) == 6 and {r.state for r in rows} == {"sold"}
    by_night = {}
    for r in rows:
        by_night.setdefault(r.night, set()).add((r.commissionable, r.price))
    assert by_night == {arrival: {(Decimal("100.00"), Decimal("110.00"))},
                        arrival + dt.timedelta(days=1): {(Decimal("130.00"), Decimal("140.00"))},
                        arrival + dt.timedelta(days=2): {(Decimal("100.00"), Decimal("110.00"))}}
    assert len({r.unit_id for r in rows}) == 2
    assert ledger.amounts(session, b) == (Decimal("720.00"), Decimal("720.00"), Decimal("0.00"))


def test_cancelling_one_unit_marks_its_three_rows_and_keeps_every_amount(session):
    """R57: kept rooms are charged as usual; the cancelled ones keep what they were sold for."""
    prop, arrival = _setup(session)
    conn, _ = connections.switch_on(session, None, prop, "slevomat")
    b, _ = reservations.create(session, conn, _input(prop, arrival))
    before = {(n, u): (p, c) for n, u, p, c, _ in _rows(session, b)}
    b = reservations.cancel(session, conn, b.id, units=1)
    rows = ledger.ledger(session, b)
    assert {(r.night, r.unit_id): (r.price, r.commissionable) for r in rows} == before
    cancelled = [r for r in rows if r.state == "cancelled"]
    assert len(cancelled) == 3 and len({r.unit_id for r in cancelled}) == 1
    assert all(r.changed_at == clock.now() for r in cancelled)
    original, due, gone = ledger.amounts(session, b)
    assert (original, due, gone) == (Decimal("720.00"), Decimal("360.00"), Decimal("360.00"))
    assert b.total_price == due and b.units == 1
    b = reservations.cancel(session, conn, b.id)
    assert {r.state for r in ledger.ledger(session, b)} == {"cancelled"}
    assert ledger.amounts(session, b) == (Decimal("720.00"), Decimal("0.00"), Decimal("720.00"))


def test_a_channel_total_is_spread_by_the_nightly_prices(session):
    prop, arrival = _setup(session)
    conn, _ = connections.switch_on(session, None, prop, "slevomat")
    b, _ = reservations.create(session, conn, _input(prop, arrival, units=1, total=Decimal("396.00")))
    rows = ledger.ledger(session, b)
    # lodging 366 = 396 - 30 cleaning, split 100:130:100; the cleaning evenly
    assert [r.commissionable for r in rows] == [Decimal("110.91"), Decimal("144.18"), Decimal("110.91")]
    assert sum(r.price for r in rows) == Decimal("396.00")


def test_own_booking_writes_rows_and_its_cancellation_keeps_the_amounts(session):
    prop, arrival = _setup(session)
    data = own.OwnBookingData(category_id=prop.categories[0].id, arrival=arrival,
                              departure=arrival + dt.timedelta(days=2), guest_name="Maria", guests=1)
    b = own.create_own_booking(session, prop.owner, prop, data)
    assert [(r[2], r[3]) for r in _rows(session, b)] == [(Decimal("115.00"), Decimal("100.00")),
                                                         (Decimal("145.00"), Decimal("130.00"))]
    # An edit replaces the sold rows with the new stay's.
    data.departure = arrival + dt.timedelta(days=3)
    b = own.update_own_booking(session, prop.owner, prop, b.id, data)
    assert sum(r.price for r in ledger.ledger(session, b)) == b.total_price == Decimal("360.00")
    assert len(ledger.ledger(session, b)) == 3
    own.cancel_own_booking(session, prop.owner, prop, b.id)
    assert ledger.amounts(session, b) == (Decimal("360.00"), Decimal("0.00"), Decimal("360.00"))


def test_hold_and_confirmation_keep_one_set_of_rows(session):
    prop, arrival = _setup(session)
    conn, _ = connections.switch_on(session, None, prop, "slevomat", hold_minutes=60)
    hold, _ = reservations.create(session, conn, _input(prop, arrival, status="pending"))
    first = _rows(session, hold)
    assert len(first) == 6
    clock.set_now(clock.now() + dt.timedelta(minutes=61))  # the hold ran out; confirming takes the nights again
    b = reservations.confirm(session, conn, hold.id)
    assert [r[:4] for r in _rows(session, b)] == [r[:4] for r in first]


def test_modification_writes_rows_for_the_new_stay(session):
    prop, arrival = _setup(session)
    conn, _ = connections.switch_on(session, None, prop, "slevomat")
    b, _ = reservations.create(session, conn, _input(prop, arrival, units=1, nights=2))
    new = host_changes.modify(session, prop.owner, prop, b.id, arrival + dt.timedelta(days=1),
                              arrival + dt.timedelta(days=3), prop.categories[0].id)
    rows = ledger.ledger(session, new)
    assert [r.night for r in rows] == [arrival + dt.timedelta(days=1), arrival + dt.timedelta(days=2)]
    assert sum(r.price for r in rows) == new.total_price == Decimal("260.00")  # 130 + 100 + 30


def test_ical_blocks_sell_nothing_and_get_no_rows(session):
    prop, arrival = _setup(session)
    block = new_booking(prop, arrival=arrival, source="ical")
    session.add(block)
    inventory.take(session, block)
    session.commit()
    assert session.scalar(sa.select(sa.func.count(RoomNight.id)).where(RoomNight.booking_id == block.id)) == 0


def test_migration_spreads_existing_bookings_over_their_room_nights(tmp_path):
    """0004 gives bookings that exist rows for what they occupy: the lodging by the nightly prices
    where every night has one (mandatory costs of the kept breakdown evenly), else the total evenly."""
    from flask_migrate import downgrade, upgrade

    from portal import create_app
    from portal.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}"})
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as c:
            sql = c.exec_driver_sql
            sql("INSERT INTO office (id, name, email) VALUES (1, 'o', '')")
            sql("INSERT INTO user_account (id, email, name, password_hash, role, locale, active, created_at, session_generation)"
                " VALUES (1, 'a@b.c', 'n', 'x', 'host', 'de', 1, '2026-01-01 00:00:00', 0)")
            sql("INSERT INTO property (id, slug, name, owner_id, office_id, street, postcode, city, country, phone, email,"
                " timezone, currency, inventory_version, created_at) VALUES (1, 'p', 'P', 1, 1, '', '', '', 'DE', '', '',"
                " 'Europe/Berlin', 'EUR', 0, '2026-01-01 00:00:00')")
            sql("INSERT INTO room_category (id, property_id, name, max_guests, position, ical_token_hash)"
                " VALUES (1, 1, 'c', 2, 0, 'h')")
            sql("INSERT INTO unit (id, category_id, name, position) VALUES (1, 1, 'Room 1', 0), (2, 1, 'Room 2', 1)")
            sql("INSERT INTO night_rate (category_id, night, quota, price, min_stay, closed, closed_to_arrival,"
                " closed_to_departure) VALUES (1, '2026-12-01', 2, 100, 1, 0, 0, 0), (1, '2026-12-02', 2, 150, 1, 0, 0, 0)")
            booking = ("INSERT INTO booking (id, property_id, category_id, source, status, arrival, departure, units, guests,"
                       " guest_name, guest_email, guest_phone, notes, total_price, price_breakdown, created_at, updated_at,"
                       " payment_mode, risk_free) VALUES (?, 1, 1, ?, ?, ?, ?, ?, 1, 'g', '', '', '', ?, ?,"
                       " '2026-11-01 10:00:00', '2026-11-02 10:00:00', 'on_arrival', 0)")
            sql(booking, (1, "booking", "confirmed", "2026-12-01", "2026-12-03", 2, "530.00",
                          '{"lodging": "500.00", "extras": [{"name": "Clean", "amount": "30.00"}], "total": "530.00"}'))
            sql(booking, (2, "own", "confirmed", "2027-01-10", "2027-01-13", 1, "100.00", None))
            sql(booking, (3, "own", "cancelled", "2026-12-01", "2026-12-03", 1, "250.00", None))
            sql("INSERT INTO occupancy (booking_id, unit_id, night) VALUES (1, 1, '2026-12-01'), (1, 2, '2026-12-01'),"
                " (1, 1, '2026-12-02'), (1, 2, '2026-12-02'), (2, 1, '2027-01-10'), (2, 1, '2027-01-11'),"
                " (2, 1, '2027-01-12')")
        upgrade(revision="0004")
        with db.engine.connect() as c:
            rows = c.exec_driver_sql("SELECT booking_id, night, unit_id, price, commissionable, state FROM room_night"
                                     " ORDER BY booking_id, night, unit_id").all()
        got = [(b, str(n), u, Decimal(str(p)).quantize(Decimal("0.01")), Decimal(str(c)).quantize(Decimal("0.01")), s)
               for b, n, u, p, c, s in rows]
        assert got == [
            (1, "2026-12-01", 1, Decimal("107.50"), Decimal("100.00"), "sold"),
            (1, "2026-12-01", 2, Decimal("107.50"), Decimal("100.00"), "sold"),
            (1, "2026-12-02", 1, Decimal("157.50"), Decimal("150.00"), "sold"),
            (1, "2026-12-02", 2, Decimal("157.50"), Decimal("150.00"), "sold"),
            (2, "2027-01-10", 1, Decimal("33.33"), Decimal("33.33"), "sold"),
            (2, "2027-01-11", 1, Decimal("33.33"), Decimal("33.33"), "sold"),
            (2, "2027-01-12", 1, Decimal("33.34"), Decimal("33.34"), "sold"),
        ]
        downgrade(revision="0003")
        upgrade()
        db.engine.dispose()


def test_detail_shows_the_room_nights_once_part_is_cancelled_in_constant_queries(session, client, count_queries):
    """The host sees the original total next to what is still due, and each room-night's state;
    the page's SQL does not grow with the number of room-nights."""
    import re

    from tests.factories import login

    prop, arrival = _setup(session)
    prop.owner.locale = "en"
    conn, _ = connections.switch_on(session, None, prop, "slevomat")
    short, _ = reservations.create(session, conn, _input(prop, arrival, "S", nights=1))
    long, _ = reservations.create(session, conn, _input(prop, arrival + dt.timedelta(days=5), "L", nights=6))
    session.commit()
    login(client, prop.owner)
    url = f"/p/{prop.slug}/bookings/"
    assert "Per room-night" not in client.get(url + str(short.id)).get_data(as_text=True)  # nothing cancelled yet
    reservations.cancel(session, conn, short.id, units=1)
    reservations.cancel(session, conn, long.id, units=1)
    session.commit()
    ids = (short.id, long.id)
    counts = []
    for booking_id in ids:
        client.get(url + str(booking_id))
        session.expire_all()  # the requests share this session: each starts from nothing loaded
        with count_queries() as statements:
            body = client.get(url + str(booking_id)).get_data(as_text=True)
        counts.append(len(statements))
        assert sum("FROM room_night" in q for q in statements) == 1 and not any("FROM unit \nWHERE" in q for q in statements)
        assert "Per room-night" in body
    assert counts[0] == counts[1]
    body = client.get(url + str(ids[0])).get_data(as_text=True)
    # 2 units x 1 night: each room-night 100 lodging + 30 cleaning (30 per stay and unit)
    totals = re.search(r'<table class="price-breakdown ledger-totals">(.*?)</table>', body, re.S).group(1)
    cells = [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", totals, re.S)]
    assert cells == ["Original total", "€260.00", "Cancelled", "€130.00", "Still due from the guest", "€130.00"]
    table = re.search(r'<table class="list room-nights">(.*?)</table>', body, re.S).group(1)
    assert table.count("<tr class=\"rn-sold\">") == 1 and table.count("<tr class=\"rn-cancelled\">") == 1
    assert table.count("€130.00") == 2

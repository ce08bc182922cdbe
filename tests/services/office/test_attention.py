"""The office's home (issue 14, "What needs attention"): each signal raised and not raised at its
edges, office isolation, filters and order, a constant number of queries, and the use cases that
mark the plan maintained."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import rates, undo
from services.bookings import own
from services.core import clock
from services.core.errors import Forbidden
from services.models import (
    AuditEntry, Booking, CancellationReport, ChannelConnection, DoubleBooking, NightRate, Photo, Review, RoomNight,
    Statement,
)
from services.office import attention, contracts
from tests.factories import make_office, make_property, make_user, new_booking

NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)  # 10:00 in Berlin


@pytest.fixture
def office(session):
    clock.set_now(NOW)
    return make_office(session, "Tourist-Info Eins")


@pytest.fixture
def staff(session, office):
    return make_user(session, "staff", office)


@pytest.fixture
def prop(session, office):
    """A property with 90 nights priced, one category, every R71 motive photographed: quiet."""
    p = make_property(session, office=office, days=attention.WINDOW_DAYS)
    p.name = "Pension Quiet"
    for motive in ("interior", "view", "exterior", "feature"):
        _photo(session, p.id, motive)
    _photo(session, p.id, "room", p.categories[0].id)
    session.commit()
    return p


def _photo(session, prop_id, motive, category_id=None):
    n = session.scalar(sa.select(sa.func.count()).select_from(Photo)) or 0
    session.add(Photo(property_id=prop_id, motive=motive, category_id=category_id, position=n,
                      original_key=f"o{n}", web_key=f"w{n}", thumb_key=f"t{n}", width=2048, height=1536,
                      source_format="JPEG", size_bytes=1, created_at=clock.now()))
    session.flush()


def _signals(session, actor, prop) -> dict[str, int]:
    row = next(r for r in attention.board(session, actor).rows if r.prop.id == prop.id)
    return {s.key: s.count for s in row.signals}


def _booking(session, prop, status="confirmed", source="booking", created=None) -> Booking:
    b = new_booking(prop, source=source, status=status)
    if created is not None:
        b.created_at = b.updated_at = created
    session.add(b)
    session.flush()
    return b


def test_a_well_kept_property_raises_nothing(session, staff, prop):
    board = attention.board(session, staff)
    assert [r.prop.id for r in board.rows] == [prop.id]
    assert board.rows[0].signals == [] and board.quiet == 1 and board.total == 1


# -- nights without price or quota ---------------------------------------------------------------

def test_nights_without_a_price_or_a_quota_are_counted(session, staff, prop):
    cat = prop.categories[0]
    today = clock.today(prop.timezone)
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id, NightRate.night == today)
                    .values(price=None))
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id,
                                               NightRate.night == today + dt.timedelta(days=1)).values(quota=0))
    session.execute(sa.delete(NightRate).where(NightRate.category_id == cat.id,
                                               NightRate.night == today + dt.timedelta(days=89)))  # the last night
    session.commit()
    assert _signals(session, staff, prop) == {"calendar_gaps": 3}


def test_the_window_ends_after_90_nights_and_closed_nights_are_no_gap(session, staff, prop):
    cat = prop.categories[0]
    today = clock.today(prop.timezone)
    session.add(NightRate(category_id=cat.id, night=today + dt.timedelta(days=90), quota=0, price=None))  # night 91
    session.add(NightRate(category_id=cat.id, night=today - dt.timedelta(days=1), quota=0, price=None))  # yesterday
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id, NightRate.night == today)
                    .values(price=None, quota=0, closed=True))
    session.commit()
    assert _signals(session, staff, prop) == {}


def test_each_room_category_counts_its_own_nights(session, staff, office):
    p = make_property(session, office=office, categories=2, days=80)  # 10 nights missing in each
    assert _signals(session, staff, p)["calendar_gaps"] == 20


def test_the_window_starts_at_the_property_s_local_today(session, staff, office):
    clock.set_now(dt.datetime(2030, 6, 12, 23, 30, tzinfo=dt.timezone.utc))  # 13 June in Berlin, 12 June in New York
    berlin = make_property(session, office=office, days=90)
    ny_today = dt.date(2030, 6, 12)
    ny = make_property(session, office=office, days=90, start=ny_today)
    ny.timezone = "America/New_York"
    session.commit()
    assert clock.today(berlin.timezone) != clock.today(ny.timezone)
    assert "calendar_gaps" not in _signals(session, staff, berlin)
    assert "calendar_gaps" not in _signals(session, staff, ny)
    ny.timezone = "Europe/Berlin"  # now its first night is yesterday and night 90 is missing
    session.commit()
    assert _signals(session, staff, ny)["calendar_gaps"] == 1


# -- double bookings, cancellations waiting ---------------------------------------------------------

def _double_booking(session, prop, status):
    today = clock.today(prop.timezone)
    session.add(DoubleBooking(property_id=prop.id, category_id=prop.categories[0].id, first_night=today,
                              last_night=today, cause="check", status=status, opened_at=clock.now()))
    session.commit()


@pytest.mark.parametrize("status, counted", [("open", 1), ("handed_over", 1), ("resolved", 0)])
def test_open_double_bookings_are_counted_resolved_ones_not(session, staff, prop, status, counted):
    _double_booking(session, prop, status)
    assert _signals(session, staff, prop).get("double_bookings", 0) == counted


@pytest.mark.parametrize("status, counted", [("waiting", 1), ("cancelled", 0), ("declined", 0)])
def test_cancellations_waiting_for_staff(session, staff, prop, status, counted):
    b = _booking(session, prop)
    session.add(CancellationReport(booking_id=b.id, property_id=prop.id, reported_at=clock.now(),
                                   guest_told_on=clock.today(prop.timezone), told_by="phone", status=status))
    session.commit()
    got = _signals(session, staff, prop)
    assert got.get("cancellations_waiting", 0) == counted
    if counted:
        row = attention.board(session, staff).rows[0]
        assert row.signal("cancellations_waiting").endpoint == "office.cancellations"
        assert row.signal("cancellations_waiting").args == {}  # the office's queue, not a property's page


# -- holds (R36) ----------------------------------------------------------------------------------

@pytest.mark.parametrize("minutes, active, counted", [(60, True, 0), (61, True, 1), (61, False, 0)])
def test_connections_holding_longer_than_an_hour(session, staff, prop, minutes, active, counted):
    session.add(ChannelConnection(property_id=prop.id, channel="slevomat", key_prefix="k" * 12, key_hash="x",
                                  hold_minutes=minutes, active=active, created_at=clock.now(), updated_at=clock.now()))
    session.commit()
    assert _signals(session, staff, prop).get("long_hold_connections", 0) == counted


@pytest.mark.parametrize("age, status, counted", [
    (59, "pending", 0), (61, "pending", 1),
    (600, "confirmed", 0), (600, "expired", 0),  # a paid order and a swept hold are no fault
])
def test_pending_holds_older_than_an_hour(session, staff, prop, age, status, counted):
    _booking(session, prop, status=status, source="slevomat", created=NOW - dt.timedelta(minutes=age))
    session.commit()
    assert _signals(session, staff, prop).get("stale_holds", 0) == counted


def test_a_hold_that_ran_out_but_was_not_swept_is_counted(session, staff, prop):
    """Expiry is lazy: a pending hold past its expiry still says "pending" when no worker swept it."""
    b = _booking(session, prop, status="pending", source="slevomat", created=NOW - dt.timedelta(hours=5))
    b.hold_expires_at = NOW - dt.timedelta(hours=4)
    session.commit()
    assert _signals(session, staff, prop)["stale_holds"] == 1


# -- reviews --------------------------------------------------------------------------------------

def _review(session, prop, status="published", reply=None, reported=False):
    conn = session.scalar(sa.select(ChannelConnection).where(ChannelConnection.property_id == prop.id,
                                                             ChannelConnection.channel == "holidaycheck"))
    if conn is None:
        conn = ChannelConnection(property_id=prop.id, channel="holidaycheck", scope="reviews", key_prefix=None,
                                 created_at=clock.now(), updated_at=clock.now())
        session.add(conn)
        session.flush()
    n = session.scalar(sa.select(sa.func.count()).select_from(Review)) or 0
    session.add(Review(property_id=prop.id, connection_id=conn.id, partner_review_id=f"HC-{n}",
                       written_on=clock.today(prop.timezone), author="Petra", overall=Decimal("5"),
                       scale_min=Decimal("1"), scale_max=Decimal("6"), status=status, received_at=clock.now(),
                       updated_at=clock.now(), reply_text=reply, replied_at=clock.now() if reply else None,
                       reported_at=clock.now() if reported else None))
    session.commit()


@pytest.mark.parametrize("status, reply, counted", [
    ("published", None, 1), ("published", "Danke!", 0), ("pending", None, 0), ("archived", None, 0)])
def test_published_reviews_without_a_reply(session, staff, prop, status, reply, counted):
    _review(session, prop, status=status, reply=reply)
    assert _signals(session, staff, prop).get("unreplied_reviews", 0) == counted


@pytest.mark.parametrize("reported, counted", [(True, 1), (False, 0)])
def test_reviews_reported_as_inappropriate(session, staff, prop, reported, counted):
    _review(session, prop, reply="Danke!", reported=reported)
    got = _signals(session, staff, prop)
    assert got.get("reported_reviews", 0) == counted
    assert "unreplied_reviews" not in got


# -- photos (R71) ---------------------------------------------------------------------------------

def test_missing_photo_motives(session, staff, office):
    p = make_property(session, office=office, days=90, categories=2)
    _photo(session, p.id, "interior")
    _photo(session, p.id, "room", p.categories[0].id)
    session.commit()
    row = next(r for r in attention.board(session, staff).rows if r.prop.id == p.id)
    missing = row.signal("missing_photo_motives")
    assert missing.count == 4  # the second category, view, exterior, feature (food is optional)
    assert [(i.motive, i.category.id if i.category else None) for i in missing.details] == [
        ("room", p.categories[1].id), ("view", None), ("exterior", None), ("feature", None)]
    assert (missing.endpoint, missing.args) == ("photos.page", {"slug": p.slug})


def test_every_motive_photographed_raises_nothing(session, staff, prop):
    assert "missing_photo_motives" not in _signals(session, staff, prop)


def _room_night(session, b, night):
    session.add(RoomNight(booking_id=b.id, night=night, price=Decimal("80.00"), commissionable=Decimal("80.00"),
                          changed_at=clock.now()))
    session.flush()


def test_last_months_statement_not_sent_is_a_signal_until_it_is_sent(session, staff, prop):
    """R23: NOW is in June: May had a booking, so May's statement is due; a hold, an iCal block, a
    booking in June or April raise nothing; a sent statement of May clears it."""
    for status, source, night in (("pending", "booking", dt.date(2030, 5, 3)), ("confirmed", "ical", dt.date(2030, 5, 4)),
                                  ("confirmed", "booking", dt.date(2030, 6, 1)),
                                  ("confirmed", "booking", dt.date(2030, 4, 30))):
        _room_night(session, _booking(session, prop, status=status, source=source), night)
    session.commit()
    assert "statements_not_sent" not in _signals(session, staff, prop)
    _room_night(session, _booking(session, prop, source="own"), dt.date(2030, 5, 31))
    session.commit()
    signal = next(s for s in attention.board(session, staff).rows[0].signals if s.key == "statements_not_sent")
    assert (signal.count, signal.endpoint) == (1, "statements.office_month")
    session.add(Statement(property_id=prop.id, month=dt.date(2030, 5, 1), currency="EUR", status="sent",
                          created_at=clock.now(), sent_at=clock.now()))
    session.commit()
    assert "statements_not_sent" not in _signals(session, staff, prop)


# -- contract and maintenance ---------------------------------------------------------------------

def test_contract_state_is_the_running_contract_else_the_latest(session, staff, office, prop):
    invited = make_property(session, office=office, active=False, days=90)
    contracts.change(session, staff, prop, "end")
    rows = {r.prop.id: r for r in attention.board(session, staff).rows}
    assert rows[invited.id].contract_state == "invited"
    assert rows[prop.id].contract_state == "ended"
    ended_id = rows[prop.id].contract.id
    contracts.change(session, staff, prop, "activate")  # a new contract after the end, active at once
    rows = {r.prop.id: r for r in attention.board(session, staff).rows}
    assert rows[prop.id].contract_state == "active" and rows[prop.id].contract.id != ended_id


def test_editing_the_plan_marks_it_maintained(session, prop):
    host, cat = prop.owner, prop.categories[0]
    today = clock.today(prop.timezone)
    assert prop.calendar_maintained_at is None
    clock.set_now(NOW + dt.timedelta(minutes=1))
    rates.set_night(session, host, prop, cat, today, rates.RateChange(price=Decimal("81.00")))
    assert prop.calendar_maintained_at == NOW + dt.timedelta(minutes=1)
    clock.set_now(NOW + dt.timedelta(minutes=2))
    rates.bulk_edit(session, host, prop, [cat], today, today + dt.timedelta(days=2), set(range(7)),
                    rates.RateChange(quota=2))
    assert prop.calendar_maintained_at == NOW + dt.timedelta(minutes=2)
    clock.set_now(NOW + dt.timedelta(minutes=3))
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "rates_bulk"))
    undo.undo(session, host, prop, entry.id)
    assert prop.calendar_maintained_at == NOW + dt.timedelta(minutes=3)
    clock.set_now(NOW + dt.timedelta(minutes=4))
    data = own.OwnBookingData(category_id=cat.id, arrival=today + dt.timedelta(days=5),
                              departure=today + dt.timedelta(days=7), guest_name="Paula Telefon")
    b = own.create_own_booking(session, host, prop, data)
    assert prop.calendar_maintained_at == NOW + dt.timedelta(minutes=4)
    clock.set_now(NOW + dt.timedelta(minutes=5))
    data.departure = today + dt.timedelta(days=8)
    own.update_own_booking(session, host, prop, b.id, data)
    assert prop.calendar_maintained_at == NOW + dt.timedelta(minutes=5)
    clock.set_now(NOW + dt.timedelta(minutes=6))
    own.cancel_own_booking(session, host, prop, b.id)
    session.expire_all()
    assert prop.calendar_maintained_at == NOW + dt.timedelta(minutes=6)


# -- who sees what ----------------------------------------------------------------------------------

def test_staff_see_only_their_office_and_admins_see_every_office(session, staff, office, prop):
    other_office = make_office(session, "Tourist-Info Zwei")
    other = make_property(session, office=other_office, days=10)
    other_staff = make_user(session, "staff", other_office)
    admin = make_user(session, "admin")
    assert [r.prop.id for r in attention.board(session, staff).rows] == [prop.id]
    assert [r.prop.id for r in attention.board(session, other_staff).rows] == [other.id]
    assert {r.prop.id for r in attention.board(session, admin).rows} == {prop.id, other.id}
    assert [r.prop.id for r in attention.board(session, admin, attention.Filters(office_id=other_office.id)).rows] \
        == [other.id]
    # Staff cannot widen their view by asking for another office.
    assert [r.prop.id for r in attention.board(session, staff, attention.Filters(office_id=other_office.id)).rows] \
        == [prop.id]
    assert [o.id for o in attention.offices(session, admin)] == [office.id, other_office.id]
    assert attention.offices(session, staff) == []


def test_hosts_have_no_office_home(session, prop):
    with pytest.raises(Forbidden):
        attention.board(session, prop.owner)


# -- filters and order --------------------------------------------------------------------------------

def test_filters_and_sort(session, staff, office, prop):
    gaps = make_property(session, office=office, days=80)
    gaps.name, gaps.city = "Haus Lücke", "Garmisch"
    never = make_property(session, office=office, active=False, days=90)
    never.name = "Alpenhof"
    prop.calendar_maintained_at = NOW - dt.timedelta(days=3)
    gaps.calendar_maintained_at = NOW - dt.timedelta(days=30)
    session.commit()

    def ids(**f):
        return [r.prop.id for r in attention.board(session, staff, attention.Filters(**f)).rows]

    assert ids() == [never.id, gaps.id, prop.id]  # by name
    assert ids(q="garmisch") == [gaps.id]
    assert ids(q=gaps.owner.email.upper()) == [gaps.id]
    assert ids(q="pension quiet") == [prop.id]
    assert ids(q="nobody") == []
    assert ids(contract="invited") == [never.id]
    assert ids(contract="active") == [gaps.id, prop.id]
    assert ids(attention_only=True) == [never.id, gaps.id]  # prop is quiet; never has no photos either
    assert ids(sort="maintained") == [never.id, gaps.id, prop.id]  # never maintained first
    assert ids(sort="signals")[-1] == prop.id
    board = attention.board(session, staff, attention.Filters(q="nobody"))
    assert board.total == 3 and board.quiet == 1  # the counts before the filters: "nothing matches", not "no hosts"


# -- a constant number of queries -----------------------------------------------------------------------

def _noisy(session, office, n):
    """n properties raising every signal."""
    for _ in range(n):
        p = make_property(session, office=office, days=30)
        _double_booking(session, p, "open")
        b = _booking(session, p, status="pending", source="slevomat", created=NOW - dt.timedelta(hours=2))
        session.add(CancellationReport(booking_id=b.id, property_id=p.id, reported_at=clock.now(),
                                       guest_told_on=clock.today(p.timezone), told_by="phone"))
        session.add(ChannelConnection(property_id=p.id, channel="slevomat", key_prefix=f"n{p.id:011d}", key_hash="x",
                                      hold_minutes=90, created_at=clock.now(), updated_at=clock.now()))
        session.commit()
        _review(session, p, reported=True)
        _photo(session, p.id, "view")
        session.commit()


def test_the_number_of_queries_does_not_grow_with_the_properties(session, staff, office, count_queries):
    _noisy(session, office, 1)
    session.expire_all()
    with count_queries() as few:
        rows = attention.board(session, staff).rows
        keys = {s.key for r in rows for s in r.signals} | {r.prop.owner.name for r in rows}
    assert len(rows) == 1 and len(keys) == 9  # every signal but the statements, and the owner's name
    _noisy(session, office, 6)
    session.expire_all()
    with count_queries() as many:
        rows = attention.board(session, staff, attention.Filters(sort="signals")).rows
        for r in rows:
            _ = (r.prop.owner.name, r.prop.office.name, r.contract_state, [s.details for s in r.signals])
    assert len(rows) == 7
    assert len(many) == len(few) <= 13, many

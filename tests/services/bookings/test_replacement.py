"""The replacement search of risk-free reservations (issue 10, R52-R55, R57, R59): cancelled
room-nights go searching, a new Booking.com sale resells the oldest ones, the platform pays the
rest on the scheduled arrival day, once."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from services.availability import inventory, rates
from services.bookings import ledger, replacement, risk_free
from services.channels import connections, reservations
from services.channels.reservations import CardInput, ReservationInput
from services.core import clock
from services.core.errors import Conflict, Forbidden, NotFound
from services.models import AuditEntry, BookingEvent, MailMessage, NightRate, Occupancy, RoomNight
from tests.factories import make_property, new_booking

D = dt.timedelta(days=1)


def _setup(session, in_programme=True):
    clock.set_now(clock.now())
    prop = make_property(session, units=3, price="100.00")
    prop.risk_free_eligible = prop.risk_free_opted_in = in_programme
    prop.owner.locale = "en"  # the messages below are read in English
    session.commit()
    booking_com, _ = connections.switch_on(session, None, prop, "booking")
    other, _ = connections.switch_on(session, None, prop, "slevomat")
    return prop, booking_com, other, clock.today(prop.timezone) + 5 * D


def _input(prop, arrival, external_id, nights=3, units=2, risk=True, status="confirmed", guest="Eva Gast", card=None,
           until=None):
    return ReservationInput(
        external_id=external_id, room_category_id=prop.categories[0].id, arrival=arrival,
        departure=arrival + nights * D, units=units, guests=1, guest_name=guest, guest_email="g@example.com",
        guest_phone="+420 1", status=status, total_price=None, risk_free=risk, free_cancellation_until=until, card=card)


def _states(session, booking):
    return sorted((r.night, r.state) for r in ledger.ledger(session, booking))


def _reprice(session, prop, night, price):
    session.execute(sa.update(NightRate).where(NightRate.category_id == prop.categories[0].id, NightRate.night == night)
                    .values(price=Decimal(price)))
    session.commit()


def _mails(session, prop):
    return list(session.scalars(sa.select(MailMessage).where(MailMessage.property_id == prop.id)
                                .order_by(MailMessage.id)))


def test_the_whole_life_cycle_cancel_search_resell_settle_once(session):
    """R52, R54, R55, R57: a 2-unit, 3-night risk-free booking; one unit cancelled goes searching
    (the host is told at once); a new Booking.com sale at today's price resells one night; the
    platform pays the other two on the arrival day at the commissionable amount, and only once."""
    prop, booking_com, _other, arrival = _setup(session)
    b, _ = reservations.create(session, booking_com, _input(prop, arrival, "RF-1"))
    assert b.risk_free and len(ledger.ledger(session, b)) == 6
    mails_before = len(_mails(session, prop))

    b = reservations.cancel(session, booking_com, b.id, units=1)
    rows = ledger.ledger(session, b)
    searching = [r for r in rows if r.state == "searching"]
    assert len(searching) == 3 and len({r.unit_id for r in searching}) == 1
    assert all(r.changed_at == clock.now() and r.amount_paid is None for r in searching)
    assert sorted(r.state for r in rows) == ["searching"] * 3 + ["sold"] * 3
    assert ledger.amounts(session, b)[1] == Decimal("300.00")  # the kept room is charged as usual (R57)
    mails = _mails(session, prop)
    assert len(mails) == mails_before + 1  # R52: the cancellation message, at once
    assert mails[-1].subject.startswith("Cancellation: Eva Gast")
    assert "risk-free reservation: Booking.com searches replacement guests" in mails[-1].body
    searching_ids = {r.night: r.id for r in searching}

    # A day later a new Booking.com guest takes the middle night, at the price valid then (R54).
    clock.set_now(clock.now() + D)
    _reprice(session, prop, arrival + D, "150.00")
    new, _ = reservations.create(session, booking_com, _input(prop, arrival + D, "NEW-1", nights=1, units=1,
                                                              risk=False, guest="Otto Neu"))
    resold = session.get(RoomNight, searching_ids[arrival + D])
    session.refresh(resold)
    assert resold.state == "resold" and resold.resold_by_id == new.id
    assert resold.amount_paid == Decimal("150.00") == ledger.ledger(session, new)[0].price
    assert resold.changed_at == clock.now()
    assert _states(session, b) == sorted([(arrival, "searching"), (arrival + D, "resold"),
                                          (arrival + 2 * D, "searching")] + [(arrival + i * D, "sold") for i in range(3)])

    # The day before the arrival nothing is due yet; on the arrival day the other two are paid.
    assert replacement.settle(session, on=arrival - D) == []
    clock.set_now(dt.datetime.combine(arrival, dt.time(9), ZoneInfo(prop.timezone)))
    paid = replacement.settle(session)
    assert paid == [replacement.Settled(b.id, "Eva Gast", 2, Decimal("200.00"), prop.currency)]
    by_night = {r.night: r for r in ledger.ledger(session, b) if r.id in searching_ids.values()}
    for night in (arrival, arrival + 2 * D):
        row = by_night[night]
        assert row.state == "paid_by_platform" and row.amount_paid == row.commissionable == Decimal("100.00")
        assert row.changed_at == clock.now() and row.resold_by_id is None
    assert by_night[arrival + D].state == "resold" and by_night[arrival + D].amount_paid == Decimal("150.00")

    clock.set_now(clock.now() + dt.timedelta(hours=1))
    assert replacement.settle(session) == []  # paid once, never twice
    assert replacement.settle(session, on=arrival + 10 * D) == []


def test_a_full_cancellation_puts_every_room_night_in_the_search_and_tells_the_host(session):
    """R52: all units cancelled: every room-night searching, the nights free, the message sent."""
    prop, booking_com, _other, arrival = _setup(session)
    b, _ = reservations.create(session, booking_com, _input(prop, arrival, "RF-1"))
    before = len(_mails(session, prop))
    b = reservations.cancel(session, booking_com, b.id)
    assert b.status == "cancelled"
    assert {s for _, s in _states(session, b)} == {"searching"} and len(_states(session, b)) == 6
    mails = _mails(session, prop)
    assert len(mails) == before + 1 and "Booking.com searches replacement guests" in mails[-1].body
    # The nights are released: three free units again for a new sale, which resells the two oldest rows.
    new, _ = reservations.create(session, booking_com, _input(prop, arrival, "NEW-3", nights=1, units=3, risk=False))
    assert len([r for r in ledger.ledger(session, b) if r.state == "resold"]) == 2
    assert session.scalar(sa.select(sa.func.count(RoomNight.id)).where(RoomNight.resold_by_id == new.id)) == 2


def test_the_oldest_searching_room_night_is_resold_first(session):
    """R54: two risk-free bookings searching the same night: the one cancelled first is resold first."""
    prop, booking_com, _other, arrival = _setup(session)
    first, _ = reservations.create(session, booking_com, _input(prop, arrival, "RF-1", nights=1, units=1))
    second, _ = reservations.create(session, booking_com, _input(prop, arrival, "RF-2", nights=1, units=1))
    reservations.cancel(session, booking_com, second.id)
    clock.set_now(clock.now() + dt.timedelta(minutes=5))
    reservations.cancel(session, booking_com, first.id)
    new, _ = reservations.create(session, booking_com, _input(prop, arrival, "NEW-1", nights=1, units=1, risk=False))
    assert _states(session, second) == [(arrival, "resold")]
    assert _states(session, first) == [(arrival, "searching")]


def test_ordinary_bookings_keep_cancelled_and_other_channels_do_not_resell(session):
    """R52 is for risk-free bookings only; R54: only a Booking.com sale resells, and a hold only once confirmed."""
    prop, booking_com, other, arrival = _setup(session)
    plain, _ = reservations.create(session, booking_com, _input(prop, arrival, "PLAIN", units=1, risk=False))
    reservations.cancel(session, booking_com, plain.id)
    assert {s for _, s in _states(session, plain)} == {"cancelled"}

    rf, _ = reservations.create(session, booking_com, _input(prop, arrival, "RF-1", units=1))
    reservations.cancel(session, booking_com, rf.id)
    assert {s for _, s in _states(session, rf)} == {"searching"}
    slevomat, _ = reservations.create(session, other, _input(prop, arrival, "SLEVO", units=1, risk=False))
    hold, _ = reservations.create(session, booking_com, _input(prop, arrival, "HOLD", nights=1, units=1, risk=False,
                                                               status="pending"))
    assert {s for _, s in _states(session, rf)} == {"searching"}  # neither resold anything
    assert session.scalar(sa.select(sa.func.count(RoomNight.id)).where(RoomNight.state == "resold")) == 0
    reservations.confirm(session, booking_com, hold.id)  # paid: now it is a sale
    assert _states(session, rf) == [(arrival, "resold"), (arrival + D, "searching"), (arrival + 2 * D, "searching")]
    assert ledger.ledger(session, slevomat)[0].state == "sold"


def test_an_invalid_card_opens_the_search_as_a_cancellation_would(session):
    """R56, issue 10: the host marks the card of a risk-free booking invalid: the nights are free
    again and its room-nights are searched, paid by the platform if not resold."""
    prop, booking_com, _other, arrival = _setup(session)
    b, _ = reservations.create(session, booking_com, _input(
        prop, arrival, "RF-1", units=1, card=CardInput("Eva Gast", "Visa", "4242", "09/28"), until=clock.now()))
    risk_free.mark_card_invalid(session, prop.owner, prop, b)
    assert b.status == "cancelled"
    assert {s for _, s in _states(session, b)} == {"searching"}
    assert not session.scalars(sa.select(Occupancy).where(Occupancy.booking_id == b.id)).all()


def test_a_booking_outside_the_programme_is_not_searched(session):
    """R59: a risk-free sale for a property outside the programme is an ordinary booking."""
    prop, booking_com, _other, arrival = _setup(session, in_programme=False)
    b, _ = reservations.create(session, booking_com, _input(prop, arrival, "RF-1", units=1))
    reservations.cancel(session, booking_com, b.id)
    assert not b.risk_free and {s for _, s in _states(session, b)} == {"cancelled"}


# -- R53: restrictions that stop the replacement search ----------------------------------------

def _searching_booking(session):
    """A risk-free booking (2 units, 3 nights from `arrival`) fully cancelled: every room-night searching."""
    prop, booking_com, _other, arrival = _setup(session)
    b, _ = reservations.create(session, booking_com, _input(prop, arrival, "RF-R53"))
    return prop, reservations.cancel(session, booking_com, b.id), arrival


def _set(session, prop, night, **values):
    rates.set_night(session, prop.owner, prop, prop.categories[0], night, rates.RateChange(**values))


def test_open_searching_nights_have_no_blockers(session):
    """R53: nothing in the way, nothing listed (and an ordinary booking is never looked at)."""
    prop, b, _arrival = _searching_booking(session)
    assert replacement.resale_blockers(session, b) == []


def test_a_restriction_on_a_searching_night_is_listed_and_lifted_with_history(session):
    """R53, R59: a closed night and a quota of 0 on searching nights are listed; the lift opens
    exactly those (each change recorded in the history), after which nothing is listed."""
    prop, b, arrival = _searching_booking(session)
    _set(session, prop, arrival, closed=True)
    _set(session, prop, arrival + 2 * D, quota=0)
    _set(session, prop, arrival + 10 * D, closed=True)  # not a searched night: left alone
    blockers = replacement.resale_blockers(session, b)
    assert [(x.night, [r.code for r in x.reasons]) for x in blockers] == [
        (arrival, ["closed"]), (arrival + 2 * D, ["quota_used"])]
    assert all(x.category_id == prop.categories[0].id and x.liftable for x in blockers)
    edits = session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "rates"))
    assert replacement.lift_blockers(session, prop.owner, prop, b) == 2
    assert replacement.resale_blockers(session, b) == []
    assert session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "rates")) == edits + 2
    cat = prop.categories[0].id
    assert session.get(NightRate, (cat, arrival), populate_existing=True).closed is False
    assert session.get(NightRate, (cat, arrival + 2 * D), populate_existing=True).quota == 3
    assert session.get(NightRate, (cat, arrival + 10 * D), populate_existing=True).closed is True
    with pytest.raises(Conflict):  # a second click: nothing left to lift
        replacement.lift_blockers(session, prop.owner, prop, b)


def test_a_min_stay_and_a_closed_arrival_around_a_searching_night_are_listed(session):
    """R53: a night offered but unreachable (minimum stay longer than the open run) is a blocker."""
    prop, b, arrival = _searching_booking(session)
    _set(session, prop, arrival - D, closed=True)
    _set(session, prop, arrival + 3 * D, closed=True)
    _set(session, prop, arrival, min_stay=5)
    _set(session, prop, arrival + D, min_stay=5)
    _set(session, prop, arrival + 2 * D, min_stay=5)
    codes = {x.night: [r.code for r in x.reasons] for x in replacement.resale_blockers(session, b)}
    assert codes == {arrival: ["min_stay"], arrival + D: ["min_stay"], arrival + 2 * D: ["min_stay"]}
    replacement.lift_blockers(session, prop.owner, prop, b)
    assert replacement.resale_blockers(session, b) == []


def test_a_max_stay_that_keeps_new_guests_from_a_searching_night_is_listed_and_lifted(session):
    """R53, issue 11: no arrival on the searched night and a one-night maximum from the day
    before: no new guest can reach it. The lift raises that maximum stay."""
    prop, b, arrival = _searching_booking(session)
    _set(session, prop, arrival - 2 * D, closed=True)
    _set(session, prop, arrival - D, max_stay=1)
    _set(session, prop, arrival, closed_to_arrival=True)
    blockers = replacement.resale_blockers(session, b)
    assert [(x.night, [r.code for r in x.reasons]) for x in blockers] == [(arrival, ["max_stay"])]
    assert replacement.lift_blockers(session, prop.owner, prop, b) == 1
    assert session.get(NightRate, (prop.categories[0].id, arrival - D), populate_existing=True).max_stay == 2
    assert replacement.resale_blockers(session, b) == []


def test_a_night_occupied_by_other_bookings_is_not_listed(session):
    """R53: every unit taken by other bookings is no restriction the host could lift."""
    prop, b, arrival = _searching_booking(session)
    _set(session, prop, arrival + D, closed=True)
    other = new_booking(prop, arrival=arrival + D, nights=1, source="own", units=3, guest="Otto Eigen")
    session.add(other)
    inventory.take(session, other, check_offer=False)
    session.commit()
    assert replacement.resale_blockers(session, b) == []


def test_past_and_settled_nights_and_other_hosts_are_not_touched(session):
    """R53: only nights still searching count; another host's property is refused."""
    prop, b, arrival = _searching_booking(session)
    _set(session, prop, arrival, closed=True)
    stranger = make_property(session, units=1)
    with pytest.raises((Forbidden, NotFound)):
        replacement.lift_blockers(session, stranger.owner, prop, b)
    with pytest.raises((Forbidden, NotFound)):
        replacement.lift_blockers(session, stranger.owner, stranger, b)
    replacement.settle(session, on=arrival)  # the platform pays: nothing searching any more (R55)
    assert replacement.resale_blockers(session, b) == []


def test_the_resold_and_the_paid_room_nights_are_dated_in_the_booking_history(session):
    """Issue 10: the detail shows when each change happened: the booking's history gets one line
    when its nights are resold (which nights, to which booking) and one when the platform pays."""
    prop, booking_com, _other, arrival = _setup(session)
    b, _ = reservations.create(session, booking_com, _input(prop, arrival, "RF-H", units=1, nights=3))
    reservations.cancel(session, booking_com, b.id)
    resale, _ = reservations.create(session, booking_com, _input(prop, arrival + dt.timedelta(days=1), "NEW-H",
                                                                 units=1, nights=1, risk=False))
    clock.set_now(dt.datetime.combine(arrival, dt.time(12), tzinfo=ZoneInfo(prop.timezone)))
    replacement.settle(session)
    events = {e.kind: json.loads(e.detail) for e in session.scalars(
        sa.select(BookingEvent).where(BookingEvent.booking_id == b.id))}
    assert events["resold"] == {"by": resale.id, "nights": [(arrival + dt.timedelta(days=1)).isoformat()]}
    assert events["paid_by_platform"]["count"] == 2 and events["paid_by_platform"]["currency"] == prop.currency

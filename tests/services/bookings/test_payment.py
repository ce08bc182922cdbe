"""services.bookings.payment: who pays a risk-free booking, read from its room-night ledger
(issue 10, R51, R54, R55, R57). The states are set on the rows directly."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from services.availability import inventory
from services.bookings import ledger, payment
from services.core import clock
from services.models import RoomNight
from tests.factories import make_property, new_booking


def _booking(session, prop, risk_free=True, units=2, nights=2, guest="Eva Gast"):
    b = new_booking(prop, nights=nights, units=units, source="booking", guest=guest)
    b.risk_free = risk_free
    b.total_price = Decimal("100.00") * units * nights
    session.add(b)
    inventory.take(session, b)
    session.commit()
    return b


def _set(session, b, state, unit_index=None, night_index=None, amount=None, resold_by=None):
    """Put the booking's rows of one unit (or all) and one night (or all) into `state`."""
    rows = ledger.ledger(session, b)
    units = sorted({r.unit_id for r in rows})
    nights = sorted({r.night for r in rows})
    for r in rows:
        if unit_index is not None and r.unit_id != units[unit_index]:
            continue
        if night_index is not None and r.night != nights[night_index]:
            continue
        r.state, r.amount_paid, r.resold_by_id, r.changed_at = state, amount, resold_by, clock.now()
    session.commit()


def _status(session, b):
    return payment.payment_status(b, ledger.ledger(session, b))


def test_a_booking_outside_the_programme_has_no_payment_status(session):
    prop = make_property(session, units=2)
    b = _booking(session, prop, risk_free=False)
    _set(session, b, "cancelled")
    assert _status(session, b) is None


def test_the_guest_pays_while_nothing_is_paid_by_the_platform(session):
    """R51/R52: kept or still searching: the guest's booking; searching rows have no amount yet."""
    prop = make_property(session, units=2)
    b = _booking(session, prop)
    assert _status(session, b) == "guest"
    assert payment.replacement(ledger.ledger(session, b)) == []
    _set(session, b, "searching", unit_index=0)
    assert _status(session, b) == "guest"
    found = payment.replacement(ledger.ledger(session, b))
    unit = prop.categories[0].units[0].name
    assert [(r["night"], r["unit"], r["state"], r["amount"], r["resold_by"]) for r in found] == [
        (b.arrival, unit, "searching", None, None), (b.arrival + dt.timedelta(days=1), unit, "searching", None, None)]


def test_some_rooms_kept_and_some_paid_by_the_platform_is_partially_paid(session):
    """R57: a multi-room booking with one room cancelled and unsold: partially paid by the platform."""
    prop = make_property(session, units=2)
    b = _booking(session, prop)
    _set(session, b, "paid_by_platform", unit_index=1, amount=Decimal("90.00"))
    assert _status(session, b) == "partially_paid_by_platform"
    found = payment.replacement(ledger.ledger(session, b))
    assert {(r["state"], r["amount"]) for r in found} == {("paid_by_platform", Decimal("90.00"))} and len(found) == 2


def test_fully_cancelled_and_every_unsold_night_paid_by_the_platform_is_paid_by_platform(session):
    """R54/R55: the resold night is paid by the new guest, the others by the platform."""
    prop = make_property(session, units=3)
    b = _booking(session, prop)
    resale = _booking(session, prop, risk_free=False, units=1, nights=1, guest="Neuer Gast")
    _set(session, b, "paid_by_platform", amount=Decimal("90.00"))
    _set(session, b, "resold", unit_index=0, night_index=0, amount=Decimal("120.00"), resold_by=resale.id)
    assert _status(session, b) == "paid_by_platform"
    found = payment.replacement(ledger.ledger(session, b))
    assert found[0]["state"] == "resold" and found[0]["amount"] == Decimal("120.00") and found[0]["resold_by"] == resale.id
    assert [r["state"] for r in found[1:]] == ["paid_by_platform"] * 3
    assert all(r["resold_by"] is None for r in found[1:])


def test_not_yet_settled_or_all_resold_leaves_the_guest_as_payer(session):
    """Nothing kept but one night still searching, or every night resold: not paid by the platform."""
    prop = make_property(session, units=1)
    b = _booking(session, prop, units=1)
    _set(session, b, "paid_by_platform", night_index=0, amount=Decimal("80.00"))
    _set(session, b, "searching", night_index=1)
    assert _status(session, b) == "guest"
    _set(session, b, "resold", amount=Decimal("80.00"))
    assert _status(session, b) == "guest"


def test_the_rows_of_a_whole_list_come_in_one_query(session, count_queries):
    prop = make_property(session, units=4)
    bookings = [_booking(session, prop, units=1, guest=f"G{i}") for i in range(3)]
    ordinary = _booking(session, prop, risk_free=False, units=1, guest="Ordinary")
    _set(session, bookings[1], "paid_by_platform", amount=Decimal("80.00"))
    everything = [*bookings, ordinary]
    for b in everything:
        session.refresh(b)
    with count_queries() as statements:
        paid = payment.statuses(session, everything)
    assert len(statements) == 1
    assert paid == {bookings[0].id: "guest", bookings[1].id: "paid_by_platform", bookings[2].id: "guest"}
    with count_queries() as statements:
        assert payment.rows_by_booking(session, [ordinary]) == {}
    assert statements == []
    assert session.scalar(sa.select(sa.func.count(RoomNight.id))) == 4 * 2

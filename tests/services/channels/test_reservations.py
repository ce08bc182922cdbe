"""services.channels.reservations and host_changes: holds (R36), vouchers (R37), cancel (R32), change (R33/R34)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.bookings import listing
from services.channels import connections, host_changes, reservations, wire
from services.core import clock
from services.properties import registry
from services.core.errors import Conflict, Invalid, NotFound
from services.models import Booking, MailMessage, Occupancy, OutboxEvent
from services.channels.reservations import ReservationInput
from tests.factories import make_property


def _input(prop, external_id="ORD-1", offset=1, nights=2, status="confirmed", units=1, risk_free=False):
    arrival = clock.today(prop.timezone) + dt.timedelta(days=offset)
    return ReservationInput(
        external_id=external_id, room_category_id=prop.categories[0].id, arrival=arrival,
        departure=arrival + dt.timedelta(days=nights), units=units, guests=1, guest_name="Eva Gast",
        guest_email="eva@example.com", guest_phone="+420 1", status=status, total_price=None, risk_free=risk_free,
        free_cancellation_until=None)


@pytest.fixture
def setup(session):
    clock.set_now(clock.now())  # frozen; tests move it explicitly
    prop = make_property(session, units=2, price="100.00")
    registry.add_extra_cost(session, prop.owner, prop, "Endreinigung", "30", "stay", None)
    conn, key = connections.switch_on(session, None, prop, "slevomat", hold_minutes=60, webhook_url="http://127.0.0.1:9/h")
    return prop, conn


def _occupied(session, booking):
    return session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == booking.id))


def test_paid_reservation_gets_voucher_price_breakdown_and_host_mail(session, setup):
    prop, conn = setup
    prop.owner.locale = "en"  # the host reads English: dates like "3 Dec 2026", day before month
    session.commit()
    b, created = reservations.create(session, conn, _input(prop))
    assert created and b.status == "confirmed" and b.voucher and len(b.voucher) == 10
    d = wire.reservation(b)
    assert d["price_breakdown"] == {"lodging": "200.00", "mandatory_costs": [{"name": "Endreinigung", "amount": "30.00"}],
                                    "total": "230.00"}
    assert d["total_price"] == "230.00" and d["currency"] == "EUR" and d["payment_mode"] == "on_arrival"
    mail = session.scalar(sa.select(MailMessage))
    assert "Eva Gast" in mail.subject + mail.body and b.voucher in mail.body  # R24: full contact with the booking
    from babel.dates import format_date

    assert f"{format_date(b.arrival, 'medium', locale='en_GB')}–{format_date(b.departure, 'medium', locale='en_GB')}" in mail.body
    assert "Total: €230.00" in mail.body and f"Voucher: {b.voucher}" in mail.body


def _mails(session):
    return list(session.scalars(sa.select(MailMessage).order_by(MailMessage.id)))


def _full_contact(body):
    return "Eva Gast" in body and "eva@example.com" in body and "+420 1" in body


def test_every_booking_mail_carries_the_guests_full_contact(session, setup):
    """R24: new, hold confirmed (the deal site's normal path), partly cancelled, cancelled, changed."""
    prop, conn = setup
    hold, _ = reservations.create(session, conn, _input(prop, "ORD-H", status="pending", units=2))
    reservations.confirm(session, conn, hold.id)
    reservations.cancel(session, conn, hold.id, units=1)
    paid, _ = reservations.create(session, conn, _input(prop, "ORD-P", offset=10))
    new = host_changes.modify(session, prop.owner, prop, paid.id, paid.arrival + dt.timedelta(days=1),
                              paid.departure + dt.timedelta(days=1), prop.categories[0].id)
    reservations.cancel(session, conn, hold.id)
    mails = _mails(session)
    assert len(mails) == 5  # confirmed, partly cancelled, new, changed, cancelled (a hold mails nothing)
    for mail in mails:
        assert _full_contact(mail.body), mail.body
        assert f"Gutschein: {hold.voucher}" in mail.body or f"Gutschein: {new.voucher}" in mail.body  # the host reads German


def test_mail_money_and_dates_follow_the_hosts_locale(session, setup):
    prop, conn = setup
    prop.owner.locale = "de"
    session.commit()
    b, _ = reservations.create(session, conn, _input(prop))
    body = _mails(session)[0].body
    assert "230,00\xa0€" in body and "230.00" not in body
    assert f"{b.arrival:%d.%m.%Y}–{b.departure:%d.%m.%Y}" in body


def test_other_channels_say_reservation_number_not_voucher(session, setup):
    prop, _ = setup
    conn, _key = connections.switch_on(session, None, prop, "booking", hold_minutes=60, webhook_url="")
    prop.owner.locale = "en"
    session.commit()
    b, _ = reservations.create(session, conn, _input(prop, "BK-1"))
    reservations.cancel(session, conn, b.id)
    for mail in _mails(session):
        assert f"Reservation number: {b.voucher}" in mail.body and "Voucher" not in mail.body


def test_retry_with_same_external_id_books_nothing_again(session, setup):
    prop, conn = setup
    first, _ = reservations.create(session, conn, _input(prop))
    again, created = reservations.create(session, conn, _input(prop))
    assert not created and again.id == first.id
    assert session.scalar(sa.select(sa.func.count(Booking.id))) == 1


def test_hold_blocks_then_expires_without_any_job(session, setup):
    """R36: unpaid, held for the connection's hold time, then gone; no voucher (R37)."""
    prop, conn = setup
    start = clock.now()
    hold, _ = reservations.create(session, conn, _input(prop, status="pending", units=2))
    assert hold.voucher is None and hold.hold_expires_at == start + dt.timedelta(minutes=60)
    with pytest.raises(Conflict):
        reservations.create(session, conn, _input(prop, external_id="ORD-2"))
    clock.set_now(start + dt.timedelta(minutes=61))
    assert hold.effective_status(clock.now()) == "expired"
    other, created = reservations.create(session, conn, _input(prop, external_id="ORD-2"))
    assert created and other.status == "confirmed"


def test_confirm_generates_voucher_only_then(session, setup):
    prop, conn = setup
    hold, _ = reservations.create(session, conn, _input(prop, status="pending"))
    b = reservations.confirm(session, conn, hold.id)
    assert b.status == "confirmed" and b.voucher and b.hold_expires_at is None
    assert reservations.confirm(session, conn, hold.id).voucher == b.voucher  # idempotent


def test_confirm_after_expiry_rechecks_availability(session, setup):
    prop, conn = setup
    start = clock.now()
    hold, _ = reservations.create(session, conn, _input(prop, status="pending", units=2))
    clock.set_now(start + dt.timedelta(minutes=90))
    # Still free: confirmation succeeds late.
    assert reservations.confirm(session, conn, hold.id).status == "confirmed"
    hold2, _ = reservations.create(session, conn, _input(prop, external_id="ORD-9", offset=10, status="pending", units=2))
    clock.set_now(start + dt.timedelta(minutes=200))
    reservations.create(session, conn, _input(prop, external_id="ORD-10", offset=10))
    with pytest.raises(Conflict) as e:
        reservations.confirm(session, conn, hold2.id)
    assert e.value.code == "not_available"
    assert session.get(Booking, hold2.id).voucher is None


def test_partial_and_full_cancel_release_nights(session, setup):
    prop, conn = setup
    b, _ = reservations.create(session, conn, _input(prop, units=2, nights=3))
    assert _occupied(session, b) == 6
    b = reservations.cancel(session, conn, b.id, units=1)
    assert b.units == 1 and b.status == "confirmed" and _occupied(session, b) == 3
    assert b.total_price == Decimal("330.00")  # (600 + 60) / 2
    b = reservations.cancel(session, conn, b.id)
    assert b.status == "cancelled" and _occupied(session, b) == 0
    with pytest.raises(Invalid):
        b2, _ = reservations.create(session, conn, _input(prop, external_id="X", units=2))
        reservations.cancel(session, conn, b2.id, units=3)


def test_other_connection_cannot_see_or_touch(session, setup):
    prop, conn = setup
    b, _ = reservations.create(session, conn, _input(prop))
    other_prop = make_property(session)
    other, _ = connections.switch_on(session, None, other_prop, "slevomat")
    for fn in (reservations.find, reservations.confirm, reservations.cancel):
        with pytest.raises(NotFound):
            fn(session, other, b.id)


def test_host_changes_dates_original_marked_modified_and_channel_told(session, setup):
    """R33: the original is recorded as modified, linked to the new stay; webhook + mail."""
    prop, conn = setup
    b, _ = reservations.create(session, conn, _input(prop, offset=2, nights=2))
    since = clock.now()
    clock.set_now(since + dt.timedelta(seconds=5))
    today = clock.today(prop.timezone)
    new = host_changes.modify(session, prop.owner, prop, b.id, today + dt.timedelta(days=5),
                                  today + dt.timedelta(days=8), prop.categories[0].id)
    old = session.get(Booking, b.id)
    assert old.status == "modified" and old.replaced_by_id == new.id and new.replaces_id == old.id
    assert new.voucher == old.voucher and new.connection_id == conn.id and _occupied(session, old) == 0
    assert _occupied(session, new) == 3
    changed = reservations.changed_since(session, conn, since)
    assert [c.id for c in changed] == sorted([old.id, new.id])
    hook = session.scalar(sa.select(OutboxEvent).where(OutboxEvent.event == "reservation.modified"))
    assert hook is not None and f'"replaced_by_id":{new.id}' in hook.body
    assert session.scalar(sa.select(sa.func.count(MailMessage.id)).where(MailMessage.body.like(f"%#{new.id}%"))) == 1


def test_host_change_is_atomic_when_new_nights_are_taken(session, setup):
    prop, conn = setup
    b, _ = reservations.create(session, conn, _input(prop, offset=2, units=2))
    reservations.create(session, conn, _input(prop, external_id="FULL", offset=10, units=2))
    today = clock.today(prop.timezone)
    with pytest.raises(Conflict):
        host_changes.modify(session, prop.owner, prop, b.id, today + dt.timedelta(days=10),
                                today + dt.timedelta(days=11), prop.categories[0].id)
    assert session.get(Booking, b.id).status == "confirmed" and _occupied(session, b) == 4


def test_host_cannot_cancel_but_requests_cancellation(session, setup):
    """R32: only the channel cancels; the host's request carries the voucher to the channel."""
    from services.bookings import own

    prop, conn = setup
    b, _ = reservations.create(session, conn, _input(prop))
    with pytest.raises(Conflict):
        own.cancel_own_booking(session, prop.owner, prop, b.id)
    host_changes.request_cancellation(session, prop.owner, prop, b.id, "Guest called")
    hook = session.scalar(sa.select(OutboxEvent).where(OutboxEvent.event == "reservation.cancellation_requested"))
    assert b.voucher in hook.body and "Guest called" in hook.body
    assert session.get(Booking, b.id).status == "confirmed"


def test_sweep_marks_expired_holds(session, setup):
    prop, conn = setup
    start = clock.now()
    hold, _ = reservations.create(session, conn, _input(prop, status="pending"))
    assert reservations.sweep(session) == 0
    clock.set_now(start + dt.timedelta(minutes=61))
    assert reservations.sweep(session) == 1
    assert session.get(Booking, hold.id).status == "expired" and _occupied(session, hold) == 0


def test_search_filters_and_finds_by_voucher(session, setup):
    prop, conn = setup
    prop.risk_free_eligible = prop.risk_free_opted_in = True  # in the programme (R50); only Booking.com sells it
    booking_com, _key = connections.switch_on(session, None, prop, "booking")
    b, _ = reservations.create(session, booking_com, _input(prop, risk_free=True))
    assert b.risk_free
    reservations.create(session, conn, _input(prop, external_id="H", offset=5, status="pending"))
    F = listing.Filters
    assert [x.id for x in listing.search(session, prop.owner, prop, F(q=b.voucher.lower())).items] == [b.id]
    assert listing.search(session, prop.owner, prop, F(status="pending")).total == 1
    assert listing.search(session, prop.owner, prop, F(risk_free=True)).total == 1
    assert listing.search(session, prop.owner, prop, F(source="own")).total == 0


def test_partial_cancel_keeps_the_room_nights_sold_and_their_amounts(session, setup):
    """Issue 10, R57: the cancelled unit's room-nights become 'cancelled' with every amount kept;
    the original total stays readable next to what the guest still owes (the booking's total)."""
    from services.bookings import ledger

    prop, conn = setup
    b, _ = reservations.create(session, conn, _input(prop, units=2, nights=3))
    sold = {(r.night, r.unit_id): (r.price, r.commissionable) for r in ledger.ledger(session, b)}
    assert len(sold) == 6 and set(sold.values()) == {(Decimal("110.00"), Decimal("100.00"))}
    b = reservations.cancel(session, conn, b.id, units=1)
    rows = ledger.ledger(session, b)
    assert {(r.night, r.unit_id): (r.price, r.commissionable) for r in rows} == sold
    assert sorted(r.state for r in rows) == ["cancelled"] * 3 + ["sold"] * 3
    assert ledger.amounts(session, b) == (Decimal("660.00"), Decimal("330.00"), Decimal("330.00"))
    assert b.total_price == Decimal("330.00")

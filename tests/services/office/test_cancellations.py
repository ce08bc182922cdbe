"""services.office.cancellations (R20, R21, R10 (b)) and the host's cancellation request (R32):
a guest's cancellation reported by the host, cancelled by the office free of charge with the
nights released once; fees from the terms; the request reaching the channel."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.bookings import own
from services.channels import connections, host_changes, outbox, reservations
from services.channels.reservations import ReservationInput
from services.core import clock
from services.core.errors import Conflict, Invalid, NotFound
from services.models import Booking, CancellationReport, MailMessage, Occupancy, OutboxEvent, Terms
from services.office import cancellations, terms
from tests.factories import make_office, make_property, make_user
from tests.localhttp import LocalServer, QuietHandler


@pytest.fixture
def setup(session):
    """One unit, a deal-site connection with a webhook, a paid reservation of it (2 nights, 200.00)."""
    clock.set_now(clock.now())
    office = make_office(session, "Tourist-Info Eins")
    office.email = "info@tourist-eins.example"
    staff = make_user(session, "staff", office)
    prop = make_property(session, office=office, units=1, price="100.00")
    conn, _ = connections.switch_on(session, None, prop, "slevomat", webhook_url="http://127.0.0.1:9/hook")
    b = _reserve(session, prop, conn)
    session.execute(sa.delete(OutboxEvent))  # the availability pushes of the reservation
    session.commit()
    return prop, conn, b, staff


def _reserve(session, prop, conn, external_id="ORD-1", offset=10, total="200.00"):
    arrival = clock.today(prop.timezone) + dt.timedelta(days=offset)
    b, _ = reservations.create(session, conn, ReservationInput(
        external_id=external_id, room_category_id=prop.categories[0].id, arrival=arrival,
        departure=arrival + dt.timedelta(days=2), units=1, guests=1, guest_name="Eva Gast",
        guest_email="eva@example.com", guest_phone="+420 1", status="confirmed",
        total_price=Decimal(total) if total else None, risk_free=False, free_cancellation_until=None))
    return b


def _occupied(session, booking_id):
    return session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == booking_id))


def _own(session, prop, arrival):
    """An own booking on the freed nights (the one unit), through the normal path."""
    return own.create_own_booking(session, prop.owner, prop, own.OwnBookingData(
        category_id=prop.categories[0].id, arrival=arrival, departure=arrival + dt.timedelta(days=2),
        guest_name="Walk-in", units=1, guests=1, guest_email="", guest_phone="", notes="", unit_id=None))


def _report(session, prop, b, days_ago=0, told_by="phone", note="Guest is ill"):
    return cancellations.report(session, prop.owner, prop, b.id, clock.today(prop.timezone) - dt.timedelta(days=days_ago),
                                told_by, note)


def _mails(session, kind):
    return list(session.scalars(sa.select(MailMessage).where(MailMessage.kind == kind).order_by(MailMessage.id)))


def test_office_cancels_free_of_charge_and_the_nights_are_released_once(session, setup):
    prop, conn, b, staff = setup
    with pytest.raises(Conflict):  # the one unit is taken by the reservation
        _own(session, prop, b.arrival)
    r = _report(session, prop, b)
    assert [q.id for q in cancellations.queue(session, staff)] == [r.id]
    assert _occupied(session, b.id) == 2  # reporting frees nothing

    cancellations.cancel(session, staff, r.id, None, "")
    got = session.get(Booking, b.id)
    assert got.status == "cancelled" and got.cancelled_via == "office" and got.cancelled_at == clock.now()
    assert _occupied(session, b.id) == 0
    assert session.get(CancellationReport, r.id).status == "cancelled"
    assert session.get(CancellationReport, r.id).handled_by_id == staff.id
    assert cancellations.queue(session, staff) == []
    # The freed nights are sold exactly once more.
    walk_in = _own(session, prop, b.arrival)
    with pytest.raises(Conflict):
        _own(session, prop, b.arrival)

    # A second click (or a second staff member) is a 409 and releases nothing.
    with pytest.raises(Conflict):
        cancellations.cancel(session, staff, r.id, None, "")
    # The channel cancels too (it learnt of the guest's wish): nothing changes (R10 (b)).
    reservations.cancel(session, conn, b.id)
    assert session.get(Booking, b.id).cancelled_via == "office"
    assert _occupied(session, walk_in.id) == 2
    with pytest.raises(Conflict):
        _own(session, prop, b.arrival)


def test_the_host_cannot_free_an_online_bookings_nights_by_hand(session, setup):
    """R10 (b): the host reports, never frees: own.cancel_own_booking refuses a channel booking."""
    prop, conn, b, staff = setup
    r = _report(session, prop, b)
    with pytest.raises(Conflict):
        own.cancel_own_booking(session, prop.owner, prop, b.id)
    assert _occupied(session, b.id) == 2 and session.get(Booking, b.id).status == "confirmed"
    cancellations.cancel(session, staff, r.id, None, "")
    assert _occupied(session, b.id) == 0


def test_the_channel_is_told_by_webhook_and_the_host_by_mail(session, setup):
    prop, conn, b, staff = setup
    r = _report(session, prop, b)
    cancellations.cancel(session, staff, r.id, "40", "two days before")
    hook = session.scalar(sa.select(OutboxEvent).where(OutboxEvent.event == "reservation.cancelled"))
    assert hook is not None and hook.connection_id == conn.id
    data = json.loads(hook.body)["data"]
    assert data["reservation"]["id"] == b.id and data["cancelled_via"] == "office"
    host_mails = _mails(session, "host")
    assert host_mails[-1].recipient == prop.owner.email and "Eva Gast" in host_mails[-1].subject
    got = session.get(Booking, b.id)
    assert got.cancellation_fee == Decimal("40.00") and got.cancellation_fee_note == "two days before"


def test_the_office_is_mailed_when_a_cancellation_is_reported(session, setup):
    prop, conn, b, staff = setup
    _report(session, prop, b, days_ago=1, told_by="phone", note="Broke a leg")
    [mail] = _mails(session, "office")
    assert mail.recipient == "info@tourist-eins.example" and mail.property_id == prop.id
    assert "Eva Gast" in mail.subject and f"#{b.id}" in mail.body and "Broke a leg" in mail.body
    assert b.voucher in mail.body
    assert not _mails(session, "host")[1:]  # only the new-booking mail went to the host


def test_report_rules(session, setup):
    prop, conn, b, staff = setup
    today = clock.today(prop.timezone)
    with pytest.raises(Invalid) as e:
        cancellations.report(session, prop.owner, prop, b.id, today + dt.timedelta(days=1), "phone", "")
    assert "guest_told_on" in e.value.errors
    with pytest.raises(Invalid) as e:
        cancellations.report(session, prop.owner, prop, b.id, today, "pigeon", "")
    assert "told_by" in e.value.errors
    own_booking = _own(session, prop, today + dt.timedelta(days=20))
    with pytest.raises(Conflict):
        cancellations.report(session, prop.owner, prop, own_booking.id, today, "phone", "")
    r = _report(session, prop, b)
    with pytest.raises(Conflict):
        _report(session, prop, b)
    assert session.scalar(sa.select(sa.func.count(CancellationReport.id))) == 1
    # Declined: the booking stays, the host learns why, and may report again later.
    cancellations.decline(session, staff, r.id, "The channel says the guest has not cancelled.")
    assert session.get(Booking, b.id).status == "confirmed" and _occupied(session, b.id) == 2
    assert "has not cancelled" in _mails(session, "host")[-1].body
    with pytest.raises(Conflict):
        cancellations.cancel(session, staff, r.id, None, "")
    with pytest.raises(Invalid):
        cancellations.decline(session, staff, _report(session, prop, b).id, "  ")


def test_offices_see_and_cancel_only_their_own_reports(session, setup):
    prop, conn, b, staff = setup
    other = make_user(session, "staff", make_office(session, "Tourist-Info Zwei"))
    admin = make_user(session, "admin")
    r = _report(session, prop, b)
    assert cancellations.queue(session, other) == []
    with pytest.raises(NotFound):
        cancellations.cancel(session, other, r.id, None, "")
    with pytest.raises(NotFound):
        cancellations.decline(session, other, r.id, "no")
    assert session.get(CancellationReport, r.id).status == "waiting" and _occupied(session, b.id) == 2
    with pytest.raises(Exception):  # a host has no queue
        cancellations.queue(session, prop.owner)
    assert [q.id for q in cancellations.queue(session, admin)] == [r.id]
    cancellations.cancel(session, admin, r.id, None, "")
    assert _occupied(session, b.id) == 0


def test_a_booking_the_channel_cancelled_meanwhile_only_closes_the_report(session, setup):
    prop, conn, b, staff = setup
    r = _report(session, prop, b)
    reservations.cancel(session, conn, b.id)
    walk_in = _own(session, prop, b.arrival)
    cancellations.cancel(session, staff, r.id, None, "")
    assert session.get(CancellationReport, r.id).status == "cancelled"
    assert session.get(Booking, b.id).cancelled_via == "channel"
    assert _occupied(session, walk_in.id) == 2
    assert session.scalar(sa.select(OutboxEvent).where(OutboxEvent.event == "reservation.cancelled")) is None


def test_queue_queries_do_not_grow_with_the_reports(session, setup, count_queries):
    prop, conn, b, staff = setup
    _report(session, prop, b)
    session.expire_all()
    with count_queries() as one:
        [r] = cancellations.queue(session, staff)
        r.booking.category.name, r.prop.owner.name, r.booking.guest_name
    for i in range(2):
        other = make_property(session, office=staff.office, units=1)
        c2, _ = connections.switch_on(session, None, other, "booking")
        session.add(Terms(property_id=other.id, fee_schedule=terms.DEFAULT_SCHEDULE, updated_at=clock.now()))
        _report(session, other, _reserve(session, other, c2, external_id=f"X{i}"))
    session.expire_all()
    with count_queries() as three:
        rows = cancellations.queue(session, staff)
        for r in rows:
            r.booking.category.name, r.prop.owner.name, r.proposed_fee
    assert len(rows) == 3 and len(three) == len(one)


# -- R21: the fee proposed from the host's terms --------------------------------------------------

@pytest.mark.parametrize("days_before, percent", [(40, 0), (30, 0), (29, 50), (8, 50), (7, 80), (0, 80), (-2, 80)])
def test_fee_proposed_at_the_schedules_edges(session, setup, days_before, percent):
    prop, conn, b, staff = setup
    t = Terms(property_id=prop.id, fee_schedule=terms.DEFAULT_SCHEDULE, updated_at=clock.now())
    expected = Decimal(200 * percent / 100).quantize(Decimal("0.01"))
    assert terms.proposed_fee(t, b, b.arrival - dt.timedelta(days=days_before)) == expected


def test_fee_without_terms_or_total_is_zero(session, setup):
    prop, conn, b, staff = setup
    t = Terms(property_id=prop.id, fee_schedule=terms.DEFAULT_SCHEDULE, updated_at=clock.now())
    assert terms.proposed_fee(None, b, b.arrival) == Decimal("0.00")
    b.total_price = None
    assert terms.proposed_fee(t, b, b.arrival) == Decimal("0.00")
    session.rollback()


def test_office_cancel_stores_the_fee_proposed_from_the_day_the_guest_told_the_host(session, setup):
    prop, conn, b, staff = setup
    session.add(Terms(property_id=prop.id, fee_schedule=terms.DEFAULT_SCHEDULE, updated_at=clock.now()))
    session.commit()
    r = _report(session, prop, b, days_ago=3)  # arrival in 10 days: told 13 days before -> 50 %
    assert cancellations.queue(session, staff)[0].proposed_fee == Decimal("100.00")
    cancellations.cancel(session, staff, r.id, None, "")
    assert session.get(Booking, b.id).cancellation_fee == Decimal("100.00")


def test_office_cancel_refuses_a_bad_fee_and_changes_nothing(session, setup):
    prop, conn, b, staff = setup
    r = _report(session, prop, b)
    for fee in ("200.01", "-1", "abc", "1.999"):
        with pytest.raises(Invalid) as e:
            cancellations.cancel(session, staff, r.id, fee, "")
        assert "fee" in e.value.errors
    assert session.get(CancellationReport, r.id).status == "waiting" and _occupied(session, b.id) == 2


def test_own_cancel_proposes_the_fee_and_the_host_edits_it(session, setup):
    prop, conn, b, staff = setup
    session.add(Terms(property_id=prop.id, fee_schedule=terms.DEFAULT_SCHEDULE, updated_at=clock.now()))
    session.commit()
    walk_in = _own(session, prop, clock.today(prop.timezone) + dt.timedelta(days=3))
    walk_in.total_price = Decimal("160.00")
    session.commit()
    with pytest.raises(Conflict):  # not cancelled yet
        cancellations.set_cancellation_fee(session, prop.owner, prop, walk_in.id, "10", "")
    own.cancel_own_booking(session, prop.owner, prop, walk_in.id)
    got = session.get(Booking, walk_in.id)
    assert got.cancelled_via == "host" and got.cancellation_fee == Decimal("128.00")  # 3 days before: 80 %
    for bad in ("160.01", "-5", ""):
        with pytest.raises(Invalid) as e:
            cancellations.set_cancellation_fee(session, prop.owner, prop, walk_in.id, bad, "")
        assert "cancellation_fee" in e.value.errors
    cancellations.set_cancellation_fee(session, prop.owner, prop, walk_in.id, "50,5", "agreed on the phone")
    got = session.get(Booking, walk_in.id)
    assert got.cancellation_fee == Decimal("50.50") and got.cancellation_fee_note == "agreed on the phone"


def test_channel_cancel_records_when_and_through_whom(session, setup):
    prop, conn, b, staff = setup
    reservations.cancel(session, conn, b.id)
    got = session.get(Booking, b.id)
    assert got.cancelled_via == "channel" and got.cancelled_at == clock.now()


# -- R32: the host's request that the channel cancel ---------------------------------------------

class Receiver(LocalServer):
    def __init__(self):
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):
                receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler, "/hook")


def test_request_by_webhook_shows_queued_then_delivered(session, setup):
    prop, conn, b, staff = setup
    receiver = Receiver()
    try:
        conn.webhook_url = receiver.url
        session.commit()
        host_changes.request_cancellation(session, prop.owner, prop, b.id, "Guest called")
        got = session.get(Booking, b.id)
        assert got.cancel_request_event_id is not None and got.cancel_request_mail_id is None
        assert host_changes.cancel_request_status(session, got) == {"via": "webhook", "to": "", "delivered_at": None}
        assert outbox.deliver_webhooks(session, timeout=5).sent == 1
        session.expire_all()
        status = host_changes.cancel_request_status(session, session.get(Booking, b.id))
        assert status["delivered_at"] == clock.now()
        assert b.voucher.encode() in receiver.bodies[0] and b"Guest called" in receiver.bodies[0]
    finally:
        receiver.close()


def test_request_by_mail_to_the_channels_contact_without_a_webhook(session, setup):
    prop, conn, b, staff = setup
    connections.update_settings(session, prop.owner, prop, "slevomat", 60, "", "on_arrival")
    connections.set_contact_email(session, prop.owner, prop, "slevomat", "partner@slevomat.example")
    host_changes.request_cancellation(session, prop.owner, prop, b.id, "Guest called")
    got = session.get(Booking, b.id)
    [mail] = _mails(session, "channel")
    assert got.cancel_request_mail_id == mail.id and got.cancel_request_event_id is None
    assert mail.recipient == "partner@slevomat.example" and b.voucher in mail.subject + mail.body
    assert "Guest called" in mail.body
    assert session.scalar(sa.select(OutboxEvent).where(OutboxEvent.event.like("reservation.%"))) is None
    assert host_changes.cancel_request_status(session, got)["delivered_at"] is None
    mail.sent_at = clock.now()  # what the mail worker records once SMTP took it
    session.commit()
    assert host_changes.cancel_request_status(session, session.get(Booking, b.id))["delivered_at"] == clock.now()


def test_request_with_neither_webhook_nor_contact_is_refused(session, setup):
    prop, conn, b, staff = setup
    connections.update_settings(session, prop.owner, prop, "slevomat", 60, "", "on_arrival")
    with pytest.raises(Conflict) as e:
        host_changes.request_cancellation(session, prop.owner, prop, b.id, "Guest called")
    assert e.value.code == "channel_unreachable"
    got = session.get(Booking, b.id)
    assert got.cancel_requested_at is None and got.cancel_request_mail_id is None
    assert _mails(session, "channel") == []


def test_contact_email_is_validated(session, setup):
    prop, conn, b, staff = setup
    with pytest.raises(Invalid) as e:
        connections.set_contact_email(session, prop.owner, prop, "slevomat", "not an address")
    assert "contact_email" in e.value.errors
    connections.set_contact_email(session, prop.owner, prop, "slevomat", " sales@slevomat.example ")
    assert session.get(type(conn), conn.id).contact_email == "sales@slevomat.example"

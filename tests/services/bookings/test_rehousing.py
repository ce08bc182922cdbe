"""services.bookings.rehousing: a double booking walked through the R13 steps, R12 stored on
the booking, the tourist office's queue."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from services.availability import inventory
from services.bookings import conflicts, rehousing
from services.core import clock
from services.core.errors import Conflict, Forbidden, Invalid, NotFound
from services.models import (Booking, BookingEvent, ChannelConnection, DoubleBooking, DoubleBookingStep, ExtraCost,
                             MailMessage, Occupancy, OutboxEvent, RoomNight, UnplacedNight)
from tests.factories import make_office, make_property, make_user, new_booking

NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)
OFFICE_MAIL = "info@tourist.example"


def d(days: int) -> dt.date:
    return NOW.date() + dt.timedelta(days=days)


def _office(session, name="Tourist-Info"):
    office = make_office(session, name)
    office.email = OFFICE_MAIL if name == "Tourist-Info" else "zwei@tourist.example"
    session.commit()
    return office


def _prop(session, office, name, **kw):
    kw.setdefault("units", 1)
    prop = make_property(session, owner=make_user(session, "host"), office=office, **kw)
    prop.name = name
    prop.email = f"{prop.slug}@example.com"
    session.commit()
    return prop


def _booking(session, prop, source, guest, arrival, nights=2, placed=True, conn=None):
    b = new_booking(prop, arrival=arrival, nights=nights, source=source, guest=guest)
    b.guests, b.total_price = 2, Decimal("80.00") * nights
    b.guest_email, b.guest_phone = f"{guest.split()[0].lower()}@example.com", "+49 1"
    if conn is not None:
        b.connection_id = conn.id
    session.add(b)
    if placed:
        inventory.take(session, b)
    else:
        session.flush()
        session.add_all(UnplacedNight(booking_id=b.id, category_id=b.category_id, night=n)
                        for n in inventory.nights_of(b.arrival, b.departure))
    session.flush()
    return b


def _world(session, yielding="booking", with_conn=False):
    """Haus Hier (one unit) has two bookings of d(3)-d(5): Erika's (online, booked first, placed)
    keeps the room; Zoe's (`yielding` source, unplaced) has to yield. Haus Dort of the same office
    is free (90.00 a night + 40.00 cleaning), Haus Fremd belongs to another office."""
    clock.set_now(NOW)
    office = _office(session)
    here = _prop(session, office, "Haus Hier")
    there = _prop(session, office, "Haus Dort", units=2, price="90.00")
    session.add(ExtraCost(property_id=there.id, name="Endreinigung", amount=Decimal("40.00"), per="stay"))
    other_office = _office(session, "Tourist-Info Zwei")
    foreign = _prop(session, other_office, "Haus Fremd")
    conn = None
    if with_conn:
        conn = ChannelConnection(property_id=here.id, channel="booking", key_prefix="h" * 12, key_hash="x",
                                 webhook_url="http://127.0.0.1:9/hook", inventory_mode="notify",
                                 created_at=NOW, updated_at=NOW)
        session.add(conn)
        session.flush()
    keeper = _booking(session, here, "booking", "Erika Erst", d(3))
    clock.set_now(NOW + dt.timedelta(minutes=5))
    loser = _booking(session, here, yielding, "Zoe Zweit", d(3), placed=False,
                     conn=conn if yielding != "own" else None)
    db = conflicts.open_for(session, here.categories[0], [d(3), d(4)], "overbooked_push")
    session.commit()
    staff = make_user(session, "staff", office)
    staff2 = make_user(session, "staff", other_office)
    admin = make_user(session, "admin")
    return SimpleNamespace(office=office, here=here, there=there, foreign=foreign, keeper=keeper, loser=loser,
                           db=db, host=here.owner, staff=staff, staff2=staff2, admin=admin, conn=conn)


def _steps(session, db):
    return list(session.scalars(sa.select(DoubleBookingStep).where(DoubleBookingStep.double_booking_id == db.id)
                                .order_by(DoubleBookingStep.id)))


def _events(session, b):
    return [e.kind for e in session.scalars(sa.select(BookingEvent).where(BookingEvent.booking_id == b.id)
                                            .order_by(BookingEvent.id))]


def _mails(session, to=None):
    q = sa.select(MailMessage).order_by(MailMessage.id)
    if to:
        q = q.where(MailMessage.recipient == to)
    return list(session.scalars(q))


def _counts(session):
    return {m.__name__: session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (Booking, Occupancy, UnplacedNight, DoubleBookingStep, BookingEvent, MailMessage, OutboxEvent,
                      RoomNight)}


def test_the_world_is_a_double_booking_ranked_by_r11(session):
    w = _world(session)
    assert w.db.status == "open" and w.db.step == 0
    assert [b.id for b in conflicts.rank(w.db.bookings)] == [w.keeper.id, w.loser.id]


# -- step 1 --------------------------------------------------------------------------------------

def test_step_1_contact_is_recorded_with_time_actor_and_note(session):
    w = _world(session)
    clock.set_now(NOW + dt.timedelta(hours=1))
    row = rehousing.contact_guest(session, w.host, w.here, w.db, w.loser, "Called, she thinks about other dates")
    assert row.step == 1 and row.action == "contacted" and row.at == NOW + dt.timedelta(hours=1)
    assert row.actor_id == w.host.id and row.detail["note"] == "Called, she thinks about other dates"
    assert w.db.step == 1 and w.db.status == "open"
    assert "conflict_contacted" in _events(session, w.loser)


def test_step_1_contact_without_a_note_means_no_agreement_yet(session):
    w = _world(session)
    row = rehousing.contact_guest(session, w.host, w.here, w.db, w.loser, "")
    assert row.detail["note"] == "" and w.db.status == "open"


def test_step_1_guest_cancels_frees_the_nights_tells_the_channel_and_resolves(session):
    w = _world(session, with_conn=True)
    rehousing.guest_cancels(session, w.host, w.here, w.db, w.loser)
    session.expire_all()
    loser = session.get(Booking, w.loser.id)
    assert loser.status == "cancelled"
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id))) == 0
    db = session.get(DoubleBooking, w.db.id)
    assert db.status == "resolved" and db.resolution == "guest_cancelled" and db.step == 1
    assert [s.action for s in _steps(session, db)] == ["found", "guest_cancelled", "resolved"]
    hook = session.scalar(sa.select(OutboxEvent).where(OutboxEvent.event == "reservation.cancelled"))
    body = json.loads(hook.body)["data"]
    assert body["reservation"]["id"] == loser.id and body["reservation"]["status"] == "cancelled"
    assert body["reason"] == "guest_cancelled"
    assert "conflict_cancelled" in _events(session, loser)
    assert not loser.commission_kept  # the guest agreed to cancel: nothing to charge (R20)


def test_step_1_new_dates_of_an_own_booking_move_it_in_place(session):
    w = _world(session, yielding="own")
    moved = rehousing.new_dates(session, w.host, w.here, w.db, w.loser, d(10), d(13))
    session.expire_all()
    b = session.get(Booking, w.loser.id)
    assert moved.id == b.id and (b.arrival, b.departure) == (d(10), d(13)) and b.status == "confirmed"
    assert b.total_price == Decimal("240.00")
    assert sorted(session.scalars(sa.select(Occupancy.night).where(Occupancy.booking_id == b.id))) == \
        [d(10), d(11), d(12)]
    assert session.scalar(sa.select(sa.func.count(UnplacedNight.id))) == 0
    db = session.get(DoubleBooking, w.db.id)
    assert db.status == "resolved" and db.resolution == "new_dates"
    row = [s for s in _steps(session, db) if s.action == "new_dates"][0]
    assert row.step == 1 and row.detail["to_arrival"] == d(10).isoformat()
    assert "conflict_new_dates" in _events(session, b)


def test_step_1_new_dates_of_a_channel_booking_are_a_host_change_the_channel_learns(session):
    w = _world(session, with_conn=True)
    new = rehousing.new_dates(session, w.host, w.here, w.db, w.loser, d(10), d(12))
    session.expire_all()
    old = session.get(Booking, w.loser.id)
    assert old.status == "modified" and old.replaced_by_id == new.id
    assert session.get(Booking, new.id).status == "confirmed"
    assert session.scalar(sa.select(OutboxEvent.id).where(OutboxEvent.event == "reservation.modified"))
    assert session.get(DoubleBooking, w.db.id).status == "resolved"


def test_step_1_new_dates_that_are_taken_change_nothing_at_all(session):
    w = _world(session, yielding="own")
    _booking(session, w.here, "own", "Paul Platz", d(11))
    session.commit()
    before = _counts(session)
    with pytest.raises(Conflict) as e:
        rehousing.new_dates(session, w.host, w.here, w.db, w.loser, d(10), d(13))
    assert e.value.details["nights"] == [d(11), d(12)]
    session.rollback()
    session.expire_all()
    assert _counts(session) == before
    b = session.get(Booking, w.loser.id)
    assert (b.arrival, b.departure, b.total_price) == (d(3), d(5), Decimal("160.00"))
    assert session.get(DoubleBooking, w.db.id).status == "open"


@pytest.mark.parametrize("arrival,departure,field", [
    (-1, 2, "arrival"), (5, 4, "departure"), (3, 5, "arrival"), (None, 5, "arrival"),
])
def test_step_1_new_dates_refused_by_field(session, arrival, departure, field):
    w = _world(session, yielding="own")
    with pytest.raises(Invalid) as e:
        rehousing.new_dates(session, w.host, w.here, w.db, w.loser,
                            None if arrival is None else d(arrival), d(departure))
    assert field in e.value.errors


# -- step 2 --------------------------------------------------------------------------------------

def test_step_2_replacements_are_the_office_s_other_properties_free_for_the_stay(session):
    w = _world(session)
    found = rehousing.replacements(session, w.host, w.here, w.db, w.loser)
    assert [(f.prop.name, f.total) for f in found] == [("Haus Dort", Decimal("220.00"))]


def test_step_2_replacements_respect_guests(session):
    w = _world(session)
    w.loser.guests = 3
    session.commit()
    assert rehousing.replacements(session, w.host, w.here, w.db, w.loser) == []


def test_step_2_offer_is_recorded_and_the_office_informed(session):
    w = _world(session)
    row = rehousing.offer_replacement(session, w.host, w.here, w.db, w.loser, w.there.categories[0].id, "by phone")
    assert row.step == 2 and row.action == "replacement_offered"
    assert row.detail["property"] == "Haus Dort" and row.detail["total"] == "220.00"
    assert row.detail["extra_cost"] == "60.00" and row.detail["note"] == "by phone"
    assert w.db.step == 2 and w.db.status == "open"
    assert any("Zoe Zweit" in m.subject for m in _mails(session, OFFICE_MAIL))


def test_step_2_a_category_of_another_office_or_of_this_property_is_no_replacement(session):
    w = _world(session)
    for cat_id in (w.foreign.categories[0].id, w.here.categories[0].id, 10**9):
        with pytest.raises(NotFound):
            rehousing.offer_replacement(session, w.host, w.here, w.db, w.loser, cat_id)


def test_step_2_accepting_books_the_replacement_cancels_and_stores_r12(session):
    w = _world(session, with_conn=True)
    there_cat = w.there.categories[0]
    new = rehousing.accept_replacement(session, w.host, w.here, w.db, w.loser, there_cat.id)
    session.expire_all()
    new = session.get(Booking, new.id)
    assert (new.property_id, new.category_id, new.source, new.status) == (w.there.id, there_cat.id,
                                                                           "tourist_office", "confirmed")
    assert new.created_by_id == w.host.id and new.total_price == Decimal("220.00") and new.guest_name == "Zoe Zweit"
    assert session.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == new.id)) == 2
    old = session.get(Booking, w.loser.id)
    assert old.status == "cancelled" and old.rehoused_at_id == there_cat.id
    assert old.commission_kept is True and old.replacement_extra_cost == Decimal("60.00")  # R12
    db = session.get(DoubleBooking, w.db.id)
    assert db.status == "resolved" and db.resolution == "rehoused" and db.step == 2
    row = [s for s in _steps(session, db) if s.action == "replacement_accepted"][0]
    assert row.detail["new_booking"] == new.id and row.detail["commission_kept"] is True
    host_mail = [m for m in _mails(session, w.here.email) if "Zoe Zweit" in m.subject][-1]
    office_mail = [m for m in _mails(session, OFFICE_MAIL) if "Zoe Zweit" in m.subject][-1]
    for mail in (host_mail, office_mail):
        assert "R12" in mail.body and "60,00" in mail.body and "Haus Dort" in mail.body
    assert any("Zoe Zweit" in m.subject for m in _mails(session, w.there.email))  # the other host learns it
    assert session.scalar(sa.select(OutboxEvent.id).where(OutboxEvent.event == "reservation.cancelled"))
    assert "conflict_rehoused" in _events(session, old) and "rehoused_from" in _events(session, new)


def test_step_2_an_own_booking_rehoused_keeps_no_commission(session):
    w = _world(session, yielding="own")
    rehousing.accept_replacement(session, w.host, w.here, w.db, w.loser, w.there.categories[0].id)
    session.expire_all()
    old = session.get(Booking, w.loser.id)
    assert old.status == "cancelled" and old.rehoused_at_id is not None
    assert old.commission_kept is False and old.replacement_extra_cost is None


def test_step_2_a_cheaper_replacement_costs_the_host_nothing_extra(session):
    w = _world(session)
    w.loser.total_price = Decimal("500.00")
    session.commit()
    rehousing.accept_replacement(session, w.host, w.here, w.db, w.loser, w.there.categories[0].id)
    session.expire_all()
    assert session.get(Booking, w.loser.id).replacement_extra_cost == Decimal("0.00")


def test_step_2_a_replacement_taken_meanwhile_fails_whole(session):
    w = _world(session)
    for guest in ("Anna A", "Bert B"):
        _booking(session, w.there, "own", guest, d(4), nights=1)
    session.commit()
    before = _counts(session)
    with pytest.raises(Conflict) as e:
        rehousing.accept_replacement(session, w.host, w.here, w.db, w.loser, w.there.categories[0].id)
    assert "Haus Dort" in str(e.value.message)
    session.rollback()
    session.expire_all()
    assert _counts(session) == before
    assert session.get(Booking, w.loser.id).status == "confirmed"


# -- step 3 and the office's queue ------------------------------------------------------------

def test_step_3_hand_over_then_the_office_rehouses_from_its_queue(session):
    w = _world(session)
    clock.set_now(NOW + dt.timedelta(hours=2))
    rehousing.hand_over(session, w.host, w.here, w.db, "Guest does not answer")
    assert w.db.status == "handed_over" and w.db.handed_over_at == NOW + dt.timedelta(hours=2) and w.db.step == 3
    mail = [m for m in _mails(session, OFFICE_MAIL) if "handed over" in m.subject.lower() or "übergeben" in m.subject][-1]
    assert "Zoe Zweit" in mail.body and "Guest does not answer" in mail.body
    assert "conflict_handed_over" in _events(session, w.loser)
    with pytest.raises(Conflict):
        rehousing.hand_over(session, w.host, w.here, w.db, "")
    assert [db.id for db in rehousing.office_queue(session, w.staff)] == [w.db.id]
    rehousing.accept_replacement(session, w.staff, w.here, w.db, w.loser, w.there.categories[0].id)
    session.expire_all()
    db = session.get(DoubleBooking, w.db.id)
    assert db.status == "resolved"
    row = [s for s in _steps(session, db) if s.action == "replacement_accepted"][0]
    assert row.step == 3 and row.actor_id == w.staff.id
    assert rehousing.office_queue(session, w.staff) == []


def test_office_queue_is_the_office_s_own_oldest_first(session):
    w = _world(session)
    clock.set_now(NOW + dt.timedelta(days=1))
    later_prop = _prop(session, w.office, "Haus Später")
    _booking(session, later_prop, "booking", "A A", d(6))
    _booking(session, later_prop, "booking", "B B", d(6), placed=False)
    later = conflicts.open_for(session, later_prop.categories[0], [d(6), d(7)], "overbooked_push")
    foreign_keeper = _booking(session, w.foreign, "booking", "C C", d(6))
    _booking(session, w.foreign, "booking", "D D", d(6), placed=False)
    foreign = conflicts.open_for(session, w.foreign.categories[0], [d(6), d(7)], "overbooked_push")
    session.commit()
    assert foreign_keeper and [db.id for db in rehousing.office_queue(session, w.staff)] == [w.db.id, later.id]
    assert [db.id for db in rehousing.office_queue(session, w.staff2)] == [foreign.id]
    assert [db.id for db in rehousing.office_queue(session, w.admin)] == [w.db.id, later.id, foreign.id]
    with pytest.raises(Forbidden):
        rehousing.office_queue(session, w.host)


def test_office_queue_loads_in_constant_queries(session, count_queries):
    w = _world(session)
    session.expire_all()
    staff = session.get(type(w.staff), w.staff.id)
    with count_queries() as statements:
        for db in rehousing.office_queue(session, staff):
            _ = (db.prop.name, db.prop.owner.name, db.category.name, [b.guest_name for b in db.bookings])
    assert len([s for s in statements if not s.startswith("BEGIN")]) <= 3


# -- who may ---------------------------------------------------------------------------------

def test_another_host_or_office_may_not_touch_it(session):
    w = _world(session)
    stranger = make_user(session, "host")
    for actor in (stranger, w.staff2):
        with pytest.raises(Forbidden):
            rehousing.contact_guest(session, actor, w.here, w.db, w.loser, "")
        with pytest.raises(Forbidden):
            rehousing.hand_over(session, actor, w.here, w.db, "")


def test_a_booking_outside_the_double_booking_is_not_found(session):
    w = _world(session)
    other = _booking(session, w.here, "own", "Otto Anders", d(20))
    session.commit()
    with pytest.raises(NotFound):
        rehousing.guest_cancels(session, w.host, w.here, w.db, other)


def test_a_resolved_double_booking_takes_no_more_steps(session):
    w = _world(session)
    rehousing.guest_cancels(session, w.host, w.here, w.db, w.loser)
    with pytest.raises(Conflict):
        rehousing.contact_guest(session, w.host, w.here, w.db, w.keeper, "")
    with pytest.raises(Conflict):
        rehousing.hand_over(session, w.host, w.here, w.db, "")

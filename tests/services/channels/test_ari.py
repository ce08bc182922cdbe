"""services.channels.ari: every change of availability, price or restriction is pushed to the
channels as one merged `availability_changed` event per connection, built at delivery."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.availability import inventory, rates, undo
from services.bookings import own
from services.channels import ari, connections, outbox, reservations
from services.core import clock
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.models import ChannelConnection, NightRate, OutboxEvent
from services.properties import registry
from tests.factories import make_property, new_booking
from tests.services.channels.test_outbox import receiver  # noqa: F401 - the fixture: a webhook receiver on loopback

NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)  # a Wednesday, 10:00 in Berlin
TODAY = NOW.date()


def d(days: int) -> dt.date:
    return TODAY + dt.timedelta(days=days)


def iso(days: int) -> str:
    return d(days).isoformat()


@pytest.fixture
def world(session):
    """A property of two categories (3 units each, 60 nights priced) with three connections:
    Booking.com and Slevomat with a webhook address, the tourist office's site without one."""
    clock.set_now(NOW)
    prop = make_property(session, units=3, categories=2)
    hook = "http://127.0.0.1:9/hook"  # never called in these tests unless a receiver replaces it
    booking, _ = connections.switch_on(session, None, prop, "booking", webhook_url=hook)
    slevomat, _ = connections.switch_on(session, None, prop, "slevomat", webhook_url=hook)
    office, _ = connections.switch_on(session, None, prop, "tourist-office")
    return prop, booking, slevomat, office


def events(session, conn=None) -> list[OutboxEvent]:
    q = sa.select(OutboxEvent).where(OutboxEvent.event == ari.EVENT).order_by(OutboxEvent.id)
    if conn is not None:
        q = q.where(OutboxEvent.connection_id == conn.id)
    return list(session.scalars(q.execution_options(populate_existing=True)))


def only_event(session, conn) -> dict:
    [row] = events(session, conn)
    return row.pending_nights


def claim_all(session) -> None:
    """What the worker's claim does: the open events are sealed (built_at)."""
    outbox._claim(session, OutboxEvent, 100)


def _own(session, prop, arrival, nights=2, cat=0):
    return own.create_own_booking(session, prop.owner, prop, own.OwnBookingData(
        category_id=prop.categories[cat].id, arrival=arrival, departure=arrival + dt.timedelta(days=nights),
        guest_name="Anna Gast"))


def _channel_booking(session, conn, arrival, nights=2, units=1, status="confirmed", external_id="B-1"):
    b, _ = reservations.create(session, conn, reservations.ReservationInput(
        external_id=external_id, room_category_id=conn.prop.categories[0].id, arrival=arrival,
        departure=arrival + dt.timedelta(days=nights), units=units, guests=1, guest_name="Guest", guest_email="",
        guest_phone="", status=status, total_price=None, risk_free=False, free_cancellation_until=None))
    return b


# -- one merged event per connection, only the nights that changed ------------------------------

def test_an_own_booking_is_one_event_per_connection_with_only_its_nights(session, world):
    prop, booking, slevomat, office = world
    assert events(session) == []  # switching channels on changes no availability
    _own(session, prop, d(3), nights=3)
    cat = str(prop.categories[0].id)
    assert only_event(session, booking) == {cat: [[iso(3), iso(5)]]}
    assert only_event(session, slevomat) == {cat: [[iso(3), iso(5)]]}
    assert events(session, office) == []  # no webhook address: nothing to push to
    row = events(session, booking)[0]
    assert row.built_at is None and row.delivered_at is None and row.body == ""


def test_a_bulk_edit_is_one_event_per_connection_with_its_nights_as_ranges(session, world):
    prop, booking, slevomat, _ = world
    cats = prop.categories
    rates.bulk_edit(session, prop.owner, prop, cats, d(0), d(364), set(range(7)), rates.RateChange(price=Decimal("95.00")))
    expected = {str(c.id): [[iso(0), iso(364)]] for c in cats}
    assert only_event(session, booking) == expected and only_event(session, slevomat) == expected
    # Only the weekdays edited: each Saturday its own range, merged into the same open event.
    rates.bulk_edit(session, prop.owner, prop, cats[:1], d(400), d(420), {5}, rates.RateChange(min_stay=2))
    saturdays = [iso(n) for n in range(400, 421) if d(n).weekday() == 5]
    got = only_event(session, booking)
    assert got[str(cats[0].id)] == [[iso(0), iso(364)]] + [[s, s] for s in saturdays]
    assert got[str(cats[1].id)] == [[iso(0), iso(364)]]


def test_a_cancellation_is_one_event_with_the_nights_it_frees(session, world):
    prop, booking, slevomat, _ = world
    b = _channel_booking(session, booking, d(10), nights=2)
    claim_all(session)  # the booking's own event has gone to the worker
    reservations.cancel(session, booking, b.id)
    cat = str(prop.categories[0].id)
    for conn in (booking, slevomat):
        sealed, new = events(session, conn)
        assert sealed.built_at is not None
        assert new.built_at is None and new.pending_nights == {cat: [[iso(10), iso(11)]]}


def test_ten_edits_before_delivery_are_one_event(session, world):
    prop, booking, slevomat, _ = world
    cat = prop.categories[0]
    for i in range(10):
        rates.set_night(session, prop.owner, prop, cat, d(2 * i), rates.RateChange(price=Decimal("80.00") + i))
    # Nights 0, 2, ..., 18: ten single nights; then the nights between them join them up.
    assert only_event(session, booking) == {str(cat.id): [[iso(2 * i), iso(2 * i)] for i in range(10)]}
    rates.bulk_edit(session, prop.owner, prop, [cat], d(1), d(17), set(range(7)), rates.RateChange(quota=2))
    assert only_event(session, booking) == {str(cat.id): [[iso(0), iso(18)]]}
    assert len(events(session)) == 2  # one per connection with a webhook address


def test_a_change_after_the_event_was_claimed_goes_into_a_new_event(session, world):
    prop, booking, _, _ = world
    cat = prop.categories[0]
    rates.set_night(session, prop.owner, prop, cat, d(5), rates.RateChange(price=Decimal("90.00")))
    claim_all(session)
    rates.set_night(session, prop.owner, prop, cat, d(6), rates.RateChange(price=Decimal("91.00")))
    first, second = events(session, booking)
    assert first.built_at is not None and first.pending_nights == {str(cat.id): [[iso(5), iso(5)]]}
    assert second.built_at is None and second.pending_nights == {str(cat.id): [[iso(6), iso(6)]]}


def test_a_claim_that_seals_the_event_while_a_change_commits_makes_it_write_a_new_one(engine, session, world):
    """The worker seals the open event in a transaction of its own; a change committing at that
    moment waits for it (PostgreSQL: the event row's lock; SQLite: the write lock) and then,
    finding the event sealed, writes a new one instead of merging into what is being sent."""
    prop, booking, _, _ = world
    cat_id, prop_id, owner_id, conn_id = prop.categories[0].id, prop.id, prop.owner_id, booking.id
    rates.set_night(session, prop.owner, prop, prop.categories[0], d(5), rates.RateChange(price=Decimal("90.00")))
    session.close()
    done = threading.Event()
    errors = []

    def change():
        try:
            with Session(engine) as s:
                from services.models import Property, RoomCategory, User
                p = s.get(Property, prop_id)
                rates.set_night(s, s.get(User, owner_id), p, s.get(RoomCategory, cat_id), d(6),
                                rates.RateChange(price=Decimal("91.00")))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    with Session(engine) as worker:
        row = worker.scalars(sa.select(OutboxEvent).where(OutboxEvent.connection_id == conn_id)
                             .with_for_update()).one()
        row.built_at = clock.now()
        worker.flush()
        thread = threading.Thread(target=change)
        thread.start()
        time.sleep(0.5)
        assert not done.is_set()  # waits for the claim
        worker.commit()
    thread.join(30)
    assert done.is_set() and not errors, errors
    first, second = events(session, session.get(ChannelConnection, conn_id))
    assert first.pending_nights == {str(cat_id): [[iso(5), iso(5)]]} and first.built_at is not None
    assert second.pending_nights == {str(cat_id): [[iso(6), iso(6)]]} and second.built_at is None


# -- every writer records --------------------------------------------------------------------

def test_an_edited_own_booking_names_its_old_and_new_nights(session, world):
    prop, booking, _, _ = world
    b = _own(session, prop, d(3), nights=2)
    claim_all(session)
    own.update_own_booking(session, prop.owner, prop, b.id, own.OwnBookingData(
        category_id=prop.categories[1].id, arrival=d(20), departure=d(22), guest_name="Anna Gast"))
    new = events(session, booking)[-1]
    assert new.pending_nights == {str(prop.categories[0].id): [[iso(3), iso(4)]],
                                  str(prop.categories[1].id): [[iso(20), iso(21)]]}


def test_a_partial_cancellation_undo_and_a_deleted_unit_record_their_nights(session, world):
    prop, booking, _, _ = world
    cat = prop.categories[0]
    b = _channel_booking(session, booking, d(8), nights=3, units=2)
    claim_all(session)
    reservations.cancel(session, booking, b.id, units=1)
    assert events(session, booking)[-1].pending_nights == {str(cat.id): [[iso(8), iso(10)]]}
    claim_all(session)
    entry = rates.set_night(session, prop.owner, prop, cat, d(30), rates.RateChange(price=Decimal("85.00")))
    claim_all(session)
    last = undo.last_undoable(session, prop.owner, prop)
    undo.undo(session, prop.owner, prop, last)
    assert entry is not None and events(session, booking)[-1].pending_nights == {str(cat.id): [[iso(30), iso(30)]]}
    claim_all(session)
    other = prop.categories[1]
    registry.delete_unit(session, prop.owner, prop, other.units[-1].id)
    assert events(session, booking)[-1].pending_nights == {
        str(other.id): [[iso(0), (TODAY + dt.timedelta(days=ari.UNIT_CHANGE_DAYS - 1)).isoformat()]]}


def test_a_hold_swept_after_it_ran_out_records_its_nights(session, world):
    prop, booking, _, _ = world
    _channel_booking(session, booking, d(4), nights=2, status="pending")
    claim_all(session)
    clock.set_now(NOW + dt.timedelta(minutes=booking.hold_minutes + 1))
    assert reservations.sweep(session) == 1
    assert events(session, booking)[-1].pending_nights == {str(prop.categories[0].id): [[iso(4), iso(5)]]}


def test_an_ical_import_and_a_gap_fix_record_their_nights(session, world):
    from services.availability import gaps
    from services.channels import ical
    from tests.services.channels.test_ical import _ics

    prop, booking, _, _ = world
    cat = prop.categories[0]
    feed = ical.add_feed(session, prop.owner, prop, cat.id, "Airbnb", "https://example.org/cal.ics")
    claim_all(session)
    ical.sync_feed(session, feed.id, fetcher=lambda url: _ics(("a@x", d(12), d(15))))
    assert events(session, booking)[-1].pending_nights == {str(cat.id): [[iso(12), iso(14)]]}
    claim_all(session)
    ical.sync_feed(session, feed.id, fetcher=lambda url: _ics())  # the event was removed over there
    assert events(session, booking)[-1].pending_nights == {str(cat.id): [[iso(12), iso(14)]]}
    claim_all(session)
    # A one-night gap between two stays under a two-night minimum: the fix lowers it.
    rates.bulk_edit(session, prop.owner, prop, [cat], d(20), d(30), set(range(7)), rates.RateChange(min_stay=2))
    with use_case(session):
        for arrival, nights in ((d(20), 2), (d(23), 3)):
            for _unit in cat.units:  # every unit, so that night 22 is a gap of one night
                inventory.take(session, _added(session, prop, arrival, nights))
    claim_all(session)
    gaps.fix(session, prop.owner, prop, cat.id, d(22))
    assert events(session, booking)[-1].pending_nights == {str(cat.id): [[iso(22), iso(22)]]}


# -- what is not written --------------------------------------------------------------------

def test_a_rolled_back_use_case_writes_no_event(session, world):
    prop, booking, _, _ = world
    first = _own(session, prop, d(3), nights=2)
    second = _own(session, prop, d(6), nights=2)
    claim_all(session)
    # Moving the second onto a unit the first holds fails after its nights were given back.
    taken_unit = session.scalar(sa.select(inventory.Occupancy.unit_id).where(inventory.Occupancy.booking_id == first.id))
    with pytest.raises(Conflict):
        own.update_own_booking(session, prop.owner, prop, second.id, own.OwnBookingData(
            category_id=prop.categories[0].id, arrival=d(3), departure=d(5), guest_name="Anna Gast", unit_id=taken_unit))
    assert ari.pending(session) == {}
    with pytest.raises(RuntimeError):
        with use_case(session):
            inventory.take(session, _added(session, prop, d(40)))
            assert ari.pending(session)
            raise RuntimeError("late failure")
    assert ari.pending(session) == {}
    session.commit()
    assert all(e.built_at is not None for e in events(session))  # nothing new, only the sealed ones


def _added(session, prop, arrival, nights=2):
    b = new_booking(prop, arrival=arrival, nights=nights)
    session.add(b)
    return b


def test_a_switched_off_connection_and_one_without_an_address_get_none(session, world):
    prop, booking, slevomat, office = world
    connections.revoke(session, prop.owner, prop, "slevomat")
    _own(session, prop, d(3))
    assert len(events(session, booking)) == 1
    assert events(session, slevomat) == [] and events(session, office) == []


# -- delivery -------------------------------------------------------------------------------------

def test_delivered_signed_with_the_state_at_delivery_and_rebuilt_at_a_retry(session, world, receiver):  # noqa: F811
    prop, booking, slevomat, _ = world
    hook = receiver([500])
    connections.update_settings(session, prop.owner, prop, "booking", 60, hook.url, "on_arrival")
    connections.revoke(session, prop.owner, prop, "slevomat")
    cat = prop.categories[0]
    b = _own(session, prop, d(1), nights=2)
    rates.set_night(session, prop.owner, prop, cat, d(2), rates.RateChange(price=Decimal("99.00"), min_stay=2,
                                                                            closed_to_departure=True))
    # Changed behind the portal's back after the event was written: the body tells the state at delivery.
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id, NightRate.night == d(1))
                    .values(price=Decimal("77.00")))
    session.commit()
    assert outbox.deliver_webhooks(session).failed == 1
    headers, body = hook.requests[0]
    assert headers["X-Portal-Event"] == "availability_changed"
    assert headers["X-Portal-Signature"] == "sha256=" + hmac.new(booking.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    payload = json.loads(body)
    row = events(session, booking)[0]
    assert row.body.encode() == body and headers["X-Portal-Event-Id"] == str(row.id) == str(payload["id"])
    assert payload["event"] == "availability_changed" and payload["created_at"] == row.created_at.isoformat()
    data = payload["data"]
    assert data["property_id"] == prop.id
    [category] = data["room_categories"]
    assert category["room_category_id"] == cat.id
    assert category["nights"] == [
        {"date": iso(1), "available": 2, "price": "77.00", "min_stay": 1, "max_stay": None, "closed": False,
         "closed_to_arrival": False, "closed_to_departure": False},
        {"date": iso(2), "available": 2, "price": "99.00", "min_stay": 2, "max_stay": None, "closed": False,
         "closed_to_arrival": False, "closed_to_departure": True},
    ]
    # Before the retry: the booking is cancelled (a new event) and two days pass (night 1 is past).
    own.cancel_own_booking(session, prop.owner, prop, b.id)
    clock.set_now(NOW + dt.timedelta(days=2))
    assert outbox.deliver_webhooks(session).sent == 2
    retried = json.loads(hook.requests[1][1])
    assert retried["id"] == row.id
    assert retried["data"]["room_categories"][0]["nights"] == [
        {"date": iso(2), "available": 3, "price": "99.00", "min_stay": 2, "max_stay": None, "closed": False,
         "closed_to_arrival": False, "closed_to_departure": True}]  # rebuilt: fresh, and no past night
    assert json.loads(hook.requests[2][1])["id"] != row.id
    assert hook.requests[1][0]["X-Portal-Signature"] == "sha256=" + hmac.new(
        booking.webhook_secret.encode(), hook.requests[1][1], hashlib.sha256).hexdigest()
    assert outbox.deliver_webhooks(session).sent == 0


def test_an_event_whose_nights_are_all_past_is_closed_without_sending(session, world, receiver):  # noqa: F811
    prop, booking, _, _ = world
    hook = receiver()
    connections.update_settings(session, prop.owner, prop, "booking", 60, hook.url, "on_arrival")
    connections.revoke(session, prop.owner, prop, "slevomat")
    _own(session, prop, d(0), nights=1)
    clock.set_now(NOW + dt.timedelta(days=2))
    assert outbox.deliver_webhooks(session).sent == 0
    assert hook.requests == [] and events(session, booking)[0].delivered_at is not None


# -- full sync ------------------------------------------------------------------------------------

def test_full_sync_queues_every_category_for_each_or_the_named_connection(session, world):
    prop, booking, slevomat, office = world
    claim_all(session)
    conns = ari.full_sync(session, prop.owner, prop, days=30)
    assert [c.id for c in conns] == [booking.id, slevomat.id]
    expected = {str(c.id): [[iso(0), iso(29)]] for c in prop.categories}
    assert only_event(session, booking) == expected and only_event(session, slevomat) == expected
    _own(session, prop, d(40), nights=2)  # merged into the same open events
    assert only_event(session, booking)[str(prop.categories[0].id)] == [[iso(0), iso(29)], [iso(40), iso(41)]]
    ari.full_sync(session, prop.owner, prop, "slevomat", days=500)
    assert only_event(session, slevomat) == {str(c.id): [[iso(0), iso(499)]] for c in prop.categories}
    assert only_event(session, booking)[str(prop.categories[1].id)] == [[iso(0), iso(29)]]
    with pytest.raises(Conflict) as refused:
        ari.full_sync(session, prop.owner, prop, "tourist-office")
    assert refused.value.code == "no_webhook_url"
    with pytest.raises(Invalid):
        ari.full_sync(session, prop.owner, prop, days=0)


def test_full_sync_is_refused_to_another_host(session, world):
    from services.core.errors import Forbidden, NotFound
    from tests.factories import make_user

    prop, *_ = world
    stranger = make_user(session, "host")
    with pytest.raises((Forbidden, NotFound)):
        ari.full_sync(session, stranger, prop)
    assert events(session) == []


def test_merge_joins_overlapping_and_adjacent_ranges():
    a = dt.date(2030, 1, 1)

    def r(x, y):
        return (a + dt.timedelta(days=x), a + dt.timedelta(days=y))

    assert ari.merge([r(5, 6), r(0, 2), r(3, 3), r(8, 9), r(9, 12)]) == [r(0, 3), r(5, 6), r(8, 12)]
    assert ari.runs([a + dt.timedelta(days=n) for n in (4, 1, 2, 2, 7)]) == [r(1, 2), r(4, 4), r(7, 7)]

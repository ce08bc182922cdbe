"""services.reviews.intake: a review partner's reviews stored, idempotent by its review id; the
rules that need the property or the scale; a whole file in one transaction (issue 12)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.blueprints.api.schemas import review_input, totals_input
from services.channels import ari, connections
from services.core import clock
from services.core.errors import Conflict, Invalid
from services.models import AuditEntry, ChannelConnection, OutboxEvent, Review
from services.properties import registry
from services.reviews import intake
from tests.factories import make_property

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def conn(session):
    clock.set_now(NOW)
    prop = make_property(session, days=10)
    c, _ = connections.switch_on(session, None, prop, "holidaycheck")
    return c


def record(**kw) -> dict:
    data = {"partner_review_id": "HC-1", "created_at": "2026-10-01", "author": "Jana", "overall": 5,
            "scale": {"min": 1, "max": 6}, "status": "pending"}
    data.update(kw)
    return data


def count(session) -> int:
    return session.scalar(sa.select(sa.func.count(Review.id)))


def test_switch_on_gives_a_review_partner_the_scope_reviews_and_no_booking_settings(session, conn):
    assert conn.scope == "reviews" and conn.channel == "holidaycheck"
    booking, _ = connections.switch_on(session, None, conn.prop, "slevomat")
    assert booking.scope == "booking"
    assert connections.channel_label("holidaycheck").text == "HolidayCheck (reviews)"
    assert "holidaycheck" not in connections.SOURCE_LABELS  # never a booking source
    # Its settings: only the webhook address changes, whatever else is sent.
    connections.update_settings(session, conn.prop.owner, conn.prop, "holidaycheck", 5, "https://example.org/hc",
                                "prepaid", inventory_mode="notify")
    assert (conn.webhook_url, conn.hold_minutes, conn.payment_mode) == ("https://example.org/hc", 60, "on_arrival")


def test_the_first_steps_do_not_count_a_review_partner_as_a_channel(session, conn):
    assert registry.first_steps(session, conn.prop.owner, conn.prop).channels is False


def test_availability_is_never_pushed_to_a_review_partner(session, conn):
    connections.update_settings(session, conn.prop.owner, conn.prop, "holidaycheck", 60, "https://example.org/hc",
                                "on_arrival")
    with pytest.raises(Conflict) as e:
        ari.full_sync(session, None, conn.prop)  # no booking connection with a webhook address
    assert e.value.code == "no_webhook_url"
    with pytest.raises(Conflict) as e:
        ari.full_sync(session, None, conn.prop, "holidaycheck")
    assert e.value.code == "scope"
    booking, _ = connections.switch_on(session, None, conn.prop, "booking", webhook_url="https://example.org/b")
    assert [c.id for c in ari.full_sync(session, None, conn.prop)] == [booking.id]
    assert set(session.scalars(sa.select(OutboxEvent.connection_id))) == {booking.id}


def test_receive_creates_then_updates_the_same_partner_id(session, conn):
    review, created = intake.receive(session, conn, review_input(record()))
    assert created and review.status == "pending" and review.written_on == dt.date(2026, 10, 1)
    assert review.received_at == review.updated_at == NOW
    clock.set_now(NOW + dt.timedelta(hours=1))
    again, created = intake.receive(session, conn, review_input(record(status="published", overall=5.5)))
    assert not created and again.id == review.id and again.status == "published" and again.overall == Decimal("5.50")
    assert again.received_at == NOW and again.updated_at == NOW + dt.timedelta(hours=1)
    assert count(session) == 1
    line = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert line.action == "review_updated" and '"changed":["overall","status"]' in line.summary


def test_a_booking_connection_cannot_receive_reviews(session, conn):
    booking, _ = connections.switch_on(session, None, conn.prop, "slevomat")
    with pytest.raises(intake.WrongScope) as e:
        intake.receive(session, booking, review_input(record()))
    assert e.value.status == 403 and e.value.code == "scope"


def test_scores_are_rounded_to_the_stored_precision_and_kept_as_numbers(session, conn):
    review, _ = intake.receive(session, conn, review_input(record(overall=5.333, sub_scores={"room": 4.666})))
    assert review.overall == Decimal("5.33") and review.sub_scores == {"room": 4.67}


def test_scale_edges_are_on_the_scale(session, conn):
    intake.receive(session, conn, review_input(record(overall=1, sub_scores={"room": 6})))
    with pytest.raises(Invalid) as e:
        intake.receive(session, conn, review_input(record(partner_review_id="HC-2", overall=6.01)))
    assert set(e.value.errors) == {"overall"}


def test_import_is_all_or_nothing_with_every_error_by_index(session, conn):
    intake.receive(session, conn, review_input(record(partner_review_id="OLD")))
    records = [record(partner_review_id="A"), record(partner_review_id="B", overall=9),
               record(partner_review_id="OLD", status="published"), record(partner_review_id="C", status="gone")]
    with pytest.raises(Invalid) as e:
        intake.import_records(session, conn, records, None, review_input)
    assert set(e.value.errors) == {"[1].overall", "[3].status"}
    session.expire_all()
    assert sorted(session.scalars(sa.select(Review.partner_review_id))) == ["OLD"]
    assert session.scalar(sa.select(Review.status).where(Review.partner_review_id == "OLD")) == "pending"


def test_import_counts_created_and_updated_and_stores_the_totals(session, conn):
    intake.receive(session, conn, review_input(record(partner_review_id="OLD")))
    done = intake.import_records(session, conn, [record(partner_review_id="A"), record(partner_review_id="OLD"),
                                                 record(partner_review_id="A", status="published")],
                                 totals_input({"count": 40, "average": 5.25}), review_input)
    assert (done.created, done.updated) == (1, 2)
    session.expire_all()
    c = session.get(ChannelConnection, conn.id)
    assert (c.review_count, c.review_average) == (40, Decimal("5.25"))
    assert count(session) == 2


def test_file_totals_are_checked_on_the_reviews_scale(session, conn):
    with pytest.raises(Invalid) as e:
        intake.import_records(session, conn, [record()], totals_input({"count": 4, "average": 7}), review_input)
    assert set(e.value.errors) == {"partner_totals.average"}
    assert count(session) == 0

"""services.channels.outbox: webhooks signed, retried with backoff, never lost, never re-sent after a 2xx."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
import sqlalchemy as sa

from services.channels import connections, host_changes, outbox, reservations
from services.core import clock
from services.models import MailMessage, OutboxEvent
from tests.factories import make_property
from tests.localhttp import LocalServer, QuietHandler


class Receiver(LocalServer):
    """A webhook receiver that answers with the statuses it is given, in turn."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler, "/hook")


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        r = Receiver(statuses)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def _modified_booking(session, url):
    clock.set_now(clock.now())
    prop = make_property(session, units=2)
    conn, _ = connections.switch_on(session, None, prop, "booking", webhook_url=url)
    today = clock.today(prop.timezone)
    data = reservations.ReservationInput(
        external_id="B-1", room_category_id=prop.categories[0].id, arrival=today + dt.timedelta(days=2),
        departure=today + dt.timedelta(days=4), units=1, guests=1, guest_name="Guest", guest_email="", guest_phone="",
        status="confirmed", total_price=None, risk_free=False, free_cancellation_until=None)
    b, _ = reservations.create(session, conn, data)
    # The availability the booking took is pushed too (tests/services/channels/test_ari.py); here
    # only the reservation's own webhook is looked at.
    session.execute(sa.delete(OutboxEvent).where(OutboxEvent.event == "availability_changed"))
    session.commit()
    host_changes.request_cancellation(session, prop.owner, prop, b.id, "please")
    return conn


def test_webhook_retried_with_backoff_until_2xx_then_never_again(session, receiver):
    r = receiver([500, 503])
    conn = _modified_booking(session, r.url)
    start = clock.now()
    assert outbox.deliver_webhooks(session).failed == 1
    row = session.scalar(sa.select(OutboxEvent))
    assert row.attempts == 1 and row.delivered_at is None and "500" in row.last_error
    assert row.next_attempt_at == start + dt.timedelta(minutes=1)
    assert outbox.deliver_webhooks(session).sent == 0  # not due yet
    clock.set_now(start + dt.timedelta(minutes=2))
    assert outbox.deliver_webhooks(session).failed == 1
    row = session.scalar(sa.select(OutboxEvent).execution_options(populate_existing=True))
    assert row.next_attempt_at == start + dt.timedelta(minutes=4)  # 2 minutes after the second try
    clock.set_now(start + dt.timedelta(minutes=5))
    assert outbox.deliver_webhooks(session).sent == 1
    clock.set_now(start + dt.timedelta(days=1))
    assert outbox.deliver_webhooks(session).sent == 0
    assert len(r.requests) == 3
    headers, body = r.requests[-1]
    expected = "sha256=" + hmac.new(conn.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Portal-Signature"] == expected
    payload = json.loads(body)
    assert payload["event"] == "reservation.cancellation_requested" and payload["data"]["note"] == "please"
    assert headers["X-Portal-Event-Id"] == str(payload["id"])


def test_unreachable_receiver_keeps_the_event(session, receiver):
    r = receiver()
    url = r.url
    r.close()
    _modified_booking(session, url)
    assert outbox.deliver_webhooks(session, timeout=2).failed == 1
    row = session.scalar(sa.select(OutboxEvent))
    assert row.delivered_at is None and row.last_error


def test_a_claimed_event_is_not_taken_by_a_second_worker(session, receiver):
    r = receiver()
    _modified_booking(session, r.url)
    claimed = outbox._claim(session, OutboxEvent, 10)
    assert len(claimed) == 1
    assert outbox._claim(session, OutboxEvent, 10) == []  # leased for 5 minutes


def test_without_mail_server_mails_stay_in_the_log(session, receiver):
    r = receiver()
    _modified_booking(session, r.url)
    assert outbox.deliver_mail(session, None).sent == 0
    assert session.scalar(sa.select(sa.func.count(MailMessage.id)).where(MailMessage.sent_at.is_(None))) >= 1

"""services.reviews.responses (R64, R65): one public reply per review (editable), a report as
inappropriate once, both forwarded to the review partner in the same transaction; the office's
queue of reported reviews; tenant isolation; delivery to a real local receiver."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.channels import outbox
from services.core import clock
from services.core.errors import Conflict, Forbidden, Invalid, NotFound
from services.models import AuditEntry, ChannelConnection, MailMessage, OutboxEvent, Review
from services.reviews import responses
from tests.factories import make_office, make_property, make_user
from tests.localhttp import LocalServer, QuietHandler


class Receiver(LocalServer):
    """The review partner's webhook: keeps what it is sent, answers 200."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler, "/holidaycheck")


def review_partner(session, prop, url: str = "https://partner.example.org/hook") -> ChannelConnection:
    now = clock.now()
    conn = ChannelConnection(property_id=prop.id, channel="holidaycheck", scope="reviews", key_prefix=None,
                             webhook_url=url, created_at=now, updated_at=now)
    session.add(conn)
    session.commit()
    return conn


def make_review(session, prop, conn, partner_id: str = "HC-1", status: str = "published", text: str = "Sehr schön.",
                author: str = "Petra") -> Review:
    now = clock.now()
    r = Review(property_id=prop.id, connection_id=conn.id, partner_review_id=partner_id,
               written_on=clock.today(prop.timezone) - dt.timedelta(days=30), author=author, overall=Decimal("5.2"),
               scale_min=Decimal("1"), scale_max=Decimal("6"), sub_scores={"room": 5}, recommends=True,
               text=text, language="de", status=status, received_at=now, updated_at=now)
    session.add(r)
    session.commit()
    return r


@pytest.fixture
def setting(session):
    clock.set_now(clock.now())
    office = make_office(session, "Tourist-Info Eins")
    office.email = "info@tourist-eins.example"
    staff = make_user(session, "staff", office, name="Stefan Staff")
    prop = make_property(session, office=office)
    conn = review_partner(session, prop)
    review = make_review(session, prop, conn)
    return prop, conn, review, staff


def _events(session, name):
    return [json.loads(e.body) for e in session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event == name)
                                                        .order_by(OutboxEvent.id))]


def _history(session, prop):
    return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.property_id == prop.id,
                                                            AuditEntry.action.like("review%")).order_by(AuditEntry.id)))


# -- replies ----------------------------------------------------------------------------------------

def test_host_replies_once_and_edits_the_reply(session, setting):
    prop, conn, review, _ = setting
    host = prop.owner
    r = responses.reply(session, host, prop, review.id, "  Danke für Ihren Besuch!  ")
    assert r.reply_text == "Danke für Ihren Besuch!" and r.replied_by_id == host.id and r.replied_at == clock.now()
    first = _events(session, "review.reply")
    assert len(first) == 1
    assert first[0]["data"] == {"partner_review_id": "HC-1", "reply": "Danke für Ihren Besuch!",
                                "at": clock.now().isoformat(), "by": "host"}

    later = clock.now() + dt.timedelta(hours=2)
    clock.set_now(later)
    r = responses.reply(session, host, prop, review.id, "Danke! Das Frühstück gibt es jetzt ab 7 Uhr.")
    session.expire_all()
    stored = session.get(Review, review.id)
    assert stored.reply_text == "Danke! Das Frühstück gibt es jetzt ab 7 Uhr." and stored.replied_at == later
    events = _events(session, "review.reply")
    assert len(events) == 2 and events[1]["data"]["reply"].startswith("Danke! Das Frühstück")
    actions = [(e.action, e.actor_id) for e in _history(session, prop)]
    assert actions == [("review_replied", host.id), ("review_reply_edited", host.id)]
    assert "on_behalf_of" not in json.loads(_history(session, prop)[0].summary)

    # The same text again: nothing changes, nothing is sent again.
    responses.reply(session, host, prop, review.id, "Danke! Das Frühstück gibt es jetzt ab 7 Uhr.")
    assert len(_events(session, "review.reply")) == 2 and len(_history(session, prop)) == 2


def test_staff_reply_is_recorded_on_behalf_of_the_host(session, setting):
    prop, conn, review, staff = setting
    responses.reply(session, staff, prop, review.id, "Vielen Dank, wir freuen uns auf Ihren nächsten Besuch.")
    entry = _history(session, prop)[0]
    assert entry.action == "review_replied" and entry.actor_id == staff.id
    params = json.loads(entry.summary)
    assert params["on_behalf_of"] == prop.owner.name and params["review"] == "HC-1" and params["author"] == "Petra"
    assert _events(session, "review.reply")[0]["data"]["by"] == "tourist_office"


@pytest.mark.parametrize("text, message", [
    ("", "Write your reply."),
    ("   \n ", "Write your reply."),
    ("x" * 2001, "At most 2000 characters."),
    ("bad \x00 byte", "Remove the control characters (line breaks and tabs are fine)."),
])
def test_reply_validation(session, setting, text, message):
    prop, conn, review, _ = setting
    with pytest.raises(Invalid) as e:
        responses.reply(session, prop.owner, prop, review.id, text)
    assert str(e.value.errors["reply"]) == message
    assert session.get(Review, review.id).reply_text is None
    assert not _events(session, "review.reply")


def test_reply_of_2000_characters_with_line_breaks_as_a_browser_sends_them(session, setting):
    prop, conn, review, _ = setting
    text = ("a" * 999 + "\r\n") * 2  # 2000 characters as the reader counts them
    r = responses.reply(session, prop.owner, prop, review.id, text)
    assert len(r.reply_text) == 1999  # the last line break stripped


@pytest.mark.parametrize("status", ["pending", "archived"])
def test_reply_only_to_published_reviews(session, setting, status):
    prop, conn, review, _ = setting
    other = make_review(session, prop, conn, "HC-2", status=status)
    with pytest.raises(Invalid) as e:
        responses.reply(session, prop.owner, prop, other.id, "Danke!")
    assert "once the review partner has published the review" in str(e.value.errors["reply"])
    assert not _events(session, "review.reply")


def test_a_review_of_another_property_is_not_found(session, setting):
    prop, conn, review, staff = setting
    other = make_property(session, office=prop.office)
    other_review = make_review(session, other, review_partner(session, other), "HC-X")
    with pytest.raises(NotFound):
        responses.reply(session, prop.owner, prop, other_review.id, "Danke!")
    with pytest.raises(NotFound):
        responses.report(session, prop.owner, prop, other_review.id, "Lüge")
    with pytest.raises(NotFound):
        responses.reply(session, prop.owner, prop, 10 ** 9, "Danke!")
    # Another host, and staff of another office, may not act on the property at all.
    with pytest.raises(Forbidden):
        responses.reply(session, other.owner, prop, review.id, "Danke!")
    stranger = make_user(session, "staff", make_office(session))
    with pytest.raises(Forbidden):
        responses.report(session, stranger, prop, review.id, "Lüge")
    session.expire_all()
    assert session.get(Review, review.id).reply_text is None and session.get(Review, review.id).reported_at is None
    assert session.scalar(sa.select(sa.func.count(OutboxEvent.id))) == 0


def test_reviews_cannot_be_deleted():
    assert not any(name.startswith(("delete", "remove", "archive")) for name in dir(responses))


# -- reports ----------------------------------------------------------------------------------------

def test_report_goes_to_the_partner_the_office_queue_and_the_office_mailbox(session, setting):
    prop, conn, review, staff = setting
    responses.report(session, prop.owner, prop, review.id, "Der Gast war nie bei uns.\r\nBuchung nicht auffindbar.")
    session.expire_all()
    r = session.get(Review, review.id)
    assert r.reported_at == clock.now() and r.reported_by_id == prop.owner_id
    assert r.report_reason == "Der Gast war nie bei uns.\nBuchung nicht auffindbar."
    assert _events(session, "review.report")[0]["data"] == {
        "partner_review_id": "HC-1", "reason": "Der Gast war nie bei uns.\nBuchung nicht auffindbar.",
        "at": clock.now().isoformat(), "by": "host"}
    mail = session.scalar(sa.select(MailMessage).where(MailMessage.recipient == "info@tourist-eins.example"))
    assert mail is not None and prop.name in mail.subject
    assert "Der Gast war nie bei uns." in mail.body and "Petra" in mail.body and "Sehr schön." in mail.body
    assert [h.action for h in _history(session, prop)] == ["review_reported"]
    assert [q.id for q in responses.reported(session, staff)] == [review.id]


def test_a_second_report_is_refused_and_changes_nothing(session, setting):
    prop, conn, review, staff = setting
    responses.report(session, prop.owner, prop, review.id, "Beleidigend.")
    clock.set_now(clock.now() + dt.timedelta(days=1))
    with pytest.raises(Conflict) as e:
        responses.report(session, staff, prop, review.id, "Noch ein Grund.")
    assert e.value.code == "already_reported"
    session.expire_all()
    r = session.get(Review, review.id)
    assert r.report_reason == "Beleidigend." and r.reported_by_id == prop.owner_id
    assert len(_events(session, "review.report")) == 1


def test_staff_report_on_behalf_and_pending_reviews_may_be_reported(session, setting):
    prop, conn, review, staff = setting
    pending = make_review(session, prop, conn, "HC-2", status="pending")
    responses.report(session, staff, prop, pending.id, "Enthält den Namen unserer Mitarbeiterin.")
    entry = _history(session, prop)[0]
    assert entry.actor_id == staff.id and json.loads(entry.summary)["on_behalf_of"] == prop.owner.name
    assert _events(session, "review.report")[0]["data"]["by"] == "tourist_office"


@pytest.mark.parametrize("reason, message", [
    ("", "Say why the review is inappropriate."),
    ("y" * 1001, "At most 1000 characters."),
])
def test_report_validation(session, setting, reason, message):
    prop, conn, review, _ = setting
    with pytest.raises(Invalid) as e:
        responses.report(session, prop.owner, prop, review.id, reason)
    assert str(e.value.errors["reason"]) == message
    assert session.get(Review, review.id).reported_at is None
    assert session.scalar(sa.select(sa.func.count(MailMessage.id))) == 0


def test_archived_reviews_are_not_reported(session, setting):
    prop, conn, review, _ = setting
    archived = make_review(session, prop, conn, "HC-2", status="archived")
    with pytest.raises(Invalid) as e:
        responses.report(session, prop.owner, prop, archived.id, "Alt und falsch.")
    assert "archived" in str(e.value.errors["reason"])


def test_queue_only_for_staff_of_the_office_newest_first(session, setting):
    prop, conn, review, staff = setting
    second = make_review(session, prop, conn, "HC-2")
    other_office = make_office(session)
    other_staff = make_user(session, "staff", other_office)
    other_prop = make_property(session, office=other_office)
    foreign = make_review(session, other_prop, review_partner(session, other_prop), "HC-F")
    responses.report(session, prop.owner, prop, review.id, "Erster.")
    clock.set_now(clock.now() + dt.timedelta(minutes=5))
    responses.report(session, prop.owner, prop, second.id, "Zweiter.")
    responses.report(session, other_prop.owner, other_prop, foreign.id, "Fremd.")
    assert [r.id for r in responses.reported(session, staff)] == [second.id, review.id]
    assert [r.id for r in responses.reported(session, other_staff)] == [foreign.id]
    admin = make_user(session, "admin")
    assert {r.id for r in responses.reported(session, admin)} == {review.id, second.id, foreign.id}
    with pytest.raises(Forbidden):
        responses.reported(session, prop.owner)


def test_an_inactive_partner_connection_keeps_the_reply_without_an_event(session, setting):
    prop, conn, review, _ = setting
    conn.active = False
    session.commit()
    responses.reply(session, prop.owner, prop, review.id, "Danke!")
    assert session.get(Review, review.id).reply_text == "Danke!"
    assert not _events(session, "review.reply")


# -- delivery ---------------------------------------------------------------------------------------

def test_replies_and_reports_reach_a_local_receiver(session, setting):
    prop, conn, review, staff = setting
    receiver = Receiver()
    try:
        conn.webhook_url = receiver.url
        session.commit()
        responses.reply(session, prop.owner, prop, review.id, "Danke, liebe Petra!")
        responses.report(session, staff, prop, review.id, "Nennt eine Mitarbeiterin beim Namen.")
        assert outbox.deliver_webhooks(session).sent == 2
    finally:
        receiver.close()
    assert len(receiver.requests) == 2
    bodies = {}
    for headers, body in receiver.requests:
        expected = "sha256=" + hmac.new(conn.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Portal-Signature"] == expected
        payload = json.loads(body)
        assert headers["X-Portal-Event"] == payload["event"] and headers["X-Portal-Event-Id"] == str(payload["id"])
        bodies[payload["event"]] = payload["data"]
    assert bodies["review.reply"] == {"partner_review_id": "HC-1", "reply": "Danke, liebe Petra!",
                                      "at": clock.now().isoformat(), "by": "host"}
    assert bodies["review.report"] == {"partner_review_id": "HC-1", "reason": "Nennt eine Mitarbeiterin beim Namen.",
                                       "at": clock.now().isoformat(), "by": "tourist_office"}
    assert session.scalar(sa.select(sa.func.count(OutboxEvent.id)).where(OutboxEvent.delivered_at.is_(None))) == 0

"""Replies and reports under each review (R64, R65): htmx swaps the partial in place with a
success message or the message next to the field, staff act on the host's behalf (history),
tenant isolation, CSRF, no delete route, the office's queue of reported reviews."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from portal.extensions import db
from services.core import clock
from services.models import ChannelConnection, OutboxEvent, Review
from tests.web.conftest import HTMX, TODAY, csrf_from, field_errors, login, new_client, snapshot


def _partner(s, prop_id: int) -> ChannelConnection:
    now = clock.now()
    conn = ChannelConnection(property_id=prop_id, channel="holidaycheck", scope="reviews",
                             webhook_url="https://partner.example.org/hook", created_at=now, updated_at=now)
    s.add(conn)
    s.flush()
    return conn


def _review(s, prop_id: int, conn_id: int, partner_id: str, status: str = "published", text: str = "Sehr schön.",
            author: str = "Petra", days_ago: int = 30) -> int:
    now = clock.now()
    r = Review(property_id=prop_id, connection_id=conn_id, partner_review_id=partner_id,
               written_on=TODAY - dt.timedelta(days=days_ago), author=author, overall=Decimal("5.2"),
               scale_min=Decimal("1"), scale_max=Decimal("6"), recommends=True, text=text, language="de",
               status=status, received_at=now, updated_at=now)
    s.add(r)
    s.flush()
    return r.id


@pytest.fixture
def reviews(world, db_session):
    """Property A: three published reviews and a pending one; property B: one published review."""
    with db_session() as s:
        a, b = _partner(s, world.A.id), _partner(s, world.B.id)
        ids = {
            "a1": _review(s, world.A.id, a.id, "HC-A1", author="Petra"),
            "a2": _review(s, world.A.id, a.id, "HC-A2", author="Paul", days_ago=40),
            "a3": _review(s, world.A.id, a.id, "HC-A3", author="Pia", days_ago=50),
            "pending": _review(s, world.A.id, a.id, "HC-AP", status="pending", author="Peter"),
            "b1": _review(s, world.B.id, b.id, "HC-B1", author="Berta"),
        }
        s.commit()
    return ids


def _url(world, review_id, action, slug=None):
    return f"/p/{slug or world.A.slug}/reviews/{review_id}/{action}"


def _reply(client, world, review_id, text, htmx=True, slug=None):
    return client.post(_url(world, review_id, "reply", slug), data={f"review{review_id}-reply-reply": text},
                       headers=HTMX if htmx else {})


def _report(client, world, review_id, reason, htmx=True, slug=None):
    return client.post(_url(world, review_id, "report", slug), data={f"review{review_id}-report-reason": reason},
                       headers=HTMX if htmx else {})


def _stored(db_session, review_id) -> Review:
    with db_session() as s:
        r = s.get(Review, review_id)
        s.expunge(r)
        return r


def _events(db_session, name):
    with db_session() as s:
        return [json.loads(e.body)["data"] for e in s.scalars(
            sa.select(OutboxEvent).where(OutboxEvent.event == name).order_by(OutboxEvent.id))]


# -- the partial on the reviews page ------------------------------------------------------------

def test_the_reviews_page_shows_reply_and_report_under_each_review(host, world, reviews):
    page = host.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)
    assert f'id="review-actions-{reviews["a1"]}"' in page
    assert "Report as inappropriate" in page and "Stay polite and factual" in page
    assert f'name="review{reviews["a1"]}-reply-reply"' in page
    # A pending review: no reply form yet, only the hint; a report is possible.
    pending = page[page.index(f'id="review-actions-{reviews["pending"]}"'):]
    pending = pending[:pending.index("</li>")]
    assert "-reply-reply" not in pending and "once the review partner has published the review" in pending
    assert "-report-reason" in pending


# -- replies ----------------------------------------------------------------------------------------

def test_host_replies_in_place_and_edits_the_reply(host, world, reviews, db_session):
    rid = reviews["a1"]
    resp = _reply(host, world, rid, "Danke für Ihren Besuch! <b>Bis bald</b>")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert body.lstrip().startswith(f'<div class="review-actions" id="review-actions-{rid}"')  # the partial only
    assert "Reply published" in body
    assert "Danke für Ihren Besuch! &lt;b&gt;Bis bald&lt;/b&gt;" in body and "<b>Bis bald</b>" not in body
    assert "Edit reply" in body and "Save reply" in body
    assert _stored(db_session, rid).reply_text == "Danke für Ihren Besuch! <b>Bis bald</b>"

    resp = _reply(host, world, rid, "Danke! Das Frühstück gibt es jetzt ab 7 Uhr.")
    assert resp.status_code == 200 and "Reply saved" in resp.get_data(as_text=True)
    assert _stored(db_session, rid).reply_text == "Danke! Das Frühstück gibt es jetzt ab 7 Uhr."
    assert [e["reply"] for e in _events(db_session, "review.reply")] == [
        "Danke für Ihren Besuch! <b>Bis bald</b>", "Danke! Das Frühstück gibt es jetzt ab 7 Uhr."]

    history = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    assert "Review answered" in history and "Reply to a review edited" in history
    assert "Petra" in history and "Das Frühstück gibt es jetzt ab 7 Uhr." in history
    # The reviews page shows the reply under the review.
    assert "Das Frühstück gibt es jetzt ab 7 Uhr." in host.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)


def test_staff_reply_for_their_host_is_in_the_history_on_behalf(client, world, reviews, db_session):
    login(client, world.staff1)
    form = _reply(client, world, reviews["a2"], "").get_data(as_text=True)  # the partial, with the form
    assert f"You reply on behalf of {world.host_a.name}" in form
    assert _reply(client, world, reviews["a2"], "Vielen Dank, Ihre Tourist-Info.").status_code == 200
    r = _stored(db_session, reviews["a2"])
    assert r.replied_by_id == world.staff1.id
    assert _events(db_session, "review.reply")[0]["by"] == "tourist_office"
    host = new_client(client.application)
    login(host, world.host_a)
    history = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    line = history[history.index("Review answered") - 600:history.index("Review answered") + 300]
    assert world.staff1.name in line and f"Tourist office, on behalf of {world.host_a.name}" in line


@pytest.mark.parametrize("text, message", [
    ("", "Write your reply."),
    ("x" * 2001, "At most 2000 characters."),
])
def test_reply_errors_next_to_the_field_and_nothing_written(app, host, world, reviews, text, message):
    rid = reviews["a1"]
    before = snapshot(app)
    resp = _reply(host, world, rid, text)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(body, f"review{rid}-reply-reply") == [message]
    assert 'class="action reply-form" open' in body  # the form stays open with what was typed
    assert snapshot(app) == before


def test_reply_to_a_pending_review_is_refused_with_the_reason(app, host, world, reviews):
    rid = reviews["pending"]
    before = snapshot(app)
    resp = _reply(host, world, rid, "Danke!")
    assert resp.status_code == 422
    assert "once the review partner has published the review" in resp.get_data(as_text=True)
    assert snapshot(app) == before


def test_without_scripts_success_goes_back_to_the_page_and_a_failure_has_a_page(host, world, reviews, db_session):
    rid = reviews["a3"]
    resp = _reply(host, world, rid, "Danke!", htmx=False)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/p/{world.A.slug}/reviews#review-{rid}")
    page = host.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Reply published" in page
    failed = _report(host, world, rid, "", htmx=False)
    body = failed.get_data(as_text=True)
    assert failed.status_code == 422 and "<html" in body and "Back to the reviews" in body
    assert field_errors(body, f"review{rid}-report-reason") == ["Say why the review is inappropriate."]


# -- reports ----------------------------------------------------------------------------------------

def test_report_shows_its_state_and_a_second_one_is_refused(host, world, reviews, db_session):
    rid = reviews["a1"]
    resp = _report(host, world, rid, "Der Gast war nie bei uns. <script>alert(1)</script>")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Review reported" in body
    assert "Reported on" in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>" not in body
    assert "-report-reason" not in body  # no second report form
    r = _stored(db_session, rid)
    assert r.reported_by_id == world.host_a.id and r.report_reason.startswith("Der Gast war nie bei uns.")
    assert _events(db_session, "review.report")[0]["partner_review_id"] == "HC-A1"

    again = _report(host, world, rid, "Noch ein Grund.")
    assert again.status_code == 409 and "reported already" in again.get_data(as_text=True)
    assert _stored(db_session, rid).report_reason.startswith("Der Gast war nie bei uns.")
    assert len(_events(db_session, "review.report")) == 1


def test_report_reason_too_long(host, world, reviews):
    rid = reviews["a2"]
    resp = _report(host, world, rid, "y" * 1001)
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert field_errors(body, f"review{rid}-report-reason") == ["At most 1000 characters."]
    assert 'class="action report-form" open' in body and "hx-confirm=" in body


# -- tenant isolation, CSRF, no delete ----------------------------------------------------------------

def test_tenant_isolation(app, client, world, reviews):
    before = snapshot(app)
    login(client, world.host_a)
    # B's review through A's property: not found, as one that does not exist.
    assert _reply(client, world, reviews["b1"], "Danke!").status_code == 404
    assert _report(client, world, reviews["b1"], "Lüge").status_code == 404
    # B's property itself: not A's.
    assert _reply(client, world, reviews["b1"], "Danke!", slug=world.B.slug).status_code in (403, 404)
    other_staff = new_client(app)
    login(other_staff, world.staff2)
    assert _reply(other_staff, world, reviews["a1"], "Danke!").status_code == 403
    assert _report(other_staff, world, reviews["a1"], "Lüge").status_code == 403
    anonymous = new_client(app)
    assert _reply(anonymous, world, reviews["a1"], "Danke!").status_code in (302, 401)
    assert snapshot(app) == before


def test_csrf_is_required(csrf_app, world, reviews, db_session):
    c = new_client(csrf_app)
    token = csrf_from(c.get("/login").get_data(as_text=True))
    assert c.post("/login", data={"email": world.host_a.email, "password": "secret-password",
                                  "csrf_token": token}).status_code == 302
    rid = reviews["a1"]
    assert _reply(c, world, rid, "Ohne Token").status_code == 400
    assert _report(c, world, rid, "Ohne Token").status_code == 400
    r = _stored(db_session, rid)
    assert r.reply_text is None and r.reported_at is None
    token = csrf_from(c.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True))
    resp = c.post(_url(world, rid, "reply"), headers={**HTMX, "X-CSRFToken": token},
                  data={f"review{rid}-reply-reply": "Mit Token"})
    assert resp.status_code == 200 and _stored(db_session, rid).reply_text == "Mit Token"
    with csrf_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_no_route_deletes_a_review(app, host, world, reviews):
    for rule in app.url_map.iter_rules():
        if "review" in rule.rule:
            assert "DELETE" not in rule.methods, rule
            assert not any(w in rule.endpoint for w in ("delete", "remove")), rule
    rid = reviews["a1"]
    for url in (f"/p/{world.A.slug}/reviews/{rid}", f"/p/{world.A.slug}/reviews/{rid}/delete"):
        assert host.delete(url).status_code in (404, 405)
        assert host.post(url).status_code in (404, 405)


# -- the office's queue -----------------------------------------------------------------------------

def test_office_queue_lists_reported_reviews_of_its_hosts_only(app, world, reviews, db_session):
    host_a, host_b = new_client(app), new_client(app)
    login(host_a, world.host_a)
    login(host_b, world.host_b)
    assert _report(host_a, world, reviews["a1"], "Beleidigt unsere Mitarbeiterin.").status_code == 200
    clock.set_now(clock.now() + dt.timedelta(minutes=5))
    assert _report(host_b, world, reviews["b1"], "Falsche Unterkunft.", slug=world.B.slug).status_code == 200

    staff1 = new_client(app)
    login(staff1, world.staff1)
    page = staff1.get("/office/reviews").get_data(as_text=True)
    assert "Reported reviews" in page
    assert page.index("Falsche Unterkunft.") < page.index("Beleidigt unsere Mitarbeiterin.")  # newest first
    assert world.A.name in page and f'/p/{world.A.slug}/reviews#review-{reviews["a1"]}' in page
    assert world.host_a.name in page and "Sehr schön." in page
    assert 'href="/office/reviews"' in page and 'aria-current="page"' in page

    staff2 = new_client(app)
    login(staff2, world.staff2)
    other = staff2.get("/office/reviews").get_data(as_text=True)
    assert "Beleidigt unsere Mitarbeiterin." not in other and "No reported reviews." in other
    assert host_a.get("/office/reviews").status_code == 403


def test_office_queue_needs_the_same_queries_however_many_reports(app, world, reviews, db_session, count_queries):
    staff = new_client(app)
    login(staff, world.staff1)
    counts = []
    for key, who in (("a1", world.A.owner_id), ("b1", world.B.owner_id)):
        with db_session() as s:  # reported straight in the table: each by another user, of another property
            r = s.get(Review, reviews[key])
            r.reported_at, r.report_reason, r.reported_by_id = clock.now(), f"Grund {key}", who
            s.commit()
        staff.get("/office/reviews")
        with count_queries() as statements:
            body = staff.get("/office/reviews").get_data(as_text=True)
        assert f"Grund {key}" in body
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[31m", "\x7f"])
def test_text_no_column_can_hold_is_refused_without_a_write(app, host, world, reviews, text):
    rid = reviews["a1"]
    before = snapshot(app)
    body = f"review{rid}-reply-reply={quote(text, errors='surrogatepass')}".encode()
    resp = host.post(_url(world, rid, "reply"), data=body, headers=HTMX, content_type="application/x-www-form-urlencoded")
    assert 400 <= resp.status_code < 500
    assert snapshot(app) == before

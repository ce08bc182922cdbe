"""POST/GET /api/v1/reviews (issue 12): a review partner's key (scope reviews) sends reviews,
idempotent by its review id; scopes refused both ways (403 `scope`); bad input 422 with the field."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.channels import connections
from services.core import clock
from services.models import AuditEntry, ChannelConnection, Review
from tests.api.conftest import ApiClient
from tests.factories import make_property


@pytest.fixture
def partner(session, client):
    """(property, HolidayCheck connection, api client with its key) for an open property."""
    clock.set_now(dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc))
    prop = make_property(session, units=2, days=30)
    conn, key = connections.switch_on(session, None, prop, "holidaycheck")
    return prop, conn, ApiClient(client, key)


def review(**kw) -> dict:
    data = {"partner_review_id": "HC-1", "created_at": "2026-10-01", "travel_date": "2026-09-01",
            "author": "Jana", "overall": 5.3, "scale": {"min": 1, "max": 6},
            "sub_scores": {"room": 5.0, "service": 6, "location": 5.5, "food": 4.8, "hotel": 5.2},
            "recommends": True, "text": "Sehr schön.\nGerne wieder!", "language": "de", "status": "published"}
    data.update(kw)
    return data


def test_a_review_partner_connects_with_scope_reviews(partner):
    prop, conn, api = partner
    assert conn.scope == "reviews" and conn.channel == "holidaycheck"
    r = api.get("/property")  # every key may ask which property it belongs to
    assert r.status_code == 200 and r.json["id"] == prop.id and r.json["scope"] == "reviews"


def test_new_review_is_201_and_the_same_id_again_updates_it_200(session, partner):
    prop, conn, api = partner
    r = api.post("/reviews", json=review())
    assert r.status_code == 201, r.json
    body = r.json
    assert body["partner_review_id"] == "HC-1" and body["created_at"] == "2026-10-01"
    assert body["overall"] == 5.3 and body["scale"] == {"min": 1.0, "max": 6.0}
    assert body["sub_scores"]["service"] == 6.0 and body["recommends"] is True and body["status"] == "published"
    assert body["text"] == "Sehr schön.\nGerne wieder!"
    again = api.post("/reviews", json=review(overall=4.0, status="archived", text="Geändert", author="J."))
    assert again.status_code == 200, again.json
    assert again.json["id"] == body["id"] and again.json["overall"] == 4.0 and again.json["status"] == "archived"
    assert again.json["text"] == "Geändert" and again.json["author"] == "J."
    session.expire_all()
    rows = session.scalars(sa.select(Review).where(Review.property_id == prop.id)).all()
    assert len(rows) == 1 and rows[0].overall == Decimal("4.00") and rows[0].status == "archived"
    assert rows[0].connection_id == conn.id
    actions = session.scalars(sa.select(AuditEntry.action).where(AuditEntry.property_id == prop.id)
                              .order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["review_received", "review_updated"]
    # The same body once more: still 200, still one review.
    assert api.post("/reviews", json=review(overall=4.0, status="archived", text="Geändert", author="J.")).status_code == 200
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 1


def test_text_is_stored_as_sent(session, partner):
    api = partner[2]
    text = '<script>alert("x")</script> & <b>bold</b>'
    r = api.post("/reviews", json=review(text=text))
    assert r.status_code == 201 and r.json["text"] == text
    session.expire_all()
    assert session.scalar(sa.select(Review.text)) == text


def test_a_datetime_created_at_is_stored_as_the_day_where_the_property_is(partner):
    api = partner[2]
    # 23:30 UTC is already the next day in Europe/Berlin (make_property's time zone).
    r = api.post("/reviews", json=review(created_at="2026-10-01T23:30:00Z"))
    assert r.status_code == 201 and r.json["created_at"] == "2026-10-02"


def test_partner_totals_are_stored_on_the_connection(session, partner):
    _, conn, api = partner
    r = api.post("/reviews", json=review(partner_totals={"count": 27, "average": 5.3}))
    assert r.status_code == 201
    session.expire_all()
    c = session.get(ChannelConnection, conn.id)
    assert c.review_count == 27 and c.review_average == Decimal("5.30")


def test_get_lists_the_property_reviews_newest_first_in_pages(partner):
    api = partner[2]
    for i, day in enumerate(["2026-01-05", "2026-03-01", "2026-02-10"]):
        assert api.post("/reviews", json=review(partner_review_id=f"HC-{i}", created_at=day)).status_code == 201
    first = api.get("/reviews?limit=2")
    assert first.status_code == 200
    assert [r["created_at"] for r in first.json["reviews"]] == ["2026-03-01", "2026-02-10"]
    rest = api.get(f"/reviews?limit=2&cursor={first.json['next']}")
    assert [r["created_at"] for r in rest.json["reviews"]] == ["2026-01-05"] and rest.json["next"] is None
    assert api.get("/reviews?cursor=nonsense").json["error"]["field"] == "cursor"
    assert api.get("/reviews?limit=0").json["error"]["field"] == "limit"


def test_get_lists_only_the_key_property(session, client, partner):
    api = partner[2]
    other = make_property(session)
    _, other_key = connections.switch_on(session, None, other, "holidaycheck")
    ApiClient(client, other_key).post("/reviews", json=review(partner_review_id="OTHER"))
    api.post("/reviews", json=review())
    assert [r["partner_review_id"] for r in api.get("/reviews").json["reviews"]] == ["HC-1"]


# -- scopes, both ways ----------------------------------------------------------------------------

@pytest.mark.parametrize("method,url", [
    ("get", "/availability?from=2026-12-01&to=2026-12-03"), ("get", "/reservations"),
    ("post", "/reservations"), ("get", "/reservations/1"), ("post", "/reservations/1/confirm"),
    ("post", "/reservations/1/cancel")])
def test_a_review_key_cannot_see_availability_or_make_reservations(partner, method, url):
    api = partner[2]
    r = getattr(api, method)(url, **({"json": {}} if method == "post" else {}))
    assert r.status_code == 403 and r.json["error"]["code"] == "scope"


def test_a_booking_key_cannot_send_or_read_reviews(session, channel):
    prop, _, api = channel
    for r in (api.post("/reviews", json=review()), api.get("/reviews")):
        assert r.status_code == 403 and r.json["error"]["code"] == "scope"
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 0


# -- bad input: 422 with the field, nothing written ---------------------------------------------

BAD = [
    (dict(overall=6.5), "overall"),
    (dict(overall=0.9), "overall"),
    (dict(sub_scores={"room": 7}), "sub_scores.room"),
    (dict(sub_scores={"room": "gut"}), "sub_scores.room"),
    (dict(scale={"min": 6, "max": 1}), "scale"),
    (dict(scale={"min": 1, "max": 1}), "scale"),
    (dict(scale={"min": 1}), "scale.max"),
    (dict(status="deleted"), "status"),
    (dict(status=None), "status"),
    (dict(text="x" * 10_001), "text"),
    (dict(author="A" * 81), "author"),
    (dict(author=""), "author"),
    (dict(language="Deutsch"), "language"),
    (dict(created_at="2026-11-28"), "created_at"),
    (dict(created_at="2026-11-27T23:30:00Z"), "created_at"),  # 00:30 on the 28th in Berlin
    (dict(created_at="gestern"), "created_at"),
    (dict(travel_date="2027-01-01"), "travel_date"),
    (dict(partner_totals={"count": 27, "average": 6.1}), "partner_totals.average"),
    (dict(partner_totals={"count": -1, "average": 5}), "partner_totals.count"),
    (dict(partner_totals={"count": 3}), "partner_totals.average"),
    (dict(recommends="ja"), "recommends"),
    (dict(overall=True), "overall"),
    (dict(partner_review_id=""), "partner_review_id"),
    (dict(rating=5), "rating"),
]


@pytest.mark.parametrize("change,field", BAD, ids=[f for _, f in BAD])
def test_bad_input_is_422_with_the_field_and_writes_nothing(session, partner, change, field):
    _, conn, api = partner
    r = api.post("/reviews", json=review(**change))
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"], r.json
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count(Review.id))) == 0
    assert session.get(ChannelConnection, conn.id).review_count is None


def test_today_is_fine_and_text_of_exactly_10000_characters(partner):
    api = partner[2]
    assert api.post("/reviews", json=review(created_at="2026-11-27", text="x" * 10_000)).status_code == 201


def test_a_review_naming_another_property_is_refused(session, partner):
    prop, _, api = partner
    other = make_property(session)
    r = api.post("/reviews", json=review(property_id=other.id))
    assert r.status_code == 422 and r.json["error"]["field"] == "property_id"
    assert api.post("/reviews", json=review(property_id=prop.id)).status_code == 201  # its own is fine

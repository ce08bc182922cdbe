"""The host's reviews page (/p/<slug>/reviews): the public block as the public sees it, every
review with the reason it is or isn't shown, sub-scores, reply rate, the chart; empty state;
access; escaping; a constant number of queries."""
from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

from services.models import ChannelConnection, Review
from tests.web.conftest import NOW, TODAY, login

CUTOFF = dt.date(2028, 6, 12)  # TODAY (2030-06-12) minus 24 months: still shown
_n = itertools.count(1)


def review_partner(s, prop_id: int, count: int | None = None, average: str | None = None) -> int:
    conn = ChannelConnection(property_id=prop_id, channel="holidaycheck", scope="reviews", key_prefix=None,
                             review_count=count, review_average=Decimal(average) if average else None,
                             created_at=NOW, updated_at=NOW)
    s.add(conn)
    s.flush()
    return conn.id


def add_review(s, prop_id: int, conn_id: int, written_on: dt.date, status: str = "published", overall: str = "5.0",
               text: str = "Schön war's.", author: str | None = None, sub_scores=None, reply: str | None = None,
               partner_id: str | None = None, updated_at: dt.datetime = NOW) -> Review:
    n = next(_n)
    r = Review(property_id=prop_id, connection_id=conn_id, partner_review_id=partner_id or f"HC-{n}",
               written_on=written_on, travel_date=written_on - dt.timedelta(days=10), author=author or f"Gast {n}",
               overall=Decimal(overall), scale_min=Decimal("1"), scale_max=Decimal("6"),
               sub_scores=sub_scores if sub_scores is not None else {"room": 5, "service": 6}, recommends=True,
               text=text, language="de", status=status, received_at=NOW, updated_at=updated_at, reply_text=reply,
               replied_at=NOW if reply else None)
    s.add(r)
    s.flush()
    return r


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def seed(db_session, prop_id: int, published: int, **kw) -> list[str]:
    """`published` reviews, newest first, one a day; their partner ids."""
    with db_session() as s:
        conn = review_partner(s, prop_id, kw.pop("count", None), kw.pop("average", None))
        ids = [add_review(s, prop_id, conn, ago(i + 1), **kw).partner_review_id for i in range(published)]
        s.commit()
    return ids


def shown_ids(html: str) -> list[str]:
    """The partner ids of the reviews in the public block."""
    block = html[html.index('class="review-block"'):]
    block = block[:block.index("</section>")]
    return re.findall(r'<li class="review" data-review-id="([^"]+)"', block)


def reasons(html: str) -> dict[str, str]:
    """Partner id -> the reason chip's code, from the list of every review."""
    return dict(re.findall(r'<li class="review-row" id="review-\d+" data-review-id="([^"]+)">\s*'
                           r'<div class="review-row-head">\s*<span class="chip [a-z]+ reason-([a-z_0-9]+)"', html))


def test_empty_state_says_how_reviews_arrive(client, world):
    login(client, world.host_a)
    html = client.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)
    assert "No reviews yet." in html and "switch on HolidayCheck in Modules" in html
    assert f"/p/{world.A.slug}/modules" in html
    assert 'aria-current="page">Reviews</a>' in html  # the property's navigation


def test_two_published_nothing_shown_three_shown(client, world, db_session):
    ids = seed(db_session, world.A.id, 2)
    login(client, world.host_a)
    html = client.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)
    assert shown_ids(html) == [] and "No reviews to show yet." in html
    assert set(reasons(html).values()) == {"too_few"} and "Fewer than 3 published" in html
    with db_session() as s:
        conn = s.query(ChannelConnection).filter_by(property_id=world.A.id, channel="holidaycheck").one().id
        ids.append(add_review(s, world.A.id, conn, ago(30)).partner_review_id)
        s.commit()
    html = client.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)
    assert shown_ids(html) == ids
    assert set(reasons(html).values()) == {"shown"}
    assert "5.0 / 6, 3 reviews" in html


def test_every_reason_on_the_page(client, world, db_session):
    with db_session() as s:
        conn = review_partner(s, world.A.id)
        recent = [add_review(s, world.A.id, conn, ago(i + 1), overall="6.0").partner_review_id for i in range(11)]
        on_edge = add_review(s, world.A.id, conn, CUTOFF + dt.timedelta(days=1), partner_id="EDGE-IN").partner_review_id
        too_old = add_review(s, world.A.id, conn, CUTOFF - dt.timedelta(days=1), overall="1.0", partner_id="EDGE-OUT").partner_review_id
        pending = add_review(s, world.A.id, conn, ago(0), status="pending", partner_id="P-1").partner_review_id
        archived = add_review(s, world.A.id, conn, ago(2), status="archived", partner_id="A-1").partner_review_id
        s.commit()
    login(client, world.host_a)
    html = client.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)
    assert shown_ids(html) == recent[:10]
    why = reasons(html)
    assert len(why) == 15
    assert why[recent[10]] == "not_last_10" and why[on_edge] == "not_last_10"
    assert why[too_old] == "too_old" and why[pending] == "pending" and why[archived] == "archived"
    for label in ("Not among the last 10", "Older than 24 months", "Pending check by the partner", "Archived", "Shown"):
        assert label in html
    # Count and average over all 13 published ones (R62): (11 * 6 + 5 + 1) / 13 = 5.54
    assert "5.5 / 6, 13 reviews" in html


def test_the_partners_totals_are_preferred(client, world, db_session):
    seed(db_session, world.A.id, 3, count=27, average="5.3")
    login(client, world.host_a)
    html = client.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)
    assert "5.3 / 6, 27 reviews" in html and "Average and count are the review partner's." in html


def test_figures_chart_and_reply_rate(client, world, db_session):
    with db_session() as s:
        conn = review_partner(s, world.A.id)
        add_review(s, world.A.id, conn, ago(3), overall="6.0", sub_scores={"room": 6, "food": 4}, reply="Danke!")
        add_review(s, world.A.id, conn, ago(40), overall="4.0", sub_scores={"room": 4})
        add_review(s, world.A.id, conn, CUTOFF - dt.timedelta(days=5), overall="2.0", sub_scores={"room": 2})
        s.commit()
    login(client, world.host_a)
    html = client.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)
    assert "Reply rate: 33\u00a0% (1 of 3 published reviews answered)" in html
    table = html[html.index('class="list review-figures"'):]
    assert re.search(r"Room</th><td class=\"num\">5.0</td><td class=\"num\">4.0</td>", table)
    assert re.search(r"Food</th><td class=\"num\">4.0</td><td class=\"num\">4.0</td>", table)
    assert re.search(r"Overall</th><td class=\"num\">5.0</td><td class=\"num\">4.0</td>", table)
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count('<rect class="bar"') == 2  # May and June 2030; the old one is outside the chart
    assert "Show as table" in html and "Reply from the host" in html and "Danke!" in html


def test_german_and_czech(client, world, db_session):
    seed(db_session, world.A.id, 3, overall="5.25")
    login(client, world.host_a)
    with db_session() as s:
        from services.models import User
        s.get(User, world.host_a.id).locale = "de"
        s.commit()
    html = client.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)
    assert "5,3 / 6" in html  # the decimal comma (the words come with the translations)
    with db_session() as s:
        from services.models import User
        s.get(User, world.host_a.id).locale = "cs"
        s.commit()
    assert "5,3 / 6" in client.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)


def test_user_content_is_escaped(client, world, db_session):
    with db_session() as s:
        conn = review_partner(s, world.A.id)
        for i in range(3):
            add_review(s, world.A.id, conn, ago(i + 1), text="<script>alert(1)</script>", author="<b>Eve</b>",
                       reply="<img src=x onerror=alert(2)>", sub_scores={"<i>x</i>": 5})
        s.commit()
    login(client, world.host_a)
    html = client.get(f"/p/{world.A.slug}/reviews").get_data(as_text=True)
    assert "<script>alert" not in html and "<b>Eve</b>" not in html and "<img src=x" not in html and "<i>x</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;Eve&lt;/b&gt;" in html


def test_staff_of_the_office_see_it_others_do_not(client, world, db_session):
    seed(db_session, world.A.id, 3)
    login(client, world.staff1)
    assert client.get(f"/p/{world.A.slug}/reviews").status_code == 200
    client.post("/logout")
    login(client, world.staff2)
    assert client.get(f"/p/{world.A.slug}/reviews").status_code in (403, 404)
    client.post("/logout")
    login(client, world.host_b)
    assert client.get(f"/p/{world.A.slug}/reviews").status_code in (403, 404)


def test_constant_number_of_queries(client, world, db_session, count_queries):
    seed(db_session, world.A.id, 3)
    login(client, world.host_a)
    client.get(f"/p/{world.A.slug}/reviews")  # warm up (first request's own look-ups)
    with count_queries() as few:
        assert client.get(f"/p/{world.A.slug}/reviews").status_code == 200
    with db_session() as s:
        conn = s.query(ChannelConnection).filter_by(property_id=world.A.id, channel="holidaycheck").one().id
        for i in range(25):
            add_review(s, world.A.id, conn, ago(40 + i * 31), status=("published", "pending", "archived")[i % 3],
                       reply="Danke" if i % 2 else None, sub_scores={"room": 4, "food": 3, "hotel": 5})
        s.commit()
    with count_queries() as many:
        assert client.get(f"/p/{world.A.slug}/reviews").status_code == 200
    assert len(many) == len(few), (len(few), len(many))

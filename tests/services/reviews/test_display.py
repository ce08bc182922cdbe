"""services.reviews.display: what the public sees (R60-R63) at every edge, and why each review
is or isn't shown; the figures of the host's page; a constant number of queries."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.core import clock
from services.models import ChannelConnection, Review
from services.reviews import display
from tests.factories import make_property

NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()  # Europe/Berlin: the same day
CUTOFF = dt.date(2028, 6, 12)  # 24 months before TODAY: still shown


@pytest.fixture
def prop(session):
    clock.set_now(NOW)
    return make_property(session, days=0)


def partner(session, prop, count=None, average=None) -> ChannelConnection:
    conn = ChannelConnection(property_id=prop.id, channel="holidaycheck", scope="reviews", key_prefix=None,
                             review_count=count, review_average=average, created_at=NOW, updated_at=NOW)
    session.add(conn)
    session.flush()
    return conn


_n = iter(range(1, 10**6))


def add(session, prop, conn, written_on: dt.date, status="published", overall="5.0", sub_scores=None,
        reply=None) -> Review:
    n = next(_n)
    r = Review(property_id=prop.id, connection_id=conn.id, partner_review_id=f"HC-{n}", written_on=written_on,
               author=f"Guest {n}", overall=Decimal(overall), scale_min=Decimal("1"), scale_max=Decimal("6"),
               sub_scores=sub_scores, recommends=True, text="", language="de", status=status, received_at=NOW,
               updated_at=NOW, reply_text=reply)
    session.add(r)
    session.flush()
    return r


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def reasons_by_id(session, prop) -> dict[str, str]:
    return {x.review.partner_review_id: x.reason for x in display.reasons(session, prop, TODAY)}


def test_the_24_months_boundary():
    assert display.oldest_shown(TODAY) == CUTOFF
    # As dateutil's relativedelta(months=24): a 29 February has no such day two years before.
    assert display.months_back(dt.date(2028, 2, 29), 24) == dt.date(2026, 2, 28)
    assert display.months_back(dt.date(2030, 3, 31), 1) == dt.date(2030, 2, 28)
    assert display.months_back(dt.date(2030, 1, 15), 13) == dt.date(2028, 12, 15)


def test_two_published_show_nothing_three_show_all(session, prop):
    conn = partner(session, prop)
    a, b = add(session, prop, conn, days_ago(1)), add(session, prop, conn, days_ago(2))
    add(session, prop, conn, days_ago(3), status="pending")
    add(session, prop, conn, days_ago(4), status="archived")
    blk = display.block(session, prop, TODAY)
    assert not blk.visible and blk.reviews == []
    assert set(reasons_by_id(session, prop).values()) == {"too_few", "pending", "archived"}
    c = add(session, prop, conn, days_ago(5))
    blk = display.block(session, prop, TODAY)
    assert blk.visible and [r.id for r in blk.reviews] == [a.id, b.id, c.id]  # newest first
    assert blk.count == 3


def test_three_published_counted_over_all_ages(session, prop):
    """R60 counts published reviews of any age: 3 published, only one of them recent."""
    conn = partner(session, prop)
    recent = add(session, prop, conn, days_ago(10))
    add(session, prop, conn, CUTOFF - dt.timedelta(days=1))
    add(session, prop, conn, CUTOFF - dt.timedelta(days=400))
    blk = display.block(session, prop, TODAY)
    assert blk.visible and [r.id for r in blk.reviews] == [recent.id]
    assert blk.count == 3


def test_ten_shown_the_eleventh_not(session, prop):
    conn = partner(session, prop)
    reviews = [add(session, prop, conn, days_ago(i), overall=str(1 + i % 5)) for i in range(11)]  # newest first
    blk = display.block(session, prop, TODAY)
    assert [r.id for r in blk.reviews] == [r.id for r in reviews[:10]]
    why = reasons_by_id(session, prop)
    assert why[reviews[9].partner_review_id] == "shown"
    assert why[reviews[10].partner_review_id] == "not_last_10"
    # The average and count are over all 11 (R62), not over the 10 shown.
    assert blk.count == 11
    assert blk.average == (sum(Decimal(r.overall) for r in reviews) / 11).quantize(Decimal("0.01"))


def test_ten_exactly_are_all_shown(session, prop):
    conn = partner(session, prop)
    for i in range(10):
        add(session, prop, conn, days_ago(i))
    assert len(display.block(session, prop, TODAY).reviews) == 10
    assert set(reasons_by_id(session, prop).values()) == {"shown"}


def test_24_months_minus_a_day_and_plus_a_day(session, prop):
    conn = partner(session, prop)
    on = add(session, prop, conn, CUTOFF)
    inside = add(session, prop, conn, CUTOFF + dt.timedelta(days=1))
    outside = add(session, prop, conn, CUTOFF - dt.timedelta(days=1))
    shown = {r.id for r in display.block(session, prop, TODAY).reviews}
    assert shown == {on.id, inside.id}
    why = reasons_by_id(session, prop)
    assert why[outside.partner_review_id] == "too_old"
    assert why[on.partner_review_id] == why[inside.partner_review_id] == "shown"
    # A day later the review written on the boundary day is too old as well.
    tomorrow = {r.id for r in display.block(session, prop, TODAY + dt.timedelta(days=1)).reviews}
    assert tomorrow == {inside.id}


def test_pending_and_archived_never_shown_and_not_counted(session, prop):
    conn = partner(session, prop)
    published = [add(session, prop, conn, days_ago(10 + i), overall="4.0") for i in range(3)]
    pending = add(session, prop, conn, days_ago(1), status="pending", overall="1.0")
    archived = add(session, prop, conn, days_ago(2), status="archived", overall="1.0")
    blk = display.block(session, prop, TODAY)
    assert {r.id for r in blk.reviews} == {r.id for r in published}
    assert blk.count == 3 and blk.average == Decimal("4.00")
    why = reasons_by_id(session, prop)
    assert why[pending.partner_review_id] == "pending" and why[archived.partner_review_id] == "archived"


def test_average_over_all_published_including_those_not_shown(session, prop):
    conn = partner(session, prop)
    for i in range(11):
        add(session, prop, conn, days_ago(i), overall="6.0")
    add(session, prop, conn, CUTOFF - dt.timedelta(days=1), overall="1.0")  # too old, still counted
    blk = display.block(session, prop, TODAY)
    assert len(blk.reviews) == 10
    assert blk.count == 12
    assert blk.average == (Decimal(66 + 1) / 12).quantize(Decimal("0.01"))  # 5.58
    assert (blk.scale_min, blk.scale_max) == (Decimal("1"), Decimal("6"))


def test_partner_totals_preferred(session, prop):
    conn = partner(session, prop, count=27, average=Decimal("5.3"))
    for i in range(3):
        add(session, prop, conn, days_ago(i), overall="2.0")
    blk = display.block(session, prop, TODAY)
    assert blk.from_partner and blk.count == 27 and blk.average == Decimal("5.3")
    assert len(blk.reviews) == 3


def test_reasons_list_every_review_newest_first(session, prop):
    conn = partner(session, prop)
    old = add(session, prop, conn, days_ago(900))
    new = add(session, prop, conn, days_ago(1), status="pending")
    mid = add(session, prop, conn, days_ago(100))
    assert [x.review.id for x in display.reasons(session, prop, TODAY)] == [new.id, mid.id, old.id]


def test_figures(session, prop):
    conn = partner(session, prop)
    add(session, prop, conn, days_ago(5), overall="6.0", sub_scores={"room": 6, "food": 5.5}, reply="Danke!")
    add(session, prop, conn, days_ago(40), overall="4.0", sub_scores={"room": 4})
    add(session, prop, conn, CUTOFF - dt.timedelta(days=1), overall="2.0", sub_scores={"room": 2, "food": 1})
    add(session, prop, conn, days_ago(1), status="pending", overall="1.0", sub_scores={"room": 1}, reply="x")
    f = display.figures(session, prop, TODAY)
    subs = {s.name: (s.recent, s.all_time) for s in f.sub_scores}
    assert subs == {"room": (Decimal("5.00"), Decimal("4.00")), "food": (Decimal("5.50"), Decimal("3.25"))}
    assert (f.recent_average, f.all_time_average) == (Decimal("5.00"), Decimal("4.00"))
    assert (f.replied, f.published) == (1, 3) and f.reply_rate == Decimal(1) / 3
    assert len(f.months) == 24 and f.months[-1].month == dt.date(2030, 6, 1) and f.months[0].month == dt.date(2028, 7, 1)
    june = f.months[-1]
    may = f.months[-2]
    assert (june.count, june.average) == (1, Decimal("6.00"))
    assert (may.count, may.average) == (1, Decimal("4.00"))
    assert sum(m.count for m in f.months) == 2  # the too old one is outside the chart


def test_no_reviews(session, prop):
    ov = display.overview(session, prop, TODAY)
    assert not ov.block.visible and ov.block.count == 0 and ov.block.average is None
    assert ov.reasons == [] and ov.figures.reply_rate is None


def test_another_propertys_reviews_do_not_count(session, prop):
    other = make_property(session, days=0)
    conn = partner(session, other, count=99, average=Decimal("1.0"))
    for i in range(3):
        add(session, other, conn, days_ago(i))
    blk = display.block(session, prop, TODAY)
    assert not blk.visible and blk.count == 0 and not blk.from_partner


def test_constant_number_of_queries(session, prop, count_queries):
    conn = partner(session, prop)

    def measure():
        session.expire_all()
        with count_queries() as statements:
            display.block(session, prop, TODAY)
        n_block = len(statements)
        with count_queries() as statements:
            display.overview(session, prop, TODAY)
        return n_block, len(statements)

    for i in range(3):
        add(session, prop, conn, days_ago(i), sub_scores={"room": 5})
    few = measure()
    for i in range(30):
        add(session, prop, conn, days_ago(10 + i * 30), status=("published", "pending", "archived")[i % 3],
            sub_scores={"room": 4, "food": 3})
    assert measure() == few
    assert few[0] <= 3 and few[1] <= 3

"""services.availability.calendar: the occupancy plan's data, in queries that do not grow with its size."""
from __future__ import annotations

import datetime as dt

from services.availability import calendar, inventory
from services.core import clock
from tests.factories import make_property, new_booking


def _book_some(session, prop):
    day = clock.today(prop.timezone) + dt.timedelta(days=1)
    for i, cat in enumerate(prop.categories):
        for j, source in enumerate(["own", "booking", "tourist_office"]):
            b = new_booking(prop, category=cat, arrival=day + dt.timedelta(days=j * 3 + i), nights=2, source=source)
            session.add(b)
            inventory.take(session, b)
    session.commit()


def test_bars_span_the_nights_and_carry_their_source(session):
    prop = make_property(session, units=2)
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    b = new_booking(prop, arrival=day, nights=3, source="booking", guest="Bar Guest")
    session.add(b)
    inventory.take(session, b)
    session.commit()
    plan = calendar.build(session, prop, day - dt.timedelta(days=1), day + dt.timedelta(days=5))
    cells = plan.rows[0].units[0].cells
    bars = [c for c in cells if isinstance(c, calendar.Bar)]
    assert len(bars) == 1 and bars[0].span == 3 and bars[0].kind == "booking"
    assert bars[0].first == day  # its first night in the window (the cell's data-night)
    assert sum(c.span if isinstance(c, calendar.Bar) else 1 for c in cells) == 6
    assert plan.rows[0].nights[1].free == 1


def test_a_bar_cut_by_the_window_edge_says_it_continues(session):
    prop = make_property(session, units=1)
    day = clock.today(prop.timezone) + dt.timedelta(days=2)
    b = new_booking(prop, arrival=day, nights=4)
    session.add(b)
    inventory.take(session, b)
    session.commit()
    plan = calendar.build(session, prop, day + dt.timedelta(days=1), day + dt.timedelta(days=3))
    bar = plan.rows[0].units[0].cells[0]
    assert (bar.span, bar.continues_before, bar.continues_after) == (2, True, True)
    assert bar.first == day + dt.timedelta(days=1)  # the window's first night, not the arrival


def _count(session, count_queries, prop, days):
    start = clock.today(prop.timezone)
    session.expire_all()
    with count_queries() as statements:
        calendar.build(session, prop, start, start + dt.timedelta(days=days))
    return len(statements)


def test_query_count_does_not_grow_with_units_or_days(session, count_queries):
    small = make_property(session, units=2, categories=1, days=40)
    big = make_property(session, units=8, categories=4, days=40)
    _book_some(session, small)
    _book_some(session, big)
    counts = {
        (1, 7): _count(session, count_queries, small, 7),
        (1, 31): _count(session, count_queries, small, 31),
        (4, 7): _count(session, count_queries, big, 7),
        (4, 31): _count(session, count_queries, big, 31),
    }
    assert len(set(counts.values())) == 1, counts
    assert counts[(4, 31)] <= 11  # 10, plus the nights sold without a room (the "overbooked" lanes)

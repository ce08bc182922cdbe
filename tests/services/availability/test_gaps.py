"""services.availability.gaps: free nights between two stays, fewer than the minimum stay (R1):
found in the plan's view-model without a query, fixed in one click, undoable."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import calendar, gaps, inventory, rates, undo
from services.availability.inventory import Night
from services.core import clock
from services.core.errors import Conflict, Forbidden, NotFound
from services.models import AuditEntry, NightRate
from tests.factories import make_property, make_user, new_booking

NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)
TODAY = dt.date(2030, 6, 12)


def _n(day: int, available: bool = True, min_stay: int = 1) -> Night:
    return Night(TODAY + dt.timedelta(days=day), units=1, quota=1 if available else 0, price=Decimal("80"),
                 min_stay=min_stay, has_rate=True)


def test_a_short_free_run_between_two_sold_out_nights_is_a_gap():
    nights = [_n(0, False), _n(1, min_stay=3), _n(2), _n(3, False), _n(4)]
    found = gaps.find(nights, TODAY)
    assert set(found) == {TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=2)}
    gap = found[TODAY + dt.timedelta(days=1)]
    assert (gap.first, gap.length, gap.min_stay) == (TODAY + dt.timedelta(days=1), 2, 3)


def test_the_minimum_stay_of_the_first_night_decides():
    assert gaps.find([_n(0, False), _n(1, min_stay=2), _n(2, min_stay=5), _n(3, False)], TODAY) == {}  # 2 nights, min 2
    assert len(gaps.find([_n(0, False), _n(1, min_stay=3), _n(2, min_stay=1), _n(3, False)], TODAY)) == 2


def test_a_run_touching_the_edge_of_the_window_is_not_judged():
    later = TODAY + dt.timedelta(days=1)
    # Starts at the window's first night (not today): what came before is not known.
    assert gaps.find([_n(1, min_stay=3), _n(2, False)], TODAY) == {}
    # Runs to the window's last night: what follows is not known.
    assert gaps.find([_n(0, False), _n(1, min_stay=3)], TODAY) == {}
    # Starting today, the past bounds it (the night before today cannot be sold).
    assert set(gaps.find([_n(0, min_stay=3), _n(1, False)], TODAY)) == {TODAY}
    assert later not in gaps.find([_n(0, False), _n(1, False)], TODAY)


def test_past_nights_are_never_gaps():
    nights = [_n(-3, False), _n(-2, min_stay=5), _n(-1, False), _n(0, False)]
    assert gaps.find(nights, TODAY) == {}


@pytest.fixture
def prop(session):
    """One unit: stays on nights +2..+3 and +6..+7 leave +4 and +5 free; the minimum stay is 3."""
    clock.set_now(NOW)
    p = make_property(session, units=1, price="80.00", days=40)
    cat = p.categories[0]
    for arrival in (TODAY + dt.timedelta(days=2), TODAY + dt.timedelta(days=6)):
        b = new_booking(p, arrival=arrival, nights=2, source="own")
        session.add(b)
        inventory.take(session, b, check_offer=False)
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id).values(min_stay=3))
    session.commit()
    return p


def test_the_plan_marks_the_gap_without_an_extra_query(session, prop, count_queries):
    start, end = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=30)
    plain = make_property(session, units=1, price="80.00", days=40)  # no stays: no gaps
    session.expire_all()
    with count_queries() as counted:
        plan = calendar.build(session, prop, start, end)
    row = plan.rows[0]
    # Today and +1 (bounded by the past and the first stay) and +4, +5 (between the stays).
    assert sorted(row.gaps) == [TODAY + dt.timedelta(days=d) for d in (0, 1, 4, 5)]
    assert (row.gaps[TODAY + dt.timedelta(days=5)].first, row.gaps[TODAY + dt.timedelta(days=5)].length) == (
        TODAY + dt.timedelta(days=4), 2)
    session.expire_all()
    with count_queries() as without:
        assert calendar.build(session, plain, start, end).rows[0].gaps == {}
    assert len(without) == len(counted)


def test_fix_lowers_the_minimum_stay_of_exactly_those_nights_and_can_be_undone(session, prop):
    cat = prop.categories[0]
    first = TODAY + dt.timedelta(days=4)
    entry = gaps.fix(session, prop.owner, prop, cat.id, first)
    stays = dict(session.execute(sa.select(NightRate.night, NightRate.min_stay)
                                 .where(NightRate.category_id == cat.id)).all())
    assert stays[first] == 2 and stays[first + dt.timedelta(days=1)] == 2
    assert stays[first - dt.timedelta(days=1)] == 3 and stays[first + dt.timedelta(days=2)] == 3
    assert entry.action == "gap_fix" and json.loads(entry.summary)["changes"] == {"min_stay": [[3], [2]]}
    assert entry.id in undo.undoable_ids(session, prop)
    # Fixed: no gap left there, and a second click is refused clearly.
    assert first not in calendar.build(session, prop, TODAY, TODAY + dt.timedelta(days=20)).rows[0].gaps
    with pytest.raises(Conflict):
        gaps.fix(session, prop.owner, prop, cat.id, first)
    undo.undo(session, prop.owner, prop, entry.id)
    session.expire_all()
    assert session.get(NightRate, (cat.id, first)).min_stay == 3


def test_fix_of_nights_that_are_no_gap_is_refused(session, prop):
    with pytest.raises(Conflict):
        gaps.fix(session, prop.owner, prop, prop.categories[0].id, TODAY + dt.timedelta(days=10))
    assert session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "gap_fix")) == 0


def test_fix_checks_access_and_the_category(session, prop):
    other = make_property(session, units=1, days=5)
    first = TODAY + dt.timedelta(days=4)
    with pytest.raises(Forbidden):
        gaps.fix(session, make_user(session, "host"), prop, prop.categories[0].id, first)
    with pytest.raises(NotFound):
        gaps.fix(session, other.owner, other, prop.categories[0].id, first)
    assert rates.night_rate(session, prop.categories[0], first).min_stay == 3

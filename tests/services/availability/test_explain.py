"""services.availability.explain: why a category-night cannot be booked online (R1, R3), and its one-click fixes."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from services.availability import explain, inventory, rates
from services.core import clock
from services.core.errors import Forbidden, Invalid
from services.models import AuditEntry, NightRate
from tests.factories import make_property, make_user, new_booking


def _day(prop, offset=3):
    return clock.today(prop.timezone) + dt.timedelta(days=offset)


def _book(session, prop, arrival, nights=2, source="booking", units=1, guest="Eva Gast"):
    b = new_booking(prop, arrival=arrival, nights=nights, source=source, units=units, guest=guest)
    session.add(b)
    inventory.take(session, b, check_offer=False)
    session.commit()
    return b


def _set(session, prop, day, **values):
    rates.set_night(session, prop.owner, prop, prop.categories[0], day, rates.RateChange(**values))


def _why(session, prop, day):
    return explain.why_unavailable(session, prop, prop.categories[0], day)


def _codes(reasons):
    return [r.code for r in reasons]


def test_an_offered_night_has_no_reason(session):
    prop = make_property(session, units=2)
    assert _why(session, prop, _day(prop)) == []


def test_closed_night_says_so_and_the_fix_opens_it_with_history(session):
    prop = make_property(session, units=2)
    day = _day(prop)
    _set(session, prop, day, closed=True)
    [reason] = _why(session, prop, day)
    assert reason.code == "closed" and reason.fix.action == explain.OPEN
    explain.apply_fix(session, prop.owner, prop, prop.categories[0], day, explain.OPEN)
    assert _why(session, prop, day) == []
    assert session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "rates")) == 2


def test_no_price_offers_the_night_editor(session):
    prop = make_property(session, units=2, days=0)
    day = _day(prop)
    [reason] = _why(session, prop, day)
    assert reason.code == "no_price" and reason.fix.action == explain.SET_PRICE
    with pytest.raises(Invalid):  # a price is typed in the editor, never set by a click
        explain.apply_fix(session, prop.owner, prop, prop.categories[0], day, explain.SET_PRICE)


def test_quota_used_up_names_the_bookings_and_raises_the_quota_to_the_free_units(session):
    prop = make_property(session, units=3, quota=1)
    day = _day(prop)
    b = _book(session, prop, day - dt.timedelta(days=1), guest="Eva Gast")
    [reason] = _why(session, prop, day)
    assert reason.code == "quota_used" and [x.id for x in reason.bookings] == [b.id]
    assert reason.bookings[0].guest_name == "Eva Gast" and reason.bookings[0].source == "booking"
    assert reason.fix.action == explain.RAISE_QUOTA and reason.fix.value == 3  # 1 sold + 2 free units
    explain.apply_fix(session, prop.owner, prop, prop.categories[0], day, explain.RAISE_QUOTA)
    assert session.get(NightRate, (prop.categories[0].id, day), populate_existing=True).quota == 3
    assert _why(session, prop, day) == []


def test_quota_zero_without_bookings(session):
    prop = make_property(session, units=2, quota=0)
    [reason] = _why(session, prop, _day(prop))
    assert reason.code == "quota_used" and reason.bookings == [] and reason.fix.value == 2


def test_all_units_occupied_names_own_and_online_bookings_without_a_fix(session):
    prop = make_property(session, units=2)
    day = _day(prop)
    own = _book(session, prop, day, source="own", guest="Otto Eigen")
    online = _book(session, prop, day - dt.timedelta(days=1), source="slevomat", guest="Sina Deal")
    reasons = _why(session, prop, day)
    assert _codes(reasons) == ["occupied"]
    assert {b.guest_name for b in reasons[0].bookings} == {"Otto Eigen", "Sina Deal"}
    assert {b.id for b in reasons[0].bookings} == {own.id, online.id} and reasons[0].fix is None


def test_occupied_and_quota_used_both_show(session):
    prop = make_property(session, units=1)
    day = _day(prop)
    _book(session, prop, day, guest="Eva Gast")
    assert _codes(_why(session, prop, day)) == ["occupied", "quota_used"]
    assert _why(session, prop, day)[1].fix is None  # no free unit to offer


def test_minimum_stay_not_reachable_between_neighbouring_nights(session):
    """Min stay 3, but only 2 nights in a row are offered: the night is offered yet cannot be booked."""
    prop = make_property(session, units=1)
    day = _day(prop, 5)
    _set(session, prop, day - dt.timedelta(days=1), closed=True)
    _set(session, prop, day + dt.timedelta(days=2), closed=True)
    _set(session, prop, day, min_stay=3)
    [reason] = _why(session, prop, day)
    assert reason.code == "min_stay" and reason.message.params == {"n": 3, "free": 2}
    assert reason.nights == (day, day + dt.timedelta(days=2))
    assert reason.fix.action == explain.LOWER_MIN_STAY and reason.fix.value == 2
    explain.apply_fix(session, prop.owner, prop, prop.categories[0], day, explain.LOWER_MIN_STAY)
    assert _why(session, prop, day) == []


def test_closed_to_arrival_with_no_earlier_arrival(session):
    prop = make_property(session, units=1)
    day = _day(prop, 5)
    _set(session, prop, day - dt.timedelta(days=1), closed=True)
    _set(session, prop, day, closed_to_arrival=True)
    [reason] = _why(session, prop, day)
    assert reason.code == "closed_to_arrival" and reason.fix.action == explain.ALLOW_ARRIVAL
    explain.apply_fix(session, prop.owner, prop, prop.categories[0], day, explain.ALLOW_ARRIVAL)
    assert _why(session, prop, day) == []


def test_closed_to_arrival_is_no_reason_when_an_earlier_arrival_reaches_the_night(session):
    prop = make_property(session, units=1)
    day = _day(prop, 5)
    _set(session, prop, day, closed_to_arrival=True)
    assert _why(session, prop, day) == []


def test_a_fix_no_longer_offered_changes_nothing(session):
    """A second click (the night is open already) writes nothing; a raise of a quota that is
    no longer used up neither."""
    prop = make_property(session, units=2)
    day = _day(prop)
    for action in (explain.OPEN, explain.RAISE_QUOTA, explain.LOWER_MIN_STAY):
        assert explain.apply_fix(session, prop.owner, prop, prop.categories[0], day, action) is None
    assert session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "rates")) == 0


def test_another_host_cannot_apply_a_fix(session):
    prop = make_property(session, units=2)
    day = _day(prop)
    _set(session, prop, day, closed=True)
    with pytest.raises(Forbidden):
        explain.apply_fix(session, make_user(session), prop, prop.categories[0], day, explain.OPEN)


def test_past_night(session):
    prop = make_property(session, units=2)
    assert _codes(_why(session, prop, _day(prop, -1))) == ["past"]


# -- the maximum stay (issue 11) -----------------------------------------------------------------

def test_maximum_stay_too_short_to_reach_the_night_is_named_and_raised(session):
    """No arrival on the night itself; the only arrival before it allows 1 night: nothing reaches it."""
    prop = make_property(session, units=1)
    day = _day(prop, 5)
    before = day - dt.timedelta(days=1)
    _set(session, prop, day - dt.timedelta(days=2), closed=True)
    _set(session, prop, before, max_stay=1)
    _set(session, prop, day, closed_to_arrival=True)
    [reason] = _why(session, prop, day)
    assert reason.code == "max_stay" and reason.message.params == {"n": 1, "arrival": before}
    assert reason.fix.action == explain.RAISE_MAX_STAY and (reason.fix.night, reason.fix.value) == (before, 2)
    figures = inventory.nights_for(session, [prop.categories[0].id], day - dt.timedelta(days=31),
                                   day + dt.timedelta(days=32))[prop.categories[0].id]
    assert explain.blocked_by_restriction(figures, day)  # so the risk-free search lifts it (R53)
    explain.apply_fix(session, prop.owner, prop, prop.categories[0], day, explain.RAISE_MAX_STAY)
    assert session.get(NightRate, (prop.categories[0].id, before), populate_existing=True).max_stay == 2
    assert _why(session, prop, day) == []
    assert session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "rates").order_by(AuditEntry.id.desc())).actor_id


def test_a_maximum_stay_that_still_allows_the_night_is_no_reason(session):
    prop = make_property(session, units=1)
    day = _day(prop, 5)
    _set(session, prop, day, max_stay=1)  # a one-night stay arriving here is fine
    assert _why(session, prop, day) == []


def test_maximum_stay_below_the_minimum_stay_blocks_the_night(session):
    """Set in two edits, a maximum of 2 under a minimum of 3 leaves no stay from that arrival."""
    prop = make_property(session, units=1)
    day = _day(prop, 5)
    _set(session, prop, day - dt.timedelta(days=1), closed=True)
    _set(session, prop, day, min_stay=3)
    _set(session, prop, day, max_stay=2)
    [reason] = _why(session, prop, day)
    assert reason.code == "max_stay" and reason.fix.value == 3 and reason.fix.night == day

"""services.availability.undo: the last calendar edit (R1) can be undone for 10 minutes, unless a
booking took its nights, a later edit changed them, or it was undone already."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import inventory, rates, undo
from services.core import clock
from services.core.errors import Conflict, Forbidden, NotFound
from services.models import AuditEntry, NightRate
from tests.factories import make_property, make_user, new_booking

NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def prop(session):
    clock.set_now(NOW)
    return make_property(session, units=3, price="80.00", days=30)


def _rate(session, cat, day):
    return session.get(NightRate, (cat.id, day), populate_existing=True)


def _last(session, action=None):
    q = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
    if action:
        q = q.where(AuditEntry.action == action)
    return session.scalar(q)


def _day(prop, n):
    return clock.today(prop.timezone) + dt.timedelta(days=n)


def test_undo_of_a_night_edit_restores_every_field_and_is_its_own_history_entry(session, prop):
    cat, day = prop.categories[0], _day(prop, 3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("99.00"), quota=2, min_stay=3,
                                                                         closed_to_arrival=True))
    edit = _last(session, "rates")
    assert undo.last_undoable(session, prop.owner, prop) == edit.id
    new = undo.undo(session, prop.owner, prop, edit.id)
    r = _rate(session, cat, day)
    assert (r.price, r.quota, r.min_stay, r.closed_to_arrival) == (Decimal("80.00"), 3, 1, False)
    assert new.action == "rates_undo" and json.loads(new.summary)["undoes"] == edit.id
    assert json.loads(new.summary)["changes"]["price"] == [["99.00"], ["80.00"]]  # old -> new of the undo itself
    session.expire_all()
    assert session.get(AuditEntry, edit.id).undone_by_id == new.id
    assert undo.last_undoable(session, prop.owner, prop) is None  # an undo is not undone in turn


def test_undo_of_a_first_edit_removes_the_row_again(session, prop):
    cat, day = prop.categories[0], _day(prop, 40)  # beyond the 30 nights with rates: no row
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("70.00")))
    assert _rate(session, cat, day) is not None
    undo.undo(session, prop.owner, prop, _last(session, "rates").id)
    assert _rate(session, cat, day) is None


def test_undo_of_a_bulk_edit_restores_each_night_as_it_was(session, prop):
    cats = prop.categories
    first, last = _day(prop, 2), _day(prop, 8)
    rates.set_night(session, prop.owner, prop, cats[0], _day(prop, 4), rates.RateChange(price=Decimal("95.00")))
    rates.bulk_edit(session, prop.owner, prop, cats, first, last, set(range(7)), rates.RateChange(price=Decimal("120.00")))
    bulk = _last(session, "rates_bulk")
    assert json.loads(bulk.summary)["changes"]["price"] == [["80.00", "95.00"], ["120.00"]]
    undo.undo(session, prop.owner, prop, bulk.id)
    prices = [_rate(session, cats[0], first + dt.timedelta(days=i)).price for i in range(7)]
    assert prices == [Decimal("80.00")] * 2 + [Decimal("95.00")] + [Decimal("80.00")] * 4


def test_refused_after_ten_minutes(session, prop):
    cat, day = prop.categories[0], _day(prop, 3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("99.00")))
    entry = _last(session, "rates")
    clock.set_now(NOW + dt.timedelta(minutes=10, seconds=1))
    assert undo.last_undoable(session, prop.owner, prop) is None
    with pytest.raises(Conflict, match="10 minutes"):
        undo.undo(session, prop.owner, prop, entry.id)
    assert _rate(session, cat, day).price == Decimal("99.00")


def test_refused_when_a_booking_took_a_changed_night_since_naming_it(session, prop):
    cat, day = prop.categories[0], _day(prop, 3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("99.00")))
    entry = _last(session, "rates")
    clock.set_now(NOW + dt.timedelta(minutes=2))
    b = new_booking(prop, arrival=day - dt.timedelta(days=1), nights=2, source="booking", guest="Eva Gast")
    session.add(b)
    inventory.take(session, b)
    session.commit()
    with pytest.raises(Conflict, match="Eva Gast") as e:
        undo.undo(session, prop.owner, prop, entry.id)
    assert e.value.code == "booked_since" and f"#{b.id}" in str(e.value.message)
    assert _rate(session, cat, day).price == Decimal("99.00")


def test_a_booking_on_other_nights_does_not_stop_it(session, prop):
    cat, day = prop.categories[0], _day(prop, 3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("99.00")))
    entry = _last(session, "rates")
    b = new_booking(prop, arrival=day + dt.timedelta(days=1), nights=2, source="booking")
    session.add(b)
    inventory.take(session, b)
    session.commit()
    undo.undo(session, prop.owner, prop, entry.id)
    assert _rate(session, cat, day).price == Decimal("80.00")


def test_refused_when_a_later_edit_changed_the_same_nights(session, prop):
    cat, day = prop.categories[0], _day(prop, 3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("99.00")))
    first = _last(session, "rates")
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("101.00")))
    assert first.id not in undo.undoable_ids(session, prop)
    with pytest.raises(Conflict, match="later change"):
        undo.undo(session, prop.owner, prop, first.id)
    # The later one may still be undone: back to 99.
    undo.undo(session, prop.owner, prop, _last(session, "rates").id)
    assert _rate(session, cat, day).price == Decimal("99.00")


def test_refused_when_already_undone(session, prop):
    cat, day = prop.categories[0], _day(prop, 3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("99.00")))
    entry = _last(session, "rates")
    undo.undo(session, prop.owner, prop, entry.id)
    with pytest.raises(Conflict, match="already been undone"):
        undo.undo(session, prop.owner, prop, entry.id)


def test_another_hosts_entry_is_not_found_and_a_stranger_is_forbidden(session, prop):
    other = make_property(session, units=2, days=10)
    cat, day = prop.categories[0], _day(prop, 3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("99.00")))
    entry = _last(session, "rates")
    with pytest.raises(NotFound):
        undo.undo(session, other.owner, other, entry.id)  # tenant isolation: not this property's entry
    with pytest.raises(Forbidden):
        undo.undo(session, make_user(session, "host"), prop, entry.id)
    assert _rate(session, cat, day).price == Decimal("99.00")


def test_an_entry_that_is_no_calendar_edit_is_refused(session, prop):
    from services.properties import registry
    registry.update_property(session, prop.owner, prop, {"name": "Renamed", "country": "DE"})
    with pytest.raises(Conflict, match="Only changes of the calendar"):
        undo.undo(session, prop.owner, prop, _last(session, "property_changed").id)


# -- the maximum stay (issue 11) -----------------------------------------------------------------

def test_undo_restores_the_max_stay(session, prop):
    cat, day = prop.categories[0], _day(prop, 3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(max_stay=5))
    undo.undo(session, prop.owner, prop, _last(session, "rates").id)
    assert _rate(session, cat, day).max_stay is None
    rates.bulk_edit(session, prop.owner, prop, prop.categories, _day(prop, 2), _day(prop, 4), set(range(7)),
                    rates.RateChange(max_stay=7))
    rates.bulk_edit(session, prop.owner, prop, prop.categories, _day(prop, 10), _day(prop, 11), set(range(7)),
                    rates.RateChange(max_stay=7))
    clear = rates.bulk_edit(session, prop.owner, prop, prop.categories, _day(prop, 10), _day(prop, 11), set(range(7)),
                            rates.RateChange(clear_max_stay=True))
    assert clear == 2 and _rate(session, cat, _day(prop, 10)).max_stay is None
    entry = _last(session, "rates_bulk")
    assert json.loads(entry.summary)["changes"]["max_stay"] == [[7], [None]]
    undo.undo(session, prop.owner, prop, entry.id)
    assert [_rate(session, cat, _day(prop, n)).max_stay for n in (10, 11)] == [7, 7]


def test_undo_of_an_edit_recorded_before_the_max_stay_existed(session, prop):
    """An entry written before the field (its rows one value shorter) still undoes: no limit."""
    cat, day = prop.categories[0], _day(prop, 3)
    rates.set_night(session, prop.owner, prop, cat, day, rates.RateChange(price=Decimal("99.00")))
    entry = _last(session, "rates")
    data = json.loads(entry.undo)
    data["rows"] = [[c, n, values[:-1]] for c, n, values in data["rows"]]  # the six fields of before
    entry.undo = json.dumps(data)
    session.commit()
    undo.undo(session, prop.owner, prop, entry.id)
    r = _rate(session, cat, day)
    assert (r.price, r.max_stay) == (Decimal("80.00"), None)

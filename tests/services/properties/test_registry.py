"""services.properties.registry: room categories and units renamed and deleted (issue 9);
a category or unit that bookings refer to stays (R3: the plan keeps every booking)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import inventory
from services.bookings import own
from services.core import clock
from services.core.errors import Conflict, Forbidden, Invalid, NotFound
from services.models import AuditEntry, ExtraCost, IcalFeed, NightRate, RoomCategory, Unit
from services.properties import registry
from tests.factories import make_property, make_user, new_booking


def _history(session, prop, action):
    """The parameters of the property's history lines of `action` (the reader's words come from
    portal.web.history)."""
    return [json.loads(text) for text in session.scalars(
        sa.select(AuditEntry.summary).where(AuditEntry.property_id == prop.id, AuditEntry.action == action))]


def _book(session, prop, cat, guest, offset, unit_ids=None, nights=2):
    b = new_booking(prop, cat, clock.today(prop.timezone) + dt.timedelta(days=offset), nights=nights, guest=guest)
    session.add(b)
    inventory.take(session, b, unit_ids)
    session.commit()
    return b


def test_rename_category_and_unit_in_place_with_history(session):
    prop = make_property(session, units=2)
    cat = prop.categories[0]
    registry.rename_category(session, prop.owner, prop, cat.id, "  Doppelzimmer Seeblick ")
    unit = cat.units[0]
    registry.rename_unit(session, prop.owner, prop, unit.id, "Zimmer 12")
    assert session.get(RoomCategory, cat.id).name == "Doppelzimmer Seeblick"
    assert session.get(Unit, unit.id).name == "Zimmer 12"
    assert _history(session, prop, "category_renamed") == [{"from": "Category 1", "to": "Doppelzimmer Seeblick"}]
    assert _history(session, prop, "unit_renamed") == [{"category": "Doppelzimmer Seeblick", "from": "Room 101", "to": "Zimmer 12"}]


@pytest.mark.parametrize("name,message", [("", "Enter a name"), ("a\nb", "single line"), ("x" * 81, "At most 80"),
                                          ("Category 2", "has this name already")])
def test_rename_category_refuses_bad_names(session, name, message):
    prop = make_property(session, categories=2)
    with pytest.raises(Invalid) as e:
        registry.rename_category(session, prop.owner, prop, prop.categories[0].id, name)
    assert message in str(e.value.errors["name"])


def test_rename_unit_refuses_a_name_its_category_has(session):
    prop = make_property(session, units=2)
    cat = prop.categories[0]
    with pytest.raises(Invalid) as e:
        registry.rename_unit(session, prop.owner, prop, cat.units[0].id, cat.units[1].name)
    assert "own name" in str(e.value.errors["name"])


def test_delete_unit_without_bookings_shrinks_quotas(session):
    prop = make_property(session, units=3, days=5)
    cat = prop.categories[0]
    doomed = cat.units[2]
    assert registry.delete_unit(session, prop.owner, prop, doomed.id) == "Room 103"
    assert session.get(Unit, doomed.id) is None
    assert set(session.scalars(sa.select(NightRate.quota).where(NightRate.category_id == cat.id))) == {2}
    assert _history(session, prop, "unit_deleted") == [{"category": "Category 1", "unit": "Room 103"}]


def test_the_last_unit_of_a_category_stays(session):
    prop = make_property(session, units=1)
    with pytest.raises(Conflict) as e:
        registry.delete_unit(session, prop.owner, prop, prop.categories[0].units[0].id)
    assert e.value.code == "last_unit"


def test_delete_unit_with_bookings_is_refused_naming_them(session):
    prop = make_property(session, units=2)
    cat = prop.categories[0]
    unit = cat.units[0]
    _book(session, prop, cat, "Familie Berger", 1, [unit.id])
    with pytest.raises(Conflict) as e:
        registry.delete_unit(session, prop.owner, prop, unit.id)
    assert e.value.code == "has_bookings"
    assert "Familie Berger" in str(e.value.message)
    assert session.get(Unit, unit.id) is not None and not _history(session, prop, "unit_deleted")


def test_a_past_stay_keeps_its_unit_and_category(session):
    today = clock.today("Europe/Berlin")
    prop = make_property(session, units=2, start=today - dt.timedelta(days=30))
    cat = prop.categories[0]
    unit = cat.units[1]
    past = new_booking(prop, cat, today - dt.timedelta(days=20), nights=3, guest="Früher Gast")
    session.add(past)
    inventory.take(session, past, [unit.id])
    session.commit()
    for delete, obj_id in ((registry.delete_unit, unit.id), (registry.delete_category, cat.id)):
        with pytest.raises(Conflict) as e:
            delete(session, prop.owner, prop, obj_id)
        assert "Früher Gast" in str(e.value.message)


def test_a_cancelled_booking_keeps_its_category(session):
    prop = make_property(session, units=2)
    cat = prop.categories[0]
    b = own.create_own_booking(session, prop.owner, prop, own.OwnBookingData(
        category_id=cat.id, arrival=clock.today(prop.timezone) + dt.timedelta(days=2),
        departure=clock.today(prop.timezone) + dt.timedelta(days=4), guest_name="Storniert"))
    own.cancel_own_booking(session, prop.owner, prop, b.id)
    with pytest.raises(Conflict) as e:
        registry.delete_category(session, prop.owner, prop, cat.id)
    assert "Storniert" in str(e.value.message)
    registry.delete_unit(session, prop.owner, prop, cat.units[0].id)  # its nights were given back


def test_refusal_names_five_bookings_and_counts_the_rest(session):
    prop = make_property(session, units=1, days=60)
    cat = prop.categories[0]
    for i in range(7):
        _book(session, prop, cat, f"Gast {i}", 1 + 3 * i)
    with pytest.raises(Conflict) as e:
        registry.delete_category(session, prop.owner, prop, cat.id)
    text = str(e.value.message)
    assert all(f"Gast {i}" in text for i in range(5)) and "Gast 5" not in text
    assert text.endswith("and 2 more.")
    first = clock.today(prop.timezone) + dt.timedelta(days=1)
    assert f"Gast 0 ({first:%d.%m.%Y}–{first + dt.timedelta(days=2):%d.%m.%Y})" in text


def test_delete_category_takes_units_rates_costs_and_calendars_with_it(session):
    prop = make_property(session, categories=2, units=2, days=5)
    cat, other = prop.categories
    session.add_all([ExtraCost(property_id=prop.id, category_id=cat.id, name="Kurtaxe", amount=Decimal("2"), per="night"),
                     ExtraCost(property_id=prop.id, category_id=None, name="Endreinigung", amount=Decimal("40"), per="stay"),
                     IcalFeed(category_id=cat.id, name="Airbnb", url="https://example.org/a.ics", created_at=clock.now())])
    session.commit()
    cat_id = cat.id
    assert registry.delete_category(session, prop.owner, prop, cat_id) == "Category 1"
    assert session.get(RoomCategory, cat_id) is None
    assert not session.scalars(sa.select(Unit).where(Unit.category_id == cat_id)).all()
    assert not session.scalars(sa.select(NightRate).where(NightRate.category_id == cat_id)).all()
    assert [c.name for c in session.scalars(sa.select(ExtraCost).where(ExtraCost.property_id == prop.id))] == ["Endreinigung"]
    assert not session.scalars(sa.select(IcalFeed).where(IcalFeed.category_id == cat_id)).all()
    assert session.get(RoomCategory, other.id) is not None
    assert _history(session, prop, "category_deleted") == [{"category": "Category 1", "units": ["Room 101", "Room 102"]}]


def test_other_tenants_categories_and_units_are_not_found(session):
    prop = make_property(session)
    other = make_property(session)
    stranger = make_user(session)
    with pytest.raises(NotFound):
        registry.rename_category(session, prop.owner, prop, other.categories[0].id, "Mine")
    with pytest.raises(NotFound):
        registry.delete_unit(session, prop.owner, prop, other.categories[0].units[0].id)
    with pytest.raises(Forbidden):
        registry.delete_category(session, stranger, prop, prop.categories[0].id)
    with pytest.raises(NotFound):
        registry.rename_unit(session, prop.owner, prop, 2**40, "x")


def test_a_mandatory_cost_with_more_than_two_decimals_is_refused(session):
    prop = make_property(session)
    with pytest.raises(Invalid) as e:
        registry.add_extra_cost(session, prop.owner, prop, "Kurtaxe", "2.505", "night", None)
    assert "two decimal places" in str(e.value.errors["amount"])
    cost = registry.add_extra_cost(session, prop.owner, prop, "Kurtaxe", "2,50", "night", None)
    assert cost.amount == Decimal("2.50")


def test_first_steps_tick_rooms_prices_and_channels(session):
    from services.models import ChannelConnection
    empty = make_property(session, categories=0, days=0)
    assert registry.first_steps(session, empty.owner, empty) == registry.FirstSteps(False, False, False)
    prop = make_property(session, days=3)
    steps = registry.first_steps(session, prop.owner, prop)
    assert (steps.rooms, steps.prices, steps.channels, steps.done) == (True, True, False, True)  # channels optional
    unpriced = make_property(session, days=0)
    session.add(ChannelConnection(property_id=unpriced.id, channel="slevomat", created_at=clock.now(),
                                  updated_at=clock.now()))
    session.commit()
    steps = registry.first_steps(session, unpriced.owner, unpriced)
    assert (steps.rooms, steps.prices, steps.channels, steps.done) == (True, False, True, False)

"""services.office.contracts: the states of a brokerage contract and what each stops (the host's
access and sessions, the channel keys, the office-wide search), its history and rates."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.accounts import access
from services.availability import search
from services.channels import api_keys, connections
from services.core import clock
from services.core.errors import Conflict, Forbidden, Invalid
from services.office import contracts
from tests.factories import make_office, make_property, make_user


@pytest.fixture
def setup(session):
    clock.set_now(dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc))
    office = make_office(session)
    staff = make_user(session, "staff", office)
    prop = make_property(session, office=office, units=2, days=30)
    _, key = connections.switch_on(session, None, prop, "slevomat")
    session.commit()
    return office, staff, prop, key


def _found(session, office) -> bool:
    today = clock.today("Europe/Berlin")
    return bool(search.free_stays(session, office.id, today + dt.timedelta(days=3), today + dt.timedelta(days=5), 1, 1))


def _open(session, prop) -> bool:
    try:
        access.check_property(prop.owner, prop)
        return True
    except Forbidden:
        return False


@pytest.mark.parametrize("action", ["suspend", "end"])
def test_suspend_and_end_stop_access_sessions_keys_and_search(session, setup, action):
    office, staff, prop, key = setup
    generation = prop.owner.session_generation
    assert _open(session, prop) and api_keys.caller(session, key).contract_active and _found(session, office)
    contracts.change(session, staff, prop, action, note="Vertrag gekündigt")
    session.expire_all()
    assert prop.contract_active_since is None
    assert not _open(session, prop)
    assert prop.owner.session_generation == generation + 1  # signed out everywhere at once
    assert not api_keys.caller(session, key).contract_active
    assert not _found(session, office)
    # Activating again restores all of it.
    contracts.change(session, staff, prop, "activate")
    session.expire_all()
    assert _open(session, prop) and api_keys.caller(session, key).contract_active and _found(session, office)


def test_suspend_then_activate_keeps_one_contract_with_its_events(session, setup):
    _, staff, prop, _ = setup
    first = contracts.current(session, prop)
    contracts.change(session, staff, prop, "suspend", note="Zahlung offen")
    assert contracts.current(session, prop).state == "suspended"
    c = contracts.change(session, staff, prop, "activate", note="bezahlt")
    assert c.id == first.id and c.state == "active" and c.suspended_at is not None
    events = contracts.history(session, prop)[0].events
    assert [(e.state, e.note) for e in events] == [("active", ""), ("suspended", "Zahlung offen"), ("active", "bezahlt")]
    assert events[1].actor.id == staff.id


def test_ending_then_activating_starts_a_new_contract_and_keeps_the_old(session, setup):
    _, staff, prop, _ = setup
    old = contracts.current(session, prop)
    contracts.set_rates(session, staff, prop, {"booking": "12"})
    contracts.change(session, staff, prop, "end")
    assert contracts.current(session, prop) is None
    with pytest.raises(Conflict):
        contracts.set_rates(session, staff, prop, {"booking": "10"})  # no contract to hold rates
    new = contracts.change(session, staff, prop, "activate")
    assert new.id != old.id and new.state == "active"
    history = contracts.history(session, prop)
    assert [c.id for c in history] == [new.id, old.id]
    assert history[1].state == "ended" and history[1].ended_at is not None
    assert contracts.rate_for(history[1], "booking") == Decimal("12") and contracts.rate_for(new, "booking") is None
    assert [e.state for e in history[0].events] == ["invited", "active"]


@pytest.mark.parametrize("first,then", [("suspend", "suspend"), ("end", "suspend"), ("end", "end")])
def test_illegal_transitions_are_conflicts(session, setup, first, then):
    _, staff, prop, _ = setup
    contracts.change(session, staff, prop, first)
    with pytest.raises(Conflict) as e:
        contracts.change(session, staff, prop, then)
    assert e.value.code == "contract_state"


def test_activating_an_active_contract_is_a_conflict(session, setup):
    _, staff, prop, _ = setup
    with pytest.raises(Conflict):
        contracts.change(session, staff, prop, "activate")


def test_staff_of_another_office_and_hosts_cannot_change_it(session, setup):
    _, _, prop, _ = setup
    with pytest.raises(Forbidden):
        contracts.change(session, make_user(session, "staff"), prop, "end")
    with pytest.raises(Forbidden):
        contracts.change(session, prop.owner, prop, "end")
    with pytest.raises(Forbidden):
        contracts.set_rates(session, make_user(session, "staff"), prop, {"booking": "10"})
    assert contracts.current(session, prop).state == "active"


def test_an_admin_may(session, setup):
    _, _, prop, _ = setup
    assert contracts.change(session, make_user(session, "admin"), prop, "suspend").state == "suspended"


def test_rates_are_validated_per_channel(session, setup):
    _, staff, prop, _ = setup
    with pytest.raises(Invalid) as e:
        contracts.set_rates(session, staff, prop, {"booking": "101", "slevomat": "abc", "tourist_office": "10"})
    assert set(e.value.errors) == {"booking", "slevomat"}
    c = contracts.set_rates(session, staff, prop, {"booking": "12,5", "slevomat": "", "tourist_office": "10"})
    assert contracts.rate_for(c, "booking") == Decimal("12.5") and contracts.rate_for(c, "slevomat") is None

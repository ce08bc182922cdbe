"""services.office.terms: the schedule's validation, the host adopting, editing and resetting the
office's model terms, and the deposit each new booking gets from them (R22)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.bookings import own
from services.channels import connections, reservations
from services.core import clock
from services.core.errors import Conflict, Forbidden, Invalid
from services.models import AuditEntry
from services.office import settings as office_settings, terms
from tests.factories import make_office, make_property, make_user


def _rows(*pairs):
    return [{"days": str(d), "percent": str(p)} for d, p in pairs]


# --- validation ---------------------------------------------------------------------------

def test_a_valid_schedule_is_sorted_and_empty_rows_are_left_out():
    schedule, percent, days, text = terms.validate(
        _rows((0, 80), (30, "0"), (8, "50,5")) + [{"days": "", "percent": ""}], "20", "7", "  Anzahlung  ")
    assert schedule == [{"days": 30, "percent": "0"}, {"days": 8, "percent": "50.5"}, {"days": 0, "percent": "80"}]
    assert (percent, days, text) == (Decimal("20"), 7, "Anzahlung")


@pytest.mark.parametrize("rows,field", [
    (_rows((-1, 10)), "tiers-0-days"),
    (_rows(("x", 10)), "tiers-0-days"),
    (_rows((10000, 10)), "tiers-0-days"),
    (_rows((5, 10), (5, 20)), "tiers-1-days"),
    (_rows((5, 101)), "tiers-0-percent"),
    (_rows((5, -1)), "tiers-0-percent"),
    (_rows((5, "12.345")), "tiers-0-percent"),
    (_rows((5, "NaN")), "tiers-0-percent"),
    ([{"days": "3", "percent": ""}], "tiers-0-percent"),
    (_rows(*[(i, 10) for i in range(11)]), "tiers"),
])
def test_bad_schedules_are_refused_at_their_field(rows, field):
    with pytest.raises(Invalid) as e:
        terms.validate(rows, "", "")
    assert field in e.value.errors


def test_ten_tiers_are_allowed():
    schedule, *_ = terms.validate(_rows(*[(i, 10) for i in range(10)]), "", "")
    assert len(schedule) == 10


@pytest.mark.parametrize("percent,days,field", [
    ("0", "7", "deposit_percent"), ("101", "7", "deposit_percent"), ("20", "", "deposit_days"),
    ("20", "-1", "deposit_days"), ("", "7", "deposit_percent"), ("20", "1000", "deposit_days"),
])
def test_bad_deposit_rules_are_refused(percent, days, field):
    with pytest.raises(Invalid) as e:
        terms.validate(_rows((0, 50)), percent, days)
    assert field in e.value.errors


def test_no_deposit_is_empty_fields():
    assert terms.validate(_rows((0, 50)), "", "")[1:3] == (None, None)


# --- adopt, edit, reset --------------------------------------------------------------------

@pytest.fixture
def office_with_model(session):
    office = make_office(session)
    staff = make_user(session, "staff", office)
    office_settings.save_model_terms(session, staff, office, _rows((30, 0), (8, 50), (0, 80)), "20", "7", "Muster")
    prop = make_property(session, office=office)
    return office, staff, prop


def test_host_adopts_the_model_then_edits_then_resets(session, office_with_model):
    office, staff, prop = office_with_model
    host = prop.owner
    assert terms.of_property(session, prop) is None
    adopted = terms.adopt(session, host, prop)
    assert adopted.property_id == prop.id and adopted.adopted_at is not None and adopted.text == "Muster"
    assert adopted.fee_schedule == [{"days": 30, "percent": "0"}, {"days": 8, "percent": "50"}, {"days": 0, "percent": "80"}]
    assert (adopted.deposit_percent, adopted.deposit_days) == (Decimal("20"), 7)
    with pytest.raises(Conflict):
        terms.adopt(session, host, prop)

    terms.save_property_terms(session, host, prop, _rows((14, 0), (0, 100)), "", "", "Eigene")
    mine = terms.of_property(session, prop)
    assert mine.fee_schedule == [{"days": 14, "percent": "0"}, {"days": 0, "percent": "100"}]
    assert mine.deposit_percent is None and mine.text == "Eigene"
    # The office's model stays as it was.
    assert terms.model_of(session, office.id).deposit_percent == Decimal("20")

    terms.reset_to_model(session, host, prop)
    again = terms.of_property(session, prop)
    assert again.fee_schedule[1] == {"days": 8, "percent": "50"} and again.deposit_days == 7
    actions = session.scalars(sa.select(AuditEntry.action).where(AuditEntry.property_id == prop.id)
                              .order_by(AuditEntry.id)).all()
    assert actions[-3:] == ["terms_adopted", "terms_changed", "terms_reset"]


def test_without_model_terms_the_host_adopts_the_default_schedule(session):
    prop = make_property(session)
    t = terms.adopt(session, prop.owner, prop)
    assert t.fee_schedule == terms.DEFAULT_SCHEDULE and t.deposit_percent is None


def test_saving_before_adopting_is_a_conflict_and_bad_input_changes_nothing(session, office_with_model):
    _, _, prop = office_with_model
    with pytest.raises(Conflict):
        terms.save_property_terms(session, prop.owner, prop, _rows((0, 50)), "", "")
    terms.adopt(session, prop.owner, prop)
    with pytest.raises(Invalid):
        terms.save_property_terms(session, prop.owner, prop, _rows((0, 500)), "", "")
    assert terms.of_property(session, prop).fee_schedule[0] == {"days": 30, "percent": "0"}


def test_another_host_cannot_touch_the_terms(session, office_with_model):
    _, _, prop = office_with_model
    stranger = make_user(session, "host")
    with pytest.raises(Forbidden):
        terms.adopt(session, stranger, prop)


def test_staff_of_another_office_cannot_write_model_terms(session, office_with_model):
    office, _, _ = office_with_model
    other = make_user(session, "staff")
    with pytest.raises(Forbidden):
        office_settings.save_model_terms(session, other, office, _rows((0, 50)), "", "")
    with pytest.raises(Forbidden):
        office_settings.update_contact(session, other, office, "x@example.com", "", "")
    with pytest.raises(Forbidden):
        office_settings.office_for(session, other, office.id)


def test_office_contact_is_validated_and_saved(session, office_with_model):
    office, staff, _ = office_with_model
    with pytest.raises(Invalid) as e:
        office_settings.update_contact(session, staff, office, "not-an-address", "", "")
    assert "email" in e.value.errors
    office_settings.update_contact(session, staff, office, "Info@Example.com", "+49 1", "Mo–Fr 9–17")
    session.expire_all()
    assert (office.email, office.phone, office.opening_hours) == ("info@example.com", "+49 1", "Mo–Fr 9–17")


# --- the deposit of a new booking (R22) ----------------------------------------------------

def _own(prop, offset=20, nights=2):
    arrival = clock.today(prop.timezone) + dt.timedelta(days=offset)
    return own.OwnBookingData(category_id=prop.categories[0].id, arrival=arrival,
                              departure=arrival + dt.timedelta(days=nights), guest_name="Maria Muster", guests=1)


def test_own_booking_gets_the_deposit_of_the_hosts_terms(session, office_with_model):
    _, _, prop = office_with_model
    b = own.create_own_booking(session, prop.owner, prop, _own(prop))
    assert b.deposit_amount is None  # no terms adopted: no deposit
    terms.adopt(session, prop.owner, prop)
    today = clock.today(prop.timezone)
    b = own.create_own_booking(session, prop.owner, prop, _own(prop, offset=30))
    assert b.total_price == Decimal("160.00")
    assert b.deposit_amount == Decimal("32.00") and b.deposit_due == today + dt.timedelta(days=7)
    # Arriving before the due day: the deposit is due on arrival at the latest.
    b = own.create_own_booking(session, prop.owner, prop, _own(prop, offset=3))
    assert b.deposit_due == today + dt.timedelta(days=3)


def test_channel_reservation_gets_the_deposit_unless_prepaid(session, office_with_model):
    _, _, prop = office_with_model
    terms.adopt(session, prop.owner, prop)
    today = clock.today(prop.timezone)
    data = dict(room_category_id=prop.categories[0].id, arrival=today + dt.timedelta(days=30),
                departure=today + dt.timedelta(days=32), units=1, guests=1, guest_name="Eva Gast",
                guest_email="eva@example.com", guest_phone="+420 1", status="confirmed", total_price=None,
                risk_free=False, free_cancellation_until=None)
    slevomat, _ = connections.switch_on(session, None, prop, "slevomat")
    b, _ = reservations.create(session, slevomat, reservations.ReservationInput(external_id="S-1", **data))
    assert b.deposit_amount == Decimal("32.00") and b.deposit_due == today + dt.timedelta(days=7)
    edomizil, _ = connections.switch_on(session, None, prop, "e-domizil")
    b, _ = reservations.create(session, edomizil, reservations.ReservationInput(external_id="E-1", **data))
    assert b.payment_mode == "prepaid" and b.deposit_amount is None and b.deposit_due is None


def test_the_deposit_costs_one_query_per_booking_creation(session, office_with_model, count_queries):
    _, _, prop = office_with_model
    own.create_own_booking(session, prop.owner, prop, _own(prop, offset=10))  # warm up
    with count_queries() as without_terms:
        own.create_own_booking(session, prop.owner, prop, _own(prop, offset=12))
    terms.adopt(session, prop.owner, prop)
    own.create_own_booking(session, prop.owner, prop, _own(prop, offset=14))
    with count_queries() as with_terms:
        own.create_own_booking(session, prop.owner, prop, _own(prop, offset=16))
    assert len(with_terms) == len(without_terms)
    assert sum("FROM terms" in q for q in with_terms) == 1  # the one read the deposit costs


def test_the_demo_office_has_contact_model_terms_adopted_by_the_guesthouse_and_rates(session):
    from services.models import Booking, Office, Property
    from services.office import contracts
    from services.properties import demo

    assert demo.load(session)
    gh = session.scalar(sa.select(Property).where(Property.slug == demo.DEMO_SLUG))
    office = session.get(Office, gh.office_id)
    assert office.phone and office.opening_hours
    model = terms.model_of(session, office.id)
    assert model.fee_schedule == terms.DEFAULT_SCHEDULE and (model.deposit_percent, model.deposit_days) == (20, 7)
    assert terms.of_property(session, gh).adopted_at is not None
    assert contracts.rate_for(contracts.current(session, gh), "slevomat") == Decimal("15")
    # Its channel bookings were made under the terms: they carry a deposit; the flat's (no terms, prepaid) none.
    deposits = session.execute(sa.select(Booking.property_id, Booking.deposit_amount)
                               .where(Booking.source != "own", Booking.total_price.is_not(None))).all()
    flat = session.scalar(sa.select(Property.id).where(Property.slug == "demo-flat"))
    assert {pid for pid, _ in deposits} == {gh.id, flat}
    assert all((amount is not None) == (pid == gh.id) for pid, amount in deposits)

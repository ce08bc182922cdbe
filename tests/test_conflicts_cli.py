"""`flask --app portal conflicts check`: double bookings in data brought in past the services."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.availability import inventory
from services.core import clock
from services.models import DoubleBooking, NightRate, Occupancy, Property
from tests.factories import make_property, new_booking


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_check_opens_what_it_finds_once(app, db_session):
    with db_session() as s:
        prop = make_property(s, units=2, slug="haus-check")
        quiet = make_property(s, units=2, slug="haus-quiet")
        day = clock.today(prop.timezone) + dt.timedelta(days=5)
        for guest in ("A", "B"):
            b = new_booking(prop, arrival=day, nights=2, source="booking", guest=guest)
            s.add(b)
            inventory.take(s, b)
        s.commit()
        cat_name, cat_id = prop.categories[0].name, prop.categories[0].id
        # Brought in from elsewhere: a quota lowered by hand below what was sold.
        s.execute(sa.update(NightRate).where(NightRate.category_id == cat_id, NightRate.night == day).values(quota=1))
        s.commit()
    first = run(app, "conflicts", "check")
    assert first.exit_code == 0, first.output
    lines = first.output.strip().splitlines()
    with db_session() as s:
        db = s.scalar(sa.select(DoubleBooking))
        assert (db.cause, db.status, db.first_night, db.last_night) == ("check", "open", day, day)
        assert len(db.bookings) == 2
        db_id = db.id
    assert lines == [f"haus-check: double booking #{db_id} {cat_name} {day.isoformat()}..{day.isoformat()} (opened)",
                     "1 double bookings found, 1 opened"]
    again = run(app, "conflicts", "check", "--property", "haus-check")
    assert again.exit_code == 0 and again.output.strip().splitlines() == [
        f"haus-check: double booking #{db_id} {cat_name} {day.isoformat()}..{day.isoformat()} (open)",
        "1 double bookings found, 0 opened"]
    assert run(app, "conflicts", "check", "--property", "haus-quiet").output.strip() == "0 double bookings found, 0 opened"
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count(DoubleBooking.id))) == 1


def test_check_finds_occupancy_written_past_the_services(app, db_session):
    with db_session() as s:
        prop = make_property(s, units=1, slug="haus-import")
        day = clock.today(prop.timezone) + dt.timedelta(days=3)
        first = new_booking(prop, arrival=day, nights=1, source="own", guest="Here")
        s.add(first)
        inventory.take(s, first)
        s.commit()
        # An import wrote a second booking's night on a room of another category it then moved over.
        other = make_property(s, units=1, slug="haus-other")
        second = new_booking(other, arrival=day, nights=1, source="own", guest="Imported")
        s.add(second)
        inventory.take(s, second)
        s.commit()
        s.execute(sa.update(type(second)).where(type(second).id == second.id)
                  .values(category_id=prop.categories[0].id, property_id=prop.id))
        # Occupancy rows carry the category they occupy (issue 16): the import wrote that one too.
        s.execute(sa.update(Occupancy).where(Occupancy.booking_id == second.id)
                  .values(category_id=prop.categories[0].id))
        s.commit()
        assert s.scalar(sa.select(sa.func.count(Occupancy.id))) == 2
    out = run(app, "conflicts", "check", "--property", "haus-import")
    assert out.exit_code == 0 and out.output.strip().endswith("1 double bookings found, 1 opened"), out.output
    with db_session() as s:
        db = s.scalar(sa.select(DoubleBooking))
        assert db.property_id == s.scalar(sa.select(Property.id).where(Property.slug == "haus-import"))
        assert sorted(b.guest_name for b in db.bookings) == ["Here", "Imported"]


def test_check_of_an_unknown_property_is_refused(app):
    out = run(app, "conflicts", "check", "--property", "no-such-house")
    assert out.exit_code == 1 and "No property with slug 'no-such-house'." in out.output

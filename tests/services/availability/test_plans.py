"""Query plans that never depend on statistics (issue 16).

On a database where ANALYZE never ran (this machine kind runs PostgreSQL without autovacuum;
the test database is built fresh by the migrations), the occupancy reads behind availability,
the plan and the booking write path must still be one range scan of
ix_occupancy_category_id_night and each row's booking by primary key: their cost grows with the
nights asked, never with the category's history. Asserted on the plans themselves
(EXPLAIN (FORMAT JSON) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite), for a category with
thousands of bookings over years.
"""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from services.availability import calendar, inventory
from services.bookings import conflicts
from services.core import clock
from services.models import Booking, Occupancy
from tests.conftest import is_postgres
from tests.factories import make_property, new_booking

INDEX = "ix_occupancy_category_id_night"
T0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.timezone.utc)


def _history(session, prop, bookings: int) -> None:
    """`bookings` confirmed stays of 1-6 nights back to back on the category's units, ending
    before today: years of history, written with multi-row inserts as a data load would."""
    cat = prop.categories[0]
    units = [u.id for u in cat.units]
    nights = [1 + (i * 7) % 6 for i in range(bookings)]
    span = max(sum(nights[k] + 1 for k in range(j, bookings, len(units))) for j in range(len(units)))
    cursor = {uid: clock.today(prop.timezone) - dt.timedelta(days=span + 1) for uid in units}
    now = clock.now()
    rows, occupied = [], []
    for i in range(bookings):
        uid = units[i % len(units)]
        arrival = cursor[uid]
        cursor[uid] = arrival + dt.timedelta(days=nights[i] + 1)
        rows.append({"property_id": prop.id, "category_id": cat.id, "source": "booking" if i % 3 else "own",
                     "status": "confirmed", "arrival": arrival, "departure": arrival + dt.timedelta(days=nights[i]),
                     "units": 1, "guests": 1, "guest_name": f"Guest {i}", "created_at": now, "updated_at": now})
    ids = list(session.scalars(sa.insert(Booking).returning(Booking.id, sort_by_parameter_order=True), rows))
    for i, (bid, row) in enumerate(zip(ids, rows)):
        occupied.extend({"booking_id": bid, "unit_id": units[i % len(units)], "category_id": cat.id,
                         "night": row["arrival"] + dt.timedelta(days=k)} for k in range(nights[i]))
    for k in range(0, len(occupied), 5000):
        session.execute(sa.insert(Occupancy), occupied[k:k + 5000])
    session.commit()


def _capture(engine, work) -> list[tuple[str, object]]:
    """The statements `work()` sends that read occupancy (inserts aside)."""
    captured = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "occupancy" in statement and not statement.lstrip().upper().startswith("INSERT"):
            captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        work()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return captured


def _world(session, bookings: int):
    clock.set_now(T0)
    prop = make_property(session, units=20, days=120)
    _history(session, prop, bookings)
    return prop


def _reads(session, engine, prop) -> dict[str, list[tuple[str, object]]]:
    """The occupancy statements of each reader and of the write path, by name."""
    cat = prop.categories[0]
    today = clock.today(prop.timezone)
    start, end = today + dt.timedelta(days=1), today + dt.timedelta(days=61)
    reads = {
        "availability (nights_for, 60 nights)": lambda: inventory.nights_for(session, [cat.id], start, end),
        "next_hold_expiry": lambda: inventory.next_hold_expiry(session, prop.id, start, end),
        "calendar": lambda: calendar.build(session, prop, today, today + dt.timedelta(days=31)),
        "overbooked_nights": lambda: conflicts.overbooked_nights(session, cat.id, start, end),
        "bookings_on": lambda: inventory.bookings_on(session, cat.id, [start, start + dt.timedelta(days=1)]),
        "conflicts.bookings_on": lambda: conflicts.bookings_on(session, cat.id, [start]),
    }
    found = {name: _capture(engine, work) for name, work in reads.items()}

    def hold():
        b = new_booking(prop, arrival=start + dt.timedelta(days=3), nights=4, source="booking", status="pending",
                        hold_minutes=20)
        session.add(b)
        inventory.take(session, b)
        session.flush()

    found["take (a hold: expired holds, units taken, online nights sold)"] = _capture(engine, hold)
    session.rollback()
    for name, statements in found.items():
        assert statements, f"{name} read no occupancy"
    return found


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _pg_problems(conn, statement, parameters) -> list:
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
    scans = [(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in _nodes(plan[0]["Plan"])
             if "Scan" in n["Node Type"]]
    problems = [s for s in scans if s[0] == "Seq Scan" and s[1] in ("occupancy", "booking")]
    # each occupancy row's booking by its key, never the category's bookings of all time
    problems += [s for s in scans if s[1] == "booking" and s[2] not in (None, "pk_booking")]
    if not [s for s in scans if s[2] == INDEX and s[0] in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")]:
        problems.append(("no range scan of", INDEX))
    return [(problems, scans)] if problems else []


def _sqlite_problems(conn, statement, parameters) -> list:
    plan = [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    problems = [line for line in plan if line.startswith(("SCAN occupancy", "SCAN booking"))
                or (line.startswith("SEARCH booking") and "PRIMARY KEY" not in line)]
    if not any(INDEX in line for line in plan):
        problems.append(f"no range scan of {INDEX}")
    return [(problems, plan)] if problems else []


def _check(conn, reads, problems_of) -> None:
    for name, statements in reads.items():
        for statement, parameters in statements:
            found = problems_of(conn, statement, parameters)
            assert not found, (name, statement, found)


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="PostgreSQL's planner")
def test_occupancy_reads_are_range_scans_without_statistics_on_postgres(session, engine):
    with engine.connect() as conn:
        analyzed = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() "
            "AND tablename IN ('occupancy', 'booking')").scalar()
    assert analyzed == 0, "this test needs a database where ANALYZE never ran on occupancy and booking"
    prop = _world(session, 5000)
    reads = _reads(session, engine, prop)
    with engine.connect() as conn:
        _check(conn, reads, _pg_problems)


@pytest.mark.skipif(is_postgres(), reason="SQLite's planner")
def test_occupancy_reads_use_the_category_night_index_on_sqlite(session, engine):
    """SQLite never has statistics here (nothing runs ANALYZE on it)."""
    prop = _world(session, 600)
    reads = _reads(session, engine, prop)
    with engine.connect() as conn:
        _check(conn, reads, _sqlite_problems)

"""Moves between units (issue 11): a double booking that is only fragmentation is solved by
moving whole stays to other units of the category, changing as few bookings as possible, never
a stay that has started, one transaction; none when no assignment exists or in time."""
from __future__ import annotations

import datetime as dt
import json
import random
import time

import pytest
import sqlalchemy as sa

from services.bookings import conflicts, unit_moves
from services.core import clock
from services.core.errors import Conflict, Forbidden, NotFound
from services.models import (AuditEntry, BookingEvent, DoubleBooking, DoubleBookingStep, Occupancy,
                             Property, RoomNight)
from tests.conflict_scenarios import (D, bookings, cancel, fragmented, no_unit_twice, occupancy, partly_placed, placed,
                                      still_unplaced)
from tests.factories import make_property, make_user

NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def prop(session):
    clock.set_now(NOW)
    return make_property(session, units=2, days=40)


def _load(session, s):
    prop = session.get(Property, s.prop_id)
    return prop, session.get(DoubleBooking, s.db)


def test_a_fragmented_double_booking_is_solved_by_moving_the_fewest_bookings(session, prop):
    s = fragmented(session, prop, clock.today(prop.timezone) + 3 * D)
    p, db = _load(session, s)
    pre = unit_moves.preview(session, p, db)
    assert pre.status == "moves" and pre.exact
    moved = {m.booking.id: (m.from_unit_ids, m.to_unit_ids) for m in pre.moves}
    # A to u2 and C on u1 for its whole stay: two bookings, four unit-nights (not B and C to u2: six)
    assert moved == {s.a: ([s.u1], [s.u2]), s.c: ([s.u1], [s.u1])}
    assert next(m for m in pre.moves if m.booking.id == s.c).was_unplaced

    host = session.get(Property, s.prop_id).owner
    moves = unit_moves.apply(session, host, p, db)
    assert {m.booking.id for m in moves} == {s.a, s.c}
    occ = occupancy(session, [s.a, s.b, s.c])
    n = s.nights
    assert occ[s.a] == {n[0]: [s.u2], n[1]: [s.u2]}
    assert occ[s.c] == {n[i]: [s.u1] for i in range(4)}
    assert occ[s.b] == {n[2]: [s.u2], n[3]: [s.u2]}  # B was not touched
    assert no_unit_twice(session) and still_unplaced(session, [s.c]) == 0
    # the sold room-nights follow their units; C's unit-less nights got theirs
    sold = dict(session.execute(sa.select(RoomNight.night, RoomNight.unit_id)
                                .where(RoomNight.booking_id == s.c, RoomNight.state == "sold")).all())
    assert sold == {n[i]: s.u1 for i in range(4)}
    assert set(session.scalars(sa.select(RoomNight.unit_id).where(RoomNight.booking_id == s.a))) == {s.u2}
    db = session.get(DoubleBooking, s.db)
    assert (db.status, db.resolution) == ("resolved", "moved")
    steps = [(st.step, st.action) for st in db.steps]
    assert steps[-2:] == [(0, "moved"), (0, "resolved")]
    moved_step = db.steps[-2]
    assert moved_step.actor_id == host.id
    assert {m["booking"] for m in moved_step.detail["moves"]} == {s.a, s.c}
    events = session.execute(sa.select(BookingEvent.booking_id, BookingEvent.detail)
                             .where(BookingEvent.kind == "unit_moved")).all()
    assert {bid for bid, _ in events} == {s.a, s.c}
    a_event = json.loads(next(d for bid, d in events if bid == s.a))
    assert a_event["from"] == ["Room 101"] and a_event["to"] == ["Room 102"] and a_event["double_booking"] == s.db
    assert session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "units_moved")) == 1


def test_a_night_with_more_bookings_than_units_has_no_moves(session, prop):
    s = fragmented(session, prop, clock.today(prop.timezone) + 3 * D, cancel_x=False)
    p, db = _load(session, s)
    pre = unit_moves.preview(session, p, db)
    assert (pre.status, pre.moves, pre.nodes) == ("impossible", [], 0)
    before = occupancy(session, [s.a, s.b, s.c, s.x])
    with pytest.raises(Conflict) as e:
        unit_moves.apply(session, p.owner, p, db)
    assert e.value.code == "no_moves"
    assert occupancy(session, [s.a, s.b, s.c, s.x]) == before and still_unplaced(session, [s.c]) == 2
    assert session.get(DoubleBooking, s.db).status == "open"
    assert not session.scalar(sa.select(DoubleBookingStep.id).where(DoubleBookingStep.action == "moved"))


def _started(session, prop, t):
    """From night t: A (own) on u1 t, t+1; B and D on u2 t+2 and t+3; C (t+1..t+3) had no room on
    t+1 (X had u2 then, and cancelled) and sits on u1 after. Fewest changes: A to u2, C on u1;
    once A has arrived (t = today) A stays, and B and D make room on u1 for C on u2."""
    u1, u2 = [u.id for u in prop.categories[0].units]
    early = clock.now() - 30 * D
    a = placed(session, prop, "Anna Da", t, 2, u1, created=early)
    x = placed(session, prop, "Xaver Storno", t + D, 1, u2, created=early)
    b = placed(session, prop, "Bea", t + 2 * D, 1, u2, created=early)
    d = placed(session, prop, "Dora", t + 3 * D, 1, u2, created=early)
    c = partly_placed(session, prop, "Carl", t + D, 3, {t + 2 * D: u1, t + 3 * D: u1})
    db = conflicts.open_for(session, prop.categories[0], [t + D], "overbooked_push")
    cancel(session, x)
    session.commit()
    return db.id, a.id, b.id, c.id, d.id, u1, u2


@pytest.mark.parametrize("started", [False, True])
def test_a_stay_that_has_started_stays_in_its_room(session, prop, started):
    today = clock.today(prop.timezone)
    db_id, a, b, c, d, u1, u2 = _started(session, prop, today if started else today + 3 * D)
    db = session.get(DoubleBooking, db_id)
    pre = unit_moves.preview(session, prop, db)
    assert pre.status == "moves"
    expected = {b: [u1], d: [u1], c: [u2]} if started else {a: [u2], c: [u1]}
    assert {m.booking.id: m.to_unit_ids for m in pre.moves} == expected
    unit_moves.apply(session, prop.owner, prop, db)
    occ = occupancy(session, [a, b, c, d])
    assert {u for us in occ[a].values() for u in us} == ({u1} if started else {u2})
    assert {u for us in occ[c].values() for u in us} == set(expected[c]) and len(occ[c]) == 3
    assert no_unit_twice(session) and session.get(DoubleBooking, db_id).status == "resolved"


def _room_change_needed(session, prop):
    """G and K arrived today (3 nights). K is on u2, u2, then u1 (as it was placed); G on u1, u1,
    and no room the third night (X had it, then cancelled). Whole stays: G's third night can only
    be u1, which K has. Room changes allowed: G sleeps in u2 the third night."""
    today = clock.today(prop.timezone)
    u1, u2 = [u.id for u in prop.categories[0].units]
    n = [today + i * D for i in range(3)]
    k = partly_placed(session, prop, "Karl Kurz", n[0], 3, {n[0]: u2, n[1]: u2, n[2]: u1}, source="own")
    x = placed(session, prop, "Xaver Storno", n[2], 1, u2)
    g = partly_placed(session, prop, "Gerda Gast", n[0], 3, {n[0]: u1, n[1]: u1, n[2]: None})
    db = conflicts.open_for(session, prop.categories[0], [n[2]], "check")
    cancel(session, x)
    session.commit()
    return db.id, g.id, k.id, u1, u2, n


def test_a_room_change_during_the_stay_only_when_the_host_allows_it(session, prop):
    db_id, g, k, u1, u2, n = _room_change_needed(session, prop)
    p, db = prop, session.get(DoubleBooking, db_id)
    assert unit_moves.preview(session, p, db).status == "impossible"
    pre = unit_moves.preview(session, p, db, allow_split=True)
    assert pre.status == "moves"
    (move,) = pre.moves
    assert move.booking.id == g and move.runs() == [(u1, n[0], n[2]), (u2, n[2], n[2] + D)]
    with pytest.raises(Conflict):
        unit_moves.apply(session, p.owner, p, db)
    unit_moves.apply(session, p.owner, p, session.get(DoubleBooking, db_id), allow_split=True)
    assert occupancy(session, [g])[g] == {n[0]: [u1], n[1]: [u1], n[2]: [u2]}
    assert occupancy(session, [k])[k] == {n[0]: [u2], n[1]: [u2], n[2]: [u1]}  # K, in the house, untouched
    assert no_unit_twice(session) and still_unplaced(session, [g]) == 0
    step = session.scalars(sa.select(DoubleBookingStep).where(DoubleBookingStep.action == "moved")).one()
    assert step.detail["allow_split"] is True


def test_the_search_gives_up_past_its_budget(session, prop):
    s = fragmented(session, prop, clock.today(prop.timezone) + 3 * D)
    p, db = _load(session, s)
    pre = unit_moves.preview(session, p, db, node_budget=1)
    assert (pre.status, pre.moves) == ("timeout", [])
    with pytest.raises(Conflict):
        unit_moves.apply(session, p.owner, p, db, node_budget=1)
    assert still_unplaced(session, [s.c]) == 2


def _busy_plan(seed: int, units: list[int], start: dt.date, days: int, share: float):
    """Stays of 1-7 nights put at random on a unit free for the whole stay, until `share` of the
    unit-nights are taken: a busy season. [(unit, arrival, nights)]"""
    rnd = random.Random(seed)
    taken: set = set()
    plan = []
    while len(taken) < share * len(units) * days:
        arrival = start + rnd.randrange(days) * D
        nights = rnd.choice([1, 2, 2, 3, 3, 4, 5, 7])
        stay = [arrival + k * D for k in range(nights)]
        if stay[-1] >= start + days * D:
            continue
        free = [u for u in units if all((u, n) not in taken for n in stay)]
        if free:
            unit = rnd.choice(free)
            taken.update((unit, n) for n in stay)
            plan.append((unit, arrival, nights))
    return plan, taken


def test_the_search_is_exact_and_quick_for_a_busy_guesthouse(session):
    """8 units, 80 % booked over six weeks (about 90 stays), and a week's stay without a room
    where every night has a unit free but no unit is free all week: the fewest moves are found
    within the budget and proven, and no unit is taken twice."""
    clock.set_now(NOW)
    prop = make_property(session, units=8, days=70)
    units = [u.id for u in prop.categories[0].units]
    start = clock.today(prop.timezone) + 2 * D
    plan, taken = _busy_plan(6, units, start, 40, 0.8)
    for i, (unit, arrival, nights) in enumerate(plan):
        placed(session, prop, f"Gast {i}", arrival, nights, unit)
    length = 7
    first = next(f for f in (start + k * D for k in range(40 - length))
                 if all(any((u, f + k * D) not in taken for u in units) for k in range(length))
                 and not any(all((u, f + k * D) not in taken for k in range(length)) for u in units))
    blockers = [placed(session, prop, f"Weg {u}", first, 1, u) for u in units if (u, first) not in taken]
    stay = partly_placed(session, prop, "Lang Zeit", first, length, {})
    db = conflicts.open_for(session, prop.categories[0], [first], "check")
    for b in blockers:
        cancel(session, b)
    session.commit()
    t0 = time.monotonic()
    pre = unit_moves.preview(session, prop, db)
    took = time.monotonic() - t0
    assert pre.status == "moves" and pre.exact, (pre.status, pre.nodes, took)
    assert took < unit_moves.TIME_BUDGET
    assert len(pre.moves) >= 2  # the long stay and at least one other
    unit_moves.apply(session, prop.owner, prop, session.get(DoubleBooking, db.id))
    assert no_unit_twice(session) and still_unplaced(session, [stay.id]) == 0
    assert session.get(DoubleBooking, db.id).status == "resolved"


def test_only_the_host_and_office_of_the_property_may_move(session, prop):
    s = fragmented(session, prop, clock.today(prop.timezone) + 3 * D)
    p, db = _load(session, s)
    stranger = make_user(session, "host")
    with pytest.raises(Forbidden):
        unit_moves.apply(session, stranger, p, db)
    other = make_property(session, units=2)
    with pytest.raises(NotFound):
        unit_moves.apply(session, other.owner, other, db)
    assert still_unplaced(session, [s.c]) == 2


def test_nothing_to_move_when_every_stay_has_a_room(session, prop):
    # C placed in full, only the quota is exceeded: moves cannot help
    s = fragmented(session, prop, clock.today(prop.timezone) + 3 * D)
    p, db = _load(session, s)
    unit_moves.apply(session, p.owner, p, db)
    assert unit_moves.preview(session, p, session.get(DoubleBooking, s.db)).status == "quota"
    assert bookings(session, [s.c])[s.c].status == "confirmed"


def test_a_booking_of_two_rooms_moves_one_of_them_and_its_ledger_follows(session):
    """3 units. M (2 rooms) on u1 u2 for n0 n1; X on u3 n1 (cancels); B on u3 n2 n3; C (n1..n3)
    had no room on n1. One of M's rooms or B moves, and C gets one room for its whole stay."""
    clock.set_now(NOW)
    prop = make_property(session, units=3, days=40)
    u1, u2, u3 = [u.id for u in prop.categories[0].units]
    t = clock.today(prop.timezone) + 3 * D
    m = placed(session, prop, "Mehr Zimmer", t, 2, u1, source="booking")
    session.add_all([Occupancy(booking_id=m.id, unit_id=u2, category_id=m.category_id, night=t),
                     Occupancy(booking_id=m.id, unit_id=u2, category_id=m.category_id, night=t + D)])
    m.units = 2
    session.add_all([RoomNight(booking_id=m.id, night=n, unit_id=u2, price=80, commissionable=80, state="sold",
                               changed_at=clock.now()) for n in (t, t + D)])
    x = placed(session, prop, "Xaver", t + D, 1, u3)
    b = placed(session, prop, "Bea", t + 2 * D, 2, u3)
    c = partly_placed(session, prop, "Carl", t + D, 3, {t + 2 * D: u1, t + 3 * D: u1})
    db = conflicts.open_for(session, prop.categories[0], [t + D], "overbooked_push")
    cancel(session, x)
    session.commit()
    pre = unit_moves.preview(session, prop, db)
    assert pre.status == "moves" and len(pre.moves) == 2
    unit_moves.apply(session, prop.owner, prop, session.get(DoubleBooking, db.id))
    occ = occupancy(session, [m.id, b.id, c.id])
    assert all(len(set(us)) == 2 for us in occ[m.id].values()) and len(occ[m.id]) == 2
    assert len({u for us in occ[c.id].values() for u in us}) == 1 and len(occ[c.id]) == 3
    assert no_unit_twice(session) and still_unplaced(session, [c.id]) == 0
    ledger = {}
    for night, uid in session.execute(sa.select(RoomNight.night, RoomNight.unit_id)
                                      .where(RoomNight.booking_id == m.id, RoomNight.state == "sold")):
        ledger.setdefault(night, []).append(uid)
    assert {n: sorted(us) for n, us in ledger.items()} == {n: sorted(us) for n, us in occ[m.id].items()}


def test_a_stay_already_split_between_rooms_keeps_them_unless_room_changes_are_allowed(session, prop):
    """S (not arrived) sits on u1 then u2 as take placed it; C has no room on its first night
    (X had it, then cancelled). Whole stays: S stays as it is, C goes where a unit is free all
    along, if one is; S is never rebuilt on other rooms unless room changes are allowed."""
    u1, u2 = [u.id for u in prop.categories[0].units]
    t = clock.today(prop.timezone) + 3 * D
    s = partly_placed(session, prop, "Split", t, 2, {t: u1, t + D: u2}, source="own")
    x = placed(session, prop, "Xaver", t, 1, u2)
    c = partly_placed(session, prop, "Carl", t, 2, {t: None, t + D: u1})
    db = conflicts.open_for(session, prop.categories[0], [t], "check")
    cancel(session, x)
    session.commit()
    pre = unit_moves.preview(session, prop, db)
    # u2 is free on t, but u1 (C's second night) is S's on t: C can have no unit for both nights
    # while S stays, so no whole-stay moves; with room changes, C sleeps in u2 then u1
    assert pre.status == "impossible"
    split = unit_moves.preview(session, prop, db, allow_split=True)
    assert split.status == "moves"
    assert {m.booking.id for m in split.moves} == {c.id}
    assert occupancy(session, [s.id])[s.id] == {t: [u1], t + D: [u2]}


def _random_situation(seed: int):
    """3 units over 10 nights, 8 stays put at random, and one stay (2-4 nights) without a room where
    every night has a unit free: an in-memory Situation, as unit_moves.situation builds one."""
    from types import SimpleNamespace

    rnd = random.Random(seed)
    start = dt.date(2031, 3, 1)
    units = [SimpleNamespace(id=10 + i, name=f"R{i}") for i in range(3)]
    taken, held, stays = {}, {}, []
    for bid in range(1, 40):
        if len(stays) == 8:  # with C, 9 stays: 3^9 assignments for the brute force
            break
        arrival = start + rnd.randrange(9) * D
        nights = rnd.choice([1, 2, 2, 3])
        stay = [arrival + k * D for k in range(nights) if arrival + k * D < start + 10 * D]
        free = [u.id for u in units if all((u.id, n) not in taken for n in stay)]
        if not free:
            continue
        unit = rnd.choice(free)
        taken.update({(unit, n): bid for n in stay})
        held[bid] = {n: [unit] for n in stay}
        stays.append(SimpleNamespace(id=bid, arrival=stay[0], departure=stay[-1] + D, units=1, guest_name=str(bid)))
    length = rnd.choice([2, 3, 4])
    first = start + rnd.randrange(10 - length + 1) * D
    c_nights = [first + k * D for k in range(length)]
    c = SimpleNamespace(id=99, arrival=first, departure=first + length * D, units=1, guest_name="C")
    stays.append(c)
    sit = unit_moves.Situation(db=None, today=start - D, units=units, nights=[start + k * D for k in range(10)],
                               bookings=sorted(stays, key=lambda b: (b.arrival, b.id)), held=held,
                               unplaced={99: {n: 1 for n in c_nights}}, blocked={}, obstacles={})
    return sit, all(any((u.id, n) not in taken for u in units) for n in c_nights)


def _fewest_moves_by_brute_force(sit) -> int | None:
    import itertools

    bookings = sit.bookings
    best = None
    for choice in itertools.product(range(len(sit.units)), repeat=len(bookings)):
        used = set()
        ok = True
        for b, ui in zip(bookings, choice):
            for n in range((b.departure - b.arrival).days):
                key = (ui, b.arrival + n * D)
                if key in used:
                    ok = False
                    break
                used.add(key)
            if not ok:
                break
        if not ok:
            continue
        moved = sum(1 for b, ui in zip(bookings, choice)
                    if b.id in sit.unplaced or any(us != [sit.units[ui].id] for us in sit.held[b.id].values()))
        best = moved if best is None else min(best, moved)
    return best


@pytest.mark.parametrize("seed", range(16))
def test_the_fewest_moves_agree_with_trying_every_assignment(seed):
    """3 units, 9 stays over 10 nights: the search's fewest moved bookings are the minimum over
    every whole-stay assignment, and it finds none exactly when none exists."""
    sit, nights_fit = _random_situation(seed)
    expected = _fewest_moves_by_brute_force(sit)
    assign, exact, timed_out, _nodes = unit_moves.search(sit)
    assert not timed_out and exact
    if expected is None:
        assert assign is None
    else:
        assert assign is not None
        assert len(unit_moves._moves(sit, assign)) == expected, (seed, nights_fit)

"""The occupancy plan (Belegungsplan) as data: categories x days, units with booking bars.

Built in a fixed number of queries whatever the number of units or days, so the page
stays fast as a property grows (tests/services/availability/test_calendar.py counts them).
"""
from __future__ import annotations

import calendar as cal
import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from services.core import clock
from services.availability import explain, gaps
from services.availability.gaps import Gap
from services.availability.pricing import final_price
from services.availability.inventory import Night, in_range, nights_for, nights_of, occupying
from services.models import (QUOTA_FREE_SOURCES, Booking, Occupancy, Property, RoomCategory, RoomNight, Unit,
                             UnplacedNight)


@dataclass(frozen=True, slots=True)
class BarBooking:
    """What the plan shows of a booking (read as plain columns: a month holds hundreds of them)."""
    id: int
    guest_name: str
    source: str
    status: str
    arrival: dt.date
    departure: dt.date


@dataclass
class Bar:
    booking: BarBooking
    span: int
    continues_before: bool
    continues_after: bool
    first: dt.date | None = None  # the first night of the bar in the plan's window

    @property
    def kind(self) -> str:
        """The legend entry: the source, or 'hold' for a temporary unconfirmed reservation."""
        return "hold" if self.booking.status == "pending" else self.booking.source


@dataclass
class UnitRow:
    unit: Unit | None  # None: an "overbooked" lane (CategoryRow.overbooked)
    # Each item is a Bar or the date of a free night.
    cells: list[Bar | dt.date] = field(default_factory=list)


@dataclass
class CategoryRow:
    category: RoomCategory
    nights: list[Night]
    finals: list  # final price for one night, mandatory costs included (R4)
    units: list[UnitRow]
    gaps: dict[dt.date, Gap] = field(default_factory=dict)  # nights that can never sell (services.availability.gaps)
    # R53: nights holding a searching risk-free room-night that a liftable restriction blocks
    resale_blocked: set[dt.date] = field(default_factory=set)
    # Nights sold without a room (notify mode, iCal), as bars in lanes under the units (unit None);
    # empty unless the window has some.
    overbooked: list[UnitRow] = field(default_factory=list)


@dataclass
class Plan:
    prop: Property
    start: dt.date
    end: dt.date  # exclusive
    today: dt.date
    days: list[dt.date]
    rows: list[CategoryRow]


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    start = month.replace(day=1)
    return start, start + dt.timedelta(days=cal.monthrange(start.year, start.month)[1])


def build(session: Session, prop: Property, start: dt.date, end: dt.date) -> Plan:
    categories = list(session.scalars(
        sa.select(RoomCategory).where(RoomCategory.property_id == prop.id)
        .options(selectinload(RoomCategory.units), selectinload(RoomCategory.prop).selectinload(Property.extra_costs))
        .order_by(RoomCategory.position, RoomCategory.id)
    ))
    days = nights_of(start, end)
    cat_ids = [c.id for c in categories]
    unplaced = _unplaced(session, cat_ids, start, end) if categories else []
    totals: dict[tuple[int, dt.date], list[int]] = {}
    for cid, night, units, online, _b in unplaced:
        t = totals.setdefault((cid, night), [0, 0])
        t[0] += units
        t[1] += units if online else 0
    figures = nights_for(session, cat_ids, start, end,
                         unplaced=[(cid, night, u, o) for (cid, night), (u, o) in totals.items()]) if categories else {}
    unit_ids = [u.id for c in categories for u in c.units]
    taken: dict[int, dict[dt.date, BarBooking]] = {uid: {} for uid in unit_ids}
    if unit_ids:
        rows = session.execute(
            sa.select(Occupancy.unit_id, Occupancy.night, Booking.id, Booking.guest_name, Booking.source,
                      Booking.status, Booking.arrival, Booking.departure)
            .join(Booking, Booking.id == Occupancy.booking_id)
            .where(in_range(cat_ids, start, end), occupying(clock.now()))
        )
        bookings: dict[int, BarBooking] = {}
        for uid, night, *columns in rows:
            b = bookings.get(columns[0])
            if b is None:
                b = bookings[columns[0]] = BarBooking(*columns)
            taken[uid][night] = b
    plan_rows = []
    today = clock.today(prop.timezone)
    searched = _searched(session, prop, max(start, today), end) if categories and end > today else set()
    for c in categories:
        nights = [figures[c.id][d] for d in days]
        finals = [final_price(prop, c.id, n.price) for n in nights]
        blocked = {d for cid, d in searched
                   if cid == c.id and explain.blocked_by_restriction(figures[c.id], d, (start, end))}
        plan_rows.append(CategoryRow(c, nights, finals, [_unit_row(u, days, taken[u.id]) for u in c.units],
                                     gaps.find(nights, today), blocked,
                                     _overbooked_lanes(days, [r for r in unplaced if r[0] == c.id])))
    return Plan(prop, start, end, today, days, plan_rows)


def _unplaced(session: Session, category_ids: list[int], start: dt.date, end: dt.date) -> list[tuple]:
    """(category id, night, units, online, BarBooking) of the nights in [start, end) that
    occupying bookings have without a room. One query."""
    rows = session.execute(
        sa.select(UnplacedNight.category_id, UnplacedNight.night, UnplacedNight.units,
                  Booking.source.not_in(QUOTA_FREE_SOURCES), Booking.id, Booking.guest_name, Booking.source,
                  Booking.status, Booking.arrival, Booking.departure)
        .join(Booking, Booking.id == UnplacedNight.booking_id)
        .where(UnplacedNight.category_id.in_(category_ids), UnplacedNight.night >= start, UnplacedNight.night < end,
               occupying(clock.now()))
        .order_by(Booking.arrival, Booking.id, UnplacedNight.night)
    )
    bookings: dict[int, BarBooking] = {}
    out = []
    for cid, night, units, online, *columns in rows:
        b = bookings.get(columns[0])
        if b is None:
            b = bookings[columns[0]] = BarBooking(*columns)
        out.append((cid, night, units, bool(online), b))
    return out


def _overbooked_lanes(days: list[dt.date], unplaced: list[tuple]) -> list[UnitRow]:
    """The "overbooked" lanes of a category: each booking's nights without a room as bars, packed
    into as few lanes as keep bars from overlapping (a booking short of two units fills two)."""
    wants: dict[int, tuple[BarBooking, dict[dt.date, int]]] = {}
    for _cid, night, units, _online, b in unplaced:
        wants.setdefault(b.id, (b, {}))[1][night] = units
    lanes: list[dict[dt.date, BarBooking]] = []
    for b, nights in wants.values():  # by arrival: the query's order
        for copy in range(max(nights.values())):
            mine = [n for n, k in nights.items() if k > copy]
            lane = next((ln for ln in lanes if not any(n in ln for n in mine)), None)
            if lane is None:
                lane = {}
                lanes.append(lane)
            lane.update({n: b for n in mine})
    return [_unit_row(None, days, lane) for lane in lanes]


def _searched(session: Session, prop: Property, start: dt.date, end: dt.date) -> set[tuple[int, dt.date]]:
    """(category id, night) in [start, end) holding a risk-free room-night still searching (R53). One query."""
    return {(cid, night) for cid, night in session.execute(
        sa.select(Booking.category_id, RoomNight.night).distinct()
        .join(Booking, Booking.id == RoomNight.booking_id)
        .where(Booking.property_id == prop.id, RoomNight.state == "searching",
               RoomNight.night >= start, RoomNight.night < end)
    )}


def _unit_row(unit: Unit | None, days: list[dt.date], taken: dict[dt.date, BarBooking]) -> UnitRow:
    row = UnitRow(unit)
    i = 0
    while i < len(days):
        b = taken.get(days[i])
        if b is None:
            row.cells.append(days[i])
            i += 1
            continue
        j = i
        while j + 1 < len(days) and (nb := taken.get(days[j + 1])) is not None and nb.id == b.id:
            j += 1
        row.cells.append(Bar(b, j - i + 1, b.arrival < days[i], b.departure > days[j] + dt.timedelta(days=1), days[i]))
        i = j + 1
    return row

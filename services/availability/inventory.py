"""Inventory: THE function that takes nights (`take`), availability, and rate rows.

available(night) = min(quota - sold_online, units - occupied), 0 when closed; see the
README's architecture section for why online bookings count against the quota and own
bookings only against free units. `take` is the only code that writes Occupancy rows (and
`reassign`, which moves bookings between units of their category to solve a double booking).

Locks (PostgreSQL; SQLite has one writer at a time, BEGIN IMMEDIATE in services/core/db.py).
Every writer takes its row locks in one order, so no two writers can wait for each other:

  property row -> room_category rows, ascending id -> night_rate rows -> occupancy rows

`touch` takes the first two. Booking writers (take, release, place_unplaced, reassign: holds,
confirmations, cancellations) lock and bump only the rows of the categories they change, so
bookings of different categories of one property never queue behind each other; two of the
same category queue on its row. Property-wide writers (a category added or deleted, a unit
deleted, mandatory costs) and use cases that write the property row anyway (its
`calendar_maintained_at`: rate edits, own bookings, undo, the gap fix) lock the property row
first, then the categories they change. A use case that will lock several categories locks
them all in one `touch` before its first write (a booking moved to another category).
Availability caches (the API's, the public search's ETag) are fresh while the property's
`inventory_version` and the sum of its categories' versions are unchanged.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.accounts import access
from services.core import clock
from services.core.errors import Conflict
from services.core.i18n import _l
from services.availability import pricing
from services.bookings import ledger
from services.channels import ari
from services.models import (QUOTA_FREE_SOURCES, Booking, NightRate, Occupancy, Property, RoomCategory, RoomNight, Unit,
                             UnplacedNight)

MAX_RANGE_DAYS = 731  # two years


def touch(session: Session, property_id: int | None = None, category_ids: Iterable[int] = ()) -> None:
    """Mark availability as changed and take the writer's locks in the one order (see the module
    docstring): the property row when `property_id` is given (property-wide writers only), then
    the rows of `category_ids` by ascending id; each row's inventory_version goes up by one.
    Called before the use case's first write of rates or occupancy."""
    if property_id is not None:
        session.execute(
            sa.update(Property).where(Property.id == property_id)
            .values(inventory_version=Property.inventory_version + 1)
            .execution_options(synchronize_session=False)
        )
    ids = sorted(set(category_ids))
    if not ids:
        return
    if len(ids) == 1:
        which = RoomCategory.id == ids[0]
    else:
        # An UPDATE locks rows in the order it finds them; the sorted FOR NO KEY UPDATE below locks
        # them by ascending id first, so two writers of overlapping categories cannot deadlock.
        which = RoomCategory.id.in_(sa.select(RoomCategory.id).where(RoomCategory.id.in_(ids))
                                    .order_by(RoomCategory.id).with_for_update(key_share=True))
    session.execute(
        sa.update(RoomCategory).where(which)
        .values(inventory_version=RoomCategory.inventory_version + 1)
        .execution_options(synchronize_session=False)
    )


def nights_of(arrival: dt.date, departure: dt.date) -> list[dt.date]:
    return [arrival + dt.timedelta(days=i) for i in range((departure - arrival).days)]


def occupying(now: dt.datetime):
    """Bookings whose rows count: confirmed ones and holds that have not expired yet."""
    return Booking.occupies(now)


def counts_against_quota():
    return Booking.source.not_in(QUOTA_FREE_SOURCES)


def in_range(category_ids: list[int] | sa.Select, start: dt.date, end: dt.date):
    """Occupancy rows of these categories on the nights [start, end): the one way to ask "what
    is occupied there". One range scan of ix_occupancy_category_id_night per category, then each
    row's booking by primary key; the cost grows with the nights asked, never with a category's
    history, and the planner needs no statistics to see it (tests/services/availability/test_plans.py).
    Filter the booking (occupying, online) on top; never on Booking.category_id, which invites a
    plan that walks every booking the category ever had."""
    return sa.and_(Occupancy.category_id.in_(category_ids), Occupancy.night >= start, Occupancy.night < end)


@dataclass
class Night:
    """What one category offers on one night."""

    night: dt.date
    units: int
    quota: int = 0
    price: Decimal | None = None
    min_stay: int = 1
    max_stay: int | None = None  # longest stay arriving this night; None: no limit
    closed: bool = False
    closed_to_arrival: bool = False
    closed_to_departure: bool = False
    occupied: int = 0
    sold_online: int = 0  # online units sold, with a room or without
    has_rate: bool = False
    unplaced: int = 0  # units sold without a room (notify mode, iCal): the plan's "overbooked" lane

    @property
    def balance(self) -> int:
        """Units left, below zero when more are sold than the category has (-1: one too many)."""
        return self.units - self.occupied - self.unplaced

    @property
    def free(self) -> int:
        return max(0, self.balance)

    @property
    def available(self) -> int:
        if self.closed or not self.has_rate or self.price is None:
            return 0
        return max(0, min(self.quota - self.sold_online, self.free))


def nights_for(session: Session, category_ids: list[int], start: dt.date, end: dt.date,
               unplaced: list[tuple] | None = None) -> dict[int, dict[dt.date, Night]]:
    """Night-by-night figures for categories over [start, end), in four queries. `unplaced`:
    (category id, night, units, online units) rows the caller already read (the plan), or
    None to read them here."""
    now = clock.now()
    unit_counts = dict(
        session.execute(
            sa.select(Unit.category_id, sa.func.count(Unit.id))
            .where(Unit.category_id.in_(category_ids))
            .group_by(Unit.category_id)
        ).all()
    )
    days = nights_of(start, end)
    result = {cid: {d: Night(d, unit_counts.get(cid, 0)) for d in days} for cid in category_ids}
    rates = session.execute(  # plain columns, not entities: a month of a property is hundreds of rows
        sa.select(NightRate.category_id, NightRate.night, NightRate.quota, NightRate.price, NightRate.min_stay,
                  NightRate.closed, NightRate.closed_to_arrival, NightRate.closed_to_departure, NightRate.max_stay)
        .where(NightRate.category_id.in_(category_ids), NightRate.night >= start, NightRate.night < end)
    )
    for cid, night, quota, price, min_stay, closed, no_arrival, no_departure, max_stay in rates:
        n = result[cid][night]
        n.has_rate = True
        n.quota, n.price, n.min_stay, n.max_stay = quota, price, min_stay, max_stay
        n.closed, n.closed_to_arrival, n.closed_to_departure = closed, no_arrival, no_departure
    online = counts_against_quota()
    rows = session.execute(
        sa.select(
            Occupancy.category_id, Occupancy.night, sa.func.count(Occupancy.id),
            sa.func.sum(sa.case((online, 1), else_=0)),
        )
        .join(Booking, Booking.id == Occupancy.booking_id)
        .where(in_range(category_ids, start, end), occupying(now))
        .group_by(Occupancy.category_id, Occupancy.night)
    )
    for cid, night, occupied, sold in rows:
        n = result[cid][night]
        n.occupied, n.sold_online = occupied, int(sold or 0)
    if unplaced is None:
        unplaced = session.execute(
            sa.select(UnplacedNight.category_id, UnplacedNight.night, sa.func.sum(UnplacedNight.units),
                      sa.func.sum(sa.case((online, UnplacedNight.units), else_=0)))
            .join(Booking, Booking.id == UnplacedNight.booking_id)
            .where(UnplacedNight.category_id.in_(category_ids), UnplacedNight.night >= start,
                   UnplacedNight.night < end, occupying(now))
            .group_by(UnplacedNight.category_id, UnplacedNight.night)
        ).all()
    for cid, night, units, sold in unplaced:
        n = result[cid][night]
        n.unplaced += int(units or 0)
        n.sold_online += int(sold or 0)
    return result


def _free_expired_holds(session: Session, category_id: int, nights: list[dt.date]) -> None:
    """Expiry is lazy: whoever takes nights first clears holds that ran out on them."""
    if not nights:
        return
    now = clock.now()
    # The rows of the nights first (in_range), each one's booking by its key: not the category's
    # expired holds of all time.
    ran_out = sa.exists().where(Booking.id == Occupancy.booking_id, Booking.hold_ran_out(now))
    session.execute(
        sa.delete(Occupancy).where(in_range([category_id], min(nights), max(nights) + dt.timedelta(days=1)),
                                   Occupancy.night.in_(nights), ran_out)
    )


_RATE_COLUMNS = (NightRate.night, NightRate.quota, NightRate.price, NightRate.min_stay, NightRate.max_stay,
                 NightRate.closed, NightRate.closed_to_arrival, NightRate.closed_to_departure)


def _lock_rates(session: Session, category_id: int, first: dt.date, last: dt.date) -> dict[dt.date, sa.Row]:
    """The category's rate rows of [first, last], locked; each a row with NightRate's names
    (`.price`, `.quota`, `.closed` ...), not an entity: nothing here changes them."""
    # FOR UPDATE serialises takers of the same nights on PostgreSQL; on SQLite every
    # transaction already holds the write lock (BEGIN IMMEDIATE, services/core/db.py).
    rates = session.execute(
        sa.select(*_RATE_COLUMNS)
        .where(NightRate.category_id == category_id, NightRate.night >= first, NightRate.night <= last)
        .order_by(NightRate.night)
        .with_for_update()
    )
    return {r.night: r for r in rates}


@dataclass(frozen=True)
class _Unit:
    id: int
    name: str


@dataclass
class _Held:
    """What a category has on a stay's nights, as take needs it (read by `_held`)."""

    units: list[_Unit]  # (id, name), by position: the order units are given out in
    taken: set[tuple[int, dt.date]]  # (unit, night) rows of other bookings that still occupy
    sold: dict[dt.date, int]  # online units sold per night, placed or not, other bookings
    ran_out: list[int]  # Occupancy ids of holds that ran out: deleted by the taker (expiry is lazy)


def _held(session: Session, booking: Booking) -> _Held:
    """The category's units, every occupancy row of other bookings on the nights, and their
    nights without a room (notify mode): one statement, read after the rate rows are locked
    (so no other taker of the category can change it before we write). Its cost grows with
    the units and nights asked, never with the category's history (in_range)."""
    now = clock.now()
    cid, self_id = booking.category_id, booking.id if booking.id is not None else -1
    sold_here = sa.and_(occupying(now), counts_against_quota())
    on_units = (  # typed NULLs: the first SELECT of a UNION gives the result's types (dates on SQLite)
        sa.select(sa.literal_column("1").label("kind"), Occupancy.unit_id, sa.type_coerce(sa.null(), sa.String),
                  Occupancy.night, Occupancy.id, sa.case((Booking.hold_ran_out(now), 1), else_=0),
                  sa.case((sold_here, 1), else_=0))
        .join(Booking, Booking.id == Occupancy.booking_id)
        .where(in_range([cid], booking.arrival, booking.departure), Occupancy.booking_id != self_id)
    )
    unplaced = (
        sa.select(sa.literal_column("2"), sa.null(), sa.null(), UnplacedNight.night, sa.null(), sa.literal_column("0"),
                  sa.case((sold_here, UnplacedNight.units), else_=0))
        .join(Booking, Booking.id == UnplacedNight.booking_id)
        .where(UnplacedNight.category_id == cid, UnplacedNight.night >= booking.arrival,
               UnplacedNight.night < booking.departure, UnplacedNight.booking_id != self_id)
    )
    units = (
        sa.select(sa.literal_column("0"), Unit.id, Unit.name, sa.null(), Unit.position, sa.literal_column("0"),
                  sa.literal_column("0"))
        .where(Unit.category_id == cid)
    )
    held = _Held([], set(), defaultdict(int), [])
    unit_rows = []
    for kind, unit_id, name, night, number, ran_out, sold in session.execute(sa.union_all(on_units, unplaced, units)):
        if kind == 0:
            unit_rows.append((number, unit_id, name))  # number: the unit's position
        elif ran_out:
            held.ran_out.append(number)
        else:
            if kind == 1:
                held.taken.add((unit_id, night))
            held.sold[night] += int(sold or 0)
    held.units = [_Unit(uid, name) for _pos, uid, name in sorted(unit_rows)]
    return held


def _offer_problems(booking: Booking, nights: list[dt.date], rates: dict[dt.date, sa.Row],
                    sold: dict[dt.date, int]) -> list[tuple]:
    """What a channel booking breaks of the offer: (message, code, reason, nights) each, in the
    order _check_offer reports them. A night without an open price stops the other checks of
    that night; the rest are still looked at (notify mode lists them all as warnings).
    `sold`: online units other bookings hold per night (`_held`), read after the rates were locked."""
    problems = []
    closed = [n for n in nights if n in rates and rates[n].closed]
    unpriced = [n for n in nights if n not in closed and (n not in rates or rates[n].price is None)]
    if closed or unpriced:
        problems.append((_l("Not offered on these nights (closed or no price)."), "not_available",
                         "closed" if closed else "no_price", sorted(closed + unpriced)))
    first = rates.get(booking.arrival)
    if first is not None:
        if first.closed_to_arrival:
            problems.append((_l("No arrival on this day."), "restriction", "closed_to_arrival", [booking.arrival]))
        dep = rates.get(booking.departure)
        if dep is not None and dep.closed_to_departure:
            problems.append((_l("No departure on this day."), "restriction", "closed_to_departure",
                             [booking.departure]))
        if len(nights) < first.min_stay:
            problems.append((_l("Minimum stay from this arrival is %(n)s nights.", n=first.min_stay), "restriction",
                             "min_stay", [booking.arrival]))
        if first.max_stay is not None and len(nights) > first.max_stay:
            problems.append((_l("Maximum stay from this arrival is %(n)s nights.", n=first.max_stay), "restriction",
                             "max_stay", [booking.arrival]))
    short = [n for n in nights if n in rates and rates[n].price is not None and not rates[n].closed
             and sold.get(n, 0) + booking.units > rates[n].quota]
    if short:
        problems.append((_l("No quota left on these nights."), "not_available", "quota", short))
    return problems


def _check_offer(booking: Booking, nights: list[dt.date], rates: dict[dt.date, sa.Row],
                 sold: dict[dt.date, int]) -> None:
    """Channel bookings need open, priced nights within quota and restrictions."""
    problems = _offer_problems(booking, nights, rates, sold)
    if problems:
        message, code, reason, on = problems[0]
        if code == "restriction":
            raise Conflict(message, code=code, nights=on, reason=reason)
        raise Conflict(message, code=code, nights=on)


def _warnings(problems: list[tuple]) -> list[dict]:
    """The offer's problems as notify mode reports them (JSON values)."""
    return [{"code": code, "reason": reason, "nights": [n.isoformat() for n in on]}
            for _message, code, reason, on in problems]


def _pick_units(session: Session, booking: Booking, nights: list[dt.date], unit_ids: list[int] | None,
                overbook: bool = False,
                held: _Held | None = None) -> tuple[list[tuple[int, dt.date]], dict[dt.date, int]]:
    """The (unit, night) rows to take, and {night: units without a free unit} (only with
    `overbook`; otherwise a night short of units raises Conflict). `held`: the units and taken
    rows as take read them (`_held`), else they are read here."""
    if held is not None:
        units, taken = held.units, held.taken
    else:
        units = list(session.scalars(
            sa.select(Unit).where(Unit.category_id == booking.category_id).order_by(Unit.position, Unit.id)
        ))
        taken = set(session.execute(
            sa.select(Occupancy.unit_id, Occupancy.night).where(
                in_range([booking.category_id], min(nights), max(nights) + dt.timedelta(days=1)),
                Occupancy.night.in_(nights), Occupancy.booking_id != (booking.id or -1),
            )
        ).all())
    if unit_ids:
        known = {u.id: u for u in units}
        if any(uid not in known for uid in unit_ids):
            raise Conflict(_l("That unit does not belong to this room category."), code="invalid_unit")
        busy = sorted({n for uid in unit_ids for n in nights if (uid, n) in taken})
        if busy:
            names = ", ".join(known[uid].name for uid in unit_ids)
            raise Conflict(_l("%(units)s is already booked on these nights.", units=names), code="not_available", nights=busy)
        return [(uid, n) for uid in unit_ids for n in nights], {}
    # Same unit for the whole stay where possible, so guests need not move.
    whole = [u.id for u in units if all((u.id, n) not in taken for n in nights)]
    chosen = whole[: booking.units]
    rows = [(uid, n) for uid in chosen for n in nights]
    still = booking.units - len(chosen)
    unplaced: dict[dt.date, int] = {}
    if still and overbook:
        # A stay already sold keeps one unit for its whole stay: the unit with the most free
        # nights, the rest of its nights unplaced. Moving other bookings between units may then
        # make room (services/bookings/unit_moves.py); a guest changes room only if the host says so.
        for _ in range(still):
            left = [u.id for u in units if u.id not in chosen]
            best = max(left, key=lambda uid: sum((uid, n) not in taken for n in nights), default=None)
            if best is not None and any((best, n) not in taken for n in nights):
                chosen.append(best)
                rows.extend((best, n) for n in nights if (best, n) not in taken)
            for n in nights:
                if best is None or (best, n) in taken or best not in chosen:
                    unplaced[n] = unplaced.get(n, 0) + 1
        return rows, unplaced
    if still:
        short, fewest = [], booking.units
        for n in nights:
            free = [u.id for u in units if (u.id, n) not in taken and u.id not in chosen]
            if len(free) < still:
                short.append(n)
                fewest = min(fewest, len(chosen) + len(free))
                unplaced[n] = still - len(free)
            rows.extend((uid, n) for uid in free[:still])
        if short and not overbook:
            # Say how far off the wish is ("2 rooms wanted, 1 free"), not only that it failed.
            message = (_l("%(wanted)s rooms wanted, %(free)s free on these nights.", wanted=booking.units, free=fewest)
                       if booking.units > 1 else _l("No free unit on these nights."))
            raise Conflict(message, code="not_available", nights=short, free=fewest)
    return rows, unplaced


def take(session: Session, booking: Booking, unit_ids: list[int] | None = None, check_offer: bool | None = None,
         overbook: bool = False) -> list[dict]:
    """Take the nights of `booking` atomically, or raise Conflict and take nothing.

    The booking must be added to the session; it is flushed here. Own bookings and
    imported blocks need free units only; every other source also needs an open, priced
    night within quota and restrictions, unless `check_offer=False` (a host moving a
    channel booking decides that himself). Runs inside the caller's transaction.

    `overbook=True` (a channel in notify mode, an iCal import: the stay is already sold)
    refuses nothing for the offer or the units: what it breaks of the offer comes back as
    warnings ({code, reason, nights}), and the nights where a booked unit finds no free unit
    become `UnplacedNight` rows, never a unit twice. Whatever fits is placed as usual. The
    caller opens the double booking (services.bookings.conflicts.open_for). Returns the warnings.
    """
    nights = nights_of(booking.arrival, booking.departure)
    # Never taken before (no id yet): it has no rows of its own to replace, so none are looked for.
    # A fixed number of statements, whatever the stay's length and the category's history
    # (tests/api/test_write_path.py counts them).
    new = booking.id is None
    touch(session, category_ids=[booking.category_id])  # its category's row, not the property's: one lock order
    rates = _lock_rates(session, booking.category_id, booking.arrival, booking.departure)
    session.flush()  # the booking's own row (its id), if nothing flushed it yet
    if check_offer is None:
        check_offer = booking.source not in QUOTA_FREE_SOURCES
    warnings: list[dict] = []
    if not new:  # a booking taken again: its old nights without a room go
        session.execute(sa.delete(UnplacedNight).where(UnplacedNight.booking_id == booking.id))
    preferred = _units_sold_before(session, booking, nights) if unit_ids is None and not new else None
    for attempt in (1, 2, 3):
        held = _held(session, booking)
        if held.ran_out:  # expiry is lazy: the first taker clears the rows of holds that ran out
            session.execute(sa.delete(Occupancy).where(Occupancy.id.in_(held.ran_out)))
        if attempt == 1 and check_offer:
            if overbook:
                warnings = _warnings(_offer_problems(booking, nights, rates, held.sold))
            else:
                _check_offer(booking, nights, rates, held.sold)
        rows = None
        unplaced: dict[dt.date, int] = {}
        if preferred:
            try:
                rows, unplaced = _pick_units(session, booking, nights, preferred, held=held)
            except Conflict:
                preferred = None  # the units it had before are gone: any free ones will do
        if rows is None:
            rows, unplaced = _pick_units(session, booking, nights, unit_ids, overbook=overbook, held=held)
        if not _insert_occupancy(session, booking, rows):
            # Someone took one of those units between our look and our insert (a writer that does
            # not lock the rates, e.g. a unit move): look again.
            if attempt == 3 or (attempt == 2 and not overbook):
                raise Conflict(_l("These nights were just booked by someone else."), code="not_available", nights=nights)
            continue
        if unplaced:
            session.execute(sa.insert(UnplacedNight).values([
                {"booking_id": booking.id, "category_id": booking.category_id, "night": n, "units": k}
                for n, k in sorted(unplaced.items())]))
        # Unplaced nights are sold all the same: ledger rows without a unit (placed later).
        _record_sold(session, booking, rows + [(None, n) for n, k in unplaced.items() for _ in range(k)],
                     rates, new=new)
        ari.changed(session, booking.property_id, booking.category_id, nights)  # pushed to channels at commit
        return warnings


ROWS_PER_INSERT = 1000  # a multi-row INSERT's parameters stay under SQLite's and PostgreSQL's limits


def _chunks(rows: list):
    for i in range(0, len(rows), ROWS_PER_INSERT):
        yield rows[i:i + ROWS_PER_INSERT]


def _insert_occupancy(session: Session, booking: Booking, rows: list[tuple[int, dt.date]]) -> bool:
    """Write the booking's (unit, night) rows in multi-row INSERTs; False, and nothing written,
    when one of them was taken meanwhile. ON CONFLICT DO NOTHING on UNIQUE(unit, night) (both
    databases) instead of a savepoint around an IntegrityError: the usual case costs one
    statement instead of three; the rare clash deletes what it wrote."""
    insert = postgresql.insert if session.connection().dialect.name == "postgresql" else sqlite.insert
    table = Occupancy.__table__
    written = []
    for chunk in _chunks(rows):
        written += session.execute(
            insert(table).values([{"booking_id": booking.id, "unit_id": uid, "category_id": booking.category_id,
                                   "night": n} for uid, n in chunk])
            .on_conflict_do_nothing(index_elements=["unit_id", "night"]).returning(table.c.id)
        ).scalars().all()
    if len(written) == len(rows):
        return True
    for chunk in _chunks(written):
        session.execute(table.delete().where(table.c.id.in_(chunk)))
    return False


def _units_sold_before(session: Session, booking: Booking, nights: list[dt.date]) -> list[int] | None:
    """A booking taken again with the same stay (a hold confirmed after it expired) keeps the
    units its room-nights were sold on, so its ledger rows stay where they are."""
    if booking.id is None:
        return None
    sold = session.execute(
        sa.select(RoomNight.unit_id, RoomNight.night)
        .where(RoomNight.booking_id == booking.id, RoomNight.state == "sold")
    ).all()
    units = sorted({u for u, _ in sold})
    if len(units) != booking.units or set(sold) != {(u, n) for u in units for n in nights}:
        return None
    return units


def _record_sold(session: Session, booking: Booking, rows: list[tuple[int | None, dt.date]],
                 rates: dict[dt.date, sa.Row], new: bool = False) -> None:
    """The room-night ledger (issue 10): what the booking sold per (unit, night), written here
    with the Occupancy rows so that every booking path writes it. The agreed total is spread:
    its lodging part (total minus mandatory costs) by the nightly prices the stay was quoted at
    (evenly when a night has none), the mandatory costs evenly. `commissionable` is the lodging
    share only. Imported iCal blocks sell nothing: they get no rows. Taking a booking again
    (an edit, a hold confirmed) replaces its sold rows; cancelled rows keep their amounts.
    `new`: the booking was never taken, so it has no rows to replace or keep."""
    if not new:
        session.execute(sa.delete(RoomNight).where(RoomNight.booking_id == booking.id, RoomNight.state == "sold"))
    if booking.source == "ical" or not rows:
        return
    kept = set() if new else set(session.execute(
        sa.select(RoomNight.unit_id, RoomNight.night).where(RoomNight.booking_id == booking.id)
    ).all())
    # A unit-less row (a night sold without a room, notify mode) has no unique key to clash with.
    rows = sorted(((n, uid) for uid, n in rows if uid is None or (uid, n) not in kept),
                  key=lambda r: (r[0], r[1] is None, r[1] or 0))
    if not rows:
        return
    zero = Decimal("0.00")
    nightly = [rates[n].price if n in rates else None for n, _ in rows]
    if booking.total_price is None:
        lodging = [p if p is not None else zero for p in nightly]
        extras = [zero] * len(rows)
    else:
        if booking.price_breakdown is not None:
            extra = sum((Decimal(e["amount"]) for e in booking.price_breakdown.get("extras") or []), zero)
        else:
            extra = sum((a for _, a in pricing.extras_for(booking.prop, booking.category_id, booking.nights,
                                                          booking.units)), zero)
        extra = min(extra, booking.total_price)
        weights = nightly if all(p is not None for p in nightly) else [Decimal(1)] * len(rows)
        lodging = spread(booking.total_price - extra, weights)
        extras = spread(extra, [Decimal(1)] * len(rows))
    now = clock.now()
    sold = [{"booking_id": booking.id, "night": n, "unit_id": uid, "price": lo + ex, "commissionable": lo,
             "state": "sold", "changed_at": now}
            for (n, uid), lo, ex in zip(rows, lodging, extras)]
    for chunk in _chunks(sold):
        session.execute(RoomNight.__table__.insert().values(chunk))  # one multi-row INSERT
    ledger.resell(session, booking)  # a new Booking.com sale takes searching room-nights (R54)


def spread(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`amount` split by `weights` into cents; the rounding remainder goes to the last share."""
    total = sum(weights, Decimal(0))
    if total <= 0:
        weights, total = [Decimal(1)] * len(weights), Decimal(len(weights))
    shares = [(amount * w / total).quantize(Decimal("0.01")) for w in weights]
    shares[-1] += amount - sum(shares, Decimal(0))
    return shares


FREED = "inventory_freed"  # session.info: {category id: nights freed in this transaction}


def _note_freed(session: Session, freed) -> None:
    """Remember nights given back in this transaction: before it commits, `settle` places the
    nights other bookings have without a room on them (notify mode, iCal) and closes the double
    bookings that no longer hold. At commit, not at once: a release is often followed by a take
    of the same booking (an edit, a hold confirmed), which must find its nights first."""
    pending = session.info.setdefault(FREED, {})
    for category_id, night in freed:
        pending.setdefault(category_id, set()).add(night)


def release(session: Session, booking: Booking) -> None:
    """Free every night the booking occupies (cancellation, expiry, before a re-take); its
    nights without a room (UnplacedNight) go with them."""
    freed = session.execute(
        sa.select(Unit.category_id, Occupancy.night).join(Unit, Unit.id == Occupancy.unit_id)
        .where(Occupancy.booking_id == booking.id)
    ).all()
    unplaced = session.execute(
        sa.select(UnplacedNight.category_id, UnplacedNight.night).where(UnplacedNight.booking_id == booking.id)
    ).all()
    # Locked after reading which: a booking just moved to another category (an edit) frees its old one.
    touch(session, category_ids=[booking.category_id, *(c for c, _ in freed), *(c for c, _ in unplaced)])
    session.execute(sa.delete(Occupancy).where(Occupancy.booking_id == booking.id))
    if unplaced:
        session.execute(sa.delete(UnplacedNight).where(UnplacedNight.booking_id == booking.id))
    _note_freed(session, [*freed, *unplaced])
    ari.changed_pairs(session, booking.property_id, [*freed, *unplaced])  # pushed to channels at commit


def release_units(session: Session, booking: Booking, units: int) -> None:
    """Give back `units` of a multi-unit booking on every night of its stay (partial cancellation).
    Units without a room on a night go first; then occupied ones."""
    without = {night: (row_id, k) for row_id, night, k in session.execute(
        sa.select(UnplacedNight.id, UnplacedNight.night, UnplacedNight.units)
        .where(UnplacedNight.booking_id == booking.id))}
    rows = session.execute(
        sa.select(Occupancy.id, Occupancy.night, Unit.category_id).join(Unit, Unit.id == Occupancy.unit_id)
        .where(Occupancy.booking_id == booking.id)
        .order_by(Occupancy.night, Occupancy.unit_id.desc())
    ).all()
    per_night: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
    for row_id, night, category_id in rows:
        per_night[night].append((row_id, category_id))
    touch(session, category_ids=[booking.category_id, *(c for _r, _n, c in rows)])  # before the first write
    doomed, freed, unneeded, fewer = [], [], [], []
    for night in set(per_night) | set(without):
        left = units
        if night in without:
            row_id, k = without[night]
            gone = min(k, left)
            left -= gone
            freed.append((booking.category_id, night))  # fewer needed there: a double booking may close
            if gone == k:
                unneeded.append(row_id)
            else:
                fewer.append({"id": row_id, "units": k - gone})
        for row_id, category_id in per_night.get(night, [])[:left]:
            doomed.append(row_id)
            freed.append((category_id, night))
    if unneeded:
        session.execute(sa.delete(UnplacedNight).where(UnplacedNight.id.in_(unneeded)))
    if fewer:
        session.execute(sa.update(UnplacedNight), fewer)  # by primary key
    if doomed:
        session.execute(sa.delete(Occupancy).where(Occupancy.id.in_(doomed)))
    _note_freed(session, freed)
    ari.changed_pairs(session, booking.property_id, [(booking.category_id, n) for n in set(per_night) | set(without)])


def place_unplaced(session: Session, category_id: int, nights: list[dt.date]) -> int:
    """Give the category's free units on `nights` to the nights that occupying bookings have
    without a room (notify mode, iCal), the booking with priority first (R11: online before own,
    earlier booked first), on a unit it already has next to that night where possible. Their
    unit-less ledger rows get the unit. Nights of bookings that no longer occupy (cancelled,
    a hold run out) are dropped. Returns how many unit-nights were placed. A fixed number of
    statements, whatever the nights."""
    if not nights:
        return 0
    nights = sorted(set(nights))
    cat = session.get(RoomCategory, category_id)
    if cat is None:
        return 0
    touch(session, category_ids=[category_id])  # its row before its rates: one lock order
    _lock_rates(session, category_id, nights[0], nights[-1])
    _free_expired_holds(session, category_id, nights)
    now = clock.now()
    session.execute(
        sa.delete(UnplacedNight).where(
            UnplacedNight.category_id == category_id, UnplacedNight.night.in_(nights),
            UnplacedNight.booking_id.in_(sa.select(Booking.id).where(~occupying(now))))
        .execution_options(synchronize_session=False)
    )
    waiting = session.execute(
        sa.select(UnplacedNight.id, UnplacedNight.booking_id, UnplacedNight.night, UnplacedNight.units, Booking.units)
        .join(Booking, Booking.id == UnplacedNight.booking_id)
        .where(UnplacedNight.category_id == category_id, UnplacedNight.night.in_(nights), occupying(now))
        .order_by(UnplacedNight.night, sa.case((counts_against_quota(), 0), else_=1), Booking.created_at, Booking.id)
    ).all()
    if not waiting:
        return 0
    unit_ids = list(session.scalars(
        sa.select(Unit.id).where(Unit.category_id == category_id).order_by(Unit.position, Unit.id)))
    occupied = session.execute(
        sa.select(Occupancy.unit_id, Occupancy.night, Occupancy.booking_id)
        .where(Occupancy.unit_id.in_(unit_ids),
               Occupancy.night >= nights[0] - dt.timedelta(days=1), Occupancy.night <= nights[-1] + dt.timedelta(days=1))
    ).all()
    taken = {(uid, n) for uid, n, _b in occupied}
    near: dict[int, dict[dt.date, set[int]]] = defaultdict(lambda: defaultdict(set))
    for uid, n, bid in occupied:
        near[bid][n].add(uid)
    # A stay keeps its units: a waiting night goes only to a unit the booking has on another
    # night, unless it has fewer units than it booked (then any free unit). Where that unit is
    # taken, the night waits for the host's moves between units (services/bookings/unit_moves.py).
    held: dict[int, set[int]] = defaultdict(set)
    for bid, uid in session.execute(
            sa.select(Occupancy.booking_id, Occupancy.unit_id).distinct()
            .where(Occupancy.booking_id.in_({w[1] for w in waiting}))):
        held[bid].add(uid)
    placed_rows, changed = [], []
    for row_id, bid, night, k, booked_units in waiting:
        allowed = held[bid] if len(held[bid]) >= booked_units else unit_ids
        free = [u for u in unit_ids if (u, night) not in taken and u in allowed]
        if not free:
            continue
        # A unit the guest has the night before or after: no move in the middle of the stay.
        beside = near[bid][night - dt.timedelta(days=1)] | near[bid][night + dt.timedelta(days=1)]
        free.sort(key=lambda u: u not in beside)
        got = free[:k]
        for uid in got:
            taken.add((uid, night))
            near[bid][night].add(uid)
            held[bid].add(uid)
            placed_rows.append({"booking_id": bid, "unit_id": uid, "category_id": category_id, "night": night})
        changed.append((row_id, bid, night, k, got))
    if not placed_rows:
        return 0
    session.execute(sa.insert(Occupancy), placed_rows)
    gone = [row_id for row_id, _b, _n, k, got in changed if len(got) == k]
    if gone:
        session.execute(sa.delete(UnplacedNight).where(UnplacedNight.id.in_(gone)))
    fewer = [{"id": row_id, "units": k - len(got)} for row_id, _b, _n, k, got in changed if len(got) < k]
    if fewer:
        session.execute(sa.update(UnplacedNight), fewer)  # by primary key
    # The ledger: the sold rows without a unit get the unit they now have.
    bids = sorted({bid for _r, bid, _n, _k, _g in changed})
    unitless: dict[tuple[int, dt.date], list[int]] = defaultdict(list)
    for rn_id, bid, night in session.execute(
            sa.select(RoomNight.id, RoomNight.booking_id, RoomNight.night)
            .where(RoomNight.booking_id.in_(bids), RoomNight.unit_id.is_(None), RoomNight.state == "sold",
                   RoomNight.night.in_(nights)).order_by(RoomNight.id)):
        unitless[(bid, night)].append(rn_id)
    updates = []
    for _r, bid, night, _k, got in changed:
        for rn_id, uid in zip(unitless[(bid, night)], got):
            updates.append({"id": rn_id, "unit_id": uid})
    if updates:
        session.execute(sa.update(RoomNight), updates)  # by primary key
    return len(placed_rows)


def settle(session: Session) -> None:
    """Place what waits for a room on the nights freed in this transaction, then close the
    double bookings there that no longer hold (services.bookings.conflicts.recheck_around).
    Runs before every commit that freed nights (see _note_freed); may be called earlier."""
    from services.bookings import conflicts  # conflicts sits above inventory

    while session.info.get(FREED):
        freed = session.info.pop(FREED)
        for category_id, nights in sorted(freed.items()):
            nights = sorted(nights)
            place_unplaced(session, category_id, nights)
            conflicts.recheck_around(session, category_id, nights)
        session.flush()


@sa.event.listens_for(Session, "before_commit")
def _settle_before_commit(session: Session) -> None:
    if session.info.get(FREED) and not session.in_nested_transaction():  # a savepoint: the outer commit settles
        settle(session)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_freed(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed (settled) or rolled back
        session.info.pop(FREED, None)


def reassign(session: Session, placements: dict[Booking, list[tuple[int, dt.date]]]) -> None:
    """Put bookings of one category on other units (a double booking solved by moves,
    services/bookings/unit_moves.py): each booking's occupancy becomes exactly its (unit, night)
    rows. All the old rows go before any new one is written, so bookings may swap units; the
    UNIQUE(unit, night) constraint still refuses a unit twice (IntegrityError: the caller's
    transaction rolls back). The sold room-nights follow their unit (a night sold without a room
    gets one), and the unplaced nights now placed are deleted. Runs inside the caller's transaction,
    after `touch`."""
    if not placements:
        return
    bookings = list(placements)
    ids = [b.id for b in bookings]
    nights = sorted({n for rows in placements.values() for _, n in rows})
    touch(session, category_ids=[b.category_id for b in bookings])
    for category_id in {b.category_id for b in bookings}:
        _free_expired_holds(session, category_id, nights)
    session.execute(sa.delete(Occupancy).where(Occupancy.booking_id.in_(ids)))
    session.execute(sa.insert(Occupancy), [{"booking_id": b.id, "unit_id": uid, "category_id": b.category_id, "night": n}
                                           for b in bookings for uid, n in sorted(placements[b], key=lambda r: (r[1], r[0]))])
    placed: dict[tuple[int, dt.date], set[int]] = defaultdict(set)
    for b in bookings:
        for uid, n in placements[b]:
            placed[(b.id, n)].add(uid)
    sold: dict[tuple[int, dt.date], list[tuple[int, int | None]]] = defaultdict(list)
    for row_id, bid, night, uid in session.execute(
            sa.select(RoomNight.id, RoomNight.booking_id, RoomNight.night, RoomNight.unit_id)
            .where(RoomNight.booking_id.in_(ids), RoomNight.state == "sold").order_by(RoomNight.id)):
        sold[(bid, night)].append((row_id, uid))
    changes = []
    for key, rows in sold.items():
        new = placed.get(key, set())
        # a room-night already on one of its new units stays; the others take the units left
        free = sorted(new - {uid for _, uid in rows})
        for row_id, uid in rows:
            if uid in new or not free:
                continue
            changes.append({"rid": row_id, "uid": free.pop(0)})
    if changes:
        table = RoomNight.__table__
        session.execute(table.update().where(table.c.id == sa.bindparam("rid")).values(unit_id=sa.bindparam("uid")),
                        changes)
    for b in bookings:
        whole = sorted(n for (bid, n), units in placed.items() if bid == b.id and len(units) >= b.units)
        if whole:
            # a night placed now is one more unit occupied: the channels learn it (a unit swap is not)
            gone = list(session.scalars(sa.delete(UnplacedNight).where(
                UnplacedNight.booking_id == b.id, UnplacedNight.night.in_(whole)).returning(UnplacedNight.night)))
            ari.changed(session, b.property_id, b.category_id, gone)


def bookings_on(session: Session, category_id: int, nights: list[dt.date], online_only: bool = True) -> list[Booking]:
    """The occupying bookings of a category on some nights, e.g. to name those in the way."""
    if not nights:
        return []
    now = clock.now()
    on_nights = sa.select(Occupancy.booking_id).where(
        in_range([category_id], min(nights), max(nights) + dt.timedelta(days=1)), Occupancy.night.in_(nights))
    q = (
        sa.select(Booking)
        .where(Booking.id.in_(on_nights), occupying(now))
        .order_by(Booking.arrival, Booking.id)
    )
    if online_only:
        q = q.where(counts_against_quota())
    return list(session.scalars(q))


def category_of(session: Session, prop_id: int, category_id: int) -> RoomCategory:
    return access.of_property(session, RoomCategory, category_id, prop_id, _l("No such room category."))


def unit_of(session: Session, prop_id: int, unit_id: int | None) -> Unit | None:
    """A unit of this property (e.g. preselected from the plan), or None for any other id."""
    if unit_id is None or not 0 < unit_id <= 2**31 - 1:
        return None
    unit = session.get(Unit, unit_id)
    return unit if unit is not None and unit.category.property_id == prop_id else None


def next_hold_expiry(session: Session, property_id: int, start: dt.date, end: dt.date,
                     category_ids: list[int] | None = None) -> dt.datetime | None:
    """When the earliest active hold on these nights runs out: availability changes then,
    without any write (a cached answer is good until that moment at the latest). Read through
    the nights' rows (placed or not), not the property's bookings of all time; `category_ids`:
    the property's categories, if the caller has them. One statement."""
    now = clock.now()
    cats = (category_ids if category_ids is not None
            else sa.select(RoomCategory.id).where(RoomCategory.property_id == property_id))
    placed = (sa.select(sa.func.min(Booking.hold_expires_at)).select_from(Occupancy)
              .join(Booking, Booking.id == Occupancy.booking_id)
              .where(in_range(cats, start, end), Booking.hold_running(now)))
    unplaced = (sa.select(sa.func.min(Booking.hold_expires_at)).select_from(UnplacedNight)
                .join(Booking, Booking.id == UnplacedNight.booking_id)
                .where(UnplacedNight.category_id.in_(cats), UnplacedNight.night >= start, UnplacedNight.night < end,
                       Booking.hold_running(now)))
    found = session.execute(sa.select(placed.scalar_subquery(), unplaced.scalar_subquery())).one()
    return min((t for t in found if t is not None), default=None)

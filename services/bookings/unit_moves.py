"""Moves between units: the first answer to a double booking (issue 11), before the R13 steps.

Many double bookings are only fragmentation: every night has as many rooms as bookings, but no
room is free for the whole stay of the one that did not fit. Moving other stays of the category
to other units makes room. This module finds such moves and applies them.

The search assigns each booking's units to the category's units so that no unit holds two
bookings on a night:
- a stay keeps ONE unit for its whole stay (one "item" per unit of the booking), unless the host
  allows room changes (`allow_split`): then each night is assigned on its own;
- stays that have already started (arrival <= today where the property is) stay where they are;
  their unplaced nights may go only to the unit the guest already has; a stay already split
  between units (as inventory.take places one when no unit is free all along) stays as it is
  unless room changes are allowed;
- bookings of the category that overlap the stays in question but lie outside the search (the
  span is widened to the stays of the bookings found, a few rounds at most) are obstacles;
- the best assignment changes as few bookings as possible: lexicographic cost (room changes
  during a stay, bookings moved, unit-nights moved), current units tried first.

It is an exact branch and bound (forward checking over bitmasks of nights) for the sizes a
guesthouse has, bounded by a node and a time budget: past it, the best assignment found so far is
returned as not proven best, or none ("no solution found in time").

Writing: `apply` recomputes inside its transaction and writes through inventory.reassign (the
only code besides inventory.take that writes Occupancy rows).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access
from services.availability import inventory
from services.bookings import conflicts
from services.core import audit, clock
from services.core.db import use_case
from services.core.errors import Conflict, NotFound
from services.core.i18n import _l
from services.models import Booking, DoubleBooking, Occupancy, Property, Unit, User

MAX_ROUNDS = 2          # widening the span to the stays found, at most this often
MAX_BOOKINGS = 80       # beyond that the span is not widened further (the rest are obstacles)
NODE_BUDGET = 200_000
TIME_BUDGET = 2.0       # seconds


@dataclasses.dataclass
class Situation:
    """The category around a double booking: who is where, night by night."""

    db: DoubleBooking
    today: dt.date
    units: list[Unit]
    nights: list[dt.date]                                  # the span searched, [first, end)
    bookings: list[Booking]                                # the bookings that may move (by arrival)
    held: dict[int, dict[dt.date, list[int]]]              # booking id -> night -> unit ids held
    unplaced: dict[int, dict[dt.date, int]]                # booking id -> night -> units without a room
    blocked: dict[int, set[dt.date]]                       # unit id -> nights taken by obstacles
    obstacles: dict[tuple[int, dt.date], int]              # (unit id, night) -> booking id of an obstacle

    def pinned(self, b: Booking) -> bool:
        return b.arrival <= self.today

    @property
    def booking_by_id(self) -> dict[int, Booking]:
        return {b.id: b for b in self.bookings}


@dataclasses.dataclass
class Move:
    """A booking's units before and after, night by night."""

    booking: Booking
    before: dict[dt.date, tuple[int, ...]]
    after: dict[dt.date, tuple[int, ...]]

    @property
    def from_unit_ids(self) -> list[int]:
        return sorted({u for us in self.before.values() for u in us})

    @property
    def to_unit_ids(self) -> list[int]:
        return sorted({u for us in self.after.values() for u in us})

    @property
    def unplaced_nights(self) -> int:
        """Nights on which some of its units had no room before."""
        return sum(1 for n in self.after if len(self.before.get(n, ())) < self.booking.units)

    @property
    def was_unplaced(self) -> bool:
        return self.unplaced_nights > 0

    def runs(self) -> list[tuple[int, dt.date, dt.date]]:
        """(unit id, first night, end) of the new placement, stretch by stretch."""
        out: list[list] = []
        for night in sorted(self.after):
            for u in self.after[night]:
                for run in out:
                    if run[0] == u and run[2] == night:
                        run[2] = night + dt.timedelta(days=1)
                        break
                else:
                    out.append([u, night, night + dt.timedelta(days=1)])
        return [tuple(r) for r in sorted(out, key=lambda r: (r[1], r[0]))]

    def as_json(self, names: dict[int, str]) -> dict:
        return {"booking": self.booking.id, "guest": self.booking.guest_name,
                "from": [names.get(u, str(u)) for u in self.from_unit_ids],
                "to": [names.get(u, str(u)) for u in self.to_unit_ids],
                "unplaced": self.was_unplaced,
                "runs": [[names.get(u, str(u)), a.isoformat(), e.isoformat()] for u, a, e in self.runs()]}


@dataclasses.dataclass
class Preview:
    """What moving bookings between units can do for a double booking.

    status: "moves" (the moves solve it), "impossible" (no assignment of the units does),
    "timeout" (none found within the budget), "quota" (every stay has a room: what is left is
    more sold online than the quota, which no move changes)."""

    status: str
    situation: Situation
    moves: list[Move]
    exact: bool = True          # the moves are proven to change the fewest bookings
    nodes: int = 0

    @property
    def unit_names(self) -> dict[int, str]:
        return {u.id: u.name for u in self.situation.units}


# -- loading -------------------------------------------------------------------------------------

def situation(session: Session, prop: Property, db: DoubleBooking) -> Situation:
    """Load the category around the double booking. Queries: the units, one per widening round
    (usually two), the occupancy of the span, the unplaced nights."""
    now = clock.now()
    units = list(session.scalars(sa.select(Unit).where(Unit.category_id == db.category_id)
                                 .order_by(Unit.position, Unit.id)))
    first, end = db.first_night, db.last_night + dt.timedelta(days=1)
    bookings: list[Booking] = []
    for _ in range(MAX_ROUNDS):
        bookings = list(session.scalars(
            sa.select(Booking).where(Booking.category_id == db.category_id, Booking.occupies(now),
                                     Booking.arrival < end, Booking.departure > first)
            .order_by(Booking.arrival, Booking.id)))
        if not bookings:
            break
        lo, hi = min(first, min(b.arrival for b in bookings)), max(end, max(b.departure for b in bookings))
        if (lo, hi) == (first, end) or len(bookings) > MAX_BOOKINGS:
            break
        first, end = lo, hi
    if bookings:  # the stays of the last round may reach beyond the span: it covers them all
        first = min(first, min(b.arrival for b in bookings))
        end = max(end, max(b.departure for b in bookings))
    ids = {b.id for b in bookings}
    held: dict[int, dict[dt.date, list[int]]] = defaultdict(lambda: defaultdict(list))
    blocked: dict[int, set[dt.date]] = defaultdict(set)
    obstacles: dict[tuple[int, dt.date], int] = {}
    if units:
        rows = session.execute(
            sa.select(Occupancy.booking_id, Occupancy.unit_id, Occupancy.night)
            .join(Booking, Booking.id == Occupancy.booking_id)
            .where(inventory.in_range([db.category_id], first, end), Booking.occupies(now))
            .order_by(Occupancy.night, Occupancy.unit_id))
        for bid, uid, night in rows:
            if bid in ids:
                held[bid][night].append(uid)
            else:
                blocked[uid].add(night)
                obstacles[(uid, night)] = bid
    unplaced = conflicts.unplaced_of(session, sorted(ids))
    return Situation(db=db, today=clock.today(prop.timezone), units=units,
                     nights=inventory.nights_of(first, end) if bookings else [], bookings=bookings,
                     held={k: dict(v) for k, v in held.items()}, unplaced=dict(unplaced),
                     blocked=dict(blocked), obstacles=obstacles)


# -- the search ----------------------------------------------------------------------------------

@dataclasses.dataclass
class _Item:
    """One unit of one booking to place: over the whole stay, or (allow_split) over one night."""

    booking: int                 # index into the bookings
    mask: int                    # its nights, as bits of the span
    domain: list[int]            # unit indexes it may take, in the order tried
    first: int                   # its first night's index
    night: int | None = None     # allow_split: the one night
    zeros: list[int] = dataclasses.field(default_factory=list)  # units where it stays as it is


def _bits(nights: list[int]) -> int:
    m = 0
    for n in nights:
        m |= 1 << n
    return m


def _build(sit: Situation, allow_split: bool):
    """Items, the fixed occupancy of every unit (obstacles, stays that have started) and the
    current placement per booking as masks (booking index -> unit index -> nights)."""
    index = {n: i for i, n in enumerate(sit.nights)}
    unit_index = {u.id: i for i, u in enumerate(sit.units)}
    fixed = [0] * len(sit.units)
    for uid, nights in sit.blocked.items():
        fixed[unit_index[uid]] |= _bits([index[n] for n in nights if n in index])
    current: list[list[int]] = []
    items: list[_Item] = []
    for bi, b in enumerate(sit.bookings):
        stay = [index[n] for n in inventory.nights_of(b.arrival, b.departure)]
        held = sit.held.get(b.id, {})
        cur = [0] * len(sit.units)
        for night, uids in held.items():
            for uid in uids:
                cur[unit_index[uid]] |= 1 << index[night]
        current.append(cur)
        # units it holds, most nights first: its slots' own units, tried first
        mine = sorted((ui for ui in range(len(sit.units)) if cur[ui]), key=lambda ui: (-bin(cur[ui]).count("1"), ui))
        others = [ui for ui in range(len(sit.units)) if ui not in mine]
        if sit.pinned(b):
            # the guest is in the house: what is placed stays; what is not may go only to a unit
            # the guest already has (or anywhere when the guest has none, or room changes are allowed)
            for ui in range(len(sit.units)):
                fixed[ui] |= cur[ui]
            missing = sit.unplaced.get(b.id, {})
            for night, count in sorted(missing.items()):
                if night not in index:
                    continue
                domain = mine + others if (allow_split or not mine) else mine
                for _ in range(count):
                    items.append(_Item(bi, 1 << index[night], list(domain), index[night], index[night]))
            continue
        if allow_split:
            for n in stay:
                here = [ui for ui in mine if cur[ui] >> n & 1]
                domain = here + [ui for ui in mine if ui not in here] + others
                for _ in range(b.units):
                    items.append(_Item(bi, 1 << n, list(domain), n, n))
        else:
            mask = _bits(stay)
            whole = sum(1 for ui in range(len(sit.units)) if cur[ui] == mask)
            if whole < b.units and not sit.unplaced.get(b.id):
                # a stay already split between rooms (placed so before) keeps its rooms: moving
                # it would mean choosing new rooms for the guest, which only room changes allow
                for ui in range(len(sit.units)):
                    fixed[ui] |= cur[ui]
                continue
            for _ in range(b.units):
                items.append(_Item(bi, mask, mine + others, stay[0]))
    # stays in order of arrival (greedy by start finds an assignment of intervals whenever one
    # exists without obstacles), longer first, then the booking's own order
    items.sort(key=lambda it: (it.first, -bin(it.mask).count("1"), it.booking))
    for it in items:
        it.zeros = [ui for ui in it.domain if it.mask & ~current[it.booking][ui] == 0]
    return items, fixed, current


class _Budget:
    def __init__(self, nodes: int, seconds: float):
        self.left, self.deadline, self.used, self.out = nodes, time.monotonic() + seconds, 0, False

    def late(self) -> bool:
        if time.monotonic() > self.deadline:
            self.out = True
        return self.out

    def spend(self) -> bool:
        """One more node; False once the budget is spent."""
        self.used += 1
        if self.used >= self.left or (self.used % 512 == 0 and time.monotonic() > self.deadline):
            self.out = True
        return not self.out


def _union(masks) -> int:
    out = 0
    for m in masks:
        out |= m
    return out


def _place(items: list[_Item], occ: list[int], current: list[list[int]], budget: _Budget, first_only: bool = False):
    """Branch and bound: put every item on a unit of its domain, no unit twice on a night, with
    the fewest (room changes, unit-nights moved); `first_only`: any assignment. Returns (cost,
    [(item, unit index)]) or None. `occ` (a unit's taken nights, as bits) is restored before returning."""
    items = sorted(items, key=lambda it: (it.first, -bin(it.mask).count("1"), it.booking))
    later = [[j for j in range(i + 1, len(items)) if items[j].mask & items[i].mask] for i in range(len(items))]
    chosen = [-1] * len(items)
    taken_on: dict[tuple[int, int], list[int]] = defaultdict(list)
    best: list = [None, None]

    def rec(i: int, splits: int, moved: int) -> None:
        if first_only and best[0] is not None:
            return
        if i == len(items):
            if best[0] is None or (splits, moved) < best[0]:
                best[0], best[1] = (splits, moved), list(chosen)
            return
        it = items[i]
        for ui in it.domain:
            if occ[ui] & it.mask:
                continue
            if not budget.spend():
                return
            split = 0
            if it.night is not None:
                prev = taken_on.get((it.booking, it.night - 1))
                split = 1 if prev and ui not in prev else 0
            cost = (splits + split, moved + bin(it.mask & ~current[it.booking][ui]).count("1"))
            if best[0] is not None and cost >= best[0]:
                continue
            occ[ui] |= it.mask
            chosen[i] = ui
            # forward check: every later item sharing a night still has a unit
            if all(any(not occ[u] & items[j].mask for u in items[j].domain) for j in later[i] if chosen[j] < 0):
                if it.night is not None:
                    taken_on[(it.booking, it.night)].append(ui)
                rec(i + 1, *cost)
                if it.night is not None:
                    taken_on[(it.booking, it.night)].pop()
            chosen[i] = -1
            occ[ui] &= ~it.mask
            if budget.out:
                return

    rec(0, 0, 0)
    if best[0] is None:
        return None
    return best[0], list(zip(items, best[1]))


def _deepen(sit: Situation, allow_split: bool, budget: _Budget):
    """The fewest bookings moved, exactly: the bookings that must move (a night without a room)
    first, then sets of one more booking at a time, each new one overlapping the set (a booking
    that overlaps no other mover could stay where it is, so an optimal set grows this way).
    Within the first size that fits, the fewest (room changes, unit-nights moved).
    Returns (assignment or None, proven)."""
    items, fixed, current = _build(sit, allow_split)
    if not items:
        return {}, True
    n_units = len(sit.units)
    # Demand beyond the free units on a night: no assignment exists (the usual double booking).
    for n in range(len(sit.nights)):
        bit = 1 << n
        free = sum(1 for ui in range(n_units) if not fixed[ui] & bit)
        if sum(1 for it in items if it.mask & bit) > free:
            return None, True
    of_booking: dict[int, list[_Item]] = defaultdict(list)
    for it in items:
        of_booking[it.booking].append(it)
    span = {b: 0 for b in of_booking}
    for it in items:
        span[it.booking] |= it.mask
    # Everyone movable at once: if even that has no assignment, no set of moves has one.
    if _place(items, list(fixed), current, budget, first_only=True) is None:
        return None, not budget.out
    must = frozenset(b for b, its in of_booking.items() if any(not it.zeros for it in its))
    neighbours = {b: {c for c in of_booking if c != b and span[c] & span[b]} for b in of_booking}
    base = [fixed[ui] | _union(current[b][ui] for b in of_booking) for ui in range(n_units)]
    level = {must}
    seen = set(level)
    while level:
        found = None
        for movers in sorted(level, key=sorted):
            if budget.late():
                return (_assignment(found[1]) if found else None), False
            # everyone else where they are (a booking's units are its own: clearing them is exact)
            # (the placed nights of a stay that has started are fixed, even when it moves: `fixed`)
            occ = [(base[ui] & ~_union(current[b][ui] for b in movers)) | fixed[ui] for ui in range(n_units)]
            mine = [it for b in movers for it in of_booking[b]]
            if any(all(occ[u] & it.mask for u in it.domain) for it in mine):
                continue  # an item of the set has no unit left at all
            result = _place(mine, occ, current, budget)
            if budget.out:
                return (_assignment(found[1]) if found else None), False
            if result is None:
                continue
            (splits, moved), placed = result
            really = len({it.booking for it, ui in placed if current[it.booking][ui] & it.mask != it.mask})
            cost = (really, splits, moved)
            if found is None or cost < found[0]:
                found = (cost, placed)
        if found is not None:
            return _assignment(found[1]), True
        nxt = set()
        for movers in level:
            for b in set().union(*(neighbours[m] for m in movers)) if movers else of_booking:
                if b not in movers and not sit.pinned(sit.bookings[b]):
                    bigger = movers | {b}
                    if bigger not in seen:
                        seen.add(bigger)
                        nxt.add(bigger)
        level = nxt
    return None, True


def _assignment(placed) -> dict[int, dict[int, list[int]]]:
    assign: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for it, ui in placed:
        m, n = it.mask, 0
        while m:
            if m & 1:
                assign[it.booking][n].append(ui)
            m >>= 1
            n += 1
    return {b: dict(v) for b, v in assign.items()}


def search(sit: Situation, allow_split: bool = False, node_budget: int = NODE_BUDGET,
           time_budget: float = TIME_BUDGET):
    """(assignment or None, exact, timed_out, nodes). The assignment maps a booking index to
    {night index: [unit indexes]} for the bookings it places. With `allow_split`, whole stays
    are looked for first (no guest changes room when none has to); only if none exists, stays
    may change unit between nights."""
    budget = _Budget(node_budget, time_budget)
    assign, proven = _deepen(sit, False, budget)
    if assign is None and allow_split and not budget.out:
        assign, proven = _deepen(sit, True, budget)
    if assign is None and budget.out and node_budget > 1:
        # Out of time before the fewest moves were found: any assignment will do, not proven the
        # best (every item at once, arrivals first, own units tried first: quick when one exists).
        items, fixed, current = _build(sit, allow_split)
        extra = _Budget(max(node_budget // 10, 1), time_budget / 4)
        found = _place(items, list(fixed), current, extra)
        if found is not None:
            assign = _assignment(found[1])
        budget.used += extra.used
    return assign, proven, budget.out, budget.used


def _moves(sit: Situation, assign: dict[int, dict[int, list[int]]]) -> list[Move]:
    """The bookings whose units change (a pinned booking's placed nights are kept as they are)."""
    moves = []
    for bi, per_night in sorted(assign.items()):
        b = sit.bookings[bi]
        held = sit.held.get(b.id, {})
        after = {sit.nights[n]: tuple(sorted(sit.units[ui].id for ui in uis)) for n, uis in per_night.items()}
        if sit.pinned(b):
            for night, uids in held.items():
                after[night] = tuple(sorted(set(after.get(night, ())) | set(uids)))
        before = {night: tuple(sorted(uids)) for night, uids in held.items()}
        if after != before:
            moves.append(Move(b, before, dict(sorted(after.items()))))
    return moves


def preview(session: Session, prop: Property, db: DoubleBooking, allow_split: bool = False,
            sit: Situation | None = None, node_budget: int = NODE_BUDGET, time_budget: float = TIME_BUDGET) -> Preview:
    """What moving bookings between the category's units can do for this double booking (reads only)."""
    sit = sit or situation(session, prop, db)
    if not any(sit.unplaced.get(b.id) for b in sit.bookings):
        # every stay has a room: what is open is online sales beyond the quota (or nothing)
        return Preview("quota", sit, [])
    assign, exact, timed_out, nodes = search(sit, allow_split, node_budget, time_budget)
    if assign is None:
        return Preview("timeout" if timed_out else "impossible", sit, [], exact=exact, nodes=nodes)
    return Preview("moves", sit, _moves(sit, assign), exact=exact, nodes=nodes)


def apply(session: Session, actor: User, prop: Property, db: DoubleBooking, allow_split: bool = False,
          node_budget: int = NODE_BUDGET, time_budget: float = TIME_BUDGET) -> list[Move]:
    """Recompute the moves and apply them in one transaction: the occupancy through
    inventory.reassign, the step in the double booking's history, an event on each booking
    moved, and the recheck that closes the double booking ("moved")."""
    access.check_property(actor, prop)
    if db.property_id != prop.id:
        raise NotFound(_l("No such double booking."))
    with use_case(session) as uc:
        inventory.touch(session, category_ids=[db.category_id])  # the category's lock first, as every booking writer
        session.refresh(db)
        if not db.is_open:
            raise Conflict(_l("This double booking is already resolved."), code="resolved")
        result = preview(session, prop, db, allow_split, node_budget=node_budget, time_budget=time_budget)
        if result.status != "moves" or not result.moves:
            raise Conflict(_l("Moving bookings between rooms does not solve this double booking (any more)."),
                           code="no_moves")
        names = result.unit_names
        inventory.reassign(session, {m.booking: [(u, n) for n, us in m.after.items() for u in us]
                                     for m in result.moves})
        conflicts.record(session, db, actor, 0, "moved", allow_split=allow_split,
                         moves=[m.as_json(names) for m in result.moves])
        for m in result.moves:
            audit.booking_event(session, m.booking, "unit_moved", actor, double_booking=db.id,
                                **{"from": [names[u] for u in m.from_unit_ids], "to": [names[u] for u in m.to_unit_ids]})
        audit.record(session, actor, prop, "units_moved", double_booking=db.id, bookings=len(result.moves))
        conflicts.recheck(session, db, actor, resolution="moved")
        uc.keep(db, prop)
    return result.moves

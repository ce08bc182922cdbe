"""Why a category-night cannot be booked online, in the host's words, with a fix where there is one.

The reasons are read from inventory's own figures (nights_for, bookings_on), the ones the plan
shows and `inventory.take` checks (_check_offer, _pick_units): closed, no price, quota used up,
every unit occupied, and for a night that is offered but cannot be reached by any stay, the
minimum stay, the maximum stay or a closed arrival. A fix is one rates.set_night change (so history records it),
applied only as offered here (`apply_fix` works the reasons out again).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from services.accounts import access
from services.availability import inventory, rates
from services.availability.inventory import Night
from services.core import clock
from services.core.errors import Invalid
from services.core.i18n import Message, _l
from services.models import Booking, Property, RoomCategory, User

# How far around a night a stay is looked for (a minimum stay longer than this is not checked).
WINDOW_DAYS = 31

OPEN, SET_PRICE, RAISE_QUOTA, LOWER_MIN_STAY, RAISE_MAX_STAY, ALLOW_ARRIVAL = (
    "open", "set_price", "raise_quota", "lower_min_stay", "raise_max_stay", "allow_arrival")
FIXES = (OPEN, RAISE_QUOTA, LOWER_MIN_STAY, RAISE_MAX_STAY, ALLOW_ARRIVAL)  # those applied by a POST


@dataclass
class Fix:
    """One click that removes the reason: a POST of `action` (set_price only opens the night editor)."""
    action: str
    label: Message
    night: dt.date  # the night whose settings change
    value: int | None = None  # the new quota, minimum or maximum stay

    def change(self) -> rates.RateChange:
        if self.action == OPEN:
            return rates.RateChange(closed=False)
        if self.action == RAISE_QUOTA:
            return rates.RateChange(quota=self.value)
        if self.action == LOWER_MIN_STAY:
            return rates.RateChange(min_stay=self.value)
        if self.action == RAISE_MAX_STAY:
            return rates.RateChange(max_stay=self.value)
        if self.action == ALLOW_ARRIVAL:
            return rates.RateChange(closed_to_arrival=False)
        raise ValueError(self.action)


@dataclass
class Reason:
    code: str  # past, closed, no_price, quota_used, occupied, no_units, min_stay, max_stay, closed_to_arrival
    message: Message
    bookings: list[Booking] = field(default_factory=list)  # those in the way, named to the host
    fix: Fix | None = None
    nights: tuple[dt.date, dt.date] | None = None  # the offered nights in a row around it, [first, end)


def _run(figures: dict[dt.date, Night], night: dt.date) -> tuple[dt.date, dt.date]:
    """The nights offered online in a row around `night`: [first, end)."""
    first = night
    while (prev := first - dt.timedelta(days=1)) in figures and figures[prev].available > 0:
        first = prev
    end = night
    while end in figures and figures[end].available > 0:
        end += dt.timedelta(days=1)
    return first, end


def _shortest_stay(figures: dict[dt.date, Night], night: dt.date, end: dt.date, arrival: dt.date,
                   max_stay: bool = True) -> int | None:
    """The nights of the shortest stay from `arrival` inside [arrival, end) that covers `night`
    and keeps the arrival's rules (_check_offer); None: there is none. `max_stay=False` leaves
    the arrival's maximum stay aside (what raising it would allow)."""
    a = figures[arrival]
    if a.closed_to_arrival:
        return None
    departure = max(arrival + dt.timedelta(days=max(a.min_stay, 1)), night + dt.timedelta(days=1))
    last = end
    if max_stay and a.max_stay is not None:
        last = min(end, arrival + dt.timedelta(days=a.max_stay))
    while departure <= last:
        dep = figures.get(departure)
        if dep is None or not dep.closed_to_departure:
            return (departure - arrival).days
        departure += dt.timedelta(days=1)
    return None


def _reachable(figures: dict[dt.date, Night], night: dt.date, first: dt.date, end: dt.date) -> bool:
    """Some stay inside [first, end) covers `night` and keeps the arrival's rules (_check_offer)."""
    return any(_shortest_stay(figures, night, end, arrival) is not None
               for arrival in inventory.nights_of(first, night + dt.timedelta(days=1)))


def why_unavailable(session: Session, prop: Property, category: RoomCategory, night: dt.date) -> list[Reason]:
    """Why nobody can book `category` online on `night` (empty: it can be booked)."""
    if night < clock.today(prop.timezone):
        return [Reason("past", _l("This night is in the past."))]
    window = dt.timedelta(days=WINDOW_DAYS)
    figures = inventory.nights_for(session, [category.id], night - window, night + window + dt.timedelta(days=1))[category.id]
    n = figures[night]
    reasons: list[Reason] = []
    if n.closed:
        reasons.append(Reason("closed", _l("The night is closed for online bookings."),
                              fix=Fix(OPEN, _l("Open this night"), night)))
    if not n.has_rate or n.price is None:
        reasons.append(Reason("no_price", _l("No price is set for this night, so it is not offered online."),
                              fix=Fix(SET_PRICE, _l("Set a price"), night)))
    if n.units == 0:
        reasons.append(Reason("no_units", _l("This room category has no units.")))
    elif n.free == 0:
        reasons.append(Reason(
            "occupied", _l("No unit is free; these bookings occupy them:"),
            bookings=inventory.bookings_on(session, category.id, [night], online_only=False)))
    if n.has_rate and n.quota - n.sold_online <= 0:
        in_way = inventory.bookings_on(session, category.id, [night]) if n.sold_online else []
        message = (_l("The online quota of %(quota)s is used up by these bookings:", quota=n.quota) if in_way
                   else _l("The quota is 0: no unit is offered online this night."))
        fix = None
        if n.free > 0:  # units are free beyond the quota: offer them
            quota = n.sold_online + n.free
            fix = Fix(RAISE_QUOTA, _l("Raise the quota to %(n)s", n=quota), night, quota)
        reasons.append(Reason("quota_used", message, bookings=in_way, fix=fix))
    if reasons or n.available == 0:
        return reasons
    first, end = _run(figures, night)
    if _reachable(figures, night, first, end):
        return []
    arrivals = [a for a in inventory.nights_of(first, night + dt.timedelta(days=1)) if not figures[a].closed_to_arrival]
    if not arrivals:
        reasons.append(Reason("closed_to_arrival", _l("No arrival is allowed on this day or on the offered nights before it."),
                              nights=(first, end), fix=Fix(ALLOW_ARRIVAL, _l("Allow arrivals on this day"), night)))
        return reasons
    # The maximum stay is in the way when a stay would do without it: raise it on the arrival
    # that needs the least (the nearest one, usually).
    # (A night in the past can no longer be changed: it gets no fix.)
    raises = [(nights, a) for a in arrivals if (nights := _shortest_stay(figures, night, end, a, max_stay=False))]
    if raises:
        today = clock.today(prop.timezone)
        nights, arrival = min(raises, key=lambda r: (r[1] < today, r[0], -r[1].toordinal()))
        reasons.append(Reason(
            "max_stay", _l("A stay over this night is longer than the maximum stay allowed from its arrival day "
                           "(at most %(n)s nights from %(arrival)s).", n=figures[arrival].max_stay, arrival=arrival),
            nights=(first, end),
            fix=Fix(RAISE_MAX_STAY, _l("Raise the maximum stay to %(n)s nights", n=nights), arrival, nights)
            if arrival >= today else None))
        return reasons
    need = min(figures[a].min_stay for a in arrivals)
    arrival = arrivals[0]  # the earliest possible arrival leaves the longest stay
    longest = (end - arrival).days
    reasons.append(Reason(
        "min_stay", _l("A stay must be at least %(n)s nights, but only %(free)s nights in a row are offered around "
                       "this night:", n=need, free=(end - first).days),
        nights=(first, end),
        fix=Fix(LOWER_MIN_STAY, _l("Lower the minimum stay to %(n)s nights", n=longest), arrival, longest)
        if longest < figures[arrival].min_stay else None))
    return reasons


def apply_fix(session: Session, actor: User, prop: Property, category: RoomCategory, night: dt.date, action: str):
    """Apply the fix that `why_unavailable` offers for `action` (through rates.set_night: checked,
    recorded). None when that fix is no longer offered: it was done already (a second click)."""
    access.check_property(actor, prop)
    if action not in FIXES:
        raise Invalid({"action": _l("Unknown fix.")})
    for reason in why_unavailable(session, prop, category, night):
        if reason.fix is not None and reason.fix.action == action:
            return rates.set_night(session, actor, prop, category, reason.fix.night, reason.fix.change())
    return None


def blocked_by_restriction(figures: dict[dt.date, Night], night: dt.date,
                           window: tuple[dt.date, dt.date] | None = None) -> bool:
    """Whether a restriction the host can lift (closed, no price, quota, minimum or maximum stay, arrival)
    stops a new guest's stay over `night`, on figures already read (why_unavailable says which).
    A night whose units are all taken is not: lifting nothing would sell it. With `window` (the
    range the figures cover), a free run touching its edge is taken as possible: nothing is
    known beyond it."""
    n = figures[night]
    if n.free == 0:
        return False
    if n.closed or not n.has_rate or n.price is None or n.quota - n.sold_online <= 0:
        return True
    first, stop = _run(figures, night)
    if window is not None and (first == window[0] or stop >= window[1]):
        return False
    return not _reachable(figures, night, first, stop)

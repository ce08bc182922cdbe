"""Double bookings (R10-R14): found, ranked, opened, recorded, closed.

A double booking is a category's run of nights where the bookings need more rooms than the
category has units (an overbooked push in notify mode, an iCal block that collides, data
brought in from elsewhere) or sell more online than the quota. Occupancy never holds a unit
twice: what did not fit is an `UnplacedNight`. This module is the shared vocabulary; the
resolution lives in services/bookings/unit_moves.py (moves between units) and
services/bookings/rehousing.py (the R13 steps).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access
from services.core import clock
from services.core.errors import NotFound
from services.core.i18n import Message, _l, render
from services.availability import inventory
from services.bookings import notify
from services.models import (QUOTA_FREE_SOURCES, Booking, DoubleBooking, DoubleBookingMember, DoubleBookingStep,
                             MailMessage, NightRate, Occupancy, Property, RoomCategory, UnplacedNight, Unit, User)

OPEN = ("open", "handed_over")


def is_online(b: Booking) -> bool:
    """R11: bookings through a channel are online; own bookings and imported blocks are not."""
    return b.source not in QUOTA_FREE_SOURCES


def rank(bookings: list[Booking]) -> list[Booking]:
    """R11: who keeps the room, first to last. Online before own; among online, the one booked
    first; among the rest, the one entered first (ties by id). The last ones yield."""
    return sorted(bookings, key=lambda b: (0 if is_online(b) else 1, b.created_at, b.id))


def overbooked_nights(session: Session, category_id: int, first: dt.date, last: dt.date) -> dict[dt.date, int]:
    """Nights in [first, last] where the category's bookings need more than it has: {night: excess}.
    Excess is units sold without a room (or rooms wanted beyond the units), or online sales beyond the quota,
    whichever is larger. Four queries whatever the range."""
    return overbooked_by_category(session, [category_id], first, last).get(category_id, {})


def overbooked_by_category(session: Session, category_ids: list[int], first: dt.date, last: dt.date
                           ) -> dict[int, dict[dt.date, int]]:
    """overbooked_nights for several categories at once (`conflicts check`): {category id: {night:
    excess}}, only categories with some. Four queries whatever the categories and the range."""
    if not category_ids:
        return {}
    now = clock.now()
    units = dict(session.execute(
        sa.select(Unit.category_id, sa.func.count(Unit.id)).where(Unit.category_id.in_(category_ids))
        .group_by(Unit.category_id)).all())
    online = Booking.source.not_in(QUOTA_FREE_SOURCES)
    need: dict[tuple[int, dt.date], int] = defaultdict(int)
    sold: dict[tuple[int, dt.date], int] = defaultdict(int)
    occupied = session.execute(
        sa.select(Occupancy.category_id, Occupancy.night, sa.func.count(Occupancy.id),
                  sa.func.sum(sa.case((online, 1), else_=0)))
        .join(Booking, Booking.id == Occupancy.booking_id)
        .where(inventory.in_range(category_ids, first, last + dt.timedelta(days=1)), Booking.occupies(now))
        .group_by(Occupancy.category_id, Occupancy.night)
    )
    for cid, night, n, s in occupied:
        need[cid, night] += n
        sold[cid, night] += int(s or 0)
    unplaced = session.execute(
        sa.select(UnplacedNight.category_id, UnplacedNight.night, sa.func.sum(UnplacedNight.units),
                  sa.func.sum(sa.case((online, UnplacedNight.units), else_=0)))
        .join(Booking, Booking.id == UnplacedNight.booking_id)
        .where(UnplacedNight.category_id.in_(category_ids), UnplacedNight.night >= first,
               UnplacedNight.night <= last, Booking.occupies(now))
        .group_by(UnplacedNight.category_id, UnplacedNight.night)
    )
    waiting: dict[tuple[int, dt.date], int] = defaultdict(int)
    for cid, night, n, s in unplaced:
        need[cid, night] += int(n or 0)
        waiting[cid, night] += int(n or 0)
        sold[cid, night] += int(s or 0)
    quotas: dict[tuple[int, dt.date], int] = {}
    if sold:
        for cid, night, quota in session.execute(
                sa.select(NightRate.category_id, NightRate.night, NightRate.quota)
                .where(NightRate.category_id.in_(category_ids), NightRate.night >= first, NightRate.night <= last)):
            quotas[cid, night] = quota
    result: dict[int, dict[dt.date, int]] = defaultdict(dict)
    for key in sorted(set(need) | set(sold)):
        # A unit sold without a room counts even when another unit is free that night: the stay
        # keeps its room for the other nights (fragmentation, solved by moves between units).
        excess = max(need[key] - units.get(key[0], 0), waiting[key],
                     sold[key] - quotas[key] if key in quotas else 0)
        if excess > 0:
            result[key[0]][key[1]] = excess
    return dict(result)


def bookings_on(session: Session, category_id: int, nights: list[dt.date]) -> list[Booking]:
    """The occupying bookings of the category on these nights, placed or not (one query)."""
    if not nights:
        return []
    now = clock.now()
    placed = sa.select(Occupancy.booking_id).where(
        inventory.in_range([category_id], min(nights), max(nights) + dt.timedelta(days=1)),
        Occupancy.night.in_(nights))
    unplaced = sa.select(UnplacedNight.booking_id).where(UnplacedNight.category_id == category_id,
                                                         UnplacedNight.night.in_(nights))
    return list(session.scalars(
        # one list of ids (a UNION, not an OR of two lists, which PostgreSQL answers by reading every booking)
        sa.select(Booking).where(Booking.occupies(now), Booking.id.in_(sa.union(placed, unplaced)))
        .order_by(Booking.arrival, Booking.id)
    ))


def unplaced_of(session: Session, booking_ids: list[int]) -> dict[int, dict[dt.date, int]]:
    """{booking id: {night: units without a room}}."""
    result: dict[int, dict[dt.date, int]] = defaultdict(dict)
    if booking_ids:
        for bid, night, units in session.execute(
                sa.select(UnplacedNight.booking_id, UnplacedNight.night, UnplacedNight.units)
                .where(UnplacedNight.booking_id.in_(booking_ids))):
            result[bid][night] = units
    return result


def record(session: Session, db: DoubleBooking, actor: User | None, step: int, action: str,
           booking: Booking | None = None, **detail) -> DoubleBookingStep:
    """One time-stamped line of the resolution's history (R14). `detail` holds JSON values."""
    row = DoubleBookingStep(double_booking_id=db.id, at=clock.now(), actor_id=actor.id if actor else None,
                            step=step, action=action, booking_id=booking.id if booking else None,
                            detail=detail or None)
    session.add(row)
    if step > db.step:
        db.step = step
    return row


def open_for(session: Session, category: RoomCategory, nights: list[dt.date], cause: str,
             actor: User | None = None) -> DoubleBooking | None:
    """Open a double booking for the category's overbooked nights among `nights`, or extend the
    open one that overlaps them; None when none of them is overbooked. A new one is mailed at
    once to the host and the tourist office (R14). Runs inside the caller's transaction."""
    if not nights:
        return None
    over = overbooked_nights(session, category.id, min(nights), max(nights))
    if not over:
        return None
    first, last = min(over), max(over)
    db = session.scalar(
        sa.select(DoubleBooking).where(
            DoubleBooking.category_id == category.id, DoubleBooking.status.in_(OPEN),
            DoubleBooking.first_night <= last + dt.timedelta(days=1),
            DoubleBooking.last_night >= first - dt.timedelta(days=1),
        ).order_by(DoubleBooking.id).limit(1)
    )
    created = db is None
    if created:
        db = DoubleBooking(property_id=category.property_id, category_id=category.id, first_night=first,
                           last_night=last, cause=cause, status="open", opened_at=clock.now())
        session.add(db)
        session.flush()
    else:
        db.first_night, db.last_night = min(db.first_night, first), max(db.last_night, last)
    _sync_members(session, db, list(over))
    record(session, db, actor, 0, "found" if created else "extended", cause=cause,
           nights=[n.isoformat() for n in over], excess=max(over.values()))
    if created:
        _announce(session, db, over)
    return db


def _sync_members(session: Session, db: DoubleBooking, nights: list[dt.date]) -> None:
    have = set(session.scalars(sa.select(DoubleBookingMember.booking_id)
                               .where(DoubleBookingMember.double_booking_id == db.id)))
    new = [b.id for b in bookings_on(session, db.category_id, nights) if b.id not in have]
    if new:
        session.execute(sa.insert(DoubleBookingMember),
                        [{"double_booking_id": db.id, "booking_id": bid} for bid in new])
        session.expire(db, ["bookings"])


def _announce(session: Session, db: DoubleBooking, over: dict[dt.date, int]) -> None:
    cat = db.category
    prop = cat.prop
    subject = _l("Double booking: %(category)s, %(first)s–%(last)s", category=cat.name,
                 first=db.first_night, last=db.last_night + dt.timedelta(days=1))
    body = _l("More rooms are booked than %(category)s has on %(n)s nights (%(first)s–%(last)s). Handle it at once "
              "(R13): contact the guest who has to yield, offer a replacement, or hand it over to the tourist "
              "office. The double booking page shows who keeps the room and why.",
              category=cat.name, n=len(over), first=db.first_night, last=db.last_night + dt.timedelta(days=1))
    notify.mail_host(session, prop, subject, body)
    office = prop.office
    if office is not None and office.email:
        now = clock.now()
        session.add(MailMessage(
            property_id=prop.id, recipient=office.email,
            subject=render(_l("%(property)s: %(subject)s", property=prop.name, subject=subject), "de")[:200],
            body=render(body, "de"), created_at=now, next_attempt_at=now, kind="office"))


def recheck(session: Session, db: DoubleBooking, actor: User | None = None, resolution: str = "fits") -> bool:
    """Close the double booking when no night of it is overbooked any more and none of its
    bookings has a night without a room. Returns whether it is resolved."""
    if db.status == "resolved":
        return True
    over = overbooked_nights(session, db.category_id, db.first_night, db.last_night)
    member_ids = [b.id for b in db.bookings]
    now = clock.now()
    left = session.scalar(
        sa.select(sa.func.count(UnplacedNight.id)).join(Booking, Booking.id == UnplacedNight.booking_id)
        .where(UnplacedNight.booking_id.in_(member_ids), Booking.occupies(now))
    ) if member_ids else 0
    if over or left:
        if over:
            _sync_members(session, db, list(over))
        return False
    db.status, db.resolved_at, db.resolution = "resolved", now, resolution
    record(session, db, actor, db.step, "resolved", resolution=resolution)
    return True


def recheck_around(session: Session, category_id: int, nights: list[dt.date], actor: User | None = None) -> None:
    """After a change on these nights (a cancellation, new dates, a quota raised): close the
    open double bookings of the category that no longer hold."""
    if not nights:
        return
    for db in session.scalars(sa.select(DoubleBooking).where(
            DoubleBooking.category_id == category_id, DoubleBooking.status.in_(OPEN),
            DoubleBooking.first_night <= max(nights), DoubleBooking.last_night >= min(nights))):
        recheck(session, db, actor)


CHECK_DAYS = 731  # `conflicts check` looks two years ahead


def runs(nights) -> list[list[dt.date]]:
    """Nights as runs of consecutive nights."""
    out: list[list[dt.date]] = []
    for n in sorted(nights):
        if out and n - out[-1][-1] == dt.timedelta(days=1):
            out[-1].append(n)
        else:
            out.append([n])
    return out


def check(session: Session, prop: Property, days: int = CHECK_DAYS) -> list[tuple[DoubleBooking, str]]:
    """`flask conflicts check`: the property's nights from today on where the bookings exceed the
    units or the quota (data brought in from elsewhere, a quota lowered past the portal), each run
    of them opened as a double booking (cause "check") unless an open one already covers it.
    Returns (double booking, "opened" | "extended" | "open") per run found. A fixed number of
    queries per property (plus a few per run that was not open yet). Runs in the caller's
    transaction."""
    first = clock.today(prop.timezone)
    last = first + dt.timedelta(days=days - 1)
    categories = {c.id: c for c in session.scalars(
        sa.select(RoomCategory).where(RoomCategory.property_id == prop.id).order_by(RoomCategory.position,
                                                                                     RoomCategory.id))}
    over = overbooked_by_category(session, list(categories), first, last)
    if not over:
        return []
    known = list(session.scalars(sa.select(DoubleBooking).where(
        DoubleBooking.property_id == prop.id, DoubleBooking.status.in_(OPEN)).order_by(DoubleBooking.id)))
    found = []
    for cid in categories:
        for run in runs(over.get(cid, {})):
            covering = next((db for db in known if db.category_id == cid and db.first_night <= run[0]
                             and db.last_night >= run[-1]), None)
            if covering is not None:
                found.append((covering, "open"))
                continue
            before = {db.id for db in known}
            db = open_for(session, categories[cid], run, "check")
            if db is None:  # cannot happen: the run is overbooked
                continue
            if db.id not in before:
                known.append(db)
            found.append((db, "extended" if db.id in before else "opened"))
    return found


def open_of(session: Session, prop: Property) -> list[DoubleBooking]:
    return list(session.scalars(
        sa.select(DoubleBooking).where(DoubleBooking.property_id == prop.id, DoubleBooking.status.in_(OPEN))
        .order_by(DoubleBooking.first_night, DoubleBooking.id)
    ))


def open_count_for(session: Session, actor: User) -> int:
    """Open double bookings on the properties `actor` may open: the banner on every page (one query)."""
    return session.scalar(
        sa.select(sa.func.count(DoubleBooking.id)).join(Property, Property.id == DoubleBooking.property_id)
        .where(DoubleBooking.status.in_(OPEN), access.visible_properties(actor))
    ) or 0


def open_of_booking(session: Session, booking: Booking) -> DoubleBooking | None:
    """The open double booking this booking is part of, if any (one query: the booking page links it)."""
    return session.scalar(
        sa.select(DoubleBooking).join(DoubleBookingMember, DoubleBookingMember.double_booking_id == DoubleBooking.id)
        .where(DoubleBookingMember.booking_id == booking.id, DoubleBooking.status.in_(OPEN))
        .order_by(DoubleBooking.id).limit(1))


def banner_for(session: Session, actor: User) -> tuple[int, str | None]:
    """The banner on every page: how many double bookings are open on the properties `actor` may
    open, and the property's slug when they are all on one (one query)."""
    count, props, slug = session.execute(
        sa.select(sa.func.count(DoubleBooking.id), sa.func.count(sa.distinct(DoubleBooking.property_id)),
                  sa.func.min(Property.slug))
        .join(Property, Property.id == DoubleBooking.property_id)
        .where(DoubleBooking.status.in_(OPEN), access.visible_properties(actor))
    ).one()
    return int(count or 0), (slug if props == 1 else None)


def of_property(session: Session, actor: User, prop: Property, db_id: int) -> DoubleBooking:
    access.check_property(actor, prop)
    db = session.get(DoubleBooking, db_id)
    if db is None or db.property_id != prop.id:
        raise NotFound(_l("No such double booking."))
    return db


def listing(session: Session, actor: User, prop: Property, include_resolved: bool = True) -> list[DoubleBooking]:
    access.check_property(actor, prop)
    q = sa.select(DoubleBooking).where(DoubleBooking.property_id == prop.id)
    if not include_resolved:
        q = q.where(DoubleBooking.status.in_(OPEN))
    # open ones first, newest first within each
    return list(session.scalars(q.order_by(sa.case((DoubleBooking.status == "resolved", 1), else_=0),
                                           DoubleBooking.opened_at.desc(), DoubleBooking.id.desc())))


def describe_cause(cause: str) -> Message:
    return {"overbooked_push": _l("A channel sold a stay that had no free room here (notify mode)."),
            "ical": _l("An external calendar blocks nights that are already booked here."),
            "check": _l("Found by the double-booking check (data brought in from elsewhere).")}[cause]

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
    Excess is rooms wanted beyond the units (occupied + unplaced), or online sales beyond the quota,
    whichever is larger. Four queries whatever the range."""
    now = clock.now()
    units = session.scalar(sa.select(sa.func.count(Unit.id)).where(Unit.category_id == category_id)) or 0
    online = Booking.source.not_in(QUOTA_FREE_SOURCES)
    need: dict[dt.date, int] = defaultdict(int)
    sold: dict[dt.date, int] = defaultdict(int)
    occupied = session.execute(
        sa.select(Occupancy.night, sa.func.count(Occupancy.id), sa.func.sum(sa.case((online, 1), else_=0)))
        .join(Booking, Booking.id == Occupancy.booking_id)
        .where(Booking.category_id == category_id, Occupancy.night >= first, Occupancy.night <= last,
               Booking.occupies(now))
        .group_by(Occupancy.night)
    )
    for night, n, s in occupied:
        need[night] += n
        sold[night] += int(s or 0)
    unplaced = session.execute(
        sa.select(UnplacedNight.night, sa.func.sum(UnplacedNight.units),
                  sa.func.sum(sa.case((online, UnplacedNight.units), else_=0)))
        .join(Booking, Booking.id == UnplacedNight.booking_id)
        .where(UnplacedNight.category_id == category_id, UnplacedNight.night >= first, UnplacedNight.night <= last,
               Booking.occupies(now))
        .group_by(UnplacedNight.night)
    )
    for night, n, s in unplaced:
        need[night] += int(n or 0)
        sold[night] += int(s or 0)
    quotas = dict(session.execute(
        sa.select(NightRate.night, NightRate.quota)
        .where(NightRate.category_id == category_id, NightRate.night >= first, NightRate.night <= last)
    ).all())
    result = {}
    for night in set(need) | set(sold):
        excess = max(need[night] - units, sold[night] - quotas[night] if night in quotas else 0)
        if excess > 0:
            result[night] = excess
    return dict(sorted(result.items()))


def bookings_on(session: Session, category_id: int, nights: list[dt.date]) -> list[Booking]:
    """The occupying bookings of the category on these nights, placed or not (one query)."""
    if not nights:
        return []
    now = clock.now()
    placed = sa.select(Occupancy.booking_id).where(Occupancy.night.in_(nights))
    unplaced = sa.select(UnplacedNight.booking_id).where(UnplacedNight.category_id == category_id,
                                                         UnplacedNight.night.in_(nights))
    return list(session.scalars(
        sa.select(Booking).where(Booking.category_id == category_id, Booking.occupies(now),
                                 sa.or_(Booking.id.in_(placed), Booking.id.in_(unplaced)))
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
            body=render(body, "de"), created_at=now, next_attempt_at=now))


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

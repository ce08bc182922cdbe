"""The replacement search's end (R55, R59): on the scheduled arrival day the platform pays the
room-nights it could not resell.

A risk-free booking's cancelled room-nights are `searching` (services.bookings.ledger); a new
Booking.com sale resells them (ledger.resell, R54). Whatever is still searching on the day of
the original guest's scheduled arrival (in the property's time zone) is `paid_by_platform`, at
its commissionable amount, the lodging part the original guest booked. Only `searching` rows
change, so running the settlement again pays nothing twice.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access
from services.availability import explain, inventory
from services.core import audit, clock
from services.core.db import use_case
from services.core.errors import Conflict, NotFound
from services.core.i18n import _l
from services.models import Booking, Property, RoomCategory, RoomNight, User


@dataclass(frozen=True)
class Settled:
    """What the platform paid for one booking's unsold room-nights."""

    booking_id: int
    guest_name: str
    room_nights: int
    amount: Decimal
    currency: str


def _due(session: Session, on: dt.date | None, lock: bool = False) -> list[int]:
    """Ids of the searching room-nights whose booking arrives on or before `on` (None: today in
    each property's time zone). One query; the date bound keeps it to bookings that may be due
    (no time zone is more than a day ahead of UTC)."""
    bound = on if on is not None else clock.now().date() + dt.timedelta(days=1)
    q = (
        sa.select(RoomNight.id, Booking.arrival, Property.timezone)
        .join(Booking, Booking.id == RoomNight.booking_id)
        .join(Property, Property.id == Booking.property_id)
        .where(RoomNight.state == "searching", Booking.arrival <= bound)
    )
    if lock:
        q = q.with_for_update(of=RoomNight)
    today: dict[str, dt.date] = {}
    due = []
    for row_id, arrival, tz in session.execute(q):
        if on is None and tz not in today:
            today[tz] = clock.today(tz)
        if arrival <= (on if on is not None else today[tz]):
            due.append(row_id)
    return due


def settle(session: Session, on: dt.date | None = None) -> list[Settled]:
    """Pay every searching room-night whose booking's arrival is on or before `on` (default:
    today where the property is): `paid_by_platform`, amount_paid = its commissionable amount.
    One use case per run; nothing at all is written when nothing is due (the worker calls this
    every round). Returns one line per booking paid, by booking id."""
    if not _due(session, on):
        session.rollback()  # end the read: the worker's session stays free of an open transaction
        return []
    with use_case(session):
        ids = _due(session, on, lock=True)
        if not ids:
            return []
        session.execute(
            sa.update(RoomNight).where(RoomNight.id.in_(ids), RoomNight.state == "searching")
            .values(state="paid_by_platform", amount_paid=RoomNight.commissionable, changed_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(
            sa.select(Booking.id, Booking.guest_name, Property.currency, sa.func.count(RoomNight.id),
                      sa.func.sum(RoomNight.amount_paid))
            .join(Booking, Booking.id == RoomNight.booking_id)
            .join(Property, Property.id == Booking.property_id)
            .where(RoomNight.id.in_(ids))
            .group_by(Booking.id, Booking.guest_name, Property.currency)
            .order_by(Booking.id)
        ).all()
        paid = [Settled(bid, guest, n, Decimal(total).quantize(Decimal("0.01")), currency)
                for bid, guest, currency, n, total in rows]
        for settled in paid:  # the booking's history dates the payment (R55)
            audit.booking_event(session, session.get(Booking, settled.booking_id), "paid_by_platform",
                                count=settled.room_nights, amount=str(settled.amount), currency=settled.currency)
    return paid


# R53: the search works only with open availability. The restrictions a host can lift on a
# searching night (explain.why_unavailable's codes); "occupied" and "no_units" are no restriction.
LIFTABLE = ("closed", "no_price", "quota_used", "min_stay", "max_stay", "closed_to_arrival")
# The one-click fixes the lift applies (a price has no one-click value: the host sets it).
ONE_CLICK = (explain.OPEN, explain.RAISE_QUOTA, explain.LOWER_MIN_STAY, explain.RAISE_MAX_STAY, explain.ALLOW_ARRIVAL)
# At most this many searching nights of a booking are explained (each blocked one costs
# why_unavailable's own queries: two or three).
MAX_NIGHTS = 31


@dataclass
class Blocker:
    """Why a new guest cannot book a searching room-night's category-night (R53)."""

    category_id: int
    night: dt.date
    reasons: list[explain.Reason]

    @property
    def liftable(self) -> list[explain.Reason]:
        """The reasons the lift removes in one click."""
        return [r for r in self.reasons if r.fix is not None and r.fix.action in ONE_CLICK]


def _searching_nights(session: Session, booking: Booking, today: dt.date) -> list[dt.date]:
    return list(session.scalars(
        sa.select(RoomNight.night).distinct()
        .where(RoomNight.booking_id == booking.id, RoomNight.state == "searching", RoomNight.night >= today)
        .order_by(RoomNight.night).limit(MAX_NIGHTS)))


def resale_blockers(session: Session, booking: Booking) -> list[Blocker]:
    """R53/R59: per night of a risk-free booking still searching (from today in the property's
    time zone), the restrictions that stop a new guest from booking its category, by night.
    Queries: one for the nights, nights_for's three for the figures around them, and
    why_unavailable's (two or three) only for a night that looks blocked; at most MAX_NIGHTS
    nights are looked at."""
    if not booking.risk_free:
        return []
    prop = booking.prop
    today = clock.today(prop.timezone)
    nights = _searching_nights(session, booking, today)
    if not nights:
        return []
    category = booking.category
    window = dt.timedelta(days=explain.WINDOW_DAYS)
    figures = inventory.nights_for(session, [category.id], nights[0] - window,
                                   nights[-1] + window + dt.timedelta(days=1))[category.id]
    blockers = []
    for night in nights:
        if not explain.blocked_by_restriction(figures, night):
            continue
        reasons = [r for r in explain.why_unavailable(session, prop, category, night)
                   if r.code in LIFTABLE and (r.code != "quota_used" or r.fix is not None)
                   and (r.fix is None or r.fix.night >= today)]
        if reasons:
            blockers.append(Blocker(category.id, night, reasons))
    return blockers


def lift_blockers(session: Session, actor: User, prop: Property, booking: Booking) -> int:
    """R53: lift exactly the restrictions resale_blockers lists, on exactly those nights, through
    explain.apply_fix (rates.set_night: checked, recorded in the history), all in one use case
    (the rates use cases join it): either every restriction is lifted or none. A fix that an
    earlier one made needless is skipped. Returns the number of changes; Conflict when there
    is nothing to lift."""
    access.check_property(actor, prop)
    if booking.property_id != prop.id:
        raise NotFound(_l("No such booking."))
    blockers = resale_blockers(session, booking)
    todo = [(b.night, r.fix.action) for b in blockers for r in b.liftable]
    if not todo:
        raise Conflict(_l("No restriction blocks the replacement search: there is nothing to lift."),
                       code="nothing_to_lift")
    category = session.get(RoomCategory, booking.category_id)
    done = 0
    with use_case(session):
        for night, action in todo:
            if explain.apply_fix(session, actor, prop, category, night, action) is not None:
                done += 1
    return done

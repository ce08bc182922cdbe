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

from services.core import clock
from services.core.db import use_case
from services.models import Booking, Property, RoomNight


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
    return paid

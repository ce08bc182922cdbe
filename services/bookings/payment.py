"""Who pays a risk-free booking (issue 10, R51, R54, R55, R57): read from its room-night ledger.

The guest pays the room-nights kept; a cancelled room-night goes into the search for a
replacement guest, then is paid by the new guest (resold) or by the platform (paid_by_platform).
For a booking outside the programme none of this applies: both functions' callers show nothing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal, TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from services.models import Booking, RoomNight

PaymentStatus = Literal["guest", "partially_paid_by_platform", "paid_by_platform"]

# A cancelled room-night of a risk-free booking, from the search on: the replacement's states.
REPLACEMENT_STATES = ("searching", "resold", "paid_by_platform")


class Replacement(TypedDict):
    night: dt.date
    unit: str | None
    state: str
    amount: Decimal | None
    resold_by: int | None
    changed_at: dt.datetime


def payment_status(booking: Booking, rows: Iterable[RoomNight]) -> PaymentStatus | None:
    """R57: some units kept by the guest and some room-nights paid by the platform: partially
    paid by the platform; nothing kept and every room-night not resold paid by the platform:
    paid by the platform; else the guest pays. None for a booking outside the programme."""
    if not booking.risk_free:
        return None
    states = [r.state for r in rows]
    if "paid_by_platform" not in states:
        return "guest"
    if "sold" in states:
        return "partially_paid_by_platform"
    if all(s in ("resold", "paid_by_platform") for s in states):
        return "paid_by_platform"
    return "guest"


def replacement(rows: Iterable[RoomNight]) -> list[Replacement]:
    """The cancelled room-nights in the search or past it, by night and unit: what the new guest
    (resold, R54) or the platform (R55) pays; no amount while searching. Units must be loaded."""
    found = [r for r in rows if r.state in REPLACEMENT_STATES]
    found.sort(key=lambda r: (r.night, r.unit_id or 0))
    return [
        Replacement(night=r.night, unit=r.unit.name if r.unit else None, state=r.state,
                    amount=None if r.state == "searching" else r.amount_paid,
                    resold_by=r.resold_by_id if r.state == "resold" else None, changed_at=r.changed_at)
        for r in found
    ]


def rows_by_booking(session: Session, bookings: Iterable[Booking]) -> dict[int, list[RoomNight]]:
    """The ledger rows of the risk-free bookings among `bookings`, units loaded: one query for a
    whole list (none when none is risk-free), so a list's query count does not grow with it."""
    ids = [b.id for b in bookings if b.risk_free]
    found: dict[int, list[RoomNight]] = {i: [] for i in ids}
    if not ids:
        return found
    for r in session.scalars(
        sa.select(RoomNight).options(joinedload(RoomNight.unit))
        .where(RoomNight.booking_id.in_(ids)).order_by(RoomNight.night, RoomNight.unit_id)
    ):
        found[r.booking_id].append(r)
    return found


def statuses(session: Session, bookings: Iterable[Booking]) -> dict[int, PaymentStatus]:
    """payment_status of each risk-free booking among `bookings` (one query)."""
    bookings = list(bookings)
    rows = rows_by_booking(session, bookings)
    return {b.id: payment_status(b, rows[b.id]) for b in bookings if b.risk_free}

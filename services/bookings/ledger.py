"""The room-night ledger (issue 10, R55, R57): what a booking sold per (night, unit).

inventory.take writes the rows (price: the room-night's share of the agreed total, mandatory
costs included; commissionable: its lodging part). Cancelling changes their state, never an
amount, so the original total stays readable next to what the guest still owes; later
figures (resale, payout by the platform, statements) come from these rows.
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from services.core import clock
from services.models import Booking, Occupancy, RoomNight

# The guest no longer pays these (cancelled; later searching, resold to another guest, paid by the platform).
NOT_DUE = ("cancelled", "searching", "resold", "paid_by_platform")


def ledger(session: Session, booking: Booking) -> list[RoomNight]:
    """The booking's room-nights by night and unit, units loaded (one query)."""
    return list(session.scalars(
        sa.select(RoomNight).options(joinedload(RoomNight.unit))
        .where(RoomNight.booking_id == booking.id).order_by(RoomNight.night, RoomNight.unit_id)
    ))


def amounts(session: Session, booking: Booking, rows: list[RoomNight] | None = None
            ) -> tuple[Decimal, Decimal, Decimal]:
    """(original total, still due from the guest, cancelled amount); one query, none with `rows`."""
    if rows is None:
        rows = ledger(session, booking)
    zero = Decimal("0.00")
    original = sum((r.price for r in rows), zero)
    cancelled = sum((r.price for r in rows if r.state in NOT_DUE), zero)
    return original, original - cancelled, cancelled


def still_due(session: Session, booking: Booking) -> Decimal:
    """What the guest still owes: the price of the room-nights not cancelled."""
    return session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(RoomNight.price), 0))
        .where(RoomNight.booking_id == booking.id, RoomNight.state.not_in(NOT_DUE))
    )


def cancel_all(session: Session, booking: Booking) -> None:
    """A full cancellation: every sold room-night becomes cancelled, amounts untouched."""
    session.execute(
        sa.update(RoomNight).where(RoomNight.booking_id == booking.id, RoomNight.state == "sold")
        .values(state="cancelled", changed_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def cancel_released(session: Session, booking: Booking) -> None:
    """After a partial release (inventory.release_units): the sold room-nights whose (unit,
    night) the booking no longer occupies become cancelled, amounts untouched."""
    held = sa.select(Occupancy.id).where(
        Occupancy.booking_id == booking.id, Occupancy.unit_id == RoomNight.unit_id, Occupancy.night == RoomNight.night,
    )
    session.execute(
        sa.update(RoomNight).where(RoomNight.booking_id == booking.id, RoomNight.state == "sold", ~held.exists())
        .values(state="cancelled", changed_at=clock.now())
        .execution_options(synchronize_session=False)
    )

"""Cancelling a whole booking: the one path that frees its nights, whoever cancels.

The channel (R32, services.channels.reservations.cancel), the host for an own booking
(services.bookings.own) and the tourist office for a guest who cancelled with the host (R20,
services.office.cancellations) all go through `cancel_stay`, so the nights are released by the
same code exactly once: it refuses a booking that is no longer active (R10 (b): the office's
cancellation after the channel's, or a second click, frees nothing).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from services.availability import inventory
from services.bookings import ledger
from services.core import clock
from services.models import Booking


def cancel_stay(session: Session, booking: Booking, via: str) -> bool:
    """Inside the caller's use case: the booking is cancelled through `via` (a CANCELLED_VIA),
    its nights released and its room-nights cancelled (amounts stay, issue 10). False, and
    nothing changed, when it was cancelled, expired or replaced already."""
    if booking.status not in ("confirmed", "pending"):
        return False
    now = clock.now()
    booking.status, booking.updated_at = "cancelled", now
    booking.cancelled_at, booking.cancelled_via = now, via
    inventory.release(session, booking)
    ledger.cancel_all(session, booking)
    return True

"""The risk-free programme's switches (R50, R59) and the guest's card (R56).

The platform decides which properties may join (`risk_free_eligible`, set by staff); an eligible
host opts in or out (`risk_free_opted_in`). Only both together put a property in the programme.
The card (holder, brand, last 4 digits, expiry; never the full number) is shown to the host only
once the booking is non-refundable; the host may mark it invalid, which tells the channel and,
for a risk-free booking, opens the replacement search as a cancellation would.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from services.accounts import access
from services.availability import inventory
from services.bookings import ledger, notify
from services.core import audit, clock
from services.core.db import use_case
from services.core.errors import Conflict
from services.core.i18n import _l
from services.models import Booking, Property, User

# The only channel that sells risk-free reservations (the programme is the platform's own).
RISK_FREE_CHANNEL = "booking"


def in_programme(prop: Property) -> bool:
    """The platform offers the programme to this property and its host has joined."""
    return bool(prop.risk_free_eligible and prop.risk_free_opted_in)


def not_in_programme_reason(prop: Property) -> str | None:
    """Why a risk-free booking for `prop` is stored as an ordinary one: a code, None if it is in."""
    if not prop.risk_free_eligible:
        return "not_eligible"
    if not prop.risk_free_opted_in:
        return "not_opted_in"
    return None


def set_eligible(session: Session, actor: User | None, prop: Property, eligible: bool) -> bool:
    """Staff of the property's office (or an admin; None: the operator's command line) offer the
    programme to a property or withdraw it. Returns whether anything changed."""
    if actor is not None:
        access.require_staff(actor)
        access.check_property(actor, prop)
    if prop.risk_free_eligible == eligible:
        return False
    with use_case(session):
        prop.risk_free_eligible = eligible
        if not eligible:
            prop.risk_free_opted_in = False  # offered again later, the host decides again
        audit.record(session, actor, prop, "risk_free_offered" if eligible else "risk_free_withdrawn",
                     programme="risk_free", property=prop.name)
    return True


def set_opted_in(session: Session, actor: User, prop: Property, join: bool) -> bool:
    """The host joins or leaves the programme (R50). Joining needs the platform's offer (R59);
    leaving is always possible. Returns whether anything changed."""
    access.check_property(actor, prop)
    if join and not prop.risk_free_eligible:
        raise Conflict(_l("The risk-free programme is not offered for this property: the platform decides "
                          "which properties may join."), code="not_eligible")
    if prop.risk_free_opted_in == join:
        return False
    with use_case(session):
        prop.risk_free_opted_in = join
        audit.record(session, actor, prop, "risk_free_joined" if join else "risk_free_left",
                     programme="risk_free", property=prop.name)
    return True


def card_visible_from(booking: Booking) -> dt.datetime | None:
    """From when the host may see the card: the end of the free cancellation (None: at once)."""
    return booking.free_cancellation_until


def card_visible(booking: Booking, now: dt.datetime | None = None) -> bool:
    """R56: the card only once the booking is non-refundable."""
    if booking.card_last4 is None:
        return False
    until = card_visible_from(booking)
    return until is None or (now or clock.now()) >= until


def mark_card_invalid(session: Session, actor: User, prop: Property, booking: Booking) -> Booking:
    """R56: the host found the card invalid. The channel is told (webhook `card_invalid`) and the
    booking's history keeps it. A risk-free booking is then cancelled as a guest's cancellation
    would be (issue 10): its nights go back on sale and its room-nights into the replacement
    search (`searching`, R52), so the platform pays what it cannot resell (seed 004: without a
    valid card the platform looks for a replacement guest). An ordinary booking stays as it is:
    its channel decides."""
    access.check_property(actor, prop)
    if booking.property_id != prop.id:
        raise Conflict(_l("This booking belongs to another property."))
    if not card_visible(booking):
        raise Conflict(_l("The card can be checked only once the booking is non-refundable."), code="card_not_visible")
    if booking.card_invalid_at is not None:
        raise Conflict(_l("The card is marked invalid already."), code="card_invalid_already")
    if booking.status != "confirmed":
        raise Conflict(_l("Only a confirmed booking's card can be marked invalid."), code="not_confirmed")
    with use_case(session):
        now = clock.now()
        booking.card_invalid_at = now
        booking.updated_at = now
        searching = bool(booking.risk_free)
        if searching:
            booking.status = "cancelled"
            inventory.release(session, booking)
            ledger.cancel_all(session, booking)  # risk-free: the room-nights are searched (R52)
        notify.webhook(session, booking.connection, "card_invalid", {
            "reservation_id": booking.id, "external_id": booking.external_id, "last4": booking.card_last4,
            "marked_at": now.isoformat(), "status": booking.status})
        audit.booking_event(session, booking, "card_invalid", actor=actor, last4=booking.card_last4)
    return booking

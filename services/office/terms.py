"""Terms (AGB): the office's model terms and the host's own, and what follows from them for a
booking: the deposit due and its date (R22) and the cancellation fee proposed when a
cancellation is recorded (R21: billed by the host to the guest directly).

The fee schedule is a list of tiers sorted by `days`, descending: a cancellation at least
`days` days before arrival costs `percent` of the booking's total. With the model schedule
    [{"days": 30, "percent": "0"}, {"days": 8, "percent": "50"}, {"days": 0, "percent": "80"}]
30 or more days before arrival is free, 29 to 8 days cost 50 %, 7 days or fewer (and a
cancellation on or after the arrival day) 80 %.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.models import Booking, Property, Terms

CENT = Decimal("0.01")
# What an office starts with before staff write its own model terms (the example).
DEFAULT_SCHEDULE = [{"days": 30, "percent": "0"}, {"days": 8, "percent": "50"}, {"days": 0, "percent": "80"}]


def of_property(session: Session, prop: Property) -> Terms | None:
    """The host's own terms, or None when the host has adopted none."""
    return session.scalar(sa.select(Terms).where(Terms.property_id == prop.id))


def model_of(session: Session, office_id: int) -> Terms | None:
    """The office's model terms (Muster-AGB), or None before staff wrote them."""
    return session.scalar(sa.select(Terms).where(Terms.office_id == office_id))


def fee_percent(schedule: list[dict], days_before: int) -> Decimal:
    """The percentage a cancellation `days_before` days before arrival costs (0 without a schedule).

    Before the first tier's days nothing is due only if a tier says so; a cancellation later
    than the last tier (e.g. after arrival) costs the last tier's percentage."""
    tiers = sorted(schedule or [], key=lambda t: int(t["days"]), reverse=True)
    for tier in tiers:
        if days_before >= int(tier["days"]):
            return Decimal(str(tier["percent"]))
    return Decimal(str(tiers[-1]["percent"])) if tiers else Decimal(0)


def proposed_fee(terms: Terms | None, booking: Booking, cancelled_on: dt.date) -> Decimal:
    """The fee the host's terms give for cancelling `booking` on `cancelled_on` (the day the
    guest told the host), rounded to the cent; 0 without terms or without a total."""
    if terms is None or booking.total_price is None:
        return Decimal("0.00")
    percent = fee_percent(terms.fee_schedule, (booking.arrival - cancelled_on).days)
    return (booking.total_price * percent / 100).quantize(CENT, ROUND_HALF_UP)


def deposit(terms: Terms | None, booking: Booking, booked_on: dt.date) -> tuple[Decimal | None, dt.date | None]:
    """The deposit the terms ask for `booking` and the day it is due (R22); (None, None) when
    the terms ask none, the booking has no total, or the channel collected in advance (prepaid,
    e.g. e-domizil: nothing is due from the guest)."""
    if (terms is None or terms.deposit_percent is None or booking.total_price is None
            or booking.payment_mode == "prepaid"):
        return None, None
    amount = (booking.total_price * terms.deposit_percent / 100).quantize(CENT, ROUND_HALF_UP)
    due = booked_on + dt.timedelta(days=terms.deposit_days or 0)
    return amount, min(due, booking.arrival)

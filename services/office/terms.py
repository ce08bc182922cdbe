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
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access
from services.core import audit, clock, inputs
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.core.i18n import _l
from services.models import Booking, Property, Terms, User

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


# --- Editing terms: the schedule's validation and the host's use cases ---------------------

MAX_TIERS = 10
MAX_TEXT = 20000


def validate(schedule_rows: list[dict], deposit_percent: str | None, deposit_days: str | None,
             text: str = "") -> tuple[list[dict], Decimal | None, int | None, str]:
    """Parse the terms as typed into the form: (schedule, deposit_percent, deposit_days, text).

    `schedule_rows` are [{"days": "30", "percent": "0"}, ...] as strings; empty rows are left
    out. Errors are keyed per field: "tiers-<i>-days", "tiers-<i>-percent" (i: the row's place
    in the form), "tiers" for the whole, "deposit_percent", "deposit_days", "text"."""
    errors: dict = {}
    schedule, seen = [], set()
    rows = [(i, (r.get("days") or "").strip(), (r.get("percent") or "").strip().replace(",", "."))
            for i, r in enumerate(schedule_rows)]
    rows = [r for r in rows if r[1] or r[2]]
    if len(rows) > MAX_TIERS:
        errors["tiers"] = _l("At most %(n)s tiers.", n=MAX_TIERS)
    for i, days_raw, percent_raw in rows:
        days = inputs.whole(days_raw)
        if days is None or days > 9999:
            days = None
            errors[f"tiers-{i}-days"] = _l("Enter a number of days from 0 to 9999.")
        elif days in seen:
            errors[f"tiers-{i}-days"] = _l("Each number of days may appear only once.")
        else:
            seen.add(days)
        percent = _percent(percent_raw)
        if percent is None:
            errors[f"tiers-{i}-percent"] = _l("Enter a percentage from 0 to 100 with at most two decimals.")
        if days is not None and percent is not None:
            schedule.append({"days": days, "percent": str(percent)})
    dep_percent = dep_days = None
    dp, dd = (deposit_percent or "").strip().replace(",", "."), (deposit_days or "").strip()
    if dp:
        dep_percent = _percent(dp)
        if dep_percent is None or dep_percent == 0:
            errors["deposit_percent"] = _l(
                "Enter a percentage above 0 and at most 100, or leave it empty for no deposit.")
            dep_percent = None
        if not dd:
            errors["deposit_days"] = _l("Enter within how many days after booking the deposit is due.")
        elif inputs.whole(dd) is None or inputs.whole(dd) > 999:
            errors["deposit_days"] = _l("Enter a number of days from 0 to 999.")
        else:
            dep_days = inputs.whole(dd)
    elif dd:
        errors["deposit_percent"] = _l("Enter the deposit's percentage, or leave both fields empty for no deposit.")
    text = inputs.text(text or "", "text", errors, max_len=MAX_TEXT)
    if errors:
        raise Invalid(errors)
    schedule.sort(key=lambda t: t["days"], reverse=True)
    return schedule, dep_percent, dep_days, text


def _percent(raw: str) -> Decimal | None:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100) or value != round(value, 2):
        return None
    return Decimal(int(value)) if value == value.to_integral() else value


def apply_parsed(terms: Terms, actor: User, schedule, dep_percent, dep_days, text) -> None:
    terms.fee_schedule = schedule
    terms.deposit_percent, terms.deposit_days = dep_percent, dep_days if dep_percent is not None else None
    terms.text = text
    terms.updated_at, terms.updated_by_id = clock.now(), actor.id


def _copy_model(session: Session, prop: Property, terms: Terms, actor: User) -> None:
    model = model_of(session, prop.office_id)
    if model is None:
        apply_parsed(terms, actor, [dict(t) for t in DEFAULT_SCHEDULE], None, None, "")
    else:
        apply_parsed(terms, actor, [dict(t) for t in model.fee_schedule], model.deposit_percent, model.deposit_days,
                     model.text)
    terms.adopted_at = clock.now()


def _check_host_side(actor: User, prop: Property) -> None:
    access.check_property(actor, prop)


def adopt(session: Session, actor: User, prop: Property) -> Terms:
    """The host takes the office's model terms (or the default ones) as their own."""
    _check_host_side(actor, prop)
    with use_case(session) as uc:
        terms = of_property(session, prop)
        if terms is not None:
            raise Conflict(_l("This property has its terms already."), code="terms_exist")
        terms = Terms(property_id=prop.id)
        _copy_model(session, prop, terms, actor)
        session.add(terms)
        audit.record(session, actor, prop, "terms_adopted")
        uc.keep(terms, prop)
    return terms


def save_property_terms(session: Session, actor: User, prop: Property, schedule_rows: list[dict],
                        deposit_percent: str | None, deposit_days: str | None, text: str = "") -> Terms:
    """The host's edit of their terms (adopted first)."""
    _check_host_side(actor, prop)
    parsed = validate(schedule_rows, deposit_percent, deposit_days, text)
    with use_case(session) as uc:
        terms = of_property(session, prop)
        if terms is None:
            raise Conflict(_l("Adopt the model terms first."), code="no_terms")
        apply_parsed(terms, actor, *parsed)
        audit.record(session, actor, prop, "terms_changed")
        uc.keep(terms, prop)
    return terms


def reset_to_model(session: Session, actor: User, prop: Property) -> Terms:
    """The host's terms become the office's model terms again."""
    _check_host_side(actor, prop)
    with use_case(session) as uc:
        terms = of_property(session, prop)
        if terms is None:
            raise Conflict(_l("Adopt the model terms first."), code="no_terms")
        _copy_model(session, prop, terms, actor)
        audit.record(session, actor, prop, "terms_reset")
        uc.keep(terms, prop)
    return terms

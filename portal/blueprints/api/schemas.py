"""The API's JSON bodies read into the use cases' inputs: types, formats, ranges, unknown
fields refused, every problem named by its field (a 422 with `field`)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from services.core import inputs
from services.core.errors import Invalid
from services.core.i18n import _l
from services.channels.reservations import ReservationInput


FIELDS = {"external_id", "room_category_id", "arrival", "departure", "units", "guests", "guest", "status",
          "total_price", "risk_free", "free_cancellation_until"}
GUEST_FIELDS = {"name", "email", "phone"}


def _date(value, field, errors):
    if not isinstance(value, str):
        errors[field] = _l("Use a date like 2027-05-01.")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[field] = _l("Use a date like 2027-05-01.")
        return None


def _int(value, field, errors, default=None, low=1, high=10_000):
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        errors[field] = _l("Must be a whole number.")
        return default or 1
    if not low <= value <= high:
        errors[field] = _l("Must be from %(low)s to %(high)s.", low=low, high=high)
    return value


def _text(value, field, errors, required=False, max_len=120):
    return inputs.line(value, field, errors, required=_l("This field is required.") if required else None,
                       max_len=max_len)


def reservation_input(payload) -> ReservationInput:
    """Validate a reservation body: types, formats, ranges, unknown fields refused."""
    if not isinstance(payload, dict):
        raise Invalid({"body": _l("Send a JSON object.")})
    errors = {}
    for name in sorted(set(payload) - FIELDS):
        errors[name] = _l("Unknown field.")
    external_id = _text(payload.get("external_id"), "external_id", errors, required=True, max_len=100)
    cat_id = _int(payload.get("room_category_id"), "room_category_id", errors, low=1, high=2**31 - 1)
    arrival = _date(payload.get("arrival"), "arrival", errors)
    departure = _date(payload.get("departure"), "departure", errors)
    units = _int(payload.get("units"), "units", errors, default=1, low=1, high=inputs.MAX_UNITS_PER_BOOKING)
    guests = _int(payload.get("guests"), "guests", errors, default=1, low=1, high=1000)
    guest = payload.get("guest")
    name = email = phone = ""
    if not isinstance(guest, dict):
        errors["guest"] = _l("Send the guest as an object with name, email and phone.")
    else:
        for k in sorted(set(guest) - GUEST_FIELDS):
            errors[f"guest.{k}"] = _l("Unknown field.")
        name = _text(guest.get("name"), "guest.name", errors, required=True)
        email = _text(guest.get("email"), "guest.email", errors, max_len=254)
        if email and "guest.email" not in errors and not inputs.EMAIL.match(email):
            errors["guest.email"] = _l("Enter a valid e-mail address.")
        phone = _text(guest.get("phone"), "guest.phone", errors, max_len=40)
    status = payload.get("status", "confirmed")
    if status not in ("pending", "confirmed"):
        errors["status"] = _l("Use pending (in the cart, unpaid) or confirmed (paid).")
    total = None
    if payload.get("total_price") is not None:
        raw = payload["total_price"]
        try:
            if not isinstance(raw, str):
                raise InvalidOperation
            total = Decimal(raw)
            if not total.is_finite() or total < 0 or total > inputs.MAX_TOTAL or total.as_tuple().exponent < -2:
                raise InvalidOperation
        except InvalidOperation:
            errors["total_price"] = _l("Send the amount as a decimal string like \"189.00\".")
            total = None
    risk_free = payload.get("risk_free", False)
    if not isinstance(risk_free, bool):
        errors["risk_free"] = _l("Must be true or false.")
    fcu = payload.get("free_cancellation_until")
    until = None
    if fcu is not None:
        try:
            until = inputs.aware_datetime(fcu, stored=True)
        except ValueError:
            errors["free_cancellation_until"] = _l("Use a date and time with time zone, like 2027-04-01T12:00:00Z.")
    inputs.stay(arrival, departure, errors, max_nights=inputs.MAX_NIGHTS)
    if errors:
        raise Invalid(errors)
    return ReservationInput(external_id, cat_id, arrival, departure, units, guests, name, email, phone, status,
                            total, bool(risk_free), until)

"""The API's JSON bodies read into the use cases' inputs: types, formats, ranges, unknown
fields refused, every problem named by its field (a 422 with `field`)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from services.core import inputs
from services.core.errors import Invalid
from services.core.i18n import _l
from services.channels.reservations import CardInput, ReservationInput


FIELDS = {"external_id", "room_category_id", "arrival", "departure", "units", "guests", "guest", "status",
          "total_price", "risk_free", "free_cancellation_until", "card"}
GUEST_FIELDS = {"name", "email", "phone"}
CARD_FIELDS = {"holder", "brand", "last4", "expiry"}
NUMBER_FIELDS = {"number", "card_number", "pan", "cvc", "cvv"}  # refused whatever they hold
EXPIRY = re.compile(r"(0[1-9]|1[0-2])/[0-9]{2}")
LONG_DIGITS = re.compile(r"[0-9][0-9 \-.]{3,}[0-9]")  # five or more digits, however grouped


class CardNumberNotAllowed(Invalid):
    """A card number (more than its last 4 digits) was sent: the portal never stores one (R56)."""

    code = "card_number_not_allowed"


def _digits_in(value) -> int:
    """The longest run of digits in a value (spaces, dashes and dots between them ignored)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return len(str(abs(value)))
    if isinstance(value, str):
        return max((sum(ch.isdigit() for ch in m.group()) for m in LONG_DIGITS.finditer(value)), default=0)
    if isinstance(value, dict):
        return max((_digits_in(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_digits_in(v) for v in value), default=0)
    return 0


def _card(card, errors) -> CardInput | None:
    """The card as the channel sends it; any card number in it is refused before anything else."""
    if card is None:
        return None
    if not isinstance(card, dict):
        if _digits_in(card) > 4:
            raise CardNumberNotAllowed({"card": _l("Do not send card numbers: only the last 4 digits (last4) are accepted.")})
        errors["card"] = _l("Send the card as an object with holder, brand, last4 and expiry.")
        return None
    numbers = sorted(k for k, v in card.items() if k in NUMBER_FIELDS or _digits_in(v) > 4)
    if numbers:
        raise CardNumberNotAllowed({f"card.{numbers[0]}": _l(
            "Do not send card numbers: only the last 4 digits (last4) are accepted.")})
    for k in sorted(set(card) - CARD_FIELDS):
        errors[f"card.{k}"] = _l("Unknown field.")
    holder = _text(card.get("holder"), "card.holder", errors, required=True)
    brand = _text(card.get("brand"), "card.brand", errors, required=True, max_len=30)
    last4 = card.get("last4")
    if not (isinstance(last4, str) and len(last4) == 4 and last4.isascii() and last4.isdigit()):
        errors["card.last4"] = _l("Send the last 4 digits of the card as text, like \"4242\".")
    expiry = card.get("expiry")
    if not (isinstance(expiry, str) and EXPIRY.fullmatch(expiry)):
        errors["card.expiry"] = _l("Use month and year like 09/28.")
    if any(k.startswith("card.") for k in errors):
        return None
    return CardInput(holder, brand, last4, expiry)


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
    card = _card(payload.get("card"), errors)
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
                            total, bool(risk_free), until, card)

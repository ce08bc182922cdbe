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
from services.models import REVIEW_STATUSES
from services.reviews.intake import MAX_AUTHOR, MAX_TEXT, ReviewInput, Totals


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


# -- reviews (a review partner's key, scope reviews) --------------------------------------------

REVIEW_FIELDS = {"partner_review_id", "created_at", "travel_date", "author", "overall", "sub_scores", "scale",
                 "recommends", "text", "language", "status", "partner_totals", "property_id"}
REVIEW_REQUIRED = ("partner_review_id", "created_at", "author", "overall", "scale", "status")
SCALE_FIELDS = {"min", "max"}
TOTALS_FIELDS = {"count", "average"}
MAX_SCALE = Decimal(100)  # the widest scale taken (0-100 points); HolidayCheck's is 1-6
MAX_SUB_SCORES = 20
SUB_SCORE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,39}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
CENT = Decimal("0.01")


def _score(value, field, errors, low=Decimal(0), high=MAX_SCALE) -> Decimal | None:
    """A JSON number from `low` to `high`, rounded to 2 decimal places (the stored precision)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors[field] = _l("Must be a number.")
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or not low <= number <= high:
        errors[field] = _l("Must be from %(low)s to %(high)s.", low=low, high=high)
        return None
    return number.quantize(CENT)


def _written(value, errors):
    """`created_at`: a date (2027-05-01) or a date and time (the day is taken where the property is)."""
    if isinstance(value, str) and len(value.strip()) > 10:
        try:
            return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        errors["created_at"] = _l("Use a date like 2027-05-01 (or a date and time like 2027-05-01T12:00:00Z).")
        return None
    return _date(value, "created_at", errors)


def _totals(value, errors, prefix="partner_totals"):
    if not isinstance(value, dict):
        errors[prefix] = _l("Send an object with count and average.")
        return None
    for k in sorted(set(value) - TOTALS_FIELDS):
        errors[f"{prefix}.{k}"] = _l("Unknown field.")
    count = value.get("count")
    if isinstance(count, bool) or not isinstance(count, int):
        errors[f"{prefix}.count"] = _l("Must be a whole number.")
        count = None
    elif not 0 <= count <= inputs.MAX_ID:
        errors[f"{prefix}.count"] = _l("Must be from %(low)s to %(high)s.", low=0, high=inputs.MAX_ID)
        count = None
    average = None
    if value.get("average") is not None:
        average = _score(value["average"], f"{prefix}.average", errors)
    elif count:
        errors[f"{prefix}.average"] = _l("This field is required.")
    if any(k.startswith(prefix) for k in errors):
        return None
    return Totals(count, average)


def totals_input(value):
    """A file's top-level `partner_totals` (flask reviews import)."""
    errors = {}
    totals = _totals(value, errors)
    if errors:
        raise Invalid(errors)
    return totals


def review_input(payload):
    """Validate a review body (POST /reviews, a record of `flask reviews import`): types, formats,
    lengths, unknown fields refused. The scale's own rules (scores on it), dates after the
    property's today and the key's property are checked by services.reviews.intake."""
    if not isinstance(payload, dict):
        raise Invalid({"body": _l("Send a JSON object.")})
    errors = {}
    for name in sorted(set(payload) - REVIEW_FIELDS):
        errors[name] = _l("Unknown field.")
    for name in REVIEW_REQUIRED:
        if payload.get(name) is None:
            errors[name] = _l("This field is required.")
    review_id = _text(payload.get("partner_review_id"), "partner_review_id", errors, required=True, max_len=100)
    written = _written(payload["created_at"], errors) if payload.get("created_at") is not None else None
    travel = _date(payload["travel_date"], "travel_date", errors) if payload.get("travel_date") is not None else None
    author = _text(payload.get("author"), "author", errors, required=True, max_len=MAX_AUTHOR)
    low = high = None
    scale = payload.get("scale")
    if isinstance(scale, dict):
        for k in sorted(set(scale) - SCALE_FIELDS):
            errors[f"scale.{k}"] = _l("Unknown field.")
        low = _score(scale.get("min"), "scale.min", errors)
        high = _score(scale.get("max"), "scale.max", errors)
        if low is not None and high is not None and low >= high:
            errors["scale"] = _l("The scale's min must be below its max.")
    elif scale is not None:
        errors["scale"] = _l("Send the scale as an object with min and max, like {\"min\": 1, \"max\": 6}.")
    overall = _score(payload["overall"], "overall", errors) if payload.get("overall") is not None else None
    subs = {}
    raw_subs = payload.get("sub_scores")
    if isinstance(raw_subs, dict):
        if len(raw_subs) > MAX_SUB_SCORES:
            errors["sub_scores"] = _l("At most %(n)s sub-scores.", n=MAX_SUB_SCORES)
        for name, value in raw_subs.items():
            if not SUB_SCORE_NAME.match(name):
                errors[f"sub_scores.{inputs.single_line(name)[:40]}"] = _l(
                    "Name a sub-score with letters, digits, spaces, dots, dashes or underscores (at most 40).")
                continue
            subs[name] = _score(value, f"sub_scores.{name}", errors)
    elif raw_subs is not None:
        errors["sub_scores"] = _l("Send the sub-scores as an object of name -> number, like {\"room\": 5.0}.")
    recommends = payload.get("recommends")
    if recommends is not None and not isinstance(recommends, bool):
        errors["recommends"] = _l("Must be true or false.")
    text = inputs.text(payload.get("text"), "text", errors, max_len=MAX_TEXT)
    language = payload.get("language", "de")
    if not (isinstance(language, str) and LANGUAGE.match(language)):
        errors["language"] = _l("Use a language code like de, en or de-AT.")
    status = payload.get("status")
    if status is not None and status not in REVIEW_STATUSES:
        errors["status"] = _l("Use pending (not checked yet), published or archived.")
    totals = _totals(payload["partner_totals"], errors) if payload.get("partner_totals") is not None else None
    prop_id = payload.get("property_id")
    if prop_id is not None and (isinstance(prop_id, bool) or not isinstance(prop_id, int)):
        errors["property_id"] = _l("Must be a whole number.")
    if errors:
        raise Invalid(errors)
    return ReviewInput(review_id, written, author, overall, low, high, status, travel, subs, recommends, text,
                       language, totals, prop_id)

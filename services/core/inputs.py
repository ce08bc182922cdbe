"""What input the portal can take: text, whole numbers, money and moments, checked the same way
by every use case (and, for text that is no text at all, by the web edge before any query).

- Text that cannot be stored: a NUL byte (PostgreSQL refuses it in text, SQLite keeps it) or
  a lone UTF-16 surrogate (not encodable as UTF-8). `storable()` is the edge's test.
- Names are single lines: no control characters, so that a name can go into a header, an
  e-mail subject or an iCal line as it is (`line()`). Longer texts (`text()`) may have line
  breaks and tabs, nothing else below U+0020.
- Money: every amount fits `Numeric(10, 2)`, and the total of the largest booking the portal
  takes fits `Numeric(14, 2)`: MAX_UNITS_PER_BOOKING units for MAX_NIGHTS nights at
  MAX_NIGHT_PRICE, plus mandatory costs of at most MAX_COSTS a night. A longer stay, or prices stored before these
  bounds, are refused when the total would not fit (services.availability.pricing.check_total).
  A price with more than two decimal places is refused (`more_than_cents`), never rounded silently.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from services.core.i18n import Message, _l

# -- text ------------------------------------------------------------------------------------

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# C0 and C1 controls, DEL, the Unicode line and paragraph separators, lone surrogates.
_NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NOT_IN_A_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

UNSTORABLE = _l("Contains characters that cannot be stored (such as a NUL byte).")
NOT_A_LINE = _l("Use a single line without control characters (such as line breaks or tabs).")
NOT_A_TEXT = _l("Remove the control characters (line breaks and tabs are fine).")


# No white space and no control characters: an address goes into mail headers as it is.
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+$")


def storable(value: str) -> bool:
    """False for text no database column can hold as it is (NUL, lone surrogates)."""
    return _UNSTORABLE.search(value) is None


def single_line(value: str) -> str:
    """A stored name as one line, whatever was stored before names were checked (exports)."""
    return re.sub(r"\s+", " ", _NOT_IN_A_LINE.sub(" ", value)).strip()


def _checked(value, field: str, errors: dict, pattern: re.Pattern, bad: Message, required: Message | None,
             max_len: int | None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = _l("Must be a string.")
        return ""
    value = value.strip()
    if pattern.search(value):
        errors[field] = bad
    elif required is not None and not value:
        errors[field] = required
    elif max_len is not None and len(value) > max_len:
        errors[field] = _l("At most %(n)s characters.", n=max_len)
    return value


def line(value, field: str, errors: dict, required: Message | None = None, max_len: int | None = None) -> str:
    """A name or other single-line field, stripped; a problem goes into `errors[field]`.
    `required` is the message for an empty value (None: empty is fine)."""
    return _checked(value, field, errors, _NOT_IN_A_LINE, NOT_A_LINE, required, max_len)


def text(value, field: str, errors: dict, required: Message | None = None, max_len: int | None = None) -> str:
    """A longer text (notes, a message): line breaks and tabs allowed, other controls not."""
    return _checked(value, field, errors, _NOT_IN_A_TEXT, NOT_A_TEXT, required, max_len)


# -- whole numbers ---------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,9}")


def whole(value: str | None) -> int | None:
    """A non-negative whole number written in ASCII digits (at most 9 of them), else None.

    Not str.isdigit(): that accepts "²" and other digits int() refuses or reads differently."""
    return int(value) if value is not None and _DIGITS.fullmatch(value) else None


MAX_ID = 2**31 - 1  # the database's integer ids


# -- money -----------------------------------------------------------------------------------

MAX_MONEY = Decimal("99999999.99")  # Numeric(10, 2): a price, a cost, a deposit
MAX_TOTAL = Decimal("999999999999.99")  # Numeric(14, 2): a booking's total (models.Total)
MAX_NIGHTS = 366
MAX_UNITS_PER_BOOKING = 200
MAX_NIGHT_PRICE = Decimal("99999.99")  # per unit and night, in any currency (CZK too)
MAX_COSTS = Decimal("99999.99")  # a category's mandatory costs together (each one at most this)

# The largest booking the bounds allow (every cost charged per night) still fits the column.
assert MAX_UNITS_PER_BOOKING * MAX_NIGHTS * (MAX_NIGHT_PRICE + MAX_COSTS) <= MAX_TOTAL


def amount(value) -> Decimal | None:
    """A finite amount of 0 or more rounded to cents (from a string, or a Decimal from a form),
    else None. A decimal comma is read as a point. The caller compares it with its bound."""
    try:
        if isinstance(value, str):
            value = Decimal(value.strip().replace(",", ".", 1))
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            return None
        cents = value.quantize(Decimal("0.01"))  # InvalidOperation past 28 digits
        return cents if cents else Decimal("0.00")  # not "-0.00"
    except (InvalidOperation, ValueError):
        return None


def exact_amount(value: str) -> Decimal | None:
    """The amount as written (a decimal comma read as a point), not rounded; None if it is none."""
    try:
        return Decimal(value.strip().replace(",", ".", 1))
    except (InvalidOperation, ValueError, AttributeError):
        return None


def more_than_cents(value) -> bool:
    """True for an amount with more than two decimal places that are not zero ("89.999"):
    refused, not rounded, so that what is stored is what the host typed ("89.990" is fine)."""
    try:
        return isinstance(value, Decimal) and value.is_finite() and value != value.quantize(Decimal("0.01"))
    except InvalidOperation:  # past 28 digits: too large anyway, the caller's bound says so
        return False


TWO_DECIMALS = _l("Use at most two decimal places, e.g. 89.99.")


# -- stays ------------------------------------------------------------------------------------

TWO_YEARS = _l("A stay can last at most two years.")


def stay(arrival: dt.date | None, departure: dt.date | None, errors: dict, *, max_nights: int,
         too_long: Message | None = None, today: dt.date | None = None,
         fields: tuple[str, str] = ("arrival", "departure"), past: Message | None = None,
         order: Message | None = None) -> None:
    """The rules of a stay, or of any range of nights [arrival, departure), the departure night
    not included: the departure after the arrival, at most `max_nights`, and (given the
    property's `today`) no arrival in the past. Problems go into `errors` under `fields`; a
    caller whose range is not a guest's stay (a rate edit) words them with `past`, `order` and
    `too_long`."""
    first, last = fields
    if today is not None and arrival is not None and arrival < today:
        errors[first] = past or _l("The arrival cannot be in the past.")
    if arrival is None or departure is None:
        return
    if departure <= arrival:
        errors[last] = order or _l("The departure must be after the arrival.")
    elif (departure - arrival).days > max_nights:
        errors[last] = too_long or _l("At most %(n)s nights.", n=max_nights)


# -- moments ---------------------------------------------------------------------------------

# What a stored moment may be: read back in any session time zone, it is still a Python datetime.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.timezone.utc)


def aware_datetime(value, stored: bool = False) -> dt.datetime:
    """An ISO 8601 date and time with a time zone ("Z" allowed), in UTC; ValueError otherwise,
    also for a moment that exists in its own zone but not in UTC (0001-01-01T00:00+01:00), and,
    for a moment to be `stored`, for one outside EARLIEST..LATEST. (A moment only compared with,
    like `changed_since`, may be anything UTC can hold.)"""
    if not isinstance(value, str):
        raise ValueError("not a string")
    when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("no time zone")
    try:
        when = when.astimezone(dt.timezone.utc)
    except OverflowError:
        raise ValueError("out of range") from None
    if stored and not EARLIEST <= when < LATEST:
        raise ValueError("out of range")
    return when

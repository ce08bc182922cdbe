"""Form input: the domain's errors next to their fields, and what URLs and fields parse to."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import abort
from htmx_flask import request
from wtforms import DecimalField

from portal.web.i18n import fmt_date, tr
from services.core.errors import Conflict, Invalid
from services.core.inputs import whole


def apply_errors(form, error: Invalid, aliases: dict[str, str] | None = None) -> None:
    """Put the domain's field errors next to the form's fields (or on the form as a whole)."""
    aliases = aliases or {}
    for field, msg in error.errors.items():
        name = aliases.get(field, field)
        target = getattr(form, name, None)
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + [tr(msg)]
        else:
            form.form_errors.append(tr(msg))


def apply_conflict(form, error: Conflict, field: str = "arrival") -> None:
    """A stay that cannot be had: the message next to `field`, with the nights concerned
    (at most ten, in the reader's short date format)."""
    nights = ", ".join(fmt_date(n, "short") for n in error.details.get("nights", [])[:10])
    target = getattr(form, field)
    target.errors = list(target.errors) + [tr(error.message) + (f" ({nights})" if nights else "")]


class LocalDecimalField(DecimalField):
    """A DecimalField that also takes a decimal comma: German and Czech hosts type "99,50"."""

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str) and "," in valuelist[0] and "." not in valuelist[0]:
            valuelist = [valuelist[0].replace(",", ".", 1)] + list(valuelist[1:])
        super().process_formdata(valuelist)
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            # "NaN", "sNaN", "Infinity" are decimals to Python but no amount (sNaN even broke
            # NumberRange with a 500).
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


def parse_date(value: str | None) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    # The first and last representable days have no day before / after them (a night ends
    # the next day): treat them like any other impossible date instead of overflowing.
    return day if day is None or dt.date.min < day < dt.date.max else None


def page_number(name: str = "page") -> int:
    """A list's page number from the query: 1 unless it is plain ASCII digits ("²" passes
    str.isdigit()); a number past the last page is the use case's to clamp."""
    return max(1, whole(request.args.get(name)) or 1)


def parse_month(value: str | None, default: dt.date) -> dt.date:
    if not value:
        return default.replace(day=1)
    try:
        y, m = value.split("-")
        month = dt.date(int(y), int(m), 1)
    except (ValueError, OverflowError):  # OverflowError: a year with more digits than C's int
        abort(404)
    if not dt.MINYEAR < month.year < dt.MAXYEAR:
        abort(404)  # no month before or after it to link to (OverflowError otherwise)
    return month

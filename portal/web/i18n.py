"""The reader's language: translations, dates and money, looked up once per request."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency
from flask import g
from flask_babel import format_decimal, get_locale, get_translations, to_user_timezone

from services.core.i18n import Message


def _i18n():
    """This request's translations and formatted dates, looked up once per locale.

    A calendar page asks for a few hundred translations and dates; through Flask-Babel each
    costs a context and locale look-up, together a fifth of the page's time."""
    locale = get_locale()
    cached = g.get("_portal_i18n")
    if cached is None or cached[0] is not locale:
        cached = g._portal_i18n = (locale, get_translations(), {})
    return cached


def request_memo() -> dict:
    """A dict that lives as long as this request's locale: for words and dates worth formatting once."""
    return _i18n()[2]


def gettext(string: str, **variables) -> str:
    text = _i18n()[1].ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    variables.setdefault("num", n)
    return _i18n()[1].ungettext(singular, plural, n) % variables


# Dates in the reader's own order, times on the 24-hour clock in every language. English readers
# of a European portal get the British day-month order ("Thu, 10 Dec 2026"), never "12/10/26".
FORMAT_LOCALES = {"en": "en_GB"}
# Named styles beyond Babel's short/medium/long/full, as CLDR skeletons (each locale orders them).
DATE_SKELETONS = {"weekday": "yMMMEd", "day_month": "MMMd", "weekday_month": "MMMEd", "month": "yMMMM"}


def format_locale(locale=None) -> Locale:
    """The locale whose date and number formats a reader in `locale` (default: this request's) gets."""
    locale = Locale.parse(locale) if locale is not None else (get_locale() or Locale("de"))
    mapped = FORMAT_LOCALES.get(str(locale))
    return Locale.parse(mapped) if mapped else locale


def fmt_date(day, format: str = "medium") -> str:
    """A date in the reader's format, remembered for the request (a plan shows the same dates often).

    `format` is a Babel style (short, medium, long, full), a style of DATE_SKELETONS (weekday:
    "Do., 10. Dez. 2026" / "Thu, 10 Dec 2026" / "čt 10. 12. 2026") or a CLDR pattern. A datetime
    is shown on its date in the reader's time zone."""
    memo = _i18n()[2]
    key = (day, format)
    if key not in memo:
        if isinstance(day, dt.datetime):
            day = to_user_timezone(day).date()
        locale = format_locale()
        if format in DATE_SKELETONS:
            memo[key] = format_skeleton(DATE_SKELETONS[format], day, locale=locale)
        else:
            memo[key] = format_date(day, format, locale=locale)
    return memo[key]


def fmt_time(moment: dt.datetime) -> str:
    """HH:MM on the 24-hour clock, in the locale's own way of writing it."""
    return format_skeleton("Hm", moment, locale=format_locale())


def fmt_moment(moment: dt.datetime, tzname: str | None = None, with_date: bool = True, date_format: str = "short") -> str:
    """A stored UTC moment in the property's time zone (else the reader's): its date and 24-hour
    time joined the locale's way ("10/12/2026, 15:05", "10.12.26, 15:05", "10.12.26 15:05"), or the time only."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    local = moment.astimezone(ZoneInfo(tzname)) if tzname else to_user_timezone(moment)
    time = fmt_time(local)
    if not with_date:
        return time
    glue = format_locale().datetime_formats.get("short") or "{1} {0}"
    return glue.replace("{1}", fmt_date(local.date(), date_format)).replace("{0}", time)


def money(amount: Decimal | None, currency: str = "EUR") -> str:
    """An amount with its currency for the locale; nothing for no amount."""
    return "" if amount is None else format_currency(amount, currency, locale=format_locale())


def short_money(amount: Decimal) -> str:
    """A price that fits a calendar cell: no currency sign, cents only when there are some."""
    return format_decimal(amount, format="#,##0.##")


def tr(message) -> str:
    """Translate a domain Message (or pass a plain string through); its parameters that are
    Messages are translated too, and dates are written the reader's way (as services.core.i18n.render)."""
    if isinstance(message, Message):
        return gettext(message.text, **{k: _tr_param(v) for k, v in message.params.items()})
    return str(message)


def _tr_param(value):
    if isinstance(value, Message):
        return tr(value)
    if type(value) is dt.date:
        return fmt_date(value, "medium")
    return value

"""The reader's language: translations, dates and money, looked up once per request."""
from __future__ import annotations

from decimal import Decimal

from flask import g
from flask_babel import format_currency, format_date, format_decimal, get_locale, get_translations

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


def fmt_date(day, format: str = "medium") -> str:
    """flask_babel.format_date, remembered for the request (a plan shows the same dates often)."""
    memo = _i18n()[2]
    key = (day, format)
    if key not in memo:
        memo[key] = format_date(day, format)
    return memo[key]


def money(amount: Decimal | None, currency: str = "EUR") -> str:
    """An amount with its currency for the locale; nothing for no amount."""
    return "" if amount is None else format_currency(amount, currency)


def short_money(amount: Decimal) -> str:
    """A price that fits a calendar cell: no currency sign, cents only when there are some."""
    return format_decimal(amount, format="#,##0.##")


def tr(message) -> str:
    """Translate a domain Message (or pass a plain string through)."""
    if isinstance(message, Message):
        return gettext(message.text, **message.params)
    return str(message)

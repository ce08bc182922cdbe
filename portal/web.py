"""Rendering helpers shared by the blueprints."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import abort, g, make_response, render_template, url_for
from flask_babel import format_currency, format_date, format_datetime, format_decimal, get_locale, get_translations
from htmx_flask import request
from jinja2_fragments.flask import render_block
from wtforms import DecimalField

from services.channels import channel_label
from services.errors import Invalid
from services.i18n import Message, _l


def is_fragment_request() -> bool:
    """An htmx swap wants a fragment; a history restore or a direct visit wants the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request and not request.htmx.boosted


def render(template: str, block: str | None = None, status: int = 200, **ctx):
    """The whole page, or one block of it for htmx (the same URL serves both)."""
    if block and is_fragment_request():
        body = render_block(template, block, **ctx)
    else:
        body = render_template(template, **ctx)
    resp = make_response(body, status)
    resp.headers["Vary"] = "HX-Request"
    return resp


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


def hx_redirect(url: str):
    """Navigate after a successful POST: HX-Redirect for htmx, 303 otherwise."""
    if request.htmx:
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    resp = make_response("", 303)
    resp.headers["Location"] = url
    return resp


class LocalDecimalField(DecimalField):
    """A DecimalField that also takes a decimal comma: German and Czech hosts type "99,50"."""

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str) and "," in valuelist[0] and "." not in valuelist[0]:
            valuelist = [valuelist[0].replace(",", ".", 1)] + list(valuelist[1:])
        super().process_formdata(valuelist)


def parse_date(value: str | None) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    # The first and last representable days have no day before / after them (a night ends
    # the next day): treat them like any other impossible date instead of overflowing.
    return day if day is None or dt.date.min < day < dt.date.max else None


def parse_month(value: str | None, default: dt.date) -> dt.date:
    if not value:
        return default.replace(day=1)
    try:
        y, m = value.split("-")
        month = dt.date(int(y), int(m), 1)
    except ValueError:
        abort(404)
    if not dt.MINYEAR < month.year < dt.MAXYEAR:
        abort(404)  # no month before or after it to link to (OverflowError otherwise)
    return month


ACTIONS = {
    "rates": _l("Night edited"), "rates_bulk": _l("Bulk edit"), "booking_created": _l("Own booking entered"),
    "booking_changed": _l("Booking changed"), "booking_cancelled": _l("Booking cancelled"),
    "host_created": _l("Host registered"), "contract_activated": _l("Contract activated"),
    "contract_ended": _l("Contract ended"), "property_changed": _l("Details changed"),
    "category_added": _l("Room category added"), "extra_cost_added": _l("Mandatory cost added"),
    "extra_cost_removed": _l("Mandatory cost removed"), "password_changed": _l("Password changed"),
    "channel_on": _l("Channel module switched on"), "channel_off": _l("Channel module switched off"),
    "channel_key_regenerated": _l("New API key"), "channel_settings": _l("Channel settings changed"),
    "cancellation_requested": _l("Cancellation requested"), "deposit_set": _l("Deposit agreed"),
    "ical_feed_added": _l("Calendar added"), "ical_feed_removed": _l("Calendar removed"),
}


EVENTS = {
    "created": _l("Created"), "hold_created": _l("Temporary hold"), "confirmed": _l("Paid and confirmed"),
    "cancelled": _l("Cancelled by the channel"), "partially_cancelled": _l("Partly cancelled by the channel"),
    "expired": _l("Hold expired"), "modified": _l("Changed by the host"),
    "cancellation_requested": _l("Cancellation requested"), "deposit": _l("Deposit agreed"),
    "deposit_removed": _l("Deposit removed"),
}


SOURCE_LABELS = {
    "own": _l("Own booking"), "tourist_office": _l("Tourist-office site"), "slevomat": _l("Deal site (Slevomat)"),
    "booking": _l("Booking.com"), "e_domizil": _l("e-domizil"), "api": _l("Other API client"),
    "ical": _l("Imported calendar"),
}
KIND_LABELS = {**SOURCE_LABELS, "hold": _l("Temporary hold")}  # the calendar legend's entries


def source_label(kind: str) -> str:
    """Where a booking came from (or 'hold'), as the legend and the lists name it."""
    return tr(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


PAYMENT_LABELS = {"on_arrival": _l("Guest pays on arrival"), "prepaid": _l("Prepaid by the channel (e.g. e-domizil)")}


def _channel(code: str) -> str:
    return tr(channel_label(code))


def _params(stored: str) -> dict | None:
    """What services.i18n.stored kept; None for a record written as text (shown as it is)."""
    try:
        params = json.loads(stored) if stored else {}
    except ValueError:
        return None
    return params if isinstance(params, dict) else None


def _stay(p: dict, side: str) -> str:
    arrival, departure = dt.date.fromisoformat(p[side + "_arrival"]), dt.date.fromisoformat(p[side + "_departure"])
    return f"{fmt_date(arrival, 'short')}–{fmt_date(departure, 'short')} {p[side + '_category']}"


def audit_summary(summary: str) -> str:
    """A history line's details: its text, or its parameters in the reader's language."""
    p = _params(summary)
    if p is None:
        return summary
    if "hold_minutes" in p:
        return gettext("%(channel)s: hold time %(minutes)s min, %(payment)s", channel=_channel(p.get("channel", "")),
                       minutes=p["hold_minutes"], payment=tr(PAYMENT_LABELS.get(p.get("payment_mode"), p.get("payment_mode"))))
    return _channel(p["channel"]) if "channel" in p else ""


def feed_status(stored: str) -> str:
    """An imported calendar's last sync (services.ical stores it as parameters)."""
    status = _params(stored)
    if status is None:
        return stored
    if not status:
        return "–"
    if not status.get("ok"):
        return gettext("Could not be read: %(reason)s", reason=status.get("error", ""))
    return gettext("%(events)s entries read: %(added)s newly blocked, %(removed)s released, %(conflicts)s in conflict",
                   events=status["events"], added=status["added"], removed=status["removed"], conflicts=status["conflicts"])


def event_text(kind: str, detail: str) -> str:
    """A booking event's details in the reader's language (services.notify.event stores parameters)."""
    p = _params(detail)
    if p is None:
        return detail
    if "replaced_by" in p:
        return gettext("replaced by #%(id)s: %(old)s → %(new)s", id=p["replaced_by"], old=_stay(p, "from"), new=_stay(p, "to"))
    if "replaces" in p:
        return gettext("change of #%(id)s: %(old)s → %(new)s", id=p["replaces"], old=_stay(p, "from"), new=_stay(p, "to"))
    if kind == "hold_created" and "until" in p:
        return gettext("from %(channel)s, held until %(time)s", channel=_channel(p.get("channel", "")),
                       time=format_datetime(dt.datetime.fromisoformat(p["until"]), "short"))
    if kind == "confirmed":
        text = gettext("voucher %(voucher)s", voucher=p.get("voucher") or "-")
        return text + (" " + gettext("(after the hold had expired)") if p.get("after_expiry") else "")
    if kind == "partially_cancelled":
        return gettext("units cancelled: %(cancelled)s, units kept: %(kept)s", cancelled=p.get("cancelled"), kept=p.get("kept"))
    if kind == "deposit" and "amount" in p:
        return gettext("%(amount)s due %(date)s", amount=money(Decimal(p["amount"]), p.get("currency", "EUR")),
                       date=fmt_date(dt.date.fromisoformat(p["due"]), "short"))
    if kind == "cancellation_requested":
        return p.get("note", "")
    if "channel" in p:
        return gettext("from %(channel)s", channel=_channel(p["channel"]))
    return ""


def register_template_helpers(app) -> None:
    @app.template_filter("dec")
    def dec(value) -> Decimal | None:
        """A stored decimal string (price breakdowns) back to Decimal, never through float."""
        return None if value is None else Decimal(str(value))

    app.jinja_env.globals["event_label"] = lambda kind: tr(EVENTS.get(kind, Message(kind)))
    app.jinja_env.globals["event_text"] = event_text
    app.jinja_env.globals["feed_status"] = feed_status

    app.jinja_env.filters["short_money"] = short_money

    @app.template_filter("tz")
    def tz(name: str) -> ZoneInfo:
        return ZoneInfo(name)

    app.jinja_env.globals["tr"] = tr
    app.jinja_env.globals["source_label"] = source_label
    # Flask-Babel's own template callables, with the translations looked up once per request.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _i18n()[1].ugettext(s), ngettext=lambda s, p, n: _i18n()[1].ungettext(s, p, n),
        pgettext=lambda c, s: _i18n()[1].upgettext(c, s),
        npgettext=lambda c, s, p, n: _i18n()[1].unpgettext(c, s, p, n), newstyle=True)
    app.jinja_env.globals["audit_summary"] = audit_summary
    app.jinja_env.globals["action_label"] = lambda action: tr(ACTIONS.get(action, Message(action)))

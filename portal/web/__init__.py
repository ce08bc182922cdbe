"""The web edge's helpers, by concern:

- render:  pages or htmx fragments from one URL, redirects after a POST, URL prefixes;
- i18n:    translations, dates and money in the reader's language, once per request;
- forms:   domain errors next to fields, parsing of dates, months and page numbers;
- labels:  the words for codes (history actions, booking events, sources, payment modes);
- records: history lines, booking events and sync results stored as parameters, worded.

This module wires them into Jinja.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal.web.i18n import _i18n, fmt_moment, short_money, tr
from portal.web.labels import ACTIONS, EVENTS, source_label
from portal.web.records import audit_summary, event_text, feed_status
from portal.web.render import url_prefix
from services.bookings import notify
from services.core import clock
from services.core.i18n import Message


def register_template_helpers(app) -> None:
    @app.template_filter("dec")
    def dec(value) -> Decimal | None:
        """A stored decimal string (price breakdowns) back to Decimal, never through float."""
        return None if value is None else Decimal(str(value))

    app.jinja_env.globals["event_label"] = lambda kind: tr(EVENTS.get(kind, Message(kind)))
    app.jinja_env.globals["event_text"] = event_text
    app.jinja_env.globals["feed_status"] = feed_status

    app.jinja_env.filters["short_money"] = short_money

    @app.template_filter("local_time")
    def local_time(moment: dt.datetime, tzname: str, with_date: bool = True) -> str:
        """A stored UTC moment in the property's time zone: its date and 24-hour time the reader's way."""
        return fmt_moment(moment, tzname, with_date)

    app.jinja_env.globals["tr"] = tr
    app.jinja_env.globals["url_prefix"] = url_prefix
    app.jinja_env.globals["source_label"] = source_label
    # "Voucher" for the deal site's bookings, "Reservation number" for every other channel's.
    app.jinja_env.globals["reference_label"] = lambda source: tr(notify.reference_label(source))
    # A booking's status as every reader sees it (a hold past its time is expired, swept or not).
    app.jinja_env.globals["booking_status"] = lambda b: b.effective_status(clock.now())
    # Flask-Babel's own template callables, with the translations looked up once per request.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _i18n()[1].ugettext(s), ngettext=lambda s, p, n: _i18n()[1].ungettext(s, p, n),
        pgettext=lambda c, s: _i18n()[1].upgettext(c, s),
        npgettext=lambda c, s, p, n: _i18n()[1].unpgettext(c, s, p, n), newstyle=True)
    app.jinja_env.globals["audit_summary"] = audit_summary
    app.jinja_env.globals["action_label"] = lambda action: tr(ACTIONS.get(action, Message(action)))

"""Records stored as parameters (history lines, booking events, iCal sync results), worded
for the reader (services.core.i18n.stored keeps them)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from portal.web.i18n import fmt_date, fmt_moment, gettext, money, ngettext, tr
from portal.web.labels import PAYMENT_LABELS, _channel
from services.bookings import notify
from services.channels.ical import failure_reason
from services.office.cancellations import TOLD_BY_LABELS


def _params(stored: str) -> dict | None:
    """What services.core.i18n.stored kept; None for a record written as text (shown as it is)."""
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
    if p.get("programme") == "risk_free":
        return p.get("property", "")
    return _channel(p["channel"]) if "channel" in p else ""


def feed_status(stored: str) -> str:
    """An imported calendar's last sync (services.channels.ical stores it as parameters)."""
    status = _params(stored)
    if status is None:
        return stored
    if not status:
        return "–"
    if not status.get("ok"):
        # Only the reason code is worded: what the address answered never reaches the page.
        reason = failure_reason(status)
        return gettext("Could not be read: %(reason)s", reason=tr(reason)) if reason else gettext("Could not be read.")
    return gettext("%(events)s entries read: %(added)s newly blocked, %(removed)s released, %(conflicts)s in conflict",
                   events=status["events"], added=status["added"], removed=status["removed"], conflicts=status["conflicts"])


def event_text(kind: str, detail: str, source: str = "") -> str:
    """A booking event's details in the reader's language (services.core.audit.booking_event stores
    parameters); `source` names the booking's channel, whose code is a voucher or a reservation number."""
    p = _params(detail)
    if p is None:
        return detail
    if "replaced_by" in p:
        return gettext("replaced by #%(id)s: %(old)s → %(new)s", id=p["replaced_by"], old=_stay(p, "from"), new=_stay(p, "to"))
    if "replaces" in p:
        return gettext("change of #%(id)s: %(old)s → %(new)s", id=p["replaces"], old=_stay(p, "from"), new=_stay(p, "to"))
    if kind == "hold_created" and "until" in p:
        return gettext("from %(channel)s, held until %(time)s", channel=_channel(p.get("channel", "")),
                       time=fmt_moment(dt.datetime.fromisoformat(p["until"])))
    if kind == "confirmed":
        text = f"{tr(notify.reference_label(source))} {p.get('voucher') or '-'}"
        return text + (" " + gettext("(after the hold had expired)") if p.get("after_expiry") else "")
    if kind == "resold" and "nights" in p:
        return gettext("%(nights)s to booking #%(id)s", id=p.get("by"),
                       nights=", ".join(fmt_date(dt.date.fromisoformat(n), "short") for n in p["nights"]))
    if kind == "paid_by_platform" and "amount" in p:
        return ngettext("%(num)s room-night, %(amount)s", "%(num)s room-nights, %(amount)s", p.get("count", 0),
                        amount=money(Decimal(p["amount"]), p.get("currency", "EUR")))
    if kind == "partially_cancelled":
        return gettext("units cancelled: %(cancelled)s, units kept: %(kept)s", cancelled=p.get("cancelled"), kept=p.get("kept"))
    if kind == "deposit" and "amount" in p:
        return gettext("%(amount)s due %(date)s", amount=money(Decimal(p["amount"]), p.get("currency", "EUR")),
                       date=fmt_date(dt.date.fromisoformat(p["due"]), "short"))
    if kind == "cancellation_requested":
        return p.get("note", "")
    if kind == "risk_free_not_applied":
        if p.get("reason") == "not_opted_in":
            return gettext("sent as risk-free, stored as an ordinary booking: the property has not joined the programme")
        return gettext("sent as risk-free, stored as an ordinary booking: the platform does not offer the programme "
                       "to this property")
    if kind == "unit_moved" and "to" in p:
        return f"{', '.join(p.get('from') or []) or gettext('no room')} → {', '.join(p['to'])}"
    if kind == "card_invalid":
        return gettext("card ending in %(last4)s; the channel has been told", last4=p.get("last4") or "–")
    if kind in ("conflict_replacement_offered", "conflict_rehoused") and "property" in p:
        text = f"{p.get('category', '')}, {p['property']}, {money(Decimal(p['total']), p.get('currency', 'EUR'))}"
        if p.get("commission_kept"):
            extra = money(Decimal(p["extra_cost"]), p.get("currency", "EUR")) if p.get("extra_cost") is not None else "–"
            text += " · " + gettext("commission stays due; extra cost charged to the host: %(amount)s", amount=extra)
        return text
    if kind == "rehoused_from":
        return gettext("replaces booking #%(id)s at %(property)s", id=p.get("original"), property=p.get("property", ""))
    if kind == "conflict_new_dates" and "to_arrival" in p:
        return " → ".join(f"{fmt_date(dt.date.fromisoformat(p[s + '_arrival']), 'short')}–"
                          f"{fmt_date(dt.date.fromisoformat(p[s + '_departure']), 'short')}" for s in ("from", "to"))
    if kind == "cancellation_reported" and "told_on" in p:  # R20
        text = gettext("the guest told the host %(how)s on %(date)s", how=tr(TOLD_BY_LABELS.get(p.get("told_by"), "")),
                       date=fmt_date(dt.date.fromisoformat(p["told_on"]), "short"))
        return f"{text}: {p['note']}" if p.get("note") else text
    if kind == "office_cancelled" and "fee" in p:
        return gettext("cancellation fee billed by the host: %(amount)s",
                       amount=money(Decimal(p["fee"]), p.get("currency", "EUR")))
    if kind == "cancellation_declined":
        return p.get("note", "")
    if kind.startswith("conflict_"):
        return p.get("note", "")
    if "channel" in p:
        return gettext("from %(channel)s", channel=_channel(p["channel"]))
    return ""

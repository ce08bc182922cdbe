"""A property's history in the reader's language: each line's action and what changed, old -> new.

services.core.audit.record stores parameters (JSON in AuditEntry.summary), never words; here
they become text with dates and money formatted for the locale. Only changed fields are
shown, by their name in the reader's language; a line written as plain text before (older
rows) shows as it is.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal.web.i18n import fmt_date, gettext, money, ngettext, tr
from portal.web.labels import ACTIONS, INVENTORY_MODE_LABELS, PAYMENT_LABELS, _channel, category_kind_label
from portal.web.records import _params, audit_summary
from services.availability.undo import MAX_SHOWN
from services.core.i18n import Message, _l, stored
from services.properties.photos import motive_label

# Actions recorded by this part of the portal, besides those portal.web.labels names.
MORE_ACTIONS = {"rates_undo": _l("Change undone"), "gap_fix": _l("Gap closed")}

RATE_FIELDS = {"price": _l("Price"), "quota": _l("Quota"), "min_stay": _l("Minimum stay"),
               "max_stay": _l("Maximum stay"), "closed": _l("Status"),
               "closed_to_arrival": _l("Arrival"), "closed_to_departure": _l("Departure")}
PROPERTY_FIELDS = {"name": _l("Name"), "street": _l("Street"), "postcode": _l("Postcode"), "city": _l("City"),
                   "country": _l("Country"), "phone": _l("Phone"), "email": _l("E-mail")}
PER = {"stay": _l("per stay"), "night": _l("per night")}


def action_text(action: str) -> str:
    label = ACTIONS.get(action) or MORE_ACTIONS.get(action)
    return tr(label) if label is not None else action


def _date(iso: str | None) -> str:
    return fmt_date(dt.date.fromisoformat(iso), "medium") if iso else "–"


def _money(value, currency: str) -> str:
    return money(Decimal(str(value)), currency) if value is not None else "–"


def _rate_value(field: str, value, currency: str) -> str:
    if field == "price":
        return _money(value, currency) if value is not None else gettext("no price")
    if field == "min_stay":
        return ngettext("%(num)s night", "%(num)s nights", int(value))
    if field == "max_stay":
        return ngettext("%(num)s night", "%(num)s nights", int(value)) if value is not None else gettext("no limit")
    if field == "closed":
        return gettext("closed") if value else gettext("open for sale")
    if field in ("closed_to_arrival", "closed_to_departure"):
        return gettext("not allowed") if value else gettext("allowed")
    return str(value)


def _values(field: str, values: list, currency: str) -> str:
    if len(values) > MAX_SHOWN:
        return gettext("various")
    return " / ".join(_rate_value(field, v, currency) for v in values)


def _nights(p: dict) -> str:
    if not p.get("first"):
        return ""
    if p.get("nights", 1) <= 1 or p["first"] == p["last"]:
        return _date(p["first"])
    return "%s–%s (%s)" % (_date(p["first"]), _date(p["last"]), ngettext("%(num)s night", "%(num)s nights", p["nights"]))


def _calendar(p: dict, currency: str) -> str:
    changes = "; ".join(
        f"{tr(RATE_FIELDS[f])}: {_values(f, old, currency)} → {_values(f, new, currency)}"
        for f, (old, new) in p.get("changes", {}).items() if f in RATE_FIELDS)
    where = f"{', '.join(p.get('categories', []))} {_nights(p)}".strip()
    text = f"{where}: {changes}" if changes else where + " " + gettext("(nothing changed)")
    if "undoes" in p:
        text = action_text(p.get("undone_action", "")) + " · " + text  # the label says "Change undone"
    return text


def _stay(p: dict, side: str) -> str:
    if not p.get(side + "_arrival"):
        return ""
    arrival, departure = dt.date.fromisoformat(p[side + "_arrival"]), dt.date.fromisoformat(p[side + "_departure"])
    return f"{fmt_date(arrival, 'short')}–{fmt_date(departure, 'short')} {p.get(side + '_category', '')}".strip()


def _booking(p: dict) -> str:
    return f"#{p['booking']} {p.get('guest', '')}".strip()


def _old_new(label, old: str, new: str) -> str:
    return f"{tr(label)}: {old} → {new}"


def _details(action: str, p: dict, currency: str) -> str:
    if action in ("rates", "rates_bulk", "gap_fix", "rates_undo") and "changes" in p:
        return _calendar(p, currency)
    if action == "booking_changed" and "booking" in p:
        head = _booking(p) if "new_booking" not in p else f"#{p['booking']} → #{p['new_booking']} {p.get('guest', '')}".strip()
        old, new = _stay(p, "from"), _stay(p, "to")
        return f"{head}: {old} → {new}" if old and old != new else head
    if action == "booking_created" and "booking" in p:
        stay = f"{fmt_date(dt.date.fromisoformat(p['arrival']), 'short')}–{fmt_date(dt.date.fromisoformat(p['departure']), 'short')}"
        return f"{_booking(p)}, {p.get('category', '')}, {stay}"
    if action == "cancellation_requested" and "booking" in p:
        return _booking(p) + (", " + gettext("voucher %(voucher)s", voucher=p["voucher"]) if p.get("voucher") else "")
    if action == "deposit_set" and "booking" in p:
        cur = p.get("currency", currency)
        old = f"{_money(p.get('from_amount'), cur)} ({_date(p['from_due'])})" if p.get("from_amount") is not None else gettext("none")
        new = f"{_money(p.get('to_amount'), cur)} ({_date(p['to_due'])})" if p.get("to_amount") is not None else gettext("none")
        return f"{_booking(p)}: {old} → {new}"
    if "booking" in p:  # booking_cancelled
        return _booking(p)
    if action == "host_created":
        return f"{p.get('host', '')} <{p.get('email', '')}>, {p.get('property', '')}"
    if action in ("contract_activated", "contract_ended", "contract_suspended"):
        return p.get("property", "") + (f": {p['note']}" if p.get("note") else "")
    if action in ("statement_sent", "statement_resent"):  # services.office.statements.send
        return f"{p.get('month', '')}: {_money(p.get('commission'), p.get('currency', currency))}"
    if action == "commission_rates_changed":
        before, after = p.get("before", {}), p.get("after", {})
        return "; ".join(_old_new(_channel(ch), f"{before[ch]} %" if ch in before else "–",
                                  f"{after[ch]} %" if ch in after else "–")
                         for ch in sorted(set(before) | set(after)) if before.get(ch) != after.get(ch))
    if action == "property_changed":
        return "; ".join(_old_new(PROPERTY_FIELDS.get(f, Message(f)), old or "–", new or "–")
                         for f, (old, new) in p.get("changes", {}).items())
    if action == "category_added":
        return f"{p.get('category', '')}: {', '.join(p.get('units', []))}"
    if action in ("extra_cost_added", "extra_cost_removed"):
        per = tr(PER[p["per"]]) if p.get("per") in PER else ""
        return f"{p.get('name', '')} {_money(p.get('amount'), p.get('currency', currency))} {per}".strip()
    if action in ("ical_feed_added", "ical_feed_removed"):
        return f"{p.get('category', '')}: {p.get('feed', '')}" if p.get("category") else p.get("feed", "")
    if action == "ical_url_renewed":
        return p.get("category", "")
    if action == "channel_settings" and "changes" in p:
        parts = []
        changes = p["changes"]
        if "hold_minutes" in changes:
            old, new = changes["hold_minutes"]
            parts.append(_old_new(_l("hold time"), gettext("%(minutes)s min", minutes=old), gettext("%(minutes)s min", minutes=new)))
        if "payment_mode" in changes:
            old, new = (tr(PAYMENT_LABELS.get(v, Message(v))) for v in changes["payment_mode"])
            parts.append(_old_new(_l("payment"), old, new))
        if "inventory_mode" in changes:
            old, new = (tr(INVENTORY_MODE_LABELS.get(v, Message(v))) for v in changes["inventory_mode"])
            parts.append(_old_new(_l("bookings"), old, new))
        if "webhook_url" in changes:
            parts.append(gettext("webhook address changed"))
        if "contact_email" in changes:
            parts.append(_old_new(_l("contact e-mail"), *(v or "–" for v in changes["contact_email"])))
        return f"{_channel(p.get('channel', ''))}: {'; '.join(parts)}" if parts else _channel(p.get("channel", ""))
    if action == "ari_full_sync" and "channel" in p:
        return gettext("%(channel)s: the next %(days)s days", channel=_channel(p["channel"]), days=p.get("days", ""))
    if action == "category_kind_changed" and "to" in p:
        return f"{p.get('category', '')}: {category_kind_label(p.get('from', ''))} → {category_kind_label(p['to'])}"
    if action == "category_renamed" and "to" in p:
        return f"{p.get('from', '')} → {p['to']}"
    if action == "unit_renamed" and "to" in p:
        return f"{p.get('category', '')}: {p.get('from', '')} → {p['to']}"
    if action == "category_deleted" and "category" in p:
        return f"{p['category']}: {', '.join(p.get('units', []))}"
    if action == "unit_deleted" and "unit" in p:
        return f"{p.get('category', '')}: {p['unit']}"
    if action in ("review_replied", "review_reply_edited", "review_reported") and "review" in p:
        said = p.get("reply") if "reply" in p else p.get("reason", "")
        return f"{p.get('author', '')}, {_date(p.get('written_on'))}: {said}"
    if action in ("review_received", "review_updated") and "partner_review_id" in p:
        return f"{p.get('author', '')}, {_date(p.get('written_on'))} ({p['partner_review_id']})"
    if action == "review_totals" and p.get("partner_totals"):
        count, average = p["partner_totals"]
        return gettext("%(count)s reviews, average %(average)s", count=count, average=average or "–")
    if action in PHOTO_ACTIONS and ("photo" in p or action == "photos_reordered"):
        return _photo(action, p)
    if action == "photos_uploaded" and "accepted" in p:  # services/properties/photo_intake.py
        accepted = ngettext("%(num)s photo accepted", "%(num)s photos accepted", p["accepted"])
        refused = ngettext("%(num)s refused", "%(num)s refused", p["refused"]) if p.get("refused") else ""
        return f"{accepted}, {refused}" if refused else accepted
    if action in ("password_changed", "password_set"):
        return p.get("email", "")
    if action == "invitation_sent":
        return f"{p.get('name', '')} <{p.get('email', '')}>"
    if action == "signed_out_everywhere":
        return p.get("name", "")
    return audit_summary_params(p)


PHOTO_ACTIONS = ("photo_changed", "photo_moved", "photos_reordered", "photo_cover", "photo_deleted")
PHOTO_FIELDS = {"motive": _l("Motive"), "category": _l("Room category"), "description": _l("Description")}


def _photo(action: str, p: dict) -> str:
    """A photo's history line (services/properties/photos.py): photos are named by their place."""
    def said(field: str, value) -> str:
        if field == "motive":
            return tr(motive_label(value)) if value else "–"
        return f"“{value}”" if field == "description" and value else (value or "–")

    if action == "photos_reordered":
        return gettext("%(moved)s of %(photos)s photos in a new place", moved=p.get("moved", ""), photos=p.get("photos", ""))
    head = gettext("Photo %(place)s", place=p["photo"])
    if action == "photo_changed":
        changes = p.get("changes", {})
        return head + ": " + "; ".join(_old_new(PHOTO_FIELDS[f], said(f, changes[f][0]), said(f, changes[f][1]))
                                       for f in PHOTO_FIELDS if f in changes)
    if action == "photo_moved":
        return gettext("Photo %(place)s → place %(to)s", place=p["photo"], to=p.get("to", ""))
    if action == "photo_cover":
        text = head + (f" “{p['description']}”" if p.get("description") else "")
        return text + (" · " + gettext("before: photo %(place)s", place=p["before"]) if p.get("before") else "")
    if action == "photo_deleted":
        text = head + (f" ({said('motive', p['motive'])})" if p.get("motive") else "") + \
            (f" “{p['description']}”" if p.get("description") else "")
        return text + (" · " + gettext("photo %(place)s is the cover now", place=p["cover"]) if p.get("cover") else "")
    return head


def audit_summary_params(p: dict) -> str:
    """Parameters written before this module (channel events): worded as portal.web.records did."""
    return audit_summary(stored(p))


def details(action: str, summary: str, currency: str = "EUR") -> str:
    """What a history line changed, in the reader's language; a line stored as text as it is."""
    p = _params(summary)
    if p is None:
        return summary
    if not p:
        return ""
    return _details(action, p, currency)

"""What a host may do with a channel booking.

A host never cancels a channel booking (R32): they request it, and the channel cancels. A
host may change dates or room category (R33, R34): the original is recorded as modified and
replaced by a new stay, checked and taken atomically like any booking.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from services.availability import inventory, pricing
from services.bookings import notify
from services.channels import wire
from services.core import audit, clock, inputs
from services.bookings.own import get_booking
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.core.i18n import Message, _l
from services.availability.inventory import MAX_RANGE_DAYS
from services.channels.connections import channel_label
from services.models import Booking, MailMessage, OutboxEvent, Property, RoomCategory, User

# A request to cancel goes to a channel's contact in English: channels sell across borders.
CHANNEL_LOCALE = "en"


def modify(session: Session, actor: User, prop: Property, booking_id: int, arrival: dt.date, departure: dt.date,
           category_id: int) -> Booking:
    """R33/R34: the host changes dates or room category; returns the new stay that replaces the original."""
    old = get_booking(session, actor, prop, booking_id)
    if old.connection_id is None:
        raise Conflict(_l("Own bookings are changed with the booking form."), code="not_channel")
    if old.status != "confirmed":
        raise Conflict(_l("Only confirmed bookings can be changed."), code="not_confirmed")
    errors = {}
    cat = session.get(RoomCategory, category_id)
    if cat is None or cat.property_id != prop.id:
        errors["category_id"] = _l("Choose a room category of this property.")
    inputs.stay(arrival, departure, errors, max_nights=MAX_RANGE_DAYS, too_long=inputs.TWO_YEARS,
                today=clock.today(prop.timezone))
    if cat is not None and old.units > len(cat.units):
        errors["category_id"] = _l("This category has only %(n)s units.", n=len(cat.units))
    if errors:
        raise Invalid(errors)
    if (arrival, departure, cat.id) == (old.arrival, old.departure, old.category_id):
        raise Invalid({"arrival": _l("Nothing changed: choose other dates or another room category.")})
    now = clock.now()
    new = Booking(
        property_id=prop.id, category_id=cat.id, source=old.source, status="confirmed", arrival=arrival,
        departure=departure, units=old.units, guests=old.guests, guest_name=old.guest_name,
        guest_email=old.guest_email, guest_phone=old.guest_phone, notes=old.notes,
        connection_id=old.connection_id, external_id=None, voucher=old.voucher, payment_mode=old.payment_mode,
        deposit_amount=old.deposit_amount, deposit_due=old.deposit_due, risk_free=old.risk_free,
        free_cancellation_until=old.free_cancellation_until, replaces_id=old.id,
        created_by_id=actor.id, created_at=now, updated_at=now,
    )
    new.price_breakdown = pricing.breakdown(session, prop, cat, arrival, departure, old.units, None)
    total = new.price_breakdown["total"]
    new.total_price = None if total is None else Decimal(total)
    pricing.check_total(new.total_price)
    with use_case(session) as uc:
        session.add(new)
        inventory.touch(session, category_ids=[old.category_id, new.category_id])  # both, by id: one lock order
        inventory.release(session, old)
        # The host agreed this with the guest: free units are needed, restrictions are the host's call.
        inventory.take(session, new, check_offer=False)
        old.status, old.replaced_by_id, old.updated_at = "modified", new.id, now
        audit.booking_event(session, old, "modified", actor, replaced_by=new.id, **audit.change_params(old, new))
        audit.booking_event(session, new, "created", actor, replaces=old.id, **audit.change_params(old, new))
        notify.webhook(session, old.connection, "reservation.modified", {"original": wire.reservation(old), "replacement": wire.reservation(new)})
        change = Message("%(old_stay)s %(old_category)s → %(new_stay)s %(new_category)s", old_stay=notify.stay(old),
                         old_category=old.category.name, new_stay=notify.stay(new), new_category=cat.name)
        notify.mail_host(session, prop, _l("Booking changed: %(guest)s", guest=old.guest_name),
                         _l("The booking of %(guest)s was changed: %(detail)s. The original order is marked as modified; the new stay is booking #%(id)s.",
                            guest=old.guest_name, detail=change, id=new.id), booking=new)
        audit.record(session, actor, prop, "booking_changed", booking=old.id, new_booking=new.id, guest=old.guest_name,
                     **audit.change_params(old, new))
        uc.keep(new, actor)  # the answer (redirect, flash) needs no query after the commit
    return new


def request_cancellation(session: Session, actor: User, prop: Property, booking_id: int, note: str = "") -> Booking:
    """R32: the host cannot cancel a channel booking; the channel gets a request with the voucher:
    by webhook when the connection has one, else by e-mail to the channel's contact. With
    neither it is refused (never "sent" to nowhere). The booking keeps which row carries it,
    so its page shows when it was delivered (`cancel_request_status`)."""
    b = get_booking(session, actor, prop, booking_id)
    if b.connection_id is None:
        raise Conflict(_l("Own bookings are cancelled directly."), code="not_channel")
    if not b.occupies(clock.now()):  # an expired hold is over, swept or not
        raise Conflict(_l("This booking is no longer active."), code="not_active")
    errors = {}
    note = inputs.text(note, "note", errors, max_len=1000)
    if errors:
        raise Invalid(errors)
    conn = b.connection
    by_webhook = conn.active and bool(conn.webhook_url)
    if not by_webhook and not conn.contact_email:
        raise Conflict(_l("%(channel)s cannot be reached from here: its connection has neither a webhook address nor "
                          "a contact e-mail. Add the channel's contact e-mail in Settings - Modules, or ask the "
                          "tourist office to pass the request on.", channel=channel_label(b.source)),
                       code="channel_unreachable")
    with use_case(session) as uc:
        now = clock.now()
        b.cancel_requested_at, b.updated_at = now, now
        audit.booking_event(session, b, "cancellation_requested", actor, note=note)
        if by_webhook:
            event = notify.webhook(session, conn, "reservation.cancellation_requested",
                                   {"reservation": wire.reservation(b), "voucher": b.voucher, "note": note})
            b.cancel_request_event_id, b.cancel_request_mail_id = event.id, None
        else:
            mail = notify.mail_to(
                session, prop, "channel", conn.contact_email, CHANNEL_LOCALE,
                _l("Cancellation request: %(reference)s, %(guest)s, %(stay)s", reference=notify.reference(b),
                   guest=b.guest_name, stay=notify.stay(b)),
                _l("%(property)s asks you to cancel this booking (%(stay)s, %(category)s x %(units)s): the guest "
                   "wants to cancel it. Only you can cancel it; once you have, the booking and its nights are "
                   "released in the portal.\n\nMessage from the host: %(note)s",
                   property=prop.name, stay=notify.stay(b), category=b.category.name, units=b.units, note=note or "-"),
                booking=b)
            session.flush()
            b.cancel_request_event_id, b.cancel_request_mail_id = None, mail.id
        audit.record(session, actor, prop, "cancellation_requested", booking=b.id, guest=b.guest_name, voucher=b.voucher or "")
        uc.keep(b, actor)
    return b


def cancel_request_status(session: Session, b: Booking) -> dict | None:
    """How the host's cancellation request went to the channel (R32) and whether it arrived:
    {"via": "webhook" | "email", "to": the address (e-mail only), "delivered_at": None while queued};
    None when no request was sent this way. At most one query."""
    if b.cancel_request_event_id is not None:
        event = session.get(OutboxEvent, b.cancel_request_event_id)
        return {"via": "webhook", "to": "", "delivered_at": event.delivered_at if event else None}
    if b.cancel_request_mail_id is not None:
        mail = session.get(MailMessage, b.cancel_request_mail_id)
        return {"via": "email", "to": mail.recipient if mail else "", "delivered_at": mail.sent_at if mail else None}
    return None

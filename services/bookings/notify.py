"""Outgoing messages, written in the same transaction as the change they report.

Webhooks go to the connection's URL as OutboxEvent rows; e-mails to the host as
MailMessage rows. `services.channels.outbox` delivers both; a request never waits on another server.
The e-mails also make the host's message log (`messages`).
"""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency

from services.accounts import access
from services.core import clock
from services.core.i18n import Message, _l, render
from services.models import Booking, ChannelConnection, MailMessage, OutboxEvent, Property, User


def webhook(session: Session, conn: ChannelConnection | None, name: str, data: dict) -> OutboxEvent | None:
    """Queue a webhook for the connection (if it has a URL). The body is fixed now: what is signed is what is sent."""
    if conn is None or not conn.webhook_url or not conn.active:
        return None
    now = clock.now()
    row = OutboxEvent(connection_id=conn.id, event=name, body="", created_at=now, next_attempt_at=now)
    session.add(row)
    session.flush()
    row.body = json.dumps({"id": row.id, "event": name, "created_at": now.isoformat(), "data": data},
                          separators=(",", ":"), sort_keys=True, default=str)
    return row


# Channels whose guests carry a voucher (the deal site sells them); every other channel's
# booking has a reservation number, and is called so on every page, e-mail and record.
VOUCHER_CHANNELS = frozenset({"slevomat"})
# Dates and money in the reader's order (as portal.web.i18n.FORMAT_LOCALES): English readers
# of a European portal get "10 Dec 2026" and "€193.00", German "10.12.2026" and "193,00 €".
FORMAT_LOCALES = {"en": "en_GB"}


class Amount:
    """Money in a message, formatted in the reader's locale when the message is worded."""
    __slots__ = ("amount", "currency")

    def __init__(self, amount, currency: str):
        self.amount, self.currency = amount, currency


def reference_label(source: str) -> Message:
    """What a channel booking's code is called: a voucher (deal site) or a reservation number."""
    return _l("Voucher") if source in VOUCHER_CHANNELS else _l("Reservation number")


def reference(b: Booking) -> Message:
    """'Voucher: ABC' or 'Reservation number: ABC' (or '-' before there is one), for messages."""
    code = b.voucher or "-"
    if b.source in VOUCHER_CHANNELS:
        return _l("Voucher: %(code)s", code=code)
    return _l("Reservation number: %(code)s", code=code)


def guest_contact(b: Booking) -> Message:
    """R24: every booking message to the host carries the guest's full contact."""
    return _l("Guest: %(guest)s\nE-mail: %(email)s\nPhone: %(phone)s",
              guest=b.guest_name, email=b.guest_email or "-", phone=b.guest_phone or "-")


def _for_reader(message, locale: str):
    """The message with its money and dates formatted for the reader's locale."""
    if not isinstance(message, Message):
        return message
    fmt = Locale.parse(FORMAT_LOCALES.get(locale, locale))
    params = {}
    for k, v in message.params.items():
        if isinstance(v, Message):
            v = _for_reader(v, locale)
        elif isinstance(v, Amount):
            v = format_currency(v.amount, v.currency, locale=fmt)
        elif type(v) is dt.date:
            v = format_date(v, "medium", locale=fmt)
        params[k] = v
    return Message(message.text, **params)


def mail_host(session: Session, prop: Property, subject: Message, body: Message,
              booking: Booking | None = None) -> MailMessage:
    """An e-mail to the host in the host's language. With a booking, its guest's full contact
    (R24) and its voucher or reservation number follow the text."""
    owner = prop.owner
    locale = owner.locale if owner else "de"
    if booking is not None:
        lines = [body, guest_contact(booking)] + ([reference(booking)] if booking.connection_id else [])
        body = Message("\n\n".join(f"%(p{i})s" for i in range(len(lines))), **{f"p{i}": m for i, m in enumerate(lines)})
    now = clock.now()
    msg = MailMessage(property_id=prop.id, recipient=prop.email or owner.email,
                      subject=render(_for_reader(subject, locale), locale)[:200],
                      body=render(_for_reader(body, locale), locale), created_at=now, next_attempt_at=now)
    session.add(msg)
    return msg


def mail_to(session: Session, prop: Property, kind: str, recipient: str, locale: str, subject: Message,
            body: Message, booking: Booking | None = None) -> MailMessage | None:
    """An e-mail about `prop` to someone other than its host: the tourist office (kind "office")
    or a channel's contact ("channel"); not in the host's message log. With a booking, its
    guest's contact and its number follow the text. None when there is no address."""
    if not recipient:
        return None
    if booking is not None:
        lines = [body, guest_contact(booking)] + ([reference(booking)] if booking.connection_id else [])
        body = Message("\n\n".join(f"%(p{i})s" for i in range(len(lines))), **{f"p{i}": m for i, m in enumerate(lines)})
    now = clock.now()
    msg = MailMessage(property_id=prop.id, recipient=recipient, kind=kind,
                      subject=render(_for_reader(subject, locale), locale)[:200],
                      body=render(_for_reader(body, locale), locale), created_at=now, next_attempt_at=now)
    session.add(msg)
    return msg


def stay(b: Booking) -> Message:
    """A stay for a message: its dates are formatted in the reader's language (services.core.i18n.render)."""
    return Message("%(arrival)s–%(departure)s", arrival=b.arrival, departure=b.departure)


def backoff(attempts: int) -> dt.timedelta:
    """1 min, 2, 4 ... capped at 6 hours between tries."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def messages(session: Session, actor: User, prop: Property, limit: int = 100) -> list[MailMessage]:
    """The message log: e-mails to the host, sent or kept when no mail server is configured.
    Only those of kind "host": mails to the office or a channel are not the host's, and account
    mails (one-time links) are nobody's to read here."""
    access.check_property(actor, prop)
    return list(session.scalars(
        sa.select(MailMessage).where(MailMessage.property_id == prop.id, MailMessage.kind == "host")
        .order_by(MailMessage.created_at.desc(), MailMessage.id.desc()).limit(limit)
    ))

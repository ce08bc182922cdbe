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

from services.accounts import access
from services.core import clock
from services.core.i18n import Message, render
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


def mail_host(session: Session, prop: Property, subject: Message, body: Message) -> MailMessage:
    owner = prop.owner
    locale = owner.locale if owner else "de"
    now = clock.now()
    msg = MailMessage(property_id=prop.id, recipient=prop.email or owner.email, subject=render(subject, locale)[:200],
                      body=render(body, locale), created_at=now, next_attempt_at=now)
    session.add(msg)
    return msg


def stay_text(b: Booking) -> str:
    """A stay for records (history lines)."""
    return f"{b.arrival:%d.%m.%Y}–{b.departure:%d.%m.%Y}"


def stay(b: Booking) -> Message:
    """A stay for a message: its dates are formatted in the reader's language (services.core.i18n.render)."""
    return Message("%(arrival)s–%(departure)s", arrival=b.arrival, departure=b.departure)


def backoff(attempts: int) -> dt.timedelta:
    """1 min, 2, 4 ... capped at 6 hours between tries."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def messages(session: Session, actor: User, prop: Property, limit: int = 100) -> list[MailMessage]:
    """The message log: e-mails to the host, sent or kept when no mail server is configured."""
    access.check_property(actor, prop)
    return list(session.scalars(
        sa.select(MailMessage).where(MailMessage.property_id == prop.id)
        .order_by(MailMessage.created_at.desc(), MailMessage.id.desc()).limit(limit)
    ))

"""Delivering what the outbox tables hold: webhooks to channels, e-mails to hosts (and account
e-mails: to SMTP, or without a mail server to .eml files in a folder).

Rows are claimed in a short transaction (a lease, so that two workers never send the same
row at once; SKIP LOCKED on PostgreSQL), sent outside any transaction, and the outcome is
written back. A row is never deleted: undelivered ones are retried with backoff, and one
that a receiver acknowledged with 2xx is never sent again. Should the worker die between
a 2xx and recording it, the event goes out once more with the same X-Portal-Event-Id,
which receivers use to drop duplicates.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import mimetypes
import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.channels import ari
from services.core import clock, outbound, storage
from services.models import ChannelConnection, MailMessage, OutboxEvent
from services.bookings.notify import backoff

LEASE = dt.timedelta(minutes=5)
MAX_ERROR = 500


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _claim(session: Session, model, limit: int, *where) -> list[int]:
    now = clock.now()
    done = model.delivered_at if model is OutboxEvent else model.sent_at
    q = sa.select(model).where(done.is_(None), model.next_attempt_at <= now, *where).order_by(model.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    rows = list(session.scalars(q))
    for row in rows:
        row.next_attempt_at = now + LEASE
        if model is OutboxEvent and row.event == ari.EVENT and row.built_at is None:
            row.built_at = now  # sealed: changes from now on go into a new event (services.channels.ari)
    session.commit()
    return [r.id for r in rows]


@dataclass
class Result:
    sent: int = 0
    failed: int = 0


def deliver_webhooks(session: Session, limit: int = 100, timeout: float = 10.0) -> Result:
    result = Result()
    for event_id in _claim(session, OutboxEvent, limit):
        row = session.get(OutboxEvent, event_id)
        conn = session.get(ChannelConnection, row.connection_id)
        if row.event == ari.EVENT:
            # Built from the state now (again at every retry), stored: what is signed is what is sent.
            text = ari.build(session, row, conn)
            if text is None:  # every night it names is past (or its categories are gone): nothing to tell
                row.delivered_at, row.last_error = clock.now(), ""
                session.commit()
                continue
            row.body = text
        body = row.body.encode()
        url = conn.webhook_url
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "hotelier-portal-webhooks/1",
            "X-Portal-Event": row.event,
            "X-Portal-Event-Id": str(row.id),
            "X-Portal-Signature": sign(conn.webhook_secret, body),
        }
        session.commit()  # hold no transaction (nor lock) while waiting for the receiver
        error = ""
        try:
            # Public addresses only (checked after resolving), no redirects, only the status read.
            outbound.post(url, body, headers=headers, timeout=timeout)
        except outbound.Refused as e:
            # Only the reason, never what the receiver answered or an exception's text.
            error = str(outbound.reason_message(e.reason, e.status))
        _outcome(session, session.get(OutboxEvent, event_id), "delivered_at", error, result)
    return result


@dataclass
class SMTPSettings:
    server: str
    port: int = 25
    username: str = ""
    password: str = ""
    use_tls: bool = False
    sender: str = "portal@localhost"


def _email(row: MailMessage, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, row.recipient, row.subject
    msg["Date"] = email.utils.format_datetime(row.created_at)
    msg.set_content(row.body)
    if row.attachment_key:  # a file sent with it: a statement's PDF (services.office.statements.send)
        name = row.attachment_name or "attachment"
        maintype, _, subtype = (mimetypes.guess_type(name)[0] or "application/octet-stream").partition("/")
        msg.add_attachment(storage.current().get(row.attachment_key), maintype=maintype, subtype=subtype,
                           filename=name)
    return msg


def deliver_mail(session: Session, smtp: SMTPSettings | None, limit: int = 100, folder: str | None = None,
                 sender: str = "portal@localhost") -> Result:
    """Send queued e-mails through SMTP. Without a mail server, e-mails to hosts stay in the
    message log, and account e-mails (invitations, password links: kind "account") are written
    as .eml files into `folder`, where a developer opens the link (`make run` says where)."""
    result = Result()
    if smtp is None or not smtp.server:
        if folder:
            _write_account_mail(session, folder, limit, sender, result)
        return result
    for mail_id in _claim(session, MailMessage, limit):
        row = session.get(MailMessage, mail_id)
        try:
            msg = _email(row, smtp.sender)
        except OSError as e:  # its attachment cannot be read: this mail waits, the others go on
            session.commit()
            _outcome(session, session.get(MailMessage, mail_id), "sent_at", f"{type(e).__name__}: {e}", result)
            continue
        session.commit()
        error = ""
        try:
            with smtplib.SMTP(smtp.server, smtp.port, timeout=15) as client:
                if smtp.use_tls:
                    client.starttls()
                if smtp.username:
                    client.login(smtp.username, smtp.password)
                client.send_message(msg)
        except (smtplib.SMTPException, OSError) as e:
            error = f"{type(e).__name__}: {e}"
        _outcome(session, session.get(MailMessage, mail_id), "sent_at", error, result)
    return result


def _write_account_mail(session: Session, folder: str, limit: int, sender: str, result: Result) -> None:
    for mail_id in _claim(session, MailMessage, limit, MailMessage.kind == "account"):
        row = session.get(MailMessage, mail_id)
        data = _email(row, sender).as_bytes()
        path = os.path.join(folder, f"{row.created_at:%Y%m%d-%H%M%S}-{row.id}.eml")
        session.commit()
        error = ""
        try:
            os.makedirs(folder, exist_ok=True)
            # Readable by its owner only (it holds a one-time link); complete or absent (renamed into place).
            fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)
        except OSError as e:
            error = f"{type(e).__name__}: {e}"
        _outcome(session, session.get(MailMessage, mail_id), "sent_at", error, result)


def _outcome(session: Session, row, done_field: str, error: str, result: Result) -> None:
    """Write back one attempt: done (never sent again), or the error and when to retry."""
    row.attempts += 1
    if error:
        row.last_error, row.next_attempt_at = error[:MAX_ERROR], clock.now() + backoff(row.attempts)
        result.failed += 1
    else:
        setattr(row, done_field, clock.now())
        row.last_error = ""
        if getattr(row, "kind", None) == "account":
            row.body = ""  # the one-time link is out: no copy of it stays in the database
        result.sent += 1
    session.commit()

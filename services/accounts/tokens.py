"""One-time links to set a password: invitations (72 hours) and resets (2 hours); stored hashed, single use.

`issue` makes the secret (secrets.token_urlsafe(32), 256 bits) and stores only its SHA-256: the
database, a backup or a log of it holds nothing that opens an account. A newer link of the same
purpose replaces the older ones (they are marked used). `redeem` spends a link exactly once, also
when two requests race for it (a conditional UPDATE that must hit one row). The e-mails that carry
the links are of kind "account": never in a message log, their body wiped once sent
(services.channels.outbox).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from services.accounts import access, users
from services.core import audit, clock
from services.core.db import use_case
from services.core.errors import Conflict, Invalid, NotFound
from services.core.i18n import Message, _l, render
from services.models import AccountToken, MailMessage, Property, User

# How long a link works. An invitation waits for a host who may read mail once a day (and over a
# weekend); a reset is asked for by someone sitting at the login page.
INVITATION_VALID = dt.timedelta(hours=72)
RESET_VALID = dt.timedelta(hours=2)
VALIDITY = {"invite": INVITATION_VALID, "reset": RESET_VALID}
# "Forgot password" mails per account and hour; beyond, requests are answered the same and
# send nothing, so nobody can flood a mailbox through the form (the form itself is also
# limited per client address, portal/blueprints/auth/passwords.py).
RESETS_PER_HOUR = 3

LINK_UNUSABLE = _l("This link has expired or was used already. Ask for a new one.")


class LinkUnusable(Conflict):
    """The link is unknown, expired or spent: 410 Gone (one message for all three, so that
    nobody learns which)."""

    status = 410
    code = "link_unusable"

    def __init__(self):
        super().__init__(LINK_UNUSABLE)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue(session: Session, user: User, purpose: str) -> str:
    """A new link for `user` (no commit: part of the caller's use case). Returns the plain
    secret, which is stored nowhere; older unused links of the same purpose stop working."""
    if purpose not in VALIDITY:
        raise ValueError(f"unknown purpose {purpose!r}")
    now = clock.now()
    session.execute(sa.update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    secret = secrets.token_urlsafe(32)
    session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=_hash(secret), created_at=now,
                             expires_at=now + VALIDITY[purpose]))
    session.flush()
    return secret


@dataclass(frozen=True)
class Link:
    """What the page behind a working link shows."""

    email: str
    name: str
    purpose: str


def _usable(session: Session, secret: str) -> AccountToken | None:
    if not secret or len(secret) > 200:
        return None
    token = session.scalar(sa.select(AccountToken).where(AccountToken.token_hash == _hash(secret))
                           .options(sa.orm.joinedload(AccountToken.user)))
    if token is None or token.used_at is not None or token.expires_at <= clock.now() or not token.user.active:
        return None
    return token


def peek(session: Session, secret: str) -> Link | None:
    """The link's account when it still works (for the page that asks for the password), else None."""
    token = _usable(session, secret)
    return Link(token.user.email, token.user.name, token.purpose) if token else None


def redeem(session: Session, secret: str, password: str, repeat: str) -> User:
    """Set the password through a link: validated like a password change; the link is spent,
    every other session of the account ends, a one-time password need not be changed any more.
    LinkUnusable for an unknown, expired or spent link; Invalid ("new", "repeat") for the password,
    and then the link still works."""
    token = _usable(session, secret)
    if token is None:
        raise LinkUnusable()
    errors = {}
    if len(password or "") < users.MIN_PASSWORD:
        errors["new"] = _l("The password needs at least %(n)s characters.", n=users.MIN_PASSWORD)
    elif password != repeat:
        errors["repeat"] = _l("The two new passwords differ.")
    if errors:
        raise Invalid(errors)
    password_hash = generate_password_hash(password)  # slow: before the row is locked
    with use_case(session) as uc:
        now = clock.now()
        # Whoever updates first wins; the other request (blocked on the row, PostgreSQL; queued for
        # the write lock, SQLite) then finds used_at set and changes nothing.
        spent = session.execute(sa.update(AccountToken).where(
            AccountToken.id == token.id, AccountToken.used_at.is_(None), AccountToken.expires_at > now)
            .values(used_at=now).execution_options(synchronize_session=False)).rowcount
        if spent != 1:
            raise LinkUnusable()
        # The password is set: no other link of the account may set it again.
        session.execute(sa.update(AccountToken).where(AccountToken.user_id == token.user_id,
                                                      AccountToken.used_at.is_(None))
                        .values(used_at=now).execution_options(synchronize_session=False))
        user = session.get(User, token.user_id)
        user.password_hash = password_hash
        user.must_change_password = False
        users.end_sessions(session, user)  # a cookie from before the new password dies with the old one
        audit.record(session, user, None, "password_set", email=user.email, purpose=token.purpose)
        uc.keep(user)
    return user


# -- the e-mails -------------------------------------------------------------------------------

def _mail(session: Session, user: User, subject: Message, body: Message) -> MailMessage:
    """An account e-mail in the user's language: of no property, in no message log."""
    now = clock.now()
    locale = user.locale or "de"
    msg = MailMessage(property_id=None, recipient=user.email, kind="account", subject=render(subject, locale)[:200],
                      body=render(body, locale), created_at=now, next_attempt_at=now)
    session.add(msg)
    return msg


def _first_property(session: Session, user: User) -> Property | None:
    return session.scalar(sa.select(Property).where(Property.owner_id == user.id).order_by(Property.id).limit(1))


def invite(session: Session, user: User, link_base: str, office_name: str, property_name: str) -> MailMessage:
    """Queue the invitation of a new host (no commit: part of the caller's use case).
    `link_base` is the absolute address of the set-password page without the secret."""
    secret = issue(session, user, "invite")
    hours = int(INVITATION_VALID.total_seconds() // 3600)
    subject = _l("Your access to the hotelier portal of %(office)s", office=office_name)
    body = _l("Hello %(name)s,\n\n%(office)s has registered you in the hotelier portal for %(property)s. "
              "Choose your password with this link; it works once, for %(hours)s hours:\n\n%(link)s\n\n"
              "Afterwards you log in with your e-mail address %(email)s. If the link has expired, ask your "
              "tourist office for a new invitation or use \"Forgot your password?\" on the login page.",
              name=user.name, office=office_name, property=property_name, hours=hours,
              link=link_base + secret, email=user.email)
    return _mail(session, user, subject, body)


def resend_invitation(session: Session, actor: User, user_id: int, link_base: str) -> User:
    """Staff of the host's office (or an admin) send a new invitation; older links stop working."""
    access.require_staff(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such account."))
    access.check_account(session, actor, user)
    with use_case(session) as uc:
        prop = _first_property(session, user)
        office = prop.office if prop is not None else actor.office
        invite(session, user, link_base, office.name if office else "", prop.name if prop else "")
        audit.record(session, actor, prop, "invitation_sent", name=user.name, email=user.email)
        uc.keep(user)
    return user


def request_reset(session: Session, email: str, link_base: str) -> None:
    """"Forgot password": a reset link to the account of `email`, if there is one (active, and
    fewer than RESETS_PER_HOUR asked for in the last hour). The caller answers the same in
    every case, so the form tells nobody whether an address has an account."""
    email = (email or "").strip().lower()[:254]
    user = session.scalar(sa.select(User).where(User.email == email)) if email else None
    if user is None or not user.active:
        return
    recent = session.scalar(sa.select(sa.func.count(AccountToken.id)).where(
        AccountToken.user_id == user.id, AccountToken.purpose == "reset",
        AccountToken.created_at > clock.now() - dt.timedelta(hours=1)))
    if recent >= RESETS_PER_HOUR:
        return
    with use_case(session):
        secret = issue(session, user, "reset")
        hours = int(RESET_VALID.total_seconds() // 3600)
        subject = _l("A new password for the hotelier portal")
        body = _l("Hello %(name)s,\n\nsomeone, hopefully you, asked for a new password for your account %(email)s. "
                  "Choose it with this link; it works once, for %(hours)s hours:\n\n%(link)s\n\n"
                  "If you did not ask for it, ignore this e-mail: your password stays as it is.",
                  name=user.name, email=user.email, hours=hours, link=link_base + secret)
        _mail(session, user, subject, body)

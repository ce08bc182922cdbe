"""Accounts: users and passwords, signing in with login throttling counted in the database,
and sessions that can be revoked.

Throttling (shared by every worker and app server, since it lives in the database): failed
logins are counted per account, per client address, and per (address, account) pair. Past
an allowance each further failure doubles the wait. A blocked account refuses every
attempt, so guessing one account's password from many addresses stops too. A blocked
address refuses only accounts that already failed from it: the right password of a
different user behind the same address (an office's shared router) still gets in.

Sessions: a session cookie carries the user's `session_generation` at login. Logout, a
password change, the end of a host's contract and "sign out everywhere" bump it, which
ends every copy of every older cookie; the web edge compares it on the user load.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from services.accounts import access
from services.core import audit, clock, inputs
from services.core.db import use_case
from services.core.errors import Invalid, NotFound, TooManyAttempts
from services.core.i18n import _l
from services.models import ROLES, LoginThrottle, Office, Property, User

MIN_PASSWORD = 8
WINDOW = dt.timedelta(minutes=15)  # failures older than this (with none since) are forgotten


# -- users and passwords ------------------------------------------------------------------

def create_user(session: Session, email: str, name: str, password: str | None, role: str,
                office: Office | None = None) -> User:
    """An account. `password` None: no password works until one is set through a one-time link
    (an invited host, services.accounts.tokens). Staff belong to an office, admins to none."""
    email = email.strip().lower()
    errors = {}
    if not inputs.EMAIL.match(email):
        errors["email"] = _l("Enter a valid e-mail address.")
    elif session.scalar(sa.select(User.id).where(User.email == email)):
        errors["email"] = _l("An account with this e-mail address exists already.")
    name = inputs.line(name, "name", errors, required=_l("Enter a name."), max_len=120)
    if password is not None and len(password) < MIN_PASSWORD:
        errors["password"] = _l("The password needs at least %(n)s characters.", n=MIN_PASSWORD)
    if role not in ROLES:
        errors["role"] = _l("Unknown role.")
    elif role == "staff" and office is None:
        errors["office"] = _l("Staff belong to a tourist office.")
    elif role == "admin" and office is not None:
        errors["office"] = _l("Admins belong to no tourist office: they see all of them.")
    if errors:
        raise Invalid(errors)
    password_hash = generate_password_hash(password) if password is not None else unusable_password()
    user = User(email=email, name=name, password_hash=password_hash,
                role=role, office_id=office.id if office else None, created_at=clock.now())
    session.add(user)
    session.flush()
    return user


_NO_USER_HASH = generate_password_hash(secrets.token_hex(16))


def unusable_password() -> str:
    """A password hash that no password matches (not even a guessed one: it is no hash at all,
    check_password_hash refuses its format)."""
    return _UNUSABLE + secrets.token_hex(16)


_UNUSABLE = "!unusable$"


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    # An unknown address costs the same hash as a known one: timing tells no one who has an account
    # (nor whether an invited host has chosen a password yet).
    usable = user is not None and not user.password_hash.startswith(_UNUSABLE)
    ok = check_password_hash(user.password_hash if usable else _NO_USER_HASH, password) and usable
    if user is None or not user.active or not ok:
        return None
    return user


def change_password(session: Session, user: User, current: str, new: str, repeat: str) -> None:
    errors = {}
    if not check_password_hash(user.password_hash, current):
        errors["current"] = _l("The current password is not right.")
    if len(new) < MIN_PASSWORD:
        errors["new"] = _l("The password needs at least %(n)s characters.", n=MIN_PASSWORD)
    elif new != repeat:
        errors["repeat"] = _l("The two new passwords differ.")
    if errors:
        raise Invalid(errors)
    with use_case(session):
        user.password_hash = generate_password_hash(new)
        user.must_change_password = False
        end_sessions(session, user)  # a stolen cookie dies with the old password
        audit.record(session, user, None, "password_changed", email=user.email)


def set_locale(session: Session, user: User, locale: str) -> None:
    with use_case(session):
        user.locale = locale


# -- login throttling ----------------------------------------------------------------------

@dataclass(frozen=True)
class Allowance:
    free: int  # failures in a window before waiting starts
    first_wait: dt.timedelta  # the wait after the first failure past `free`; doubles with each further one
    max_wait: dt.timedelta


ALLOWANCES = {
    "pair": Allowance(5, dt.timedelta(seconds=30), dt.timedelta(minutes=15)),
    "account": Allowance(20, dt.timedelta(minutes=1), dt.timedelta(hours=1)),
    "address": Allowance(30, dt.timedelta(minutes=1), dt.timedelta(hours=1)),
}


def _keys(email: str, address: str) -> dict[str, str]:
    email = (email or "").strip().lower()[:254]
    address = (address or "")[:45]
    return {"account": f"account:{email}", "address": f"address:{address}", "pair": f"pair:{address}:{email}"}


def sign_in(session: Session, email: str, password: str, address: str) -> User:
    """The login use case: throttled (TooManyAttempts), then the password checked and counted.

    Returns the user; a wrong e-mail or password is Invalid with a message for the whole form
    (field "form": which of the two was wrong is not told)."""
    wait = login_wait(session, email, address)
    if wait:
        raise TooManyAttempts(_l("Too many failed attempts. Please wait %(seconds)s seconds and try again.",
                                 seconds=wait), seconds=wait)
    user = authenticate(session, email, password)
    if user is None:
        record_failure(session, email, address)
        raise Invalid({"form": _l("E-mail or password is not right.")})
    record_success(session, email, address)
    return user


def login_wait(session: Session, email: str, address: str) -> int:
    """Seconds until a login for `email` from `address` may be tried again; 0 if it may now."""
    keys = _keys(email, address)
    rows = {r.key: r for r in session.scalars(sa.select(LoginThrottle).where(LoginThrottle.key.in_(keys.values())))}
    now = clock.now()

    def wait(kind: str) -> float:
        row = rows.get(keys[kind])
        if row is None or row.blocked_until is None or row.blocked_until <= now:
            return 0
        return (row.blocked_until - now).total_seconds()

    pair_failed = keys["pair"] in rows and rows[keys["pair"]].failures > 0
    waits = [wait("account"), wait("pair"), wait("address") if pair_failed else 0]
    return int(max(waits) + 0.999)


def record_failure(session: Session, email: str, address: str) -> None:
    """Count a failed login on all three keys (one transaction, safe under concurrency)."""
    now = clock.now()
    with use_case(session):
        for kind, key in _keys(email, address).items():
            _bump(session, key, ALLOWANCES[kind], now)


def _bump(session: Session, key: str, allowance: Allowance, now: dt.datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = (sa.dialects.postgresql.insert if dialect == "postgresql" else sa.dialects.sqlite.insert)(LoginThrottle)
    stale = LoginThrottle.window_start < now - WINDOW
    # Atomic increment: two workers failing at once both count (no read-modify-write race).
    session.execute(insert.values(key=key, failures=1, window_start=now).on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={"failures": sa.case((stale, 1), else_=LoginThrottle.failures + 1),
              "window_start": sa.case((stale, now), else_=LoginThrottle.window_start),
              "blocked_until": sa.case((stale, None), else_=LoginThrottle.blocked_until)}))
    row = session.get(LoginThrottle, key, populate_existing=True)
    over = row.failures - allowance.free
    if over > 0:
        wait = min(allowance.first_wait * 2 ** min(over - 1, 20), allowance.max_wait)
        row.blocked_until = now + wait
        row.window_start = now  # the window runs from the latest failure while blocked


def record_success(session: Session, email: str, address: str) -> None:
    """The right password clears the account's and this pair's count (not the address's)."""
    keys = _keys(email, address)
    with use_case(session):
        session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key.in_([keys["account"], keys["pair"]])))


def forget_old_failures(session: Session) -> int:
    """Delete rows whose window has passed and that block nothing (the worker calls this)."""
    now = clock.now()
    n = session.execute(sa.delete(LoginThrottle).where(
        LoginThrottle.window_start < now - WINDOW,
        sa.or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now))).rowcount
    session.commit()
    return n


# -- sessions ------------------------------------------------------------------------------

def end_sessions(session: Session, user: User) -> int:
    """Invalidate every session cookie of `user` (no commit: part of the caller's use case).

    Returns the new generation, for the caller's own session to continue under it where it
    should (a password change keeps the browser that made it signed in)."""
    session.execute(sa.update(User).where(User.id == user.id)
                    .values(session_generation=User.session_generation + 1))
    session.refresh(user, ["session_generation"])
    return user.session_generation


def sign_out(session: Session, user: User) -> None:
    """Logout, or "sign out everywhere" on one's own account page: every session of the user
    ends, not only this browser's (a copied cookie must not outlive the logout)."""
    with use_case(session):
        end_sessions(session, user)


def sign_out_by_email(session: Session, email: str) -> User:
    """The operator's "sign out everywhere" (`flask user sign-out`): no actor, no tenant."""
    user = session.scalar(sa.select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        raise NotFound(_l("No such account."))
    sign_out(session, user)
    return user


def sign_out_user(session: Session, actor: User, user_id: int) -> User:
    """Staff (for the hosts of their office) or an admin end every session of an account."""
    access.require_staff(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such account."))
    access.check_account(session, actor, user)
    with use_case(session) as uc:
        end_sessions(session, user)
        prop = session.scalar(sa.select(Property).where(Property.owner_id == user.id).order_by(Property.id).limit(1))
        audit.record(session, actor, prop, "signed_out_everywhere", name=user.name)
        uc.keep(user)
    return user

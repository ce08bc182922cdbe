"""Channel modules (R30): switching a channel on for a property, its API key, its settings.

A key looks like `hp_<prefix>_<secret>`. Only the prefix (to find the connection) and a
SHA-256 of the whole key are stored; the key itself is shown once. The secret part has
256 bits of entropy, so a fast hash is enough (no password stretching needed).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services import access, audit, clock, outbound
from services.errors import Invalid, NotFound
from services.i18n import _l
from services.models import CHANNELS, PAYMENT_MODES, ChannelConnection, Property, User

# Where a booking came from, named the same on every page, in every e-mail and filter: the
# one table of this vocabulary (the channels are the online sources).
SOURCE_LABELS = {
    "own": _l("Own booking"),
    "tourist_office": _l("Tourist-office booking site"),
    "slevomat": _l("Slevomat (deal site, vouchers)"),
    "booking": _l("Booking.com"),
    "e_domizil": _l("e-domizil"),
    "api": _l("Other API client"),
    "ical": _l("Imported calendar"),
}
CHANNEL_LABELS = {source: SOURCE_LABELS[source] for source in CHANNELS.values()}


def channel_label(code: str):
    """A channel's name (a translatable Message) for its code; unknown codes as they are."""
    return CHANNEL_LABELS.get(code, code)


KEY_RE = re.compile(r"^hp_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{20,})$")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key(conn: ChannelConnection) -> str:
    prefix = secrets.token_hex(6)
    key = f"hp_{prefix}_{secrets.token_urlsafe(32)}"
    conn.key_prefix, conn.key_hash = prefix, _hash(key)
    return key


def channel_source(name: str) -> str:
    """'tourist-office' (CLI/API spelling) or 'tourist_office' -> the booking source."""
    if name in CHANNELS:
        return CHANNELS[name]
    if name in CHANNELS.values():
        return name
    raise Invalid({"channel": _l("Unknown channel. Use one of: %(names)s", names=", ".join(CHANNELS))})


def connections(session: Session, prop: Property) -> dict[str, ChannelConnection]:
    rows = session.scalars(sa.select(ChannelConnection).where(ChannelConnection.property_id == prop.id))
    return {c.channel: c for c in rows}


def get_connection(session: Session, prop: Property, channel: str) -> ChannelConnection:
    conn = session.scalar(sa.select(ChannelConnection).where(
        ChannelConnection.property_id == prop.id, ChannelConnection.channel == channel_source(channel)))
    if conn is None:
        raise NotFound(_l("This channel is not switched on."))
    return conn


def _validate_settings(hold_minutes, webhook_url: str, payment_mode: str) -> tuple[int, str, str]:
    errors = {}
    try:
        hold = int(hold_minutes)
        if not 1 <= hold <= 1440:
            raise ValueError
    except (TypeError, ValueError):
        errors["hold_minutes"] = _l("Enter minutes from 1 to 1440.")
        hold = 60
    url = (webhook_url or "").strip()
    if url:
        # Checked again, after resolving the name, at every delivery (services.outbound).
        try:
            url = outbound.check_url(url, max_length=500)
        except outbound.Refused as e:
            errors["webhook_url"] = (outbound.NOT_PUBLIC if e.reason == "address_not_allowed" else
                                     _l("Enter a full http:// or https:// address, or leave it empty."))
    if payment_mode not in PAYMENT_MODES:
        errors["payment_mode"] = _l("Choose how the guest pays.")
    if errors:
        raise Invalid(errors)
    return hold, url, payment_mode


def switch_on(session: Session, actor: User | None, prop: Property, channel: str, hold_minutes=60,
              webhook_url: str = "", payment_mode: str | None = None) -> tuple[ChannelConnection, str]:
    """Switch a channel module on (or on again): returns the connection and its new key, shown once."""
    if actor is not None:
        access.check_property(actor, prop)
    source = channel_source(channel)
    if payment_mode is None:
        payment_mode = "prepaid" if source == "e_domizil" else "on_arrival"  # R22
    hold, url, mode = _validate_settings(hold_minutes, webhook_url, payment_mode)
    now = clock.now()
    conn = session.scalar(sa.select(ChannelConnection).where(
        ChannelConnection.property_id == prop.id, ChannelConnection.channel == source))
    if conn is None:
        conn = ChannelConnection(property_id=prop.id, channel=source, created_at=now)
        session.add(conn)
    conn.active, conn.hold_minutes, conn.webhook_url, conn.payment_mode, conn.updated_at = True, hold, url, mode, now
    key = _new_key(conn)
    audit.record(session, actor, prop, "channel_on", channel=source)
    session.commit()
    return conn, key


def regenerate_key(session: Session, actor: User, prop: Property, channel: str) -> str:
    access.check_property(actor, prop)
    conn = get_connection(session, prop, channel)
    key = _new_key(conn)
    conn.active, conn.updated_at = True, clock.now()
    audit.record(session, actor, prop, "channel_key_regenerated", channel=conn.channel)
    session.commit()
    return key


def revoke(session: Session, actor: User, prop: Property, channel: str) -> None:
    """Switch the module off: the key stops working at once; bookings stay."""
    access.check_property(actor, prop)
    conn = get_connection(session, prop, channel)
    conn.active, conn.key_prefix, conn.key_hash, conn.updated_at = False, None, "", clock.now()
    audit.record(session, actor, prop, "channel_off", channel=conn.channel)
    session.commit()


def update_settings(session: Session, actor: User, prop: Property, channel: str, hold_minutes, webhook_url: str,
                    payment_mode: str) -> ChannelConnection:
    access.check_property(actor, prop)
    conn = get_connection(session, prop, channel)
    conn.hold_minutes, conn.webhook_url, conn.payment_mode = _validate_settings(hold_minutes, webhook_url, payment_mode)
    conn.updated_at = clock.now()
    audit.record(session, actor, prop, "channel_settings", channel=conn.channel, hold_minutes=conn.hold_minutes,
                 payment_mode=conn.payment_mode)
    session.commit()
    return conn


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: read in one Core query, so that a cached answer costs no more."""

    connection_id: int
    property_id: int
    property_created: dt.datetime
    inventory_version: int
    # The property's brokerage contract: a right key of a property whose contract ended is
    # refused (401 contract_inactive), so that channels stop selling it at once.
    contract_active: bool


# Built once: constructing the statement on every API call costs as much as running it.
_CALLER = (
    sa.select(ChannelConnection.id, ChannelConnection.key_hash, ChannelConnection.active,
              Property.id, Property.created_at, Property.inventory_version, Property.contract_active_since)
    .join(Property, Property.id == ChannelConnection.property_id)
    .where(ChannelConnection.key_prefix == sa.bindparam("prefix"))
)


def caller(session, key: str | None) -> Caller | None:
    """The caller of an API key; `session` may be a Session or a Connection."""
    m = KEY_RE.match(key or "")
    if not m:
        return None
    return _caller_of(session.execute(_CALLER, {"prefix": m.group(1)}).first(), key)


def api_caller(session: Session, key: str | None) -> Caller | None:
    """The caller of an API request, read the cheapest way the database allows: on PostgreSQL one
    autocommit statement (a cached availability answer needs nothing else); SQLite connections
    emit their own BEGIN (services/db.py), so there it stays in the session."""
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        return caller_autocommit(engine, key)
    return caller(session, key)


def caller_autocommit(engine: sa.engine.Engine, key: str | None) -> Caller | None:
    """caller(), as one autocommit statement on a pooled DBAPI connection (PostgreSQL).

    No transaction and no SQL layer around the one round trip: through a Session or a
    Connection the look-up cost twice the round trip, a third of a cached availability
    answer (bench/api_bench.py). The SQL is `_CALLER`, compiled once for the dialect. A
    connection that fails is dropped from the pool (SQLAlchemy does that only for its own
    executions) and the look-up tried once more on a fresh one."""
    m = KEY_RE.match(key or "")
    if not m:
        return None
    sql = _compiled(engine.dialect)
    for attempt in (1, 2):
        raw = engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            dbapi.autocommit = True
            with dbapi.cursor() as cur:
                cur.execute(sql, {"prefix": m.group(1)})
                row = cur.fetchone()
            dbapi.autocommit = False
        except engine.dialect.loaded_dbapi.OperationalError:
            raw.invalidate()
            if attempt == 2:
                raise
            continue
        finally:
            raw.close()
        return _caller_of(row, key)
    return None  # not reached


_COMPILED: dict = {}


def _compiled(dialect) -> str:
    if dialect.name not in _COMPILED:
        _COMPILED[dialect.name] = str(_CALLER.compile(dialect=dialect))
    return _COMPILED[dialect.name]


def connection_of(session: Session, who: Caller) -> ChannelConnection:
    """The caller's connection as an ORM object, for endpoints that need more than its ids."""
    return session.get(ChannelConnection, who.connection_id)


def _caller_of(row, key: str) -> Caller | None:
    if row is None or not row[2] or not hmac.compare_digest(row[1], _hash(key)):
        return None
    created = row[4] if row[4].tzinfo else row[4].replace(tzinfo=dt.timezone.utc)
    return Caller(row[0], row[3], created, row[5], row[6] is not None)

"""API keys: made and looked up on every API request (the hot path of the channel API).

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

from services.models import ChannelConnection, Property, RoomCategory


KEY_RE = re.compile(r"^hp_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{20,})$")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(conn: ChannelConnection) -> str:
    """A new key for the connection (the old one stops working); returned once, stored hashed."""
    prefix = secrets.token_hex(6)
    key = f"hp_{prefix}_{secrets.token_urlsafe(32)}"
    conn.key_prefix, conn.key_hash = prefix, _hash(key)
    return key


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: read in one Core query, so that a cached answer costs no more."""

    connection_id: int
    property_id: int
    property_created: dt.datetime
    # (the property's inventory_version, the sum of its categories' versions): a cached
    # availability answer is fresh while both hold. Each writer bumps the rows it locks
    # (services.availability.inventory.touch) and every version only goes up, so any write
    # changes the pair (a deleted category bumps the property's).
    inventory_version: tuple[int, int]
    # The property's brokerage contract: a right key of a property whose contract ended is
    # refused (401 contract_inactive), so that channels stop selling it at once.
    contract_active: bool
    # What the key may do (ChannelConnection.scope): "booking" or "reviews"; checked per endpoint.
    scope: str = "booking"


# Built once: constructing the statement on every API call costs as much as running it.
_CATEGORY_VERSIONS = (  # a literal 0: the compiled SQL is sent with :prefix as its only parameter
    sa.select(sa.func.coalesce(sa.func.sum(RoomCategory.inventory_version), sa.literal_column("0")))
    .where(RoomCategory.property_id == Property.id).correlate(Property).scalar_subquery()
)
_CALLER = (
    sa.select(ChannelConnection.id, ChannelConnection.key_hash, ChannelConnection.active,
              Property.id, Property.created_at, Property.inventory_version, Property.contract_active_since,
              ChannelConnection.scope, _CATEGORY_VERSIONS)
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
    emit their own BEGIN (services/core/db.py), so there it stays in the session."""
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
    return Caller(row[0], row[3], created, (row[5], int(row[8])), row[6] is not None, row[7])

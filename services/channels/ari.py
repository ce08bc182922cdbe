"""Availability pushed to channels (ARI: availability, rates, inventory; issue 11).

Channels such as Booking.com sell from the availability they were last sent, so every change
of availability, price or restriction is pushed to every connection of the property that has a
webhook address, as an `availability_changed` outbox event written in the same transaction.

- Writers record what they changed with `changed(session, property_id, category_id, nights)`
  (inventory.take / release, rates, undo, the gap fix, a deleted unit): kept on the session
  until the commit, forgotten when the transaction rolls back.
- At the commit (a `before_commit` listener on every Session) the category-nights are merged,
  as ranges of nights, into each connection's event that the worker has not claimed yet
  (`built_at` and `delivered_at` empty), or into a new one. A 365-night bulk edit is one event,
  ten edits before the worker's next round are one event. The row is selected FOR UPDATE: on
  PostgreSQL a worker that seals it meanwhile (outbox._claim sets `built_at`) makes us write a
  new one. Writers of different categories of one property run at once (inventory.touch locks
  categories): the second to merge into the same event waits for the first's commit and merges
  into what it wrote.
- The body is built when the event is delivered (`body`), from the state at that moment, for
  the nights from today on; a retry builds it again.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from services.accounts import access
from services.core import audit, clock
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.core.i18n import _l
from services.models import ChannelConnection, OutboxEvent, Property, RoomCategory, User

EVENT = "availability_changed"
KEY = "ari_changed"  # session.info: {property id: {category id: [(first night, last night), ...]}}
FULL_SYNC_DAYS = 500
MAX_SYNC_DAYS = 731  # two years, as a bulk edit's range (inventory.MAX_RANGE_DAYS)
UNIT_CHANGE_DAYS = 500  # a unit added or removed changes this much of the category's future

Ranges = list[tuple[dt.date, dt.date]]  # inclusive (first night, last night), sorted, disjoint


def _real(session) -> Session:
    return session() if isinstance(session, scoped_session) else session


def merge(ranges: Iterable[tuple[dt.date, dt.date]]) -> Ranges:
    """The union of inclusive night ranges: sorted, overlapping and adjacent ones joined."""
    out: Ranges = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + dt.timedelta(days=1):
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def runs(nights: Iterable[dt.date]) -> Ranges:
    """Nights as ranges of consecutive nights."""
    return merge((n, n) for n in set(nights))


def changed(session, property_id: int, category_id: int, nights) -> None:
    """Record that availability, price or restrictions of these category-nights changed.

    `nights` is a tuple (first night, last night), both included, or any other iterable of
    nights. Call it inside the use case's transaction, after the write."""
    if isinstance(nights, tuple) and len(nights) == 2 and all(isinstance(n, dt.date) for n in nights):
        new = [nights] if nights[0] <= nights[1] else []
    else:
        new = runs(nights)
    if not new:
        return
    pending = _real(session).info.setdefault(KEY, {})
    pending.setdefault(property_id, {}).setdefault(category_id, []).extend(new)


def changed_pairs(session, property_id: int, pairs: Iterable[tuple[int, dt.date]]) -> None:
    """`changed` for (category id, night) pairs, e.g. the rows of an upsert."""
    by_category: dict[int, list[dt.date]] = {}
    for cid, night in pairs:
        by_category.setdefault(cid, []).append(night)
    for cid, nights in by_category.items():
        changed(session, property_id, cid, nights)


def pending(session) -> dict:
    """What this transaction has recorded so far (for tests and curious callers)."""
    return _real(session).info.get(KEY, {})


# -- the outbox rows ---------------------------------------------------------------------

def _to_json(ranges_by_category: dict[int, Ranges]) -> dict:
    return {str(cid): [[a.isoformat(), b.isoformat()] for a, b in ranges]
            for cid, ranges in sorted(ranges_by_category.items()) if ranges}


def _from_json(data: dict | None) -> dict[int, Ranges]:
    return {int(cid): [(dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for a, b in ranges]
            for cid, ranges in (data or {}).items()}


def _enqueue(session: Session, conn_ids: list[int], changes: dict[int, Ranges]) -> None:
    """Merge `changes` into each connection's open (unclaimed) event, or write a new one."""
    if not conn_ids or not changes:
        return
    open_events = session.scalars(
        sa.select(OutboxEvent)
        .where(OutboxEvent.connection_id.in_(conn_ids), OutboxEvent.event == EVENT,
               OutboxEvent.built_at.is_(None), OutboxEvent.delivered_at.is_(None))
        .order_by(OutboxEvent.id)
        .with_for_update()
    )
    by_conn = {row.connection_id: row for row in open_events}  # the newest, should there be two
    now = clock.now()
    for conn_id in conn_ids:
        row = by_conn.get(conn_id)
        merged = _from_json(row.pending_nights) if row is not None else {}
        for cid, ranges in changes.items():
            merged[cid] = merge([*merged.get(cid, []), *ranges])
        if row is None:
            session.add(OutboxEvent(connection_id=conn_id, event=EVENT, body="", created_at=now, next_attempt_at=now,
                                    pending_nights=_to_json(merged)))
        else:
            row.pending_nights = _to_json(merged)  # a new value: the JSON column tracks assignment only


def _connections(session: Session, property_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(connection id, property id) of the properties' active booking connections with a webhook
    address (a review partner's connection never gets availability)."""
    return list(session.execute(
        sa.select(ChannelConnection.id, ChannelConnection.property_id)
        .where(ChannelConnection.property_id.in_(list(property_ids)), ChannelConnection.active.is_(True),
               ChannelConnection.webhook_url != "", ChannelConnection.scope == "booking")
        .order_by(ChannelConnection.id)
    ).all())


@sa.event.listens_for(Session, "before_commit")
def _write_events(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction's commit writes them
    recorded = session.info.pop(KEY, None)
    if not recorded:
        return
    conns = _connections(session, recorded)
    for prop_id, by_category in recorded.items():
        ids = [cid for cid, pid in conns if pid == prop_id]
        _enqueue(session, ids, {cid: merge(ranges) for cid, ranges in by_category.items()})


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction) -> None:
    # Only when the whole transaction rolls back: a savepoint rolled back (an iCal block that
    # collided) may have recorded nights it did not change, which at worst sends them again.
    if previous_transaction.parent is None:
        session.info.pop(KEY, None)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction) -> None:
    # A session closed without commit or rollback (its transaction just ends): nothing stays for the next one.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(KEY, None)


# -- full sync -------------------------------------------------------------------------------

def full_sync(session, actor: User | None, prop: Property, channel: str | None = None,
              days: int = FULL_SYNC_DAYS) -> list[ChannelConnection]:
    """Queue every category's nights from today for `days` nights, for each connection of the
    property that has a webhook address (or only the one of `channel`); merged like any change.
    Returns the connections it was queued for."""
    from services.availability import inventory
    from services.channels import connections

    if actor is not None:
        access.check_property(actor, prop)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_SYNC_DAYS:
        raise Invalid({"days": _l("Enter a number of days from 1 to %(max)s.", max=MAX_SYNC_DAYS)})
    if channel is not None:
        conn = connections.get_connection(session, prop, channel)
        if conn.scope != "booking":
            raise Conflict(_l("A review partner gets no availability."), code="scope")
        if not conn.active:
            raise Conflict(_l("This channel is switched off."), code="channel_off")
        if not conn.webhook_url:
            raise Conflict(_l("This channel has no webhook address: there is nowhere to send availability to."),
                           code="no_webhook_url")
        conns = [conn]
    else:
        ids = [cid for cid, _ in _connections(session, [prop.id])]
        conns = list(session.scalars(sa.select(ChannelConnection).where(ChannelConnection.id.in_(ids))
                                     .order_by(ChannelConnection.id))) if ids else []
        if not conns:
            raise Conflict(_l("No switched-on channel has a webhook address: there is nowhere to send availability "
                              "to."), code="no_webhook_url")
    with use_case(session) as uc:
        inventory.touch(session, prop.id)  # the property row first, as every writer does
        today = clock.today(prop.timezone)
        last = today + dt.timedelta(days=days - 1)
        cat_ids = list(session.scalars(sa.select(RoomCategory.id).where(RoomCategory.property_id == prop.id)))
        _enqueue(_real(session), [c.id for c in conns], {cid: [(today, last)] for cid in cat_ids})
        for c in conns:
            audit.record(session, actor, prop, "ari_full_sync", channel=c.channel, days=days)
        uc.keep(*conns)
    return conns


# -- the body, at delivery ----------------------------------------------------------------------

def body(session: Session, row: OutboxEvent, conn: ChannelConnection) -> dict | None:
    """The event's JSON from the state now: every recorded category-night from today on, in
    the wire shape of GET /availability (services.channels.wire.night). None when nothing is
    left to tell (all nights past, the categories deleted). Constant queries (inventory.nights_for)."""
    from services.availability import inventory
    from services.channels import wire

    prop = conn.prop
    today = clock.today(prop.timezone)
    recorded = _from_json(row.pending_nights)
    cats = [c for c in prop.categories if c.id in recorded]
    wanted: dict[int, Ranges] = {}
    for c in cats:
        ranges = [(max(a, today), b) for a, b in recorded[c.id] if b >= today]
        if ranges:
            wanted[c.id] = ranges
    if not wanted:
        return None
    start = min(r[0][0] for r in wanted.values())
    end = max(r[-1][1] for r in wanted.values()) + dt.timedelta(days=1)
    figures = inventory.nights_for(session, list(wanted), start, end)
    out = []
    for c in cats:
        if c.id not in wanted:
            continue
        nights = []
        for first, last in wanted[c.id]:
            day = first
            while day <= last:
                nights.append(wire.night(figures[c.id][day]))
                day += dt.timedelta(days=1)
        out.append({"room_category_id": c.id, "nights": nights})
    return {"property_id": prop.id, "room_categories": out}


def build(session: Session, row: OutboxEvent, conn: ChannelConnection) -> str | None:
    """The exact bytes to sign and send (stored in row.body), or None: nothing to send."""
    data = body(session, row, conn)
    if data is None:
        return None
    return json.dumps({"id": row.id, "event": EVENT, "created_at": row.created_at.isoformat(), "data": data},
                      separators=(",", ":"), sort_keys=True, default=str)

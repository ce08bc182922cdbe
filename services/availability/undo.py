"""Undoing the last calendar edit (R1): a night edit, a bulk edit or a gap fix, for 10 minutes.

Every calendar edit records, with its history line, the (category, night) rate rows it changed
and their values before (`AuditEntry.undo`, JSON; None for "no row": nothing was offered).
The history line itself keeps only parameters (what changed, old -> new) that the web layer
words in the reader's language (portal/web/history.py).

`undo` puts those rows back as they were, in one use case, and records it as its own history
entry ("undone: ..."). It is refused when
- 10 minutes have passed since the edit (UNDO_MINUTES),
- it was already undone, or it is itself an undo,
- a later calendar edit changed one of the same (category, night) rows,
- a booking has taken one of the changed nights since the edit (the booking is named).
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, undefer

from services.accounts import access
from services.core import audit, clock
from services.core.db import use_case
from services.core.errors import Conflict, NotFound
from services.core.i18n import Message, _l
from services.availability.inventory import in_range, occupying, touch
from services.channels import ari
from services.models import AuditEntry, Booking, NightRate, Occupancy, Property, RoomCategory, User

UNDO_MINUTES = 10
# New fields go at the end: rows recorded before a field existed are shorter (_shown, _restore).
FIELDS = ("price", "quota", "min_stay", "closed", "closed_to_arrival", "closed_to_departure", "max_stay")
CALENDAR_ACTIONS = ("rates", "rates_bulk", "gap_fix", "rates_undo")
MAX_SHOWN = 4  # distinct old (or new) values a history line lists per field; more read "various"

Key = tuple[int, dt.date]


def snapshot(session: Session, category_ids: list[int], nights: list[dt.date]) -> dict[Key, list | None]:
    """The rate rows of these categories and nights as JSON-ready lists (FIELDS order); None: no row."""
    wanted = set(nights)
    out: dict[Key, list | None] = {(c, n): None for c in category_ids for n in nights}
    if not nights or not category_ids:
        return out
    rows = session.execute(
        sa.select(NightRate.category_id, NightRate.night, *(getattr(NightRate, f) for f in FIELDS))
        .where(NightRate.category_id.in_(category_ids), NightRate.night >= min(nights), NightRate.night <= max(nights))
    )
    cents = Decimal("0.01")
    for cid, night, price, *rest in rows:  # FIELDS order: the price first
        if night in wanted:
            out[(cid, night)] = [None if price is None else str(Decimal(price).quantize(cents)), *rest]
    return out


def _shown(row: list | None, units: int) -> dict:
    """What a row means to the host; no row reads as a fresh night's values (not offered: no price)."""
    fresh = {"price": None, "quota": units, "min_stay": 1, "closed": False, "closed_to_arrival": False,
             "closed_to_departure": False, "max_stay": None}
    return fresh if row is None else {**fresh, **dict(zip(FIELDS, row))}


def _distinct(values: list) -> list:
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen[:MAX_SHOWN + 1]


def _params(categories: list[RoomCategory], before: dict, after: dict, changed: list[Key]) -> dict:
    """History parameters: which categories and nights, and per changed field its old and new values."""
    names = {c.id: c.name for c in categories}
    units = {c.id: len(c.units) for c in categories}
    changes: dict[str, list] = {}
    pairs = [(_shown(before[key], units[key[0]]), _shown(after[key], units[key[0]])) for key in changed]
    for f in FIELDS:
        olds, news = [], []
        for old_row, new_row in pairs:
            if old_row[f] != new_row[f]:
                olds.append(old_row[f])
                news.append(new_row[f])
        if news:
            changes[f] = [_distinct(olds), _distinct(news)]
    nights = sorted({n for _, n in changed})
    cats = [names[c] for c in names if any(k[0] == c for k in changed)] or list(names.values())
    return {"categories": cats, "first": nights[0].isoformat() if nights else None,
            "last": nights[-1].isoformat() if nights else None, "nights": len(nights), "changes": changes}


def record_edit(session: Session, actor: User | None, prop: Property, action: str, categories: list[RoomCategory],
                nights: list[dt.date], before: dict[Key, list | None], **extra) -> AuditEntry:
    """The history line of a calendar edit whose rows were `before` (snapshot taken before writing):
    what changed as parameters, and the way back for `undo`."""
    session.flush()
    after = snapshot(session, [c.id for c in categories], nights)
    changed = [k for k in before if before[k] != after[k]]
    way_back = {"rows": [[c, n.isoformat(), before[(c, n)]] for c, n in changed]} if changed else None
    return audit.record(session, actor, prop, action, undo=way_back,
                        **_params(categories, before, after, changed), **extra)


def _keys(data: dict) -> set[tuple[int, str]]:
    return {(r[0], r[1]) for r in data.get("rows", [])}


def _recent(session: Session, prop: Property, since: dt.datetime, from_id: int | None = None) -> list[tuple]:
    """The property's calendar edits since `since` (and from entry `from_id` on) that keep a way
    back: (id, actor, at, undo data, undone_by), oldest first."""
    query = (sa.select(AuditEntry.id, AuditEntry.actor_id, AuditEntry.at, AuditEntry.undo, AuditEntry.undone_by_id)
             .where(AuditEntry.property_id == prop.id, AuditEntry.at >= since, AuditEntry.undo.is_not(None)))
    if from_id is not None:
        query = query.where(AuditEntry.id >= from_id)
    return [(i, a, at, json.loads(u), ub) for i, a, at, u, ub in session.execute(query.order_by(AuditEntry.id))]


def _touched_later(recent: list[tuple]) -> dict[int, bool]:
    """For each entry, whether a later one changed one of its nights: one pass from the newest,
    so a history of many large bulk edits costs their size once, not its square."""
    later: set = set()
    out = {}
    for r in reversed(recent):
        keys = _keys(r[3])
        out[r[0]] = not later.isdisjoint(keys)
        later |= keys
    return out


def _refusal(entry_id: int, recent: list[tuple], now: dt.datetime, touched: dict[int, bool] | None = None):
    """Why the entry cannot be undone (from the history alone), or None."""
    mine = next((r for r in recent if r[0] == entry_id), None)
    if mine is None or now - mine[2] > dt.timedelta(minutes=UNDO_MINUTES):
        return _l("This change was made more than %(minutes)s minutes ago and can no longer be undone.",
                  minutes=UNDO_MINUTES)
    if mine[3].get("undoes"):
        return _l("An undo cannot be undone. Edit the nights instead.")
    if mine[4] is not None:
        return _l("This change has already been undone.")
    if (touched or _touched_later([r for r in recent if r[0] >= entry_id]))[entry_id]:
        return _l("A later change touched the same nights. Undo that one first, or edit the nights.")
    return None


def undoable_ids(session: Session, prop: Property) -> set[int]:
    """The property's entries that may still be undone (bookings are checked when undoing)."""
    now = clock.now()
    recent = _recent(session, prop, now - dt.timedelta(minutes=UNDO_MINUTES))
    touched = _touched_later(recent)
    return {r[0] for r in recent if _refusal(r[0], recent, now, touched) is None}


def last_undoable(session: Session, actor: User, prop: Property) -> int | None:
    """The id of `actor`'s latest calendar edit of the property if it may still be undone. Only
    that edit and the ones after it are read (after a bulk edit each holds a year of nights)."""
    now = clock.now()
    since = now - dt.timedelta(minutes=UNDO_MINUTES)
    latest = session.scalar(
        sa.select(AuditEntry.id)
        .where(AuditEntry.property_id == prop.id, AuditEntry.actor_id == actor.id, AuditEntry.at >= since,
               AuditEntry.undo.is_not(None), AuditEntry.action != "rates_undo")
        .order_by(AuditEntry.id.desc()).limit(1))
    if latest is None:
        return None
    return latest if _refusal(latest, _recent(session, prop, since, from_id=latest), now) is None else None


def _restore(session: Session, rows: list[list]) -> None:
    gone = [(c, dt.date.fromisoformat(n)) for c, n, values in rows if values is None]
    back = [{"category_id": c, "night": dt.date.fromisoformat(n), "max_stay": None,  # an older, shorter row: no limit
             **{f: (Decimal(v) if f == "price" and v is not None else v) for f, v in zip(FIELDS, values)}}
            for c, n, values in rows if values is not None]
    for cid, night in gone:
        session.execute(sa.delete(NightRate).where(NightRate.category_id == cid, NightRate.night == night))
    if back:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        stmt = insert(NightRate)
        stmt = stmt.on_conflict_do_update(index_elements=[NightRate.category_id, NightRate.night],
                                          set_={f: stmt.excluded[f] for f in FIELDS})
        session.execute(stmt, back)


def undo(session: Session, actor: User, prop: Property, entry_id: int) -> AuditEntry:
    """Put the rows of calendar edit `entry_id` back as they were before it; returns the new history entry."""
    access.check_property(actor, prop)
    with use_case(session) as uc:
        touch(session, prop.id)  # the property row first (mark_maintained writes it): one lock order
        entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.id == entry_id)
                               .options(undefer(AuditEntry.undo)).execution_options(populate_existing=True))
        if entry is None or entry.property_id != prop.id:
            raise NotFound(_l("No such change."))
        if entry.undo is None:
            raise Conflict(_l("Only changes of the calendar can be undone."), code="not_undoable")
        now = clock.now()
        refusal = _refusal(entry.id, _recent(session, prop, entry.at, from_id=entry.id), now)
        if refusal is not None:
            raise Conflict(refusal, code="not_undoable")
        rows = json.loads(entry.undo)["rows"]
        keys = {(c, dt.date.fromisoformat(n)) for c, n, _ in rows}
        cat_ids = sorted({c for c, _ in keys})
        touch(session, category_ids=cat_ids)  # after the property's row; before reading what was booked since
        nights = sorted({n for _, n in keys})
        taken = [] if not nights else session.execute(
            sa.select(Booking.id, Booking.guest_name, Booking.arrival, Booking.departure, Booking.category_id,
                      Occupancy.night)
            .join(Occupancy, Occupancy.booking_id == Booking.id)
            .where(in_range(cat_ids, nights[0], nights[-1] + dt.timedelta(days=1)), Occupancy.night.in_(nights),
                   occupying(now), Booking.updated_at >= entry.at)
            .order_by(Booking.id)
        ).all()
        taken = [t for t in taken if (t[4], t[5]) in keys]
        if taken:
            b = taken[0]
            # Named as rates._check_quota_not_below_sold names bookings in the way (dates per reader).
            raise Conflict(_l("A booking has taken these nights since the change: %(booking)s. "
                              "The change can no longer be undone.",
                              booking=Message("#%(id)s %(guest)s (%(arrival)s–%(departure)s)", id=b[0], guest=b[1],
                                              arrival=b[2], departure=b[3])), code="booked_since")
        categories = list(session.scalars(sa.select(RoomCategory).where(
            RoomCategory.id.in_(cat_ids), RoomCategory.property_id == prop.id).order_by(RoomCategory.position, RoomCategory.id)))
        before = snapshot(session, cat_ids, nights)
        _restore(session, rows)
        ari.changed_pairs(session, prop.id, keys)  # pushed to channels at commit
        new = record_edit(session, actor, prop, "rates_undo", categories, nights, before,
                          undoes=entry.id, undone_action=entry.action)
        session.flush()
        data = json.loads(new.undo) if new.undo else {"rows": []}
        data["undoes"] = entry.id
        new.undo = json.dumps(data, separators=(",", ":"))
        entry.undone_by_id = new.id
        from services.availability.rates import mark_maintained  # rates imports this module
        mark_maintained(prop)
        uc.keep(new)
    return new

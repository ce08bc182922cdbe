"""History: of a host's data (who, when, what, on whose behalf) and of each booking."""
from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from services.core import clock
from services.core.i18n import stored
from services.models import AuditEntry, Booking, BookingEvent, Property, User


def record(session: Session, actor: User | None, prop: Property | None, action: str, summary: str = "",
           undo: dict | None = None, **params) -> AuditEntry:
    """One line of history. Pass `params` (JSON values), never worded text: the web layer words
    them in the reader's language (portal/web/history.py); `summary` is for old callers only and
    shows as it is. `undo` is what undoing a calendar edit needs (services.availability.undo)."""
    if params:
        summary = stored(params)
    entry = AuditEntry(
        at=clock.now(), actor_id=actor.id if actor else None,
        property_id=prop.id if prop else None, action=action, summary=summary,
        undo=json.dumps(undo, separators=(",", ":")) if undo is not None else None,
    )
    session.add(entry)
    return entry


def history(session: Session, prop: Property, limit: int = 200) -> list[AuditEntry]:
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.property_id == prop.id)
            .options(sa.orm.joinedload(AuditEntry.actor))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )


def booking_event(session: Session, booking: Booking, kind: str, actor: User | None = None, **params) -> None:
    """A line in the booking's own history. `params` (JSON values) are stored, not text, so that
    the web layer words the line in the reader's language (portal.web.event_text)."""
    session.add(BookingEvent(booking_id=booking.id, at=clock.now(), kind=kind, actor_id=actor.id if actor else None,
                             detail=stored(params)))


def change_params(old: Booking, new: Booking) -> dict:
    """What a host modification changed, as event parameters."""
    return {"from_arrival": old.arrival.isoformat(), "from_departure": old.departure.isoformat(),
            "from_category": old.category.name, "to_arrival": new.arrival.isoformat(),
            "to_departure": new.departure.isoformat(), "to_category": new.category.name}


def booking_events(session: Session, booking: Booking) -> list[BookingEvent]:
    return list(session.scalars(
        sa.select(BookingEvent).where(BookingEvent.booking_id == booking.id)
        .options(joinedload(BookingEvent.actor)).order_by(BookingEvent.at, BookingEvent.id)
    ))

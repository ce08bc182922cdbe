"""Assist mode: tourist-office staff work in a host's screens (R5: "or get help from their tourist
office"). Where the mode is kept (the web session) is the web layer's business; here are who may
start it and its two lines of history. Every change made meanwhile is an ordinary use case whose
history line names its actor, the staff member (services.core.audit.record)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from services.accounts import access
from services.core import audit
from services.core.db import use_case
from services.core.errors import Forbidden
from services.models import Property, User


def start(session: Session, actor: User, slug: str) -> Property:
    """Staff (of the property's office) or an admin begin to work for the property's host."""
    access.require_staff(actor)
    prop = access.property_for(session, actor, slug)
    with use_case(session) as uc:
        audit.record(session, actor, prop, "assist_started")
        uc.keep(prop, prop.owner, actor)
    return prop


def leave(session: Session, actor: User, prop_id: int) -> Property | None:
    """The end of the work for a host: a line of history, when the property is still the actor's
    to open (a property gone or moved to another office meanwhile: nothing to record)."""
    access.require_staff(actor)
    prop = session.get(Property, prop_id)
    if prop is None:
        return None
    try:
        access.check_property(actor, prop)
    except Forbidden:
        return None
    with use_case(session) as uc:
        audit.record(session, actor, prop, "assist_ended")
        uc.keep(prop, prop.owner, actor)
    return prop

"""Tenant isolation: which properties an actor may see and change.

A host sees their own properties, and only once the brokerage contract is active; staff
see the properties of their own tourist office; admins see all. Every use case that takes
a property from a request goes through `property_for`.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.core.errors import Forbidden, NotFound
from services.core.i18n import Message, _l
from services.models import Property, User


def visible_properties(actor: User):
    """A WHERE clause for the properties `actor` may open."""
    if actor.role == "admin":
        return sa.true()
    if actor.role == "staff":
        return Property.office_id == actor.office_id
    return sa.and_(Property.owner_id == actor.id, Property.contract_active_since.is_not(None))


def properties_for(session: Session, actor: User) -> list[Property]:
    return list(session.scalars(sa.select(Property).where(visible_properties(actor)).order_by(Property.name)))


def property_for(session: Session, actor: User, slug: str) -> Property:
    prop = session.scalar(sa.select(Property).where(Property.slug == slug))
    if prop is None:
        raise NotFound(_l("No such property."))
    check_property(actor, prop)
    return prop


def check_property(actor: User, prop: Property) -> None:
    if actor.role == "admin":
        return
    if actor.role == "staff" and prop.office_id == actor.office_id:
        return
    if actor.role == "host" and prop.owner_id == actor.id:
        if prop.contract_active_since is None:
            raise Forbidden(_l("This property is waiting for the tourist office to activate the brokerage contract."))
        return
    raise Forbidden(_l("You have no access to this property."))


def of_property(session: Session, model, obj_id: int, prop_id: int, not_found: Message):
    """The object (a booking, a cost, a room category) with this id of this property; another
    property's object is "not found", exactly like one that does not exist (no leak)."""
    obj = session.get(model, obj_id)
    if obj is None or obj.property_id != prop_id:
        raise NotFound(not_found)
    return obj


def require_staff(actor: User) -> None:
    if actor.role not in ("staff", "admin"):
        raise Forbidden(_l("Only tourist-office staff can do this."))


def check_account(session: Session, actor: User, user: User) -> None:
    """Who may act on another's account (e.g. end its sessions): an admin, or staff of an
    office that brokers one of the host's properties."""
    if actor.role == "admin":
        return
    if actor.role == "staff" and user.role == "host" and session.scalar(sa.select(Property.id).where(
            Property.owner_id == user.id, Property.office_id == actor.office_id).limit(1)):
        return
    raise Forbidden(_l("You have no access to this account."))

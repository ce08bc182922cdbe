"""Which tourist office a user reaches for help (R25: a host reports a cancellation at once, by
e-mail or phone, so the office's contact is at hand on every host page and in the guide)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.models import Office, Property, User


def office_for(session: Session, user: User, prop: Property | None = None) -> Office | None:
    """The office of `prop`; without one, for a host the office of their first property (by
    name, as their list shows them), for staff their own office; an admin has none. At most one
    query (none when the office is already in the session)."""
    if prop is not None:
        return prop.office
    if user.role == "host":
        return session.scalar(sa.select(Office).join(Property, Property.office_id == Office.id)
                              .where(Property.owner_id == user.id).order_by(Property.name, Property.id).limit(1))
    if user.office_id is not None:
        return user.office
    return None

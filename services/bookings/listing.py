"""The bookings list: every booking of a property from every source, filtered and paged
(newest first, R35), with the hold life cycle's own predicates for "held" and "expired"."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from services.accounts import access
from services.core import clock
from services.models import Booking, Property, User


@dataclass
class Filters:
    source: str = ""
    status: str = ""  # pending, confirmed, cancelled, expired, modified; "" = all
    arrival_from: dt.date | None = None
    arrival_to: dt.date | None = None
    risk_free: bool | None = None
    q: str = ""
    sort: str = "created"  # created (newest first, R35) or arrival


@dataclass
class Page:
    items: list[Booking]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search(session: Session, actor: User, prop: Property, f: Filters, page: int = 1, per_page: int = 25) -> Page:
    access.check_property(actor, prop)
    now = clock.now()
    where = [Booking.property_id == prop.id]
    if f.source:
        where.append(Booking.source == f.source)
    if f.status == "pending":
        where.append(Booking.hold_running(now))
    elif f.status == "expired":
        where.append(Booking.effectively_expired(now))
    elif f.status:
        where.append(Booking.status == f.status)
    if f.arrival_from:
        where.append(Booking.arrival >= f.arrival_from)
    if f.arrival_to:
        where.append(Booking.arrival <= f.arrival_to)
    if f.risk_free is not None:
        where.append(Booking.risk_free == f.risk_free)
    if f.q.strip():
        needle = f"%{f.q.strip().lower()}%"
        where.append(sa.or_(sa.func.lower(Booking.guest_name).like(needle), sa.func.lower(Booking.voucher).like(needle)))
    total = session.scalar(sa.select(sa.func.count(Booking.id)).where(*where)) or 0
    order = (Booking.arrival, Booking.id) if f.sort == "arrival" else (Booking.created_at.desc(), Booking.id.desc())
    result = Page([], total, 1, per_page)
    # Past the last page is the last page: an offset the database can hold, whatever was asked.
    result.page = min(max(1, page), result.pages)
    result.items = list(session.scalars(
        sa.select(Booking).where(*where).options(joinedload(Booking.category), joinedload(Booking.connection))
        .order_by(*order).offset((result.page - 1) * per_page).limit(per_page)
    ))
    return result

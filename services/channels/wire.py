"""A reservation as channels see it, in API answers and webhooks alike: one wire format."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from services.bookings import ledger, payment
from services.core import clock
from services.models import Booking, BookingEvent, DoubleBooking, DoubleBookingMember, RoomNight, UnplacedNight

if TYPE_CHECKING:
    from services.availability.inventory import Night


@dataclass(frozen=True)
class Overbooking:
    """What the wire says of a notify-mode booking sold beyond what could be had (R10):
    `overbooked` while it has nights without a room or the double booking its push opened is
    still open (a sale beyond the quota); the
    double booking (`conflict_id`: the open one, else the last one), and the restrictions its
    push broke (`warnings`: {code, reason, nights}). Every other booking: false, null, []."""
    overbooked: bool = False
    conflict_id: int | None = None
    warnings: list = field(default_factory=list)


NONE = Overbooking()


def overbooking_of(session: Session, bookings: list[Booking]) -> dict[int, Overbooking]:
    """Overbooking for a page of reservations, in three queries (none for an empty page)."""
    ids = [b.id for b in bookings]
    if not ids:
        return {}
    now = clock.now()
    unplaced = set(session.scalars(
        sa.select(UnplacedNight.booking_id).distinct().join(Booking, Booking.id == UnplacedNight.booking_id)
        .where(UnplacedNight.booking_id.in_(ids), Booking.occupies(now))))
    conflict: dict[int, tuple[bool, int]] = {}
    for bid, db_id, status in session.execute(
            sa.select(DoubleBookingMember.booking_id, DoubleBooking.id, DoubleBooking.status)
            .join(DoubleBooking, DoubleBooking.id == DoubleBookingMember.double_booking_id)
            .where(DoubleBookingMember.booking_id.in_(ids)).order_by(DoubleBooking.id)):
        is_open = status != "resolved"
        if bid not in conflict or is_open or not conflict[bid][0]:
            conflict[bid] = (is_open, db_id)
    warnings: dict[int, list] = {}
    pushed_over: set[int] = set()  # its own push opened the double booking (e.g. beyond the quota)
    for bid, detail in session.execute(
            sa.select(BookingEvent.booking_id, BookingEvent.detail)
            .where(BookingEvent.booking_id.in_(ids), BookingEvent.kind.in_(("created", "hold_created", "confirmed")),
                   sa.or_(BookingEvent.detail.contains('"warnings"'), BookingEvent.detail.contains('"double_booking_id"')))
            .order_by(BookingEvent.id)):
        params = json.loads(detail)
        warnings[bid] = params.get("warnings") or []
        if params.get("double_booking_id"):
            pushed_over.add(bid)
    out = {}
    for b in bookings:
        is_open, db_id = conflict.get(b.id, (False, None))
        if b.id in unplaced or db_id is not None or warnings.get(b.id):
            over = b.occupies(now) and (b.id in unplaced or (is_open and b.id in pushed_over))
            out[b.id] = Overbooking(over, db_id, warnings.get(b.id, []))
    return out


def night(n: Night, final_price: str | None | bool = False) -> dict:
    """One category-night as channels see it: in GET /availability and in the
    availability_changed event alike (the one place its shape is written). `final_price`
    (the price with mandatory costs, R4, as a string or None) is added when given: GET
    /availability carries it, the event does not."""
    answer = {"date": n.night.isoformat(), "available": n.available,
              "price": None if n.price is None else str(n.price)}
    if final_price is not False:
        answer["final_price"] = final_price
    answer.update({"min_stay": n.min_stay, "max_stay": n.max_stay, "closed": n.closed,
                   "closed_to_arrival": n.closed_to_arrival, "closed_to_departure": n.closed_to_departure})
    return answer


def reservation(b: Booking, rows: list[RoomNight] | None = None, overbooking: Overbooking | None = None) -> dict:
    """The API's view of a reservation (also the webhook payload). A risk-free one adds who pays
    it and its replacement room-nights (R51, R57) from its ledger `rows` (loaded here, one query,
    when not given: a list passes payment.rows_by_booking's). `overbooking`: from
    overbooking_of; else what the use case that wrote the booking set on it (`b.overbooking`,
    services.channels.reservations); else none."""
    ob = overbooking or getattr(b, "overbooking", None) or NONE
    currency = b.prop.currency
    pb = b.price_breakdown or {}
    answer = {
        "id": b.id,
        "external_id": b.external_id,
        "status": b.effective_status(clock.now()),
        "channel": b.source,
        "room_category_id": b.category_id,
        "arrival": b.arrival.isoformat(),
        "departure": b.departure.isoformat(),
        "units": b.units,
        "guests": b.guests,
        "guest": {"name": b.guest_name, "email": b.guest_email, "phone": b.guest_phone},
        "voucher": b.voucher,
        "hold_expires_at": b.hold_expires_at.isoformat() if b.hold_expires_at and b.status == "pending" else None,
        "total_price": None if b.total_price is None else str(b.total_price),
        "currency": currency,
        "price_breakdown": {
            "lodging": pb.get("lodging"),
            "mandatory_costs": pb.get("extras", []),
            "total": pb.get("total"),
        },
        "payment_mode": b.payment_mode,
        "risk_free": b.risk_free,
        "free_cancellation_until": b.free_cancellation_until.isoformat() if b.free_cancellation_until else None,
        "cancellation_requested_at": b.cancel_requested_at.isoformat() if b.cancel_requested_at else None,
        "replaces_id": b.replaces_id,
        "replaced_by_id": b.replaced_by_id,
        "created_at": b.created_at.isoformat(),
        "updated_at": b.updated_at.isoformat(),
        # Notify mode (R10): sold beyond what could be had; false, null and [] for every other booking.
        "overbooked": ob.overbooked,
        "conflict_id": ob.conflict_id,
        "warnings": list(ob.warnings),
    }
    if b.risk_free:
        if rows is None:
            rows = ledger.ledger(object_session(b), b)
        answer["payment_status"] = payment.payment_status(b, rows)
        answer["replacement"] = [
            {"night": r["night"].isoformat(), "unit": r["unit"], "state": r["state"],
             "amount": None if r["amount"] is None else str(r["amount"]), "resold_by": r["resold_by"]}
            for r in payment.replacement(rows)
        ]
    return answer

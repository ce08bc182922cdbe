"""A reservation as channels see it, in API answers and webhooks alike: one wire format."""
from __future__ import annotations

from sqlalchemy.orm import object_session

from services.bookings import ledger, payment
from services.core import clock
from services.models import Booking, RoomNight


def reservation(b: Booking, rows: list[RoomNight] | None = None) -> dict:
    """The API's view of a reservation (also the webhook payload). A risk-free one adds who pays
    it and its replacement room-nights (R51, R57) from its ledger `rows` (loaded here, one query,
    when not given: a list passes payment.rows_by_booking's)."""
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

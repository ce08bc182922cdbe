"""A reservation as channels see it, in API answers and webhooks alike: one wire format."""
from __future__ import annotations

from services.core import clock
from services.models import Booking


def reservation(b: Booking) -> dict:
    """The API's view of a reservation (also the webhook payload)."""
    currency = b.prop.currency
    pb = b.price_breakdown or {}
    return {
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

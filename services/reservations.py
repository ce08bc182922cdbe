"""Channel reservations (R31-R37): holds, confirmation with voucher, cancellation, retries.

The JSON API is a thin adapter over these functions; the host's side (modifications,
cancellation requests) lives in services/channel_bookings.py.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import audit, clock, inputs, inventory, notify
from services.db import use_case
from services.channels import channel_label
from services.bookings import check_total, quote
from services.errors import Conflict, Invalid, NotFound
from services.i18n import _l
from services.models import Booking, ChannelConnection, RoomCategory

MAX_NIGHTS = inputs.MAX_NIGHTS
VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone


@dataclass
class ReservationInput:
    external_id: str
    room_category_id: int
    arrival: dt.date
    departure: dt.date
    units: int
    guests: int
    guest_name: str
    guest_email: str
    guest_phone: str
    status: str
    total_price: Decimal | None
    risk_free: bool
    free_cancellation_until: dt.datetime | None


FIELDS = {"external_id", "room_category_id", "arrival", "departure", "units", "guests", "guest", "status",
          "total_price", "risk_free", "free_cancellation_until"}
GUEST_FIELDS = {"name", "email", "phone"}


def _date(value, field, errors):
    if not isinstance(value, str):
        errors[field] = _l("Use a date like 2027-05-01.")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[field] = _l("Use a date like 2027-05-01.")
        return None


def _int(value, field, errors, default=None, low=1, high=10_000):
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        errors[field] = _l("Must be a whole number.")
        return default or 1
    if not low <= value <= high:
        errors[field] = _l("Must be from %(low)s to %(high)s.", low=low, high=high)
    return value


def _text(value, field, errors, required=False, max_len=120):
    return inputs.line(value, field, errors, required=_l("This field is required.") if required else None,
                       max_len=max_len)


def parse(payload) -> ReservationInput:
    """Validate a reservation body: types, formats, ranges, unknown fields refused."""
    if not isinstance(payload, dict):
        raise Invalid({"body": _l("Send a JSON object.")})
    errors = {}
    for name in sorted(set(payload) - FIELDS):
        errors[name] = _l("Unknown field.")
    external_id = _text(payload.get("external_id"), "external_id", errors, required=True, max_len=100)
    cat_id = _int(payload.get("room_category_id"), "room_category_id", errors, low=1, high=2**31 - 1)
    arrival = _date(payload.get("arrival"), "arrival", errors)
    departure = _date(payload.get("departure"), "departure", errors)
    units = _int(payload.get("units"), "units", errors, default=1, low=1, high=inputs.MAX_UNITS_PER_BOOKING)
    guests = _int(payload.get("guests"), "guests", errors, default=1, low=1, high=1000)
    guest = payload.get("guest")
    name = email = phone = ""
    if not isinstance(guest, dict):
        errors["guest"] = _l("Send the guest as an object with name, email and phone.")
    else:
        for k in sorted(set(guest) - GUEST_FIELDS):
            errors[f"guest.{k}"] = _l("Unknown field.")
        name = _text(guest.get("name"), "guest.name", errors, required=True)
        email = _text(guest.get("email"), "guest.email", errors, max_len=254)
        if email and "guest.email" not in errors and not inputs.EMAIL.match(email):
            errors["guest.email"] = _l("Enter a valid e-mail address.")
        phone = _text(guest.get("phone"), "guest.phone", errors, max_len=40)
    status = payload.get("status", "confirmed")
    if status not in ("pending", "confirmed"):
        errors["status"] = _l("Use pending (in the cart, unpaid) or confirmed (paid).")
    total = None
    if payload.get("total_price") is not None:
        raw = payload["total_price"]
        try:
            if not isinstance(raw, str):
                raise InvalidOperation
            total = Decimal(raw)
            if not total.is_finite() or total < 0 or total >= Decimal("100000000") or total.as_tuple().exponent < -2:
                raise InvalidOperation
        except InvalidOperation:
            errors["total_price"] = _l("Send the amount as a decimal string like \"189.00\".")
            total = None
    risk_free = payload.get("risk_free", False)
    if not isinstance(risk_free, bool):
        errors["risk_free"] = _l("Must be true or false.")
    fcu = payload.get("free_cancellation_until")
    until = None
    if fcu is not None:
        try:
            until = inputs.aware_datetime(fcu, stored=True)
        except ValueError:
            errors["free_cancellation_until"] = _l("Use a date and time with time zone, like 2027-04-01T12:00:00Z.")
    inputs.stay(arrival, departure, errors, max_nights=MAX_NIGHTS)
    if errors:
        raise Invalid(errors)
    return ReservationInput(external_id, cat_id, arrival, departure, units, guests, name, email, phone, status,
                            total, bool(risk_free), until)


def new_voucher(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(10))
        if not session.scalar(sa.select(Booking.id).where(Booking.voucher == code)):
            return code


def _breakdown(session, prop, cat, arrival, departure, units, total: Decimal | None) -> dict:
    q = quote(session, prop, cat, arrival, departure, units)
    computed = q.total
    return {
        "lodging": None if q.lodging is None else str(q.lodging),
        "extras": [{"name": n, "amount": str(a)} for n, a in q.extras],
        "total": str(total if total is not None else computed) if (total is not None or computed is not None) else None,
    }


def find(session: Session, conn: ChannelConnection, booking_id: int) -> Booking:
    """A reservation of this connection; another's is 'not found' (no leak)."""
    b = session.get(Booking, booking_id)
    if b is None or b.connection_id != conn.id:
        raise NotFound(_l("No such reservation."))
    return b


def create(session: Session, conn: ChannelConnection, data: ReservationInput) -> tuple[Booking, bool]:
    """Create a hold or a paid reservation. Returns (booking, created); a retry returns the first one."""
    existing = session.scalar(sa.select(Booking).where(
        Booking.connection_id == conn.id, Booking.external_id == data.external_id))
    if existing is not None:
        return existing, False
    prop = conn.prop
    cat = session.get(RoomCategory, data.room_category_id)
    errors = {}
    if cat is None or cat.property_id != prop.id:
        errors["room_category_id"] = _l("No such room category at this property.")
    elif data.units > len(cat.units):
        errors["units"] = _l("This category has only %(n)s units.", n=len(cat.units))
    elif data.guests > cat.max_guests * data.units:
        errors["guests"] = _l("At most %(n)s guests fit.", n=cat.max_guests * data.units)
    inputs.stay(data.arrival, data.departure, errors, max_nights=MAX_NIGHTS, today=clock.today(prop.timezone))
    if errors:
        raise Invalid(errors)
    now = clock.now()
    b = Booking(
        property_id=prop.id, category_id=cat.id, source=conn.channel, status=data.status,
        arrival=data.arrival, departure=data.departure, units=data.units, guests=data.guests,
        guest_name=data.guest_name, guest_email=data.guest_email, guest_phone=data.guest_phone,
        connection_id=conn.id, external_id=data.external_id, payment_mode=conn.payment_mode,
        risk_free=data.risk_free, free_cancellation_until=data.free_cancellation_until,
        created_at=now, updated_at=now,
        hold_expires_at=now + dt.timedelta(minutes=conn.hold_minutes) if data.status == "pending" else None,
    )
    b.price_breakdown = _breakdown(session, prop, cat, data.arrival, data.departure, data.units, data.total_price)
    b.total_price = Decimal(b.price_breakdown["total"]) if b.price_breakdown["total"] else None
    check_total(b.total_price)
    if data.status == "confirmed":
        b.voucher = new_voucher(session)  # R37: only for a fully paid stay
    session.add(b)
    try:
        session.flush()
    except IntegrityError:
        # The same order arrived twice at once: the other request created it.
        session.rollback()
        return find_external(session, conn, data.external_id), False
    with use_case(session) as uc:
        inventory.take(session, b)
        channel = conn.channel
        if data.status == "pending":
            audit.booking_event(session, b, "hold_created", channel=channel, until=b.hold_expires_at.isoformat())
        else:
            audit.booking_event(session, b, "created", channel=channel)
            _mail_new(session, b)
        uc.keep(b, b.prop)  # the answer (as_dict) needs no query after the commit
    return b, True


def find_external(session: Session, conn: ChannelConnection, external_id: str) -> Booking:
    b = session.scalar(sa.select(Booking).where(Booking.connection_id == conn.id, Booking.external_id == external_id))
    if b is None:
        raise Conflict(_l("The reservation could not be stored; please retry."), code="retry")
    return b


def _mail_new(session, b: Booking) -> None:
    notify.mail_host(
        session, b.prop,
        _l("New booking: %(guest)s, %(stay)s", guest=b.guest_name, stay=notify.stay(b)),
        _l("A new booking arrived from %(channel)s.\n\nGuest: %(guest)s, %(email)s, %(phone)s\nStay: %(stay)s, %(category)s x %(units)s\nVoucher: %(voucher)s\nTotal: %(total)s",
           channel=channel_label(b.source), guest=b.guest_name, email=b.guest_email or "-", phone=b.guest_phone or "-",
           stay=notify.stay(b), category=b.category.name, units=b.units, voucher=b.voucher or "-",
           total=f"{b.total_price} {b.prop.currency}" if b.total_price is not None else "-"),
    )


def confirm(session: Session, conn: ChannelConnection, booking_id: int) -> Booking:
    """Payment complete: a voucher now (R37). An expired hold must find its nights again."""
    b = find(session, conn, booking_id)
    if b.status == "confirmed":
        return b
    if b.status in ("cancelled", "modified"):
        raise Conflict(_l("This reservation is %(status)s and cannot be confirmed.", status=b.status), code="not_pending")
    was_expired = b.effective_status(clock.now()) == "expired"
    with use_case(session) as uc:
        # Give back whatever the hold still occupies and take the nights as a confirmed booking.
        inventory.release(session, b)
        b.status, b.hold_expires_at = "confirmed", None
        inventory.take(session, b)
        b.voucher = new_voucher(session)
        b.updated_at = clock.now()
        audit.booking_event(session, b, "confirmed", voucher=b.voucher, after_expiry=was_expired)
        notify.mail_host(
            session, b.prop,
            _l("Hold confirmed: %(guest)s, %(stay)s", guest=b.guest_name, stay=notify.stay(b)),
            _l("The temporarily unconfirmed reservation of %(guest)s (%(stay)s) is paid and confirmed. Voucher: %(voucher)s",
               guest=b.guest_name, stay=notify.stay(b), voucher=b.voucher),
        )
        uc.keep(b, b.prop)
    return b


def cancel(session: Session, conn: ChannelConnection, booking_id: int, units: int | None = None) -> Booking:
    """Only the channel cancels (R32); the nights are free at once. `units` cancels part of a multi-unit stay."""
    b = find(session, conn, booking_id)
    if b.status == "modified":
        raise Conflict(_l("This reservation was replaced by a change; cancel the new one."), code="modified")
    if b.status in ("cancelled", "expired"):
        return b
    if units is not None and not 1 <= units <= b.units:
        raise Invalid({"units": _l("Cancel from 1 to %(n)s units.", n=b.units)})
    with use_case(session) as uc:
        now = clock.now()
        if units is None or units == b.units:
            b.status = "cancelled"
            inventory.release(session, b)
            audit.booking_event(session, b, "cancelled", channel=conn.channel)
            text = _l("%(channel)s cancelled the booking of %(guest)s (%(stay)s, voucher %(voucher)s). The nights are free again.",
                      channel=channel_label(conn.channel), guest=b.guest_name, stay=notify.stay(b), voucher=b.voucher or "-")
        else:
            inventory.release_units(session, b, units)
            if b.total_price is not None:
                b.total_price = (b.total_price * (b.units - units) / b.units).quantize(Decimal("0.01"))
            b.price_breakdown = _breakdown(session, b.prop, b.category, b.arrival, b.departure, b.units - units, b.total_price)
            b.units -= units
            audit.booking_event(session, b, "partially_cancelled", channel=conn.channel, cancelled=units, kept=b.units)
            text = _l("%(channel)s cancelled part of the booking of %(guest)s (%(stay)s): units cancelled %(n)s, units kept %(left)s.",
                      channel=channel_label(conn.channel), n=units, guest=b.guest_name, stay=notify.stay(b), left=b.units)
        b.updated_at = now
        notify.mail_host(session, b.prop, _l("Cancellation: %(guest)s, %(stay)s", guest=b.guest_name, stay=notify.stay(b)), text)
        uc.keep(b, b.prop)
    return b


def sweep(session: Session) -> int:
    """Mark holds past their time as expired, for the record (availability never waits for this)."""
    now = clock.now()
    expired = list(session.scalars(sa.select(Booking).where(Booking.hold_ran_out(now))))
    for b in expired:
        inventory.release(session, b)
        b.status, b.updated_at = "expired", now
        audit.booking_event(session, b, "expired")
        notify.webhook(session, b.connection, "reservation.expired", as_dict(b))
    session.commit()
    return len(expired)


def changed_since(session: Session, conn: ChannelConnection, since: dt.datetime, after_id: int = 0,
                  limit: int = 50) -> list[Booking]:
    """Reservations of this connection changed after `since`, oldest change first (ties by id)."""
    return list(session.scalars(
        sa.select(Booking).where(
            Booking.connection_id == conn.id,
            sa.or_(Booking.updated_at > since, sa.and_(Booking.updated_at == since, Booking.id > after_id)),
        ).order_by(Booking.updated_at, Booking.id).limit(limit)
    ))


def as_dict(b: Booking) -> dict:
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

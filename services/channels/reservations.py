"""Channel reservations (R31-R37): holds, confirmation with voucher, cancellation, retries.

The JSON API is a thin adapter over these functions; the host's side (modifications,
cancellation requests) lives in services/channels/host_changes.py.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from services.availability import inventory, pricing
from services.bookings import cancelling, conflicts, notify, risk_free
from services.bookings import ledger
from services.channels import wire
from services.core import audit, clock, inputs
from services.core.db import use_case
from services.office import terms as office_terms
from services.channels.connections import channel_label
from services.core.errors import Conflict, Invalid, NotFound
from services.core.i18n import _l
from services.models import Booking, ChannelConnection, ExtraCost, Property, RoomCategory, Terms, Unit, UnplacedNight

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
    card: CardInput | None = None


@dataclass
class CardInput:
    """The guest's card as a channel may send it (R56): never the full number."""
    holder: str
    brand: str
    last4: str
    expiry: str  # MM/YY


def new_voucher(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(10))
        if not session.scalar(sa.select(Booking.id).where(Booking.voucher == code)):
            return code


def find(session: Session, conn: ChannelConnection, booking_id: int) -> Booking:
    """A reservation of this connection; another's is 'not found' (no leak)."""
    b = session.get(Booking, booking_id)
    if b is None or b.connection_id != conn.id:
        raise NotFound(_l("No such reservation."))
    return b


def _for_create(session: Session, conn: ChannelConnection, data: ReservationInput):
    """What a new reservation is checked and priced with, in one statement: (property with its
    mandatory costs, the category asked for or None, its number of units, the host's terms or
    None, the id of a reservation with the same external id or None). The many-to-one loads
    that follow (conn.prop, b.prop, b.category) find them in the session: no lazy load."""
    existing = (sa.select(Booking.id).where(Booking.connection_id == conn.id,
                                            Booking.external_id == data.external_id).scalar_subquery())
    units = sa.select(sa.func.count(Unit.id)).where(Unit.category_id == RoomCategory.id).scalar_subquery()
    rows = session.execute(
        sa.select(Property, RoomCategory, Terms, units, existing)
        .outerjoin(RoomCategory, sa.and_(RoomCategory.id == data.room_category_id,
                                         RoomCategory.property_id == Property.id))
        .outerjoin(Terms, Terms.property_id == Property.id)  # the host's own terms (office_terms.of_property)
        .outerjoin(ExtraCost, ExtraCost.property_id == Property.id)
        .options(contains_eager(Property.extra_costs))
        .where(Property.id == conn.property_id)
        .order_by(ExtraCost.id)  # the collection's own order
    ).unique().all()
    prop, cat, terms, n_units, existing_id = rows[0]
    return prop, cat, n_units or 0, terms, existing_id


def create(session: Session, conn: ChannelConnection, data: ReservationInput) -> tuple[Booking, bool]:
    """Create a hold or a paid reservation. Returns (booking, created); a retry returns the first one.
    A fixed number of statements, whatever the stay (tests/api/test_write_path.py)."""
    prop, cat, n_units, terms, existing_id = _for_create(session, conn, data)
    if existing_id is not None:
        return session.get(Booking, existing_id), False
    errors = {}
    if cat is None:
        errors["room_category_id"] = _l("No such room category at this property.")
    elif data.units > n_units:
        errors["units"] = _l("This category has only %(n)s units.", n=n_units)
    elif data.guests > cat.max_guests * data.units:
        errors["guests"] = _l("At most %(n)s guests fit.", n=cat.max_guests * data.units)
    inputs.stay(data.arrival, data.departure, errors, max_nights=MAX_NIGHTS, today=clock.today(prop.timezone))
    if data.risk_free and conn.channel != risk_free.RISK_FREE_CHANNEL:
        errors["risk_free"] = _l("Only Booking.com sells risk-free reservations.")
    if data.card is not None and not (len(data.card.last4) == 4 and data.card.last4.isdigit()):
        errors["card.last4"] = _l("Send only the last 4 digits of the card.")
    if errors:
        raise Invalid(errors)
    # A risk-free sale for a property outside the programme is still a sale: an ordinary booking.
    not_in_programme = risk_free.not_in_programme_reason(prop) if data.risk_free else None
    now = clock.now()
    b = Booking(
        property_id=prop.id, category_id=cat.id, source=conn.channel, status=data.status,
        arrival=data.arrival, departure=data.departure, units=data.units, guests=data.guests,
        guest_name=data.guest_name, guest_email=data.guest_email, guest_phone=data.guest_phone,
        connection_id=conn.id, external_id=data.external_id, payment_mode=conn.payment_mode,
        risk_free=data.risk_free and not_in_programme is None, free_cancellation_until=data.free_cancellation_until,
        created_at=now, updated_at=now,
        hold_expires_at=now + dt.timedelta(minutes=conn.hold_minutes) if data.status == "pending" else None,
    )
    b.price_breakdown = pricing.breakdown(session, prop, cat, data.arrival, data.departure, data.units, data.total_price)
    b.total_price = Decimal(b.price_breakdown["total"]) if b.price_breakdown["total"] else None
    pricing.check_total(b.total_price)
    if data.card is not None:
        b.card_holder, b.card_brand = data.card.holder, data.card.brand
        b.card_last4, b.card_expiry = data.card.last4, data.card.expiry
    # R22: the deposit the host's terms ask for (none for a prepaid channel: it collected the payment).
    b.deposit_amount, b.deposit_due = office_terms.deposit(terms, b, clock.today(prop.timezone))
    if data.status == "confirmed":
        b.voucher = new_voucher(session)  # R37: only for a fully paid stay
    try:
        with use_case(session) as uc:
            session.add(b)  # flushed by take: a booking without an id has no rows of its own to look for
            # Notify mode: the channel already sold the stay; it is stored whatever it breaks (R10).
            warnings = inventory.take(session, b, overbook=notify_mode(conn))
            conflict = _overbooked(session, b, warnings) if notify_mode(conn) else None
            channel = conn.channel
            extra = _overbooking_params(b, warnings, conflict)
            if data.status == "pending":
                audit.booking_event(session, b, "hold_created", channel=channel, until=b.hold_expires_at.isoformat(),
                                    **extra)
            else:
                audit.booking_event(session, b, "created", channel=channel, **extra)
                _mail_new(session, b)
            if not_in_programme:
                audit.booking_event(session, b, "risk_free_not_applied", reason=not_in_programme)
            uc.keep(b, b.prop)  # the answer (wire.reservation) needs no query after the commit
    except IntegrityError:
        # The same order arrived twice at once: the other request created it (the use case rolled back).
        return find_external(session, conn, data.external_id), False
    return b, True


def notify_mode(conn: ChannelConnection) -> bool:
    """The channel sells from its own copy of the availability: never refuse its bookings."""
    return conn.inventory_mode == "notify"


def _overbooked(session: Session, b: Booking, warnings: list[dict]):
    """After a notify-mode take: the double booking opened (or extended) when the booking has
    nights without a room or sold beyond the quota, else None. Also sets what the answer says
    (wire.reservation: overbooked, conflict_id, warnings) on the booking, so that the answer
    needs no query after the commit."""
    nights = inventory.nights_of(b.arrival, b.departure)
    unplaced = session.scalar(sa.select(sa.func.count(UnplacedNight.id)).where(UnplacedNight.booking_id == b.id))
    conflict = None
    if unplaced or any(w["reason"] == "quota" for w in warnings):
        conflict = conflicts.open_for(session, b.category, nights, "overbooked_push")
    b.overbooking = wire.Overbooking(bool(unplaced) or conflict is not None,
                                     conflict.id if conflict is not None else None, warnings)
    return conflict


def _overbooking_params(b: Booking, warnings: list[dict], conflict) -> dict:
    """What the booking's history keeps of an overbooked or restriction-breaking push."""
    out = {}
    if warnings:
        out["warnings"] = warnings
    if conflict is not None:
        out["double_booking_id"] = conflict.id
    return out


def find_external(session: Session, conn: ChannelConnection, external_id: str) -> Booking:
    b = session.scalar(sa.select(Booking).where(Booking.connection_id == conn.id, Booking.external_id == external_id))
    if b is None:
        raise Conflict(_l("The reservation could not be stored; please retry."), code="retry")
    return b


def _mail_new(session, b: Booking) -> None:
    notify.mail_host(
        session, b.prop,
        _l("New booking: %(guest)s, %(stay)s", guest=b.guest_name, stay=notify.stay(b)),
        _l("A new booking arrived from %(channel)s.\n\nStay: %(stay)s, %(category)s x %(units)s\nTotal: %(total)s",
           channel=channel_label(b.source), stay=notify.stay(b), category=b.category.name, units=b.units,
           total=notify.Amount(b.total_price, b.prop.currency) if b.total_price is not None else "-"),
        booking=b,
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
        warnings = inventory.take(session, b, overbook=notify_mode(conn))
        conflict = _overbooked(session, b, warnings) if notify_mode(conn) else None
        b.voucher = new_voucher(session)
        b.updated_at = clock.now()
        audit.booking_event(session, b, "confirmed", voucher=b.voucher, after_expiry=was_expired,
                            **_overbooking_params(b, warnings, conflict))
        notify.mail_host(
            session, b.prop,
            _l("Hold confirmed: %(guest)s, %(stay)s", guest=b.guest_name, stay=notify.stay(b)),
            _l("The temporarily unconfirmed reservation of %(guest)s (%(stay)s, %(category)s x %(units)s) is paid and confirmed.",
               guest=b.guest_name, stay=notify.stay(b), category=b.category.name, units=b.units),
            booking=b,
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
            cancelling.cancel_stay(session, b, "channel")  # nights released, room-nights cancelled (issue 10)
            audit.booking_event(session, b, "cancelled", channel=conn.channel)
            text = _l("%(channel)s cancelled the booking of %(guest)s (%(stay)s). The nights are free again.",
                      channel=channel_label(conn.channel), guest=b.guest_name, stay=notify.stay(b))
        else:
            inventory.release_units(session, b, units)
            # The ledger keeps what was sold (the original total) and marks the released
            # room-nights cancelled; the booking's total becomes what the guest still owes.
            ledger.cancel_released(session, b)
            if b.total_price is not None:
                b.total_price = ledger.still_due(session, b)
            b.price_breakdown = pricing.breakdown(session, b.prop, b.category, b.arrival, b.departure, b.units - units, b.total_price)
            b.units -= units
            audit.booking_event(session, b, "partially_cancelled", channel=conn.channel, cancelled=units, kept=b.units)
            text = _l("%(channel)s cancelled part of the booking of %(guest)s (%(stay)s): units cancelled %(n)s, units kept %(left)s.",
                      channel=channel_label(conn.channel), n=units, guest=b.guest_name, stay=notify.stay(b), left=b.units)
        inventory.settle(session)  # what waited for these nights gets them now (notify mode)
        b.overbooking = wire.overbooking_of(session, [b]).get(b.id)  # the answer, without a query after the commit
        if b.risk_free:  # R52: the message comes at once and says the search has started
            text = _l("%(message)s\n\nThis is a risk-free reservation: Booking.com searches replacement guests for the "
                      "cancelled room-nights at your current price and pays those it cannot resell from the "
                      "scheduled arrival day.", message=text)
        b.updated_at = now
        notify.mail_host(session, b.prop, _l("Cancellation: %(guest)s, %(stay)s", guest=b.guest_name, stay=notify.stay(b)), text,
                         booking=b)
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
        notify.webhook(session, b.connection, "reservation.expired", wire.reservation(b))
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

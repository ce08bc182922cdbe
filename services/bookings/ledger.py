"""The room-night ledger (issue 10, R55, R57): what a booking sold per (night, unit).

inventory.take writes the rows (price: the room-night's share of the agreed total, mandatory
costs included; commissionable: its lodging part). Cancelling changes their state, never an
amount, so the original total stays readable next to what the guest still owes; later
figures (resale, payout by the platform, statements) come from these rows.

Risk-free bookings (R52-R55): their cancelled room-nights become `searching`; `resell` (called
by inventory.take) turns the oldest ones `resold` to a new Booking.com sale; what is still
searching on the arrival day is paid by the platform (services.bookings.replacement).
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from services.core import audit, clock
from services.models import Booking, Occupancy, RoomNight, UnplacedNight

# The guest no longer pays these (cancelled; later searching, resold to another guest, paid by the platform).
NOT_DUE = ("cancelled", "searching", "resold", "paid_by_platform")


def ledger(session: Session, booking: Booking) -> list[RoomNight]:
    """The booking's room-nights by night and unit, units loaded (one query)."""
    return list(session.scalars(
        sa.select(RoomNight).options(joinedload(RoomNight.unit))
        .where(RoomNight.booking_id == booking.id).order_by(RoomNight.night, RoomNight.unit_id)
    ))


def amounts(session: Session, booking: Booking, rows: list[RoomNight] | None = None
            ) -> tuple[Decimal, Decimal, Decimal]:
    """(original total, still due from the guest, cancelled amount); one query, none with `rows`."""
    if rows is None:
        rows = ledger(session, booking)
    zero = Decimal("0.00")
    original = sum((r.price for r in rows), zero)
    cancelled = sum((r.price for r in rows if r.state in NOT_DUE), zero)
    return original, original - cancelled, cancelled


def still_due(session: Session, booking: Booking) -> Decimal:
    """What the guest still owes: the price of the room-nights not cancelled."""
    return session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(RoomNight.price), 0))
        .where(RoomNight.booking_id == booking.id, RoomNight.state.not_in(NOT_DUE))
    )


def cancelled_state(booking: Booking) -> str:
    """What a cancelled room-night becomes: a risk-free booking's goes into the replacement
    search (R52, R57: `searching`), any other's is simply `cancelled`."""
    return "searching" if booking.risk_free else "cancelled"


def cancel_all(session: Session, booking: Booking) -> None:
    """A full cancellation: every sold room-night becomes cancelled (a risk-free booking's:
    searching, R52), amounts untouched."""
    session.execute(
        sa.update(RoomNight).where(RoomNight.booking_id == booking.id, RoomNight.state == "sold")
        .values(state=cancelled_state(booking), changed_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def cancel_released(session: Session, booking: Booking) -> None:
    """After a partial release (inventory.release_units): the sold room-nights whose (unit,
    night) the booking no longer occupies become cancelled, amounts untouched."""
    held = sa.select(Occupancy.id).where(
        Occupancy.booking_id == booking.id, Occupancy.unit_id == RoomNight.unit_id, Occupancy.night == RoomNight.night,
    )
    session.execute(
        sa.update(RoomNight).where(RoomNight.booking_id == booking.id, RoomNight.state == "sold",
                                   RoomNight.unit_id.is_not(None), ~held.exists())
        .values(state=cancelled_state(booking), changed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    # Room-nights sold without a unit (notify mode): as many stay sold per night as the booking
    # still has nights without a room there (inventory.release_units gives those back first).
    unitless = session.execute(
        sa.select(RoomNight.id, RoomNight.night).where(
            RoomNight.booking_id == booking.id, RoomNight.state == "sold", RoomNight.unit_id.is_(None))
        .order_by(RoomNight.night, RoomNight.id)
    ).all()
    if unitless:
        left = dict(session.execute(
            sa.select(UnplacedNight.night, UnplacedNight.units).where(UnplacedNight.booking_id == booking.id)).all())
        seen: dict = {}
        doomed = []
        for row_id, night in unitless:
            seen[night] = seen.get(night, 0) + 1
            if seen[night] > left.get(night, 0):
                doomed.append(row_id)
        if doomed:
            session.execute(
                sa.update(RoomNight).where(RoomNight.id.in_(doomed))
                .values(state=cancelled_state(booking), changed_at=clock.now())
                .execution_options(synchronize_session=False)
            )


def resells(booking: Booking) -> bool:
    """Whether `booking` is a new sale that may resell searching room-nights (R54): a confirmed
    Booking.com booking (the platform runs the search on its own channel; a hold resells once it
    is confirmed, which takes its nights again). A host's change of a stay (`replaces_id`) is
    the same guest, not a new sale."""
    return booking.source == "booking" and booking.status == "confirmed" and booking.replaces_id is None


def resell(session: Session, booking: Booking) -> int:
    """R54: the new booking's room-nights resell searching ones of its category. Per night it
    takes, as many of the OLDEST searching room-nights (of other bookings) as it has units that
    night and has not resold yet become `resold`, with resold_by_id = the new booking and
    amount_paid = the new booking's own price for that night (the price valid on the resale
    day). Called by inventory.take right after the new booking's rows are written, inside its
    transaction (the category's rate rows are locked there, so two takers never resell the same
    row). Returns how many room-nights were resold. Three queries, whatever the stay's length."""
    if not resells(booking):
        return 0
    own = session.execute(
        sa.select(RoomNight.night, RoomNight.price)
        .where(RoomNight.booking_id == booking.id, RoomNight.state == "sold")
        .order_by(RoomNight.night, RoomNight.unit_id)
    ).all()
    if not own:
        return 0
    prices: dict = {}
    for night, price in own:
        prices.setdefault(night, []).append(price)
    done: dict = dict(session.execute(  # a booking taken again (an edit) resells nothing twice
        sa.select(RoomNight.night, sa.func.count(RoomNight.id))
        .where(RoomNight.resold_by_id == booking.id).group_by(RoomNight.night)
    ).all())
    waiting = session.execute(
        sa.select(RoomNight.id, RoomNight.night, RoomNight.booking_id)
        .join(Booking, Booking.id == RoomNight.booking_id)
        .where(Booking.category_id == booking.category_id, Booking.id != booking.id,
               RoomNight.state == "searching", RoomNight.night.in_(list(prices)))
        .order_by(RoomNight.night, RoomNight.changed_at, RoomNight.id)
        .with_for_update(of=RoomNight)
    ).all()
    now = clock.now()
    changes = []
    for night, row_ids in _by_night(waiting).items():
        left = prices[night][done.get(night, 0):]
        changes.extend({"id": row_id, "state": "resold", "resold_by_id": booking.id, "amount_paid": price,
                        "changed_at": now} for row_id, price in zip(row_ids, left))
    if changes:
        session.execute(sa.update(RoomNight), changes)  # by primary key, one statement per batch
        # Each original booking's history says when which of its nights were resold, and to whom.
        owner = {row_id: bid for row_id, _night, bid in waiting}
        nights_of: dict = {}
        night_of = {row_id: night for row_id, night, _bid in waiting}
        for change in changes:
            nights_of.setdefault(owner[change["id"]], []).append(night_of[change["id"]].isoformat())
        for bid, nights in sorted(nights_of.items()):
            audit.booking_event(session, session.get(Booking, bid), "resold", nights=sorted(nights), by=booking.id)
    return len(changes)


def _by_night(rows) -> dict:
    out: dict = {}
    for row_id, night, *_ in rows:
        out.setdefault(night, []).append(row_id)
    return out

"""Guest cancellations through the office (R20, R21, R10 (b)): the host reports, staff cancel
free of charge, the nights are released once; the fee the host bills the guest (R21).

A guest who cancels an online booking with the host: the host reports it (`report`), it waits in
the office's queue (`queue`) and the office is e-mailed; staff cancel it free of charge for the
platform (`cancel`: the nights are released by services.bookings.cancelling, the one path the
channel's cancellation takes too, and the channel is told by webhook) or decline it. The host
never frees the nights of an online booking by hand (own.cancel_own_booking refuses), and a
report is handled once under a row lock, so the nights are never freed twice (R10 (b)).
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from services.accounts import access
from services.availability import inventory
from services.bookings import cancelling, notify
from services.bookings.own import get_booking
from services.channels import wire
from services.channels.connections import channel_label
from services.core import audit, clock, inputs
from services.core.db import use_case
from services.core.errors import Conflict, Invalid, NotFound
from services.core.i18n import _l
from services.models import TOLD_BY, Booking, CancellationReport, Property, Terms, User
from services.office import terms

MAX_NOTE = 1000
# How the guest told the host (models.TOLD_BY), as the office's e-mail and the pages word it.
TOLD_BY_LABELS = {"email": _l("by e-mail"), "phone": _l("by phone"), "letter": _l("by letter"),
                  "in_person": _l("in person"), "other": _l("in another way")}
OFFICE_LOCALE = "de"  # the office reads German, as its other notices (services.bookings.rehousing)


def waiting_report(session: Session, booking: Booking) -> CancellationReport | None:
    """The booking's report still waiting for the office, if any."""
    return session.scalar(sa.select(CancellationReport).where(
        CancellationReport.booking_id == booking.id, CancellationReport.status == "waiting"))


def report(session: Session, host_actor: User, prop: Property, booking_id: int, guest_told_on, told_by: str,
           note: str = "") -> CancellationReport:
    """R20: the guest cancelled an online booking with the host, who reports it to the office."""
    b = get_booking(session, host_actor, prop, booking_id)
    if b.connection_id is None:
        raise Conflict(_l("Own bookings are cancelled directly, not through the tourist office."), code="not_channel")
    if b.status != "confirmed":
        raise Conflict(_l("This booking is no longer active."), code="not_active")
    errors: dict = {}
    today = clock.today(prop.timezone)
    if guest_told_on is None:
        errors["guest_told_on"] = _l("Enter the date the guest told you.")
    elif guest_told_on > today:
        errors["guest_told_on"] = _l("The date cannot be in the future.")
    if told_by not in TOLD_BY:
        errors["told_by"] = _l("Choose how the guest told you.")
    note = inputs.text(note, "note", errors, max_len=MAX_NOTE)
    if errors:
        raise Invalid(errors)
    if waiting_report(session, b) is not None:
        raise Conflict(_l("This cancellation has been reported already and is waiting for the tourist office."),
                       code="reported")
    with use_case(session) as uc:
        now = clock.now()
        r = CancellationReport(booking_id=b.id, property_id=prop.id, reported_at=now, reported_by_id=host_actor.id,
                               guest_told_on=guest_told_on, told_by=told_by, note=note, status="waiting")
        session.add(r)
        try:
            session.flush()  # the unique index on waiting reports: two reports at once, one wins
        except IntegrityError:
            raise Conflict(_l("This cancellation has been reported already and is waiting for the tourist office."),
                           code="reported") from None
        audit.booking_event(session, b, "cancellation_reported", host_actor, told_on=guest_told_on.isoformat(),
                            told_by=told_by, note=note)
        audit.record(session, host_actor, prop, "cancellation_reported", booking=b.id, guest=b.guest_name,
                     told_on=guest_told_on.isoformat(), told_by=told_by)
        office = prop.office
        notify.mail_to(
            session, prop, "office", office.email if office else "", OFFICE_LOCALE,
            _l("%(property)s: guest cancellation reported, %(guest)s, %(stay)s", property=prop.name,
               guest=b.guest_name, stay=notify.stay(b)),
            _l("%(host)s reports that the guest %(guest)s cancelled the %(channel)s booking #%(id)s (%(stay)s, "
               "%(category)s x %(units)s) with them: the guest told them %(how)s on %(told_on)s.\n\nNote: %(note)s\n\n"
               "Please cancel the booking free of charge in the cancellation queue of the portal.",
               host=host_actor.name, guest=b.guest_name, channel=channel_label(b.source), id=b.id,
               stay=notify.stay(b), category=b.category.name, units=b.units, how=TOLD_BY_LABELS[told_by],
               told_on=guest_told_on, note=note or "-"),
            booking=b)
        uc.keep(r, b)
    return r


def queue(session: Session, actor: User) -> list[CancellationReport]:
    """The reports waiting for the actor's office (an admin: every office's), oldest first, with
    booking, property and host loaded, and each report's `proposed_fee` from its host's terms
    (three queries, whatever the number of reports)."""
    access.require_staff(actor)
    reports = list(session.scalars(
        sa.select(CancellationReport).join(Property, Property.id == CancellationReport.property_id)
        .where(CancellationReport.status == "waiting", access.visible_properties(actor))
        .options(joinedload(CancellationReport.booking).joinedload(Booking.category),
                 joinedload(CancellationReport.prop).joinedload(Property.owner),
                 joinedload(CancellationReport.reported_by))
        .order_by(CancellationReport.reported_at, CancellationReport.id)))
    by_prop = {t.property_id: t for t in session.scalars(
        sa.select(Terms).where(Terms.property_id.in_(sorted({r.property_id for r in reports}))))} if reports else {}
    for r in reports:
        r.proposed_fee = terms.proposed_fee(by_prop.get(r.property_id), r.booking, r.guest_told_on)
    return reports


def _report_for_staff(session: Session, actor: User, report_id: int) -> CancellationReport:
    """The report, locked until the use case ends (two staff, a double click: one handles it).
    Another office's report is "not found", exactly like one that does not exist."""
    access.require_staff(actor)
    r = session.scalar(sa.select(CancellationReport).where(CancellationReport.id == report_id)
                       .with_for_update().execution_options(populate_existing=True))
    if r is None or (actor.role != "admin" and r.prop.office_id != actor.office_id):
        raise NotFound(_l("No such cancellation report."))
    if r.status != "waiting":
        raise Conflict(_l("This report has been handled already."), code="handled")
    return r


def _fee(value, booking: Booking, field: str, errors: dict) -> Decimal | None:
    """A cancellation fee as entered: 0 or more, at most the booking's total, in cents."""
    cents = inputs.amount(value)
    bound = booking.total_price if booking.total_price is not None else inputs.MAX_TOTAL
    if cents is None or cents > bound:
        errors[field] = (_l("Enter an amount from 0 to the total price.") if booking.total_price is not None
                         else _l("Enter an amount from 0 to %(max)s.", max=inputs.MAX_TOTAL))
        return None
    if inputs.more_than_cents(inputs.exact_amount(value) if isinstance(value, str) else value):
        errors[field] = inputs.TWO_DECIMALS
        return None
    return cents


def cancel(session: Session, staff_actor: User, report_id: int, fee=None, fee_note: str = "") -> CancellationReport:
    """R20: staff cancel the reported booking free of charge for the platform, in one click. The
    nights are released once (services.bookings.cancelling), the channel is told by webhook,
    the host is e-mailed; the fee the host bills the guest (R21) is stored on the booking (None:
    the one proposed from the host's terms). A second call is a 409; a booking the channel
    cancelled meanwhile only closes the report."""
    with use_case(session) as uc:
        r = _report_for_staff(session, staff_actor, report_id)
        b = session.scalar(sa.select(Booking).where(Booking.id == r.booking_id)
                           .with_for_update().execution_options(populate_existing=True))
        prop = r.prop
        errors: dict = {}
        if fee is None or fee == "":
            fee = terms.proposed_fee(terms.of_property(session, prop), b, r.guest_told_on)
        fee = _fee(fee, b, "fee", errors)
        fee_note = inputs.text(fee_note, "fee_note", errors, max_len=MAX_NOTE)
        if errors:
            raise Invalid(errors)
        now = clock.now()
        r.status, r.handled_at, r.handled_by_id = "cancelled", now, staff_actor.id
        if not cancelling.cancel_stay(session, b, "office"):
            # Cancelled by the channel meanwhile (or over): its nights were released then, not again.
            r.handler_note = "already_cancelled"
            audit.record(session, staff_actor, prop, "cancellation_report_closed", booking=b.id, guest=b.guest_name)
            uc.keep(r, b, prop)
            return r
        inventory.settle(session)  # what waited for these nights gets them now (as the channel's cancel)
        b.cancellation_fee, b.cancellation_fee_note = fee, fee_note
        audit.booking_event(session, b, "office_cancelled", staff_actor, report=r.id, fee=str(fee), currency=prop.currency)
        audit.record(session, staff_actor, prop, "booking_cancelled_by_office", booking=b.id, guest=b.guest_name,
                     fee=str(fee))
        if b.connection_id is not None:
            notify.webhook(session, b.connection, "reservation.cancelled",
                           {"reservation": wire.reservation(b), "reason": "guest_cancelled_with_host",
                            "cancelled_via": "office"})
        notify.mail_host(
            session, prop, _l("Cancellation: %(guest)s, %(stay)s", guest=b.guest_name, stay=notify.stay(b)),
            _l("The tourist office cancelled the booking of %(guest)s (%(stay)s) free of charge, as you reported. "
               "The nights are free again.\n\nCancellation fee you bill the guest directly (R21): %(fee)s",
               guest=b.guest_name, stay=notify.stay(b), fee=notify.Amount(fee, prop.currency)),
            booking=b)
        uc.keep(r, b, prop)
    return r


def decline(session: Session, staff_actor: User, report_id: int, note: str) -> CancellationReport:
    """Staff do not cancel the reported booking; the host is e-mailed the reason."""
    errors: dict = {}
    note = inputs.text(note, "note", errors, required=_l("Enter the reason."), max_len=MAX_NOTE)
    if errors:
        raise Invalid(errors)
    with use_case(session) as uc:
        r = _report_for_staff(session, staff_actor, report_id)
        b, prop = r.booking, r.prop
        r.status, r.handled_at, r.handled_by_id, r.handler_note = "declined", clock.now(), staff_actor.id, note
        audit.booking_event(session, b, "cancellation_declined", staff_actor, note=note)
        audit.record(session, staff_actor, prop, "cancellation_report_declined", booking=b.id, guest=b.guest_name)
        notify.mail_host(
            session, prop, _l("Cancellation not carried out: %(guest)s, %(stay)s", guest=b.guest_name, stay=notify.stay(b)),
            _l("The tourist office did not cancel the booking of %(guest)s (%(stay)s) you reported as cancelled. "
               "The booking stays active.\n\nReason: %(reason)s", guest=b.guest_name, stay=notify.stay(b), reason=note),
            booking=b)
        uc.keep(r, b, prop)
    return r


def set_cancellation_fee(session: Session, actor: User, prop: Property, booking_id: int, fee, note: str = "") -> Booking:
    """R21: the fee the host bills the guest of a cancelled booking directly, with a note."""
    b = get_booking(session, actor, prop, booking_id)
    if b.status != "cancelled":
        raise Conflict(_l("Only a cancelled booking has a cancellation fee."), code="not_cancelled")
    errors: dict = {}
    if fee is None or fee == "":
        errors["cancellation_fee"] = _l("Enter the fee (0 for none).")
    else:
        fee = _fee(fee, b, "cancellation_fee", errors)
    note = inputs.text(note, "cancellation_fee_note", errors, max_len=MAX_NOTE)
    if errors:
        raise Invalid(errors)
    with use_case(session) as uc:
        was = None if b.cancellation_fee is None else str(b.cancellation_fee)
        b.cancellation_fee, b.cancellation_fee_note, b.updated_at = fee, note, clock.now()
        audit.record(session, actor, prop, "cancellation_fee_set", booking=b.id, guest=b.guest_name,
                     from_fee=was, fee=str(fee))
        uc.keep(b, prop)
    return b

"""Commission statements per property per month (R23, issue 15): rows from the room-night ledger.

A month's statement lists one line per booking with room-nights (RoomNight) in that month:
what they cost the guest (`amount`), their lodging part (`commissionable`), the rate of the
booking's channel in the property's contract (services.office.contracts.rate_for) and the
commission, rounded half-up to the cent per line. Which room-nights count:

- sold and paid by the platform (R55) count; cancelled and searching count 0; a resold one
  (R54) shows what the new guest paid but owes no commission here: the new guest's booking,
  which took the night, carries it (never charged twice);
- own bookings (R2) are listed with no rate and commission 0; iCal blocks are no bookings;
- an online booking that could not be honoured (R12, Booking.commission_kept) owes commission
  on all its room-nights whatever their state, and the replacement's extra cost is charged to
  the host on the month of the arrival;
- holds (pending, expired) and bookings replaced by a host's change ("modified") are not listed.

A month without a sent Statement is a draft, computed when shown. `send` freezes it into
StatementLine rows; later changes to a frozen booking become `correction` lines of the next
statement drafted or sent (the difference between the month recomputed and everything frozen
for it so far, so a correction is never made twice). Every read costs a constant number of
queries, whatever the number of bookings or properties.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from babel.dates import format_skeleton
from sqlalchemy.orm import Session, joinedload, selectinload

from services.accounts import access
from services.bookings import notify
from services.core import audit, clock, storage
from services.core.db import use_case
from services.core.errors import Conflict
from services.core.i18n import _l
from services.models import Booking, Contract, Property, RoomNight, Statement, StatementLine, User
from services.office.contracts import rate_for

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# Money columns of a line: totals sum them, corrections take their differences.
AMOUNTS = ("amount", "commissionable", "commission", "extra_cost", "platform_payout", "resold_amount")
# Room-nights that bear commission here (R55); cancelled and searching ones bear none.
COUNTED = ("sold", "paid_by_platform")  # resold: commission on the booking that took the night
# Bookings a statement never lists: holds and stays replaced by a host's change (their replacement is listed).
NOT_LISTED = ("pending", "expired", "modified")
# What a line's `state` says (the web layer words them): why its commission is what it is.
STATES = ("own", "sold", "partly_cancelled", "cancelled", "cancelled_office", "not_honoured", "resold",
          "paid_by_platform", "resold_and_paid", "searching", "correction")
NO_RATE = "no_rate"  # a line's note: the contract has no rate for the booking's channel


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def parse_month(text: str) -> dt.date | None:
    """"2030-05" -> 2030-05-01; None for anything else."""
    if len(text) != 7 or text[4] != "-" or not (text[:4].isdigit() and text[5:].isdigit()):
        return None
    year, month = int(text[:4]), int(text[5:])
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        return None
    return dt.date(year, month, 1)


def has_ended(prop: Property, month: dt.date) -> bool:
    """Whether the month is over where the property is (only then may it be sent)."""
    return clock.today(prop.timezone) >= next_month(month)


def commission_of(commissionable: Decimal, rate: Decimal | None) -> Decimal:
    if rate is None:
        return ZERO
    return (commissionable * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Line:
    """A statement line, computed (a draft's) or frozen (StatementLine has the same attributes)."""

    kind: str
    booking_id: int | None
    month: dt.date
    source: str
    reference: str
    guest_name: str
    arrival: dt.date
    departure: dt.date
    room_nights: int
    state: str
    amount: Decimal = ZERO
    commissionable: Decimal = ZERO
    rate: Decimal | None = None
    commission: Decimal = ZERO
    extra_cost: Decimal = ZERO
    platform_payout: Decimal = ZERO
    resold_amount: Decimal = ZERO
    note: str = ""

    @property
    def due(self) -> Decimal:
        """What the host owes the office for this line: commission and the R12 extra cost."""
        return self.commission + self.extra_cost


@dataclass
class Totals:
    amount: Decimal = ZERO
    commissionable: Decimal = ZERO
    commission: Decimal = ZERO
    extra_cost: Decimal = ZERO
    platform_payout: Decimal = ZERO
    resold_amount: Decimal = ZERO
    lines: int = 0

    def add(self, line) -> None:
        for name in AMOUNTS:
            setattr(self, name, getattr(self, name) + getattr(line, name))
        self.lines += 1

    @property
    def due(self) -> Decimal:
        return self.commission + self.extra_cost


@dataclass
class StatementView:
    """One property's statement for one month, draft or sent, with its totals per channel."""

    prop: Property
    month: dt.date
    currency: str
    lines: list
    statement: Statement | None = None  # the sent one (None: a draft)
    totals: Totals = field(default_factory=Totals)
    by_channel: dict[str, Totals] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for line in self.lines:
            self.totals.add(line)
            self.by_channel.setdefault(line.source, Totals()).add(line)

    @property
    def sent(self) -> bool:
        return self.statement is not None and self.statement.status == "sent"

    @property
    def can_send(self) -> bool:
        return has_ended(self.prop, self.month)

    @property
    def month_key(self) -> str:
        return self.month.strftime("%Y-%m")


# -- computing lines ---------------------------------------------------------------------------

def _line(b: Booking, month: dt.date, nights: list[RoomNight], contract: Contract | None) -> Line | None:
    """The line of booking `b` for `month` from its room-nights there; None when not listed."""
    if b.source == "ical" or b.status in NOT_LISTED:
        return None
    line = Line(kind="booking", booking_id=b.id, month=month, source=b.source,
                reference=(b.voucher or b.external_id or "")[:100], guest_name=b.guest_name[:120],
                arrival=b.arrival, departure=b.departure, room_nights=len(nights), state="sold")
    states = {rn.state for rn in nights}
    if b.commission_kept:  # R12: due on every room-night, whatever became of it
        counted = nights
        line.state = "not_honoured"
        if month_start(b.arrival) == month:
            line.extra_cost = b.replacement_extra_cost or ZERO
    else:
        counted = [rn for rn in nights if rn.state in COUNTED]
        if "resold" in states and "paid_by_platform" in states:
            line.state = "resold_and_paid"
        elif "resold" in states:
            line.state = "resold"
        elif "paid_by_platform" in states:
            line.state = "paid_by_platform"
        elif "searching" in states:
            line.state = "searching"
        elif not counted:
            line.state = "cancelled_office" if b.cancelled_via == "office" else "cancelled"
        elif states - {"sold"}:
            line.state = "partly_cancelled"
    line.amount = sum((rn.price for rn in counted if rn.state == "sold" or b.commission_kept), ZERO)
    line.commissionable = sum((rn.commissionable for rn in counted), ZERO)
    line.resold_amount = sum((rn.amount_paid or ZERO for rn in nights if rn.state == "resold"), ZERO)
    line.platform_payout = sum((rn.amount_paid or ZERO for rn in nights if rn.state == "paid_by_platform"), ZERO)
    if b.source == "own":  # R2: free of charge
        line.state = "own"
        return line
    line.rate = rate_for(contract, b.source)
    if line.rate is None:
        line.note = NO_RATE
    line.commission = commission_of(line.commissionable, line.rate)
    return line


def _lines_by_month(rows, contracts: dict[int, Contract]) -> dict[tuple[int, int, dt.date], Line]:
    """(property id, booking id, month) -> its line, from (RoomNight, Booking) rows."""
    nights: dict[tuple[int, dt.date], list[RoomNight]] = {}
    bookings: dict[int, Booking] = {}
    for rn, b in rows:
        bookings[b.id] = b
        nights.setdefault((b.id, month_start(rn.night)), []).append(rn)
    out = {}
    for (bid, month), rns in nights.items():
        b = bookings[bid]
        line = _line(b, month, rns, contracts.get(b.property_id))
        if line is not None:
            out[(b.property_id, bid, month)] = line
    return out


def _contracts(session: Session, prop_ids: list[int]) -> dict[int, Contract]:
    """Each property's current contract, else its latest (ended) one, with rates: two queries."""
    rows = session.scalars(sa.select(Contract).where(Contract.property_id.in_(prop_ids))
                           .options(selectinload(Contract.rates)).order_by(Contract.id))
    out: dict[int, Contract] = {}
    for c in rows:
        best = out.get(c.property_id)
        if best is None or best.state == "ended" or c.state != "ended":
            out[c.property_id] = c
    return out


def _room_nights(session: Session, where) -> list:
    return session.execute(
        sa.select(RoomNight, Booking).join(Booking, Booking.id == RoomNight.booking_id)
        .where(where).order_by(Booking.arrival, Booking.id, RoomNight.night)
    ).all()


def _corrections(session: Session, props: list[Property], month: dt.date,
                 contracts: dict[int, Contract]) -> dict[int, list[Line]]:
    """Per property: the correction lines a statement of `month` carries, for the bookings of
    its earlier sent months that changed after sending (three queries at most)."""
    ids = [p.id for p in props]
    sent = session.execute(
        sa.select(Statement.property_id, Statement.month, Statement.sent_at)
        .where(Statement.property_id.in_(ids), Statement.status == "sent", Statement.month < month)
    ).all()
    if not sent:
        return {}
    # A booking changed after its month was sent: its row or one of its room-nights is newer.
    changed = sa.or_(*(
        sa.and_(Booking.property_id == pid, RoomNight.night >= m, RoomNight.night < next_month(m),
                sa.or_(Booking.updated_at > at, RoomNight.changed_at > at))
        for pid, m, at in sent))
    touched = (sa.select(RoomNight.booking_id).join(Booking, Booking.id == RoomNight.booking_id).where(changed))
    frozen_changed = (
        sa.select(StatementLine.booking_id).join(Statement, Statement.id == StatementLine.statement_id)
        .join(Booking, Booking.id == StatementLine.booking_id)
        .where(Statement.property_id.in_(ids), Statement.status == "sent", Statement.month < month,
               Booking.updated_at > Statement.sent_at))
    candidates = sa.union(touched, frozen_changed).subquery()
    sent_months = {(pid, m) for pid, m, _ in sent}
    in_sent = sa.or_(*(sa.and_(Booking.property_id == pid, RoomNight.night >= m, RoomNight.night < next_month(m))
                       for pid, m in sent_months))
    rows = _room_nights(session, sa.and_(Booking.id.in_(sa.select(candidates.c.booking_id)), in_sent))
    now_lines = _lines_by_month(rows, contracts)
    frozen = session.execute(
        sa.select(Statement.property_id, StatementLine)
        .join(Statement, Statement.id == StatementLine.statement_id)
        .where(Statement.property_id.in_(ids), Statement.status == "sent",
               StatementLine.booking_id.in_(sa.select(candidates.c.booking_id)))
    ).all()
    before: dict[tuple[int, int, dt.date], list[StatementLine]] = {}
    for pid, fl in frozen:
        if (pid, fl.month) in sent_months:
            before.setdefault((pid, fl.booking_id, fl.month), []).append(fl)
    out: dict[int, list[Line]] = {}
    for key in sorted(set(now_lines) | set(before), key=lambda k: (k[0], k[2], k[1])):
        pid, bid, m = key
        if (pid, m) not in sent_months:
            continue
        now, old = now_lines.get(key), before.get(key, [])
        diff = {name: (getattr(now, name) if now else ZERO) - sum((getattr(o, name) for o in old), ZERO)
                for name in AMOUNTS}
        if not any(diff.values()):
            continue
        like = now or old[0]
        nights_before = sum(o.room_nights for o in old if o.kind == "booking")
        out.setdefault(pid, []).append(Line(
            kind="correction", booking_id=bid, month=m, source=like.source, reference=like.reference,
            guest_name=like.guest_name, arrival=like.arrival, departure=like.departure,
            room_nights=(now.room_nights if now else 0) - nights_before, state="correction",
            rate=like.rate, note=now.state if now else "not_listed", **diff))
    return out


def _drafts(session: Session, props: list[Property], month: dt.date) -> dict[int, list[Line]]:
    """The draft lines of `month` for each property: its bookings, then its corrections."""
    if not props:
        return {}
    ids = [p.id for p in props]
    contracts = _contracts(session, ids)
    rows = _room_nights(session, sa.and_(Booking.property_id.in_(ids), RoomNight.night >= month,
                                         RoomNight.night < next_month(month)))
    out: dict[int, list[Line]] = {pid: [] for pid in ids}
    for (pid, _bid, _m), line in _lines_by_month(rows, contracts).items():
        out[pid].append(line)
    for pid, lines in _corrections(session, props, month, contracts).items():
        out[pid].extend(lines)
    return out


# -- reading -----------------------------------------------------------------------------------

def statement(session: Session, actor: User, prop: Property, month: dt.date) -> StatementView:
    """The property's statement of `month`: the sent one as frozen, else the draft computed now."""
    access.check_property(actor, prop)
    sent = session.scalar(sa.select(Statement).where(Statement.property_id == prop.id, Statement.month == month,
                                                     Statement.status == "sent")
                          .options(selectinload(Statement.lines), selectinload(Statement.sent_by)))
    if sent is not None:
        return StatementView(prop, month, sent.currency, list(sent.lines), statement=sent)
    return StatementView(prop, month, prop.currency, _drafts(session, [prop], month)[prop.id])


def months(session: Session, actor: User, prop: Property,
           upto: dt.date | None = None) -> list[tuple[dt.date, Statement | None]]:
    """The months a host's statements cover, newest first: from the first month with a
    room-night (or the sent statement) up to the current month; each with its sent statement."""
    access.check_property(actor, prop)
    upto = month_start(upto or clock.today(prop.timezone))
    first = session.scalar(sa.select(sa.func.min(RoomNight.night)).join(Booking, Booking.id == RoomNight.booking_id)
                           .where(Booking.property_id == prop.id, Booking.source != "ical"))
    sent = {s.month: s for s in session.scalars(sa.select(Statement).where(Statement.property_id == prop.id,
                                                                           Statement.status == "sent"))}
    starts = ([month_start(first)] if first else []) + list(sent)
    start = min(starts + [upto])
    out, m = [], start
    while m <= upto:
        out.append((m, sent.get(m)))
        m = next_month(m)
    return out[::-1]


def office_month(session: Session, actor: User, month: dt.date) -> list[StatementView]:
    """Every property the staff member looks after, with its statement of `month` (sent or
    draft) and totals, by name; a constant number of queries whatever their number."""
    access.require_staff(actor)
    props = list(session.scalars(sa.select(Property).where(access.visible_properties(actor))
                                 .options(joinedload(Property.owner)).order_by(Property.name, Property.id)))
    sent = {s.property_id: s for s in session.scalars(
        sa.select(Statement).where(Statement.property_id.in_([p.id for p in props]), Statement.month == month,
                                   Statement.status == "sent").options(selectinload(Statement.lines)))}
    drafts = _drafts(session, [p for p in props if p.id not in sent], month)
    return [StatementView(p, month, sent[p.id].currency, list(sent[p.id].lines), statement=sent[p.id])
            if p.id in sent else StatementView(p, month, p.currency, drafts[p.id]) for p in props]


# -- sending -----------------------------------------------------------------------------------

def month_label(month: dt.date, locale: str) -> str:
    """"Mai 2030" / "May 2030" / "květen 2030", for an e-mail in the reader's language."""
    return format_skeleton("yMMMM", month, locale=notify.FORMAT_LOCALES.get(locale, locale))


def file_name(prop: Property, month: dt.date, ext: str) -> str:
    return f"statement-{prop.slug}-{month:%Y-%m}.{ext}"


def send(session: Session, actor: User, prop: Property, month: dt.date,
         render_pdf: Callable[[StatementView], bytes]) -> StatementView:
    """Staff send the statement of an ended month: the first time it is frozen (a sent Statement
    with its lines), every time it is e-mailed to the host with the PDF (`render_pdf`, made by
    the web layer from the page's template) attached. A sent statement is never recomputed."""
    access.require_staff(actor)
    access.check_property(actor, prop)
    if not has_ended(prop, month):
        raise Conflict(_l("Only a month that has ended can be sent."), code="month_not_ended")
    now = clock.now()
    with use_case(session) as uc:
        stmt = session.scalar(sa.select(Statement).where(Statement.property_id == prop.id, Statement.month == month)
                              .with_for_update())
        resend = stmt is not None and stmt.status == "sent"
        if not resend:
            lines = _drafts(session, [prop], month)[prop.id]
            if stmt is None:
                stmt = Statement(property_id=prop.id, month=month, currency=prop.currency, created_at=now)
                session.add(stmt)
            stmt.status, stmt.sent_at, stmt.sent_by_id, stmt.currency = "sent", now, actor.id, prop.currency
            stmt.total_commission = sum((ln.commission for ln in lines), ZERO)
            stmt.lines = [StatementLine(position=i, **{k: getattr(ln, k) for k in (
                "kind", "booking_id", "month", "source", "reference", "guest_name", "arrival", "departure",
                "room_nights", "state", "rate", "note") + AMOUNTS}) for i, ln in enumerate(lines, 1)]
            session.flush()
        stmt.last_mailed_at = now
        view = StatementView(prop, month, stmt.currency, list(stmt.lines), statement=stmt)
        pdf = render_pdf(view)
        locale = prop.owner.locale if prop.owner else "de"
        label = month_label(month, locale)
        mail = notify.mail_host(
            session, prop, _l("Commission statement %(month)s: %(property)s", month=label, property=prop.name),
            _l("Attached is the commission statement of %(property)s for %(month)s.\n\nCommission: %(commission)s\n"
               "Extra costs charged (R12): %(extra)s\nTotal: %(total)s",
               property=prop.name, month=label, commission=notify.Amount(view.totals.commission, view.currency),
               extra=notify.Amount(view.totals.extra_cost, view.currency),
               total=notify.Amount(view.totals.due, view.currency)))
        mail.attachment_name = file_name(prop, month, "pdf")
        mail.attachment_key = storage.new_key("statements", prop.id, "pdf")
        audit.record(session, actor, prop, "statement_resent" if resend else "statement_sent",
                     month=f"{month:%Y-%m}", commission=str(view.totals.commission), currency=view.currency)
        storage.current().put(mail.attachment_key, pdf)  # last: nothing after it can fail but the commit
        uc.keep(stmt, prop, *stmt.lines)
    return view


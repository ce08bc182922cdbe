"""What needs a person: the signals of each of an office's properties, for its home page.

One row per property the actor may see (staff: their office's; admins: every office's, or one),
with the contract's state, when the plan was last maintained and the signals below, each with
the screen where it is fixed (an endpoint name and its arguments: the web layer builds the
link). Every signal is ONE grouped query over all the properties in view, never one per
property: ten queries whatever the number of properties. The filters and the order are applied
in Python afterwards (a few hundred rows).

Decisions:
- "Nights without price or quota" counts the category-nights of the next WINDOW_DAYS nights
  (from each property's own local today) that have no NightRate row, no price or quota 0.
  A closed night is a decision of the host, not a gap: it is never counted.
- A pending hold older than HOLD_FAULT is a fault (R36): holds expire lazily, so an old
  pending hold also shows that the worker sweeping them is not running. A connection whose
  hold time is set above HOLD_FAULT is a fault of its own (R38: report it to the channel).
- Missing photo motives are R71's checklist (services/properties/photos.py), built from one
  grouped query for all properties: optional motives (food) are never missing.
- Statements not yet sent (R23): the last month that has ended had listed bookings (room-nights
  of bookings that are not holds, not replaced, not iCal blocks) but its statement was not sent.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from services.accounts import access
from services.core import clock
from services.models import (
    Booking, CancellationReport, ChannelConnection, Contract, DoubleBooking, NightRate, Office, Photo, Property,
    Review, RoomCategory, RoomNight, Statement, User,
)
from services.properties import photos

WINDOW_DAYS = 90
HOLD_FAULT = dt.timedelta(minutes=60)  # R36: "held about one hour"; longer is a fault
SORTS = ("name", "signals", "maintained")
# The contract filter: a state of CONTRACT_STATES, or "none" (no contract at all).
CONTRACT_FILTERS = ("invited", "active", "suspended", "ended", "none")

# Each signal: its key, and the endpoint where it is fixed (with the property's slug unless
# the endpoint is an office queue). The order is the order shown.
SIGNALS = (
    ("calendar_gaps", "calendar.plan", True),
    ("double_bookings", "conflicts.index", True),
    ("cancellations_waiting", "office.cancellations", False),
    ("long_hold_connections", "channels.modules", True),
    ("stale_holds", "channels.modules", True),
    ("unreplied_reviews", "reviews.page", True),
    ("reported_reviews", "office.reviews", False),
    ("missing_photo_motives", "photos.page", True),
    ("statements_not_sent", "statements.office_month", False),
)
CONTRACT_ENDPOINT = "office.contract_page"


@dataclass(frozen=True)
class Signal:
    key: str
    count: int
    endpoint: str
    args: dict
    details: tuple = ()  # e.g. the missing motives (photos.ChecklistItem)


@dataclass
class Row:
    prop: Property  # with .owner and .office loaded
    contract: Contract | None
    signals: list[Signal] = field(default_factory=list)  # only the raised ones (count > 0)

    @property
    def contract_state(self) -> str:
        return self.contract.state if self.contract is not None else "none"

    @property
    def maintained_at(self) -> dt.datetime | None:
        return self.prop.calendar_maintained_at

    @property
    def needs_attention(self) -> bool:
        return bool(self.signals)

    def signal(self, key: str) -> Signal | None:
        return next((s for s in self.signals if s.key == key), None)

    @property
    def contract_endpoint(self) -> str:
        """Where the contract is changed (with the property's slug)."""
        return CONTRACT_ENDPOINT


@dataclass
class Board:
    rows: list[Row]
    total: int  # properties in view before the filters: 0 means no hosts yet
    quiet: int  # of those, how many raise no signal


@dataclass(frozen=True)
class Filters:
    q: str = ""
    contract: str = ""
    attention_only: bool = False
    office_id: int | None = None  # admins only
    sort: str = "name"


def offices(session: Session, actor: User) -> list[Office]:
    """The offices an actor may filter by: every office for an admin, none for staff."""
    access.require_staff(actor)
    if actor.role != "admin":
        return []
    return list(session.scalars(sa.select(Office).order_by(Office.name)))


def _scope(actor: User, office_id: int | None):
    """The properties in view: staff see their office's (whatever office they ask for)."""
    clause = access.visible_properties(actor)
    if actor.role == "admin" and office_id:
        clause = sa.and_(clause, Property.office_id == office_id)
    return clause


def board(session: Session, actor: User, filters: Filters = Filters()) -> Board:
    """The office's home: one Row per property in view, filtered and sorted."""
    access.require_staff(actor)
    scope = _scope(actor, filters.office_id)
    props = list(session.scalars(
        sa.select(Property).where(scope)
        .options(joinedload(Property.owner), joinedload(Property.office)).order_by(Property.name, Property.id)))
    if not props:
        return Board([], 0, 0)
    now = clock.now()
    contracts = _contracts(session, scope)
    categories = _categories(session, scope)
    counts = {
        "calendar_gaps": _calendar_gaps(session, scope, props, categories),
        "double_bookings": _grouped(session, scope, DoubleBooking.property_id, DoubleBooking.status != "resolved"),
        "cancellations_waiting": _grouped(session, scope, CancellationReport.property_id,
                                          CancellationReport.status == "waiting"),
        "long_hold_connections": _grouped(session, scope, ChannelConnection.property_id,
                                          ChannelConnection.active.is_(True),
                                          ChannelConnection.hold_minutes > HOLD_FAULT // dt.timedelta(minutes=1)),
        "stale_holds": _grouped(session, scope, Booking.property_id, Booking.status == "pending",
                                Booking.created_at < now - HOLD_FAULT),
        "statements_not_sent": _statements_not_sent(session, scope),
    }
    counts.update(_reviews(session, scope))
    missing = _missing_motives(session, scope, props, categories)
    counts["missing_photo_motives"] = {pid: len(items) for pid, items in missing.items()}
    rows = []
    for p in props:
        signals = []
        for key, endpoint, per_property in SIGNALS:
            n = counts[key].get(p.id, 0)
            if n:
                signals.append(Signal(key, n, endpoint, {"slug": p.slug} if per_property else {},
                                      tuple(missing.get(p.id, ())) if key == "missing_photo_motives" else ()))
        rows.append(Row(p, contracts.get(p.id), signals))
    total, quiet = len(rows), sum(1 for r in rows if not r.needs_attention)
    return Board(_sorted(_filtered(rows, filters), filters.sort), total, quiet)


# -- filters and order --------------------------------------------------------------------------

def _filtered(rows: list[Row], f: Filters) -> list[Row]:
    words = (f.q or "").casefold().split()
    out = []
    for r in rows:
        if f.attention_only and not r.needs_attention:
            continue
        if f.contract in CONTRACT_FILTERS and r.contract_state != f.contract:
            continue
        if words:
            p = r.prop
            text = " ".join((p.name, p.slug, p.city or "", p.owner.name, p.owner.email)).casefold()
            if not all(w in text for w in words):
                continue
        out.append(r)
    return out


_NEVER = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _sorted(rows: list[Row], sort: str) -> list[Row]:
    """By name (the query's order); by most signals (then the largest counts); by the calendar
    least recently maintained (never first)."""
    if sort == "signals":
        return sorted(rows, key=lambda r: (-len(r.signals), -sum(s.count for s in r.signals)))
    if sort == "maintained":
        return sorted(rows, key=lambda r: r.maintained_at or _NEVER)
    return rows


# -- the signals: one grouped query each ------------------------------------------------------------

def _grouped(session: Session, scope, property_id_col, *where) -> dict[int, int]:
    """Rows per property of one table matching `where`, for the properties in view."""
    return dict(session.execute(
        sa.select(property_id_col, sa.func.count()).join(Property, Property.id == property_id_col)
        .where(scope, *where).group_by(property_id_col)).all())


def _contracts(session: Session, scope) -> dict[int, Contract]:
    """Per property: the contract that has not ended, else its latest."""
    found: dict[int, Contract] = {}
    for c in session.scalars(
            sa.select(Contract).join(Property, Property.id == Contract.property_id).where(scope)
            .order_by(Contract.property_id, (Contract.state == "ended").asc(), Contract.id.desc())):
        found.setdefault(c.property_id, c)
    return found


def _categories(session: Session, scope) -> dict[int, list[RoomCategory]]:
    out: dict[int, list[RoomCategory]] = {}
    for c in session.scalars(
            sa.select(RoomCategory).join(Property, Property.id == RoomCategory.property_id).where(scope)
            .order_by(RoomCategory.property_id, RoomCategory.position, RoomCategory.id)):
        out.setdefault(c.property_id, []).append(c)
    return out


def _calendar_gaps(session: Session, scope, props: list[Property],
                   categories: dict[int, list[RoomCategory]]) -> dict[int, int]:
    """Category-nights of the next WINDOW_DAYS nights with no price or no quota, closed ones
    not counted: every category-night minus those that are fine (closed, or priced with a quota)."""
    todays = {tz: clock.today(tz) for tz in {p.timezone for p in props}}
    start = sa.case({tz: sa.literal(d, sa.Date) for tz, d in todays.items()}, value=Property.timezone)
    end = sa.case({tz: sa.literal(d + dt.timedelta(days=WINDOW_DAYS), sa.Date) for tz, d in todays.items()},
                  value=Property.timezone)
    fine = dict(session.execute(
        sa.select(RoomCategory.property_id, sa.func.count())
        .select_from(NightRate).join(RoomCategory, RoomCategory.id == NightRate.category_id)
        .join(Property, Property.id == RoomCategory.property_id)
        .where(scope, NightRate.night >= start, NightRate.night < end,
               sa.or_(NightRate.closed.is_(True), sa.and_(NightRate.price.is_not(None), NightRate.quota > 0)))
        .group_by(RoomCategory.property_id)).all())
    return {pid: len(cats) * WINDOW_DAYS - fine.get(pid, 0) for pid, cats in categories.items()}


def _reviews(session: Session, scope) -> dict[str, dict[int, int]]:
    """Published reviews without a reply, and reviews reported as inappropriate (R64), in one query."""
    unreplied = sa.and_(Review.status == "published", sa.or_(Review.reply_text.is_(None), Review.reply_text == ""))
    reported = Review.reported_at.is_not(None)
    out: dict[str, dict[int, int]] = {"unreplied_reviews": {}, "reported_reviews": {}}
    for pid, a, b in session.execute(
            sa.select(Review.property_id, sa.func.sum(sa.case((unreplied, 1), else_=0)),
                      sa.func.sum(sa.case((reported, 1), else_=0)))
            .join(Property, Property.id == Review.property_id).where(scope, sa.or_(unreplied, reported))
            .group_by(Review.property_id)):
        out["unreplied_reviews"][pid], out["reported_reviews"][pid] = int(a or 0), int(b or 0)
    return out


def _missing_motives(session: Session, scope, props: list[Property], categories: dict[int, list[RoomCategory]]):
    """R71's checklist of every property in view from one grouped query: per property, what is missing."""
    counts: dict[int, dict] = {}
    for pid, motive, category_id, n in session.execute(
            sa.select(Photo.property_id, Photo.motive, Photo.category_id, sa.func.count())
            .join(Property, Property.id == Photo.property_id)
            .where(scope, Photo.motive.is_not(None))
            .group_by(Photo.property_id, Photo.motive, Photo.category_id)):
        counts.setdefault(pid, {})[(motive, category_id)] = n
    return {p.id: photos.checklist_of(counts.get(p.id, {}), categories.get(p.id, [])).missing for p in props}


def _statements_not_sent(session: Session, scope) -> dict[int, int]:
    """Per property: 1 when last month's commission statement (R23) is due but not sent, i.e. the
    month had listed room-nights and no sent Statement (one grouped query)."""
    from services.office import statements  # the statements module reads contracts; imported late

    month = statements.month_start(clock.now().date()).replace(day=1)
    last = statements.month_start(month - dt.timedelta(days=1))
    sent = sa.select(Statement.id).where(Statement.property_id == Property.id, Statement.month == last,
                                         Statement.status == "sent")
    return dict(session.execute(
        sa.select(Booking.property_id, sa.literal(1)).join(Property, Property.id == Booking.property_id)
        .join(RoomNight, RoomNight.booking_id == Booking.id)
        .where(scope, RoomNight.night >= last, RoomNight.night < month, Booking.source != "ical",
               Booking.status.not_in(statements.NOT_LISTED), ~sent.exists())
        .group_by(Booking.property_id)).all())

"""What the public sees of a property's reviews, and why (R60-R63).

- R60: nothing is shown until the property has at least 3 published reviews;
- R61: pending reviews (not checked by the partner yet) are never shown, nor archived ones (R63);
- R63: only reviews written not longer than 24 months ago: on `today` a review written on
  `months_back(today, 24)` is still shown, one written the day before is not;
- R62: of those the newest 10; the average and the count are still over ALL reviews: the
  partner's totals where it sends them, else the portal's own over every published review
  (older ones and ones beyond the 10 included).

The same block is shown on the host's page and on the public embed page. Each function here
reads the property's reviews with one query (plus one for the partner's totals), whatever
their number: a guest house has hundreds at most.
"""
from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.core.i18n import Message, _l
from services.models import ChannelConnection, Property, Review

MIN_PUBLISHED = 3  # R60
MAX_SHOWN = 10  # R62
MONTHS = 24  # R63

REASONS = {
    "shown": _l("Shown"),
    "pending": _l("Pending check by the partner"),
    "archived": _l("Archived"),
    "too_old": _l("Older than 24 months"),
    "not_last_10": _l("Not among the last 10"),
    "too_few": _l("Fewer than 3 published"),
}


def months_back(day: dt.date, months: int) -> dt.date:
    """The same day `months` months earlier; the month's last day where it has no such day
    (as dateutil's relativedelta: 29 Feb 2028 - 24 months = 28 Feb 2026)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def oldest_shown(today: dt.date) -> dt.date:
    """The first day a review may have been written on to be shown on `today` (R63)."""
    return months_back(today, MONTHS)


@dataclasses.dataclass
class Block:
    """The public block: `visible` False shows nothing at all (R60)."""

    visible: bool
    reviews: list[Review]
    count: int  # over all reviews (the partner's or the portal's)
    average: Decimal | None  # overall, on the scale below
    scale_min: Decimal | None
    scale_max: Decimal | None
    from_partner: bool  # the totals are the partner's
    published: int  # the portal's own number of published reviews


@dataclasses.dataclass
class Reasoned:
    review: Review
    reason: str  # a key of REASONS

    @property
    def shown(self) -> bool:
        return self.reason == "shown"

    @property
    def label(self) -> Message:
        return REASONS[self.reason]


def _newest_first():
    return (Review.written_on.desc(), Review.received_at.desc(), Review.id.desc())


def _all_reviews(session: Session, prop: Property, published_only: bool = False) -> list[Review]:
    q = sa.select(Review).where(Review.property_id == prop.id)
    if published_only:
        q = q.where(Review.status == "published")
    return list(session.scalars(q.order_by(*_newest_first())))


def _partner_totals(session: Session, prop: Property) -> ChannelConnection | None:
    """The review partner's connection that sends totals over all the property's reviews."""
    return session.scalars(
        sa.select(ChannelConnection).where(
            ChannelConnection.property_id == prop.id, ChannelConnection.scope == "reviews",
            ChannelConnection.review_count.is_not(None))
        .order_by(ChannelConnection.active.desc(), ChannelConnection.id)
    ).first()


def _average(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _block(published: list[Review], partner: ChannelConnection | None, today: dt.date) -> Block:
    """`published`: every published review of the property, newest first."""
    first = oldest_shown(today)
    visible = len(published) >= MIN_PUBLISHED
    shown = [r for r in published if r.written_on >= first][:MAX_SHOWN] if visible else []
    newest = published[0] if published else None
    scale_min = newest.scale_min if newest else None
    scale_max = newest.scale_max if newest else None
    if partner is not None:
        count, average = partner.review_count, partner.review_average
    else:
        count, average = len(published), _average([r.overall for r in published])
    return Block(visible=visible, reviews=shown, count=count or 0, average=average, scale_min=scale_min,
                 scale_max=scale_max, from_partner=partner is not None, published=len(published))


def block(session: Session, prop: Property, today: dt.date) -> Block:
    """What the public sees (R60-R63). Two queries."""
    return _block(_all_reviews(session, prop, published_only=True), _partner_totals(session, prop), today)


def _reasons(reviews: list[Review], shown: list[Review], today: dt.date) -> list[Reasoned]:
    first = oldest_shown(today)
    enough = sum(1 for r in reviews if r.status == "published") >= MIN_PUBLISHED
    shown_ids = {r.id for r in shown}
    out = []
    for r in reviews:
        if r.status == "pending":
            reason = "pending"
        elif r.status == "archived":
            reason = "archived"
        elif not enough:
            reason = "too_few"
        elif r.written_on < first:
            reason = "too_old"
        elif r.id in shown_ids:
            reason = "shown"
        else:
            reason = "not_last_10"
        out.append(Reasoned(r, reason))
    return out


def reasons(session: Session, prop: Property, today: dt.date) -> list[Reasoned]:
    """Every review of the property, newest first, with why it is or isn't shown."""
    return overview(session, prop, today).reasons


@dataclasses.dataclass
class SubScore:
    name: str
    recent: Decimal | None  # over the last 24 months
    all_time: Decimal | None


@dataclasses.dataclass
class Month:
    month: dt.date  # its first day
    average: Decimal | None
    count: int


@dataclasses.dataclass
class Figures:
    sub_scores: list[SubScore]
    recent_average: Decimal | None
    all_time_average: Decimal | None
    replied: int
    published: int
    months: list[Month]  # the last 24 months, oldest first (this month included)

    @property
    def reply_rate(self) -> Decimal | None:
        """Replied / published, 0..1; None without published reviews."""
        return Decimal(self.replied) / self.published if self.published else None


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        return None
    return d if d.is_finite() else None


def _figures(published: list[Review], today: dt.date) -> Figures:
    first = oldest_shown(today)
    recent = [r for r in published if r.written_on >= first]
    names: list[str] = []
    for r in published:
        for name in (r.sub_scores or {}):
            if name not in names:
                names.append(name)

    def sub(reviews, name):
        return _average([v for v in (_decimal((r.sub_scores or {}).get(name)) for r in reviews) if v is not None])

    subs = [SubScore(n, sub(recent, n), sub(published, n)) for n in names]  # the web layer orders them
    start = dt.date(today.year, today.month, 1)
    starts = [months_back(start, i) for i in range(MONTHS - 1, -1, -1)]
    by_month: dict[dt.date, list[Decimal]] = {m: [] for m in starts}
    for r in published:
        key = dt.date(r.written_on.year, r.written_on.month, 1)
        if key in by_month:
            by_month[key].append(r.overall)
    months = [Month(m, _average(v), len(v)) for m, v in by_month.items()]
    return Figures(sub_scores=subs, recent_average=_average([r.overall for r in recent]),
                   all_time_average=_average([r.overall for r in published]),
                   replied=sum(1 for r in published if r.reply_text), published=len(published), months=months)


def figures(session: Session, prop: Property, today: dt.date) -> Figures:
    """Per sub-score: the average over the last 24 months and of all time; the reply rate;
    the monthly average of the last 24 months (the chart). Over published reviews."""
    return _figures(_all_reviews(session, prop, published_only=True), today)


@dataclasses.dataclass
class Overview:
    block: Block
    reasons: list[Reasoned]
    figures: Figures


def overview(session: Session, prop: Property, today: dt.date) -> Overview:
    """The host's page: block, reasons and figures from the same two queries."""
    reviews = _all_reviews(session, prop)
    published = [r for r in reviews if r.status == "published"]
    blk = _block(published, _partner_totals(session, prop), today)
    return Overview(blk, _reasons(reviews, blk.reviews, today), _figures(published, today))


def stamp(session: Session, prop: Property) -> tuple:
    """What the public block depends on besides the day: its reviews' last change and number,
    and the partner's totals (for ETag/Last-Modified). One query."""
    def review(expr):
        return sa.select(expr).where(Review.property_id == prop.id).scalar_subquery()

    def conn(expr):
        return (sa.select(expr).where(ChannelConnection.property_id == prop.id, ChannelConnection.scope == "reviews")
                .scalar_subquery())

    return tuple(session.execute(sa.select(
        review(sa.func.max(Review.updated_at)), review(sa.func.count(Review.id)),
        conn(sa.func.max(ChannelConnection.updated_at)), conn(sa.func.max(ChannelConnection.review_count)),
        conn(sa.func.max(ChannelConnection.review_average)))).one())


@dataclasses.dataclass
class Score:
    """The public figures of one property's reviews, as `block` shows them (R60, R62)."""

    average: Decimal | None
    count: int
    scale_min: Decimal | None
    scale_max: Decimal | None

    @property
    def fraction(self) -> Decimal | None:
        """The average on a 0..1 scale, to compare properties rated on different scales."""
        if self.average is None or self.scale_min is None or self.scale_max is None or self.scale_max <= self.scale_min:
            return None
        return (self.average - self.scale_min) / (self.scale_max - self.scale_min)


def scores(session: Session, property_ids: list[int]) -> dict[int, Score]:
    """The score `block` would show, for many properties at once (the public search): only those
    with at least 3 published reviews (R60) are in the answer. Two queries, whatever the number
    of properties or reviews."""
    if not property_ids:
        return {}
    published = sa.and_(Review.property_id.in_(property_ids), Review.status == "published")
    by_property = {"partition_by": Review.property_id}
    ranked = (
        sa.select(
            Review.property_id, Review.scale_min, Review.scale_max,
            sa.func.count(Review.id).over(**by_property).label("n"),
            # in cents, summed exactly (SQLite would add the decimals as floats)
            sa.func.sum(sa.cast(sa.func.round(Review.overall * 100), sa.Integer)).over(**by_property).label("cents"),
            sa.func.row_number().over(**by_property, order_by=_newest_first()).label("rank"),
        ).where(published).subquery()
    )
    rows = session.execute(
        sa.select(ranked.c.property_id, ranked.c.scale_min, ranked.c.scale_max, ranked.c.n, ranked.c.cents)
        .where(ranked.c.rank == 1, ranked.c.n >= MIN_PUBLISHED)
    ).all()
    if not rows:
        return {}
    partners: dict[int, ChannelConnection] = {}
    for conn in session.scalars(
        sa.select(ChannelConnection).where(
            ChannelConnection.property_id.in_([r.property_id for r in rows]), ChannelConnection.scope == "reviews",
            ChannelConnection.review_count.is_not(None))
        .order_by(ChannelConnection.property_id, ChannelConnection.active.desc(), ChannelConnection.id)
    ):
        partners.setdefault(conn.property_id, conn)  # as _partner_totals: the active one, else the first
    out = {}
    for pid, scale_min, scale_max, n, cents in rows:
        partner = partners.get(pid)
        if partner is not None:
            count, average = partner.review_count or 0, partner.review_average
        else:
            count = n
            average = (Decimal(int(cents)) / 100 / n).quantize(Decimal("0.01"), ROUND_HALF_UP)
        out[pid] = Score(average=average, count=count, scale_min=scale_min, scale_max=scale_max)
    return out

"""Getting reviews in (R60-R64): a review partner's review, stored as it sent it.

`receive` is the use case behind `POST /api/v1/reviews` and each record of `flask reviews
import`: idempotent by the partner's review id per connection (the same id updates the stored
review), checked against the rules that need the property or the partner's scale (scores on
the scale, no date after the property's today, the key's own property), one transaction with
one history line. `import_records` runs it for a whole file in one transaction: all or nothing.

Text is stored as sent (only surrounding blanks trimmed): escaping is the pages' job.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core import audit, clock
from services.core.db import use_case
from services.core.errors import Forbidden, Invalid
from services.core.i18n import _l
from services.models import ChannelConnection, Review

MAX_TEXT = 10_000
MAX_AUTHOR = 80


@dataclass(frozen=True)
class Totals:
    """The partner's figures over all the property's reviews (R62: the average is over all)."""

    count: int
    average: Decimal | None


@dataclass(frozen=True)
class ReviewInput:
    """A review as read by the API's schema (portal.blueprints.api.schemas.review_input): types,
    formats and lengths checked; what needs the property or the scale is checked here."""

    partner_review_id: str
    written: dt.date | dt.datetime  # `created_at` as sent: a date, or a date and time
    author: str
    overall: Decimal
    scale_min: Decimal
    scale_max: Decimal
    status: str
    travel_date: dt.date | None = None
    sub_scores: dict[str, Decimal] = field(default_factory=dict)
    recommends: bool | None = None
    text: str = ""
    language: str = "de"
    totals: Totals | None = None
    property_id: int | None = None


class WrongScope(Forbidden):
    code = "scope"


def _check_scope(conn: ChannelConnection) -> None:
    if conn.scope != "reviews":
        raise WrongScope(_l("This key belongs to a booking channel: it cannot send reviews."))


def written_on(data: ReviewInput, timezone: str) -> dt.date:
    """The day the guest wrote it: a moment with a time zone counts where the property is."""
    if isinstance(data.written, dt.datetime):
        if data.written.tzinfo is not None:
            try:
                return data.written.astimezone(ZoneInfo(timezone)).date()
            except OverflowError:  # year 1 or 9999 at the edge of what Python holds
                pass
        return data.written.date()
    return data.written


def _outside(value: Decimal, low: Decimal, high: Decimal) -> bool:
    return not low <= value <= high


def _on_scale(low: Decimal, high: Decimal):
    return _l("Must be on the scale from %(min)s to %(max)s.", min=_plain(low), max=_plain(high))


def _plain(value: Decimal) -> str:
    """6.00 -> "6", 5.50 -> "5.5": a scale as a partner writes it."""
    return format(value.normalize(), "f")


def check_totals(totals: Totals, low: Decimal, high: Decimal, errors: dict, prefix: str = "partner_totals") -> None:
    if totals.average is not None and _outside(totals.average, low, high):
        errors[f"{prefix}.average"] = _on_scale(low, high)


def _check(conn: ChannelConnection, data: ReviewInput) -> dt.date:
    """The rules that need the property or the scale; returns the day the guest wrote it."""
    prop = conn.prop
    errors = {}
    if data.property_id is not None and data.property_id != prop.id:
        errors["property_id"] = _l("This key belongs to another property: send reviews of each property with its own key.")
    if _outside(data.overall, data.scale_min, data.scale_max):
        errors["overall"] = _on_scale(data.scale_min, data.scale_max)
    for name, score in data.sub_scores.items():
        if _outside(score, data.scale_min, data.scale_max):
            errors[f"sub_scores.{name}"] = _on_scale(data.scale_min, data.scale_max)
    today = clock.today(prop.timezone)
    day = written_on(data, prop.timezone)
    if day > today:
        errors["created_at"] = _l("Must not be after today (%(today)s where the property is).", today=today.isoformat())
    if data.travel_date is not None and data.travel_date > today:
        errors["travel_date"] = _l("Must not be after today (%(today)s where the property is).", today=today.isoformat())
    if data.totals is not None:
        check_totals(data.totals, data.scale_min, data.scale_max, errors)
    if errors:
        raise Invalid(errors)
    return day


FIELDS = ("written_on", "travel_date", "author", "overall", "scale_min", "scale_max", "sub_scores", "recommends",
          "text", "language", "status")


def _values(data: ReviewInput, day: dt.date) -> dict:
    return {"written_on": day, "travel_date": data.travel_date, "author": data.author, "overall": data.overall,
            "scale_min": data.scale_min, "scale_max": data.scale_max,
            "sub_scores": {k: _number(v) for k, v in data.sub_scores.items()} or None, "recommends": data.recommends,
            "text": data.text, "language": data.language, "status": data.status}


def _same(old, new) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return old is not None and new is not None and Decimal(old) == Decimal(new)
    return old == new


def _store_totals(session: Session, conn: ChannelConnection, totals: Totals) -> bool:
    """Keep the partner's totals on its connection; True when they changed."""
    changed = conn.review_count != totals.count or not _same(conn.review_average, totals.average)
    conn.review_count, conn.review_average = totals.count, totals.average
    return changed


def receive(session: Session, conn: ChannelConnection, data: ReviewInput) -> tuple[Review, bool]:
    """Store a review of the connection's property, or update the one with the same partner id.
    Returns (review, created). 403 `scope` for a booking channel's connection."""
    _check_scope(conn)
    day = _check(conn, data)
    values = _values(data, day)
    with use_case(session) as uc:
        now = clock.now()
        review = session.scalar(sa.select(Review).where(
            Review.connection_id == conn.id, Review.partner_review_id == data.partner_review_id))
        created = review is None
        if created:
            review = Review(property_id=conn.property_id, connection_id=conn.id,
                            partner_review_id=data.partner_review_id, received_at=now, updated_at=now, **values)
            try:
                with session.begin_nested():  # the same review sent twice at once: the other one stored it
                    session.add(review)
            except IntegrityError:
                created = False
                review = session.scalar(sa.select(Review).where(
                    Review.connection_id == conn.id, Review.partner_review_id == data.partner_review_id))
        changed = [] if created else [f for f in FIELDS if not _same(getattr(review, f), values[f])]
        if not created:
            for f in changed:
                setattr(review, f, values[f])
            if changed:
                review.updated_at = now
        params = {"partner_review_id": review.partner_review_id, "author": review.author,
                  "written_on": review.written_on.isoformat(), "status": review.status}
        if changed:
            params["changed"] = changed
        if data.totals is not None and _store_totals(session, conn, data.totals):
            params["partner_totals"] = [data.totals.count, None if data.totals.average is None else str(data.totals.average)]
        audit.record(session, None, conn.prop, "review_received" if created else "review_updated", **params)
        uc.keep(review)
    return review, created


@dataclass
class Imported:
    created: int = 0
    updated: int = 0


def receive_totals(session: Session, conn: ChannelConnection, totals: Totals, scale: tuple[Decimal, Decimal] | None,
                   prefix: str = "partner_totals") -> None:
    """The partner's totals alone (a file's top-level `partner_totals`), checked on `scale`
    (the file's reviews' scale, else the newest stored review's)."""
    _check_scope(conn)
    if scale is None:
        row = session.execute(sa.select(Review.scale_min, Review.scale_max).where(Review.connection_id == conn.id)
                              .order_by(Review.updated_at.desc(), Review.id.desc()).limit(1)).first()
        scale = (row[0], row[1]) if row else None
    errors = {}
    if scale is not None:
        check_totals(totals, Decimal(scale[0]), Decimal(scale[1]), errors, prefix)
    if errors:
        raise Invalid(errors)
    with use_case(session):
        if _store_totals(session, conn, totals):
            audit.record(session, None, conn.prop, "review_totals", partner_totals=[
                totals.count, None if totals.average is None else str(totals.average)])


def import_records(session: Session, conn: ChannelConnection, records: list, totals: Totals | None,
                   parse) -> Imported:
    """Every record through `receive` (read by `parse`, the API's schema), then the top-level
    totals, in ONE transaction: any error and nothing is written. Errors are collected over all
    records, named `[index].field` (index from 0), and raised together as one Invalid."""
    _check_scope(conn)
    out = Imported()
    errors: dict = {}
    scale = None
    with use_case(session):
        for i, record in enumerate(records):
            try:
                data = parse(record)
                _, created = receive(session, conn, data)
            except Invalid as e:
                errors.update({f"[{i}].{k}": v for k, v in e.errors.items()})
                continue
            scale = (data.scale_min, data.scale_max)
            if created:
                out.created += 1
            else:
                out.updated += 1
        if totals is not None and not errors:
            try:
                receive_totals(session, conn, totals, scale)
            except Invalid as e:
                errors.update(e.errors)
        if errors:
            raise Invalid(errors)  # the outer use case rolls the whole file back
    return out


# -- reading them back -----------------------------------------------------------------------

def held(session: Session, conn: ChannelConnection, limit: int,
         before: tuple[dt.date, int] | None = None) -> list[Review]:
    """What the portal holds for the connection's property, newest first (by the day written,
    then id), `limit` of them after the cursor `before` (written_on, id) of the previous page."""
    _check_scope(conn)
    q = sa.select(Review).where(Review.property_id == conn.property_id)
    if before is not None:
        day, ident = before
        q = q.where(sa.or_(Review.written_on < day, sa.and_(Review.written_on == day, Review.id < ident)))
    return list(session.scalars(q.order_by(Review.written_on.desc(), Review.id.desc()).limit(limit)))


def _number(value) -> float | None:
    return None if value is None else float(Decimal(value))


def wire(review: Review) -> dict:
    """A stored review as the API answers it (documented in portal/blueprints/api/openapi.py)."""
    return {
        "id": review.id, "partner_review_id": review.partner_review_id,
        "created_at": review.written_on.isoformat(),
        "travel_date": review.travel_date.isoformat() if review.travel_date else None,
        "author": review.author, "overall": _number(review.overall),
        "scale": {"min": _number(review.scale_min), "max": _number(review.scale_max)},
        "sub_scores": {k: _number(v) for k, v in (review.sub_scores or {}).items()},
        "recommends": review.recommends, "text": review.text, "language": review.language, "status": review.status,
        "received_at": review.received_at.isoformat(), "updated_at": review.updated_at.isoformat(),
    }

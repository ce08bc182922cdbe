"""The public availability search for the tourist office's website (GET /search, /search.json).

Which properties to show is decided by services.availability.search.free_stays, the office-wide
search that also finds replacement accommodation (R13): properties with an active contract and
a room category free for the whole stay (quotas, closed nights, minimum and maximum stay, closed
to arrival on the arrival day and to departure on the departure day, running holds counted,
run-out ones not). This module adds what a guest's search needs around it: reading the form
(`parse`, every problem named at its field), the type and size filters, one entry per property
with its free categories cheapest first, the cover photo and the review score where reviews may
be shown (R60), sorting by price or score, and pages. A fixed number of queries, whatever the
number of properties.

Freshness (`fingerprint`): an answer may be kept by the browser or a proxy, but it must be asked
for again every time (`Cache-Control: public, max-age=0, must-revalidate`) and is confirmed with
304 only while its ETag still holds. The ETag is a hash of the query and of one cheap read:
every active property of the office with its inventory_version and the sum of its room
categories' versions (every booking, release, rate and cost change bumps one of them,
services.availability.inventory.touch), and the number of nights of
the stay that running holds occupy (a hold runs out without any write: the count drops then). So a stay sold after an answer changes the ETag at once and is never confirmed as free.
We chose that over a server-side cache of the answers: it costs one indexed query per request
and keeps no state in the app servers (several gunicorn machines answer alike), while a repeated
search (back button, the office's page reloaded, a proxy in front) is answered with 304 without
running the search. What no version covers (a new cover photo, a review score, the date that
makes an arrival "in the past") is bounded by the time window in the ETag (FRESH_SECONDS).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.availability import search
from services.availability.search import FreeStay
from services.core import clock, inputs
from services.core.errors import Invalid, NotFound
from services.core.i18n import _l
from services.models import CATEGORY_KINDS, Booking, Occupancy, Office, Photo, Property, RoomCategory
from services.reviews import display

MAX_NIGHTS = 30
MAX_GUESTS = 50
MAX_ROOMS = 10
MAX_PER_PAGE = 50
PER_PAGE = 10
MAX_PAGE = 1000
MAX_DAYS_AHEAD = 730  # rates are kept two years ahead (inventory.MAX_RANGE_DAYS)
SORTS = ("price", "score")
# The offices' properties are in Germany and the Czech Republic: one "today" for the search.
TIMEZONE = "Europe/Berlin"
FRESH_SECONDS = 300

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Query:
    office_id: int
    arrival: dt.date
    departure: dt.date
    guests: int
    rooms: int = 1
    kind: str | None = None
    max_guests: int | None = None  # categories sleeping at least this many per unit
    sort: str = "price"
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def nights(self) -> int:
        return (self.departure - self.arrival).days


@dataclass
class Result:
    """One property with its categories free for the stay, cheapest first."""

    prop: Property
    stays: list[FreeStay]
    score: display.Score | None = None
    cover_photo_id: int | None = None

    @property
    def price(self):
        return self.stays[0].total


@dataclass
class Page:
    query: Query
    total: int  # properties found, over all pages
    results: list[Result] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.per_page))


def _date(value: str | None, name: str, errors: dict) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        errors[name] = (_l("Enter the arrival date.") if name == "arrival" else _l("Enter the departure date."))
        return None
    try:
        if _DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    errors[name] = _l("Enter a date as YYYY-MM-DD, e.g. 2027-05-01.")
    return None


def _number(value: str | None, name: str, errors: dict, low: int, high: int, message, default: int | None = None):
    value = (value or "").strip()
    if not value:
        if default is None:
            errors[name] = message
        return default
    n = inputs.whole(value)
    if n is None or not low <= n <= high:
        errors[name] = message
        return default
    return n


def office_of(session: Session, value: str | None) -> Office:
    """The office named by the `office` parameter (its id); left out, the only office there is."""
    value = (value or "").strip()
    if value:
        n = inputs.whole(value)
        office = session.get(Office, n) if n is not None and 0 < n <= inputs.MAX_ID else None
        if office is None:
            raise NotFound(_l("No such tourist office."))
        return office
    offices = list(session.scalars(sa.select(Office).order_by(Office.id).limit(2)))
    if len(offices) != 1:
        raise Invalid({"office": _l("Name the tourist office (parameter office).")})
    return offices[0]


def parse(office: Office, args: Mapping[str, str]) -> Query:
    """The search form or query string (for `office`, see office_of) as a Query; Invalid names
    every field that is wrong."""
    errors: dict = {}
    arrival = _date(args.get("arrival"), "arrival", errors)
    departure = _date(args.get("departure"), "departure", errors)
    today = clock.today(TIMEZONE)
    inputs.stay(arrival, departure, errors, max_nights=MAX_NIGHTS, today=today,
                too_long=_l("A stay can last at most %(n)s nights here.", n=MAX_NIGHTS))
    if arrival is not None and "arrival" not in errors and (arrival - today).days > MAX_DAYS_AHEAD:
        errors["arrival"] = _l("Search at most two years ahead.")
    guests = _number(args.get("guests"), "guests", errors, 1, MAX_GUESTS,
                     _l("Enter a number of guests from 1 to %(n)s.", n=MAX_GUESTS))
    rooms = _number(args.get("rooms"), "rooms", errors, 1, MAX_ROOMS,
                    _l("Enter a number of rooms from 1 to %(n)s.", n=MAX_ROOMS), default=1)
    kind = (args.get("kind") or "").strip() or None
    if kind is not None and kind not in CATEGORY_KINDS:
        errors["kind"] = _l("Choose a type from the list.")
    max_guests = _number(args.get("max_guests"), "max_guests", errors, 1, MAX_GUESTS,
                         _l("Enter a number of guests from 1 to %(n)s.", n=MAX_GUESTS), default=0) or None
    sort = (args.get("sort") or "").strip() or "price"
    if sort not in SORTS:
        errors["sort"] = _l("Sort by price or by score.")
    page = _number(args.get("page"), "page", errors, 1, MAX_PAGE, _l("Enter a page from 1 to %(n)s.", n=MAX_PAGE),
                   default=1)
    per_page = _number(args.get("per_page"), "per_page", errors, 1, MAX_PER_PAGE,
                       _l("Enter from 1 to %(n)s results per page.", n=MAX_PER_PAGE), default=PER_PAGE)
    if "guests" not in errors and "rooms" not in errors and guests < rooms:
        errors["guests"] = _l("Each room needs at least one guest.")
    if errors:
        raise Invalid(errors)
    return Query(office_id=office.id, arrival=arrival, departure=departure, guests=guests, rooms=rooms, kind=kind,
                 max_guests=max_guests, sort=sort, page=page, per_page=per_page)


def _by_score(result: Result):
    fraction = result.score.fraction if result.score is not None else None
    return (fraction is None, -(fraction or 0), result.price, result.prop.name, result.prop.id)


def run(session: Session, q: Query) -> Page:
    """The page of properties free for the stay, with their categories, prices, cover photo
    and review score. About ten queries, whatever the number of properties."""
    stays = search.free_stays(session, q.office_id, q.arrival, q.departure, q.guests, q.rooms,
                              kind=q.kind, min_max_guests=q.max_guests)
    grouped: dict[int, Result] = {}
    for stay in stays:  # cheapest first: so is each property's list, and the properties' order
        grouped.setdefault(stay.prop.id, Result(stay.prop, [])).stays.append(stay)
    results = list(grouped.values())
    if q.sort == "score":
        all_scores = display.scores(session, list(grouped))
        for r in results:
            r.score = all_scores.get(r.prop.id)
        results.sort(key=_by_score)
    start = (q.page - 1) * q.per_page
    shown = results[start:start + q.per_page]
    ids = [r.prop.id for r in shown]
    if q.sort != "score":
        page_scores = display.scores(session, ids)
        for r in shown:
            r.score = page_scores.get(r.prop.id)
    if ids:
        covers = dict(session.execute(
            sa.select(Photo.property_id, Photo.id).where(Photo.property_id.in_(ids), Photo.is_cover)).all())
        for r in shown:
            r.cover_photo_id = covers.get(r.prop.id)
    return Page(query=q, total=len(results), results=shown)


def fingerprint(session: Session, q: Query, *extra) -> str:
    """What the answer to `q` depends on, as an ETag (see the module's docstring). One query."""
    now = clock.now()
    office = sa.select(Property.id).where(Property.office_id == q.office_id)
    holds = (  # the nights of the stay that running holds occupy: through the nights' index, not all bookings
        sa.select(sa.func.count(Occupancy.id))
        .join(Booking, Booking.id == Occupancy.booking_id)
        .where(Occupancy.night >= q.arrival, Occupancy.night < q.departure, Booking.hold_running(now),
               (Booking.property_id + 0).in_(office))
        .scalar_subquery()
    )
    categories = (  # booking writers bump their categories' versions only (inventory.touch)
        sa.select(sa.func.coalesce(sa.func.sum(RoomCategory.inventory_version), 0))
        .where(RoomCategory.property_id == Property.id).correlate(Property).scalar_subquery()
    )
    rows = session.execute(
        sa.select(Property.id, Property.inventory_version, categories, holds)
        .where(Property.office_id == q.office_id, Property.contract_active_since.is_not(None))
        .order_by(Property.id)
    ).all()
    window = int(now.timestamp()) // FRESH_SECONDS
    return hashlib.sha256(repr((q, [tuple(r) for r in rows], window, extra)).encode()).hexdigest()[:32]

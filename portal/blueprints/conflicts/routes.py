"""Pages of double bookings: the list, one page per double booking, moves between units.

The page shows what happened and when, the nights as a grid of the category's units (who is
where, who has no room), the bookings ranked by R11 with the reason in words and who has to
yield, the moves between units that solve it (issue 11) with an Apply button, the R13 steps
(conflicts/_steps.html, steps.py) and the history. Host and office staff of the property may
open it; another host gets a 404, as for a double booking that does not exist (staff of
another office the portal's 403).
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import flash, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required
from htmx_flask import request
from sqlalchemy.orm import joinedload

from portal.blueprints.conflicts import bp
from portal.extensions import db as database
from portal.web.i18n import tr
from portal.web.labels import DOUBLE_BOOKING_STEPS
from portal.web.render import hx_redirect, render
from services.accounts import access
from services.bookings import conflicts, unit_moves
from services.core import clock
from services.core.errors import Conflict, Forbidden, NotFound
from services.core.i18n import _l
from services.models import Booking, DoubleBooking, DoubleBookingStep, Property

ONE_DAY = dt.timedelta(days=1)
MAX_GRID_NIGHTS = 21  # the grid shows the double booking's nights and the stays around, at most this many


def _property(slug: str) -> Property:
    """The property, if the user may open it. Another host gets a 404 (no hint that the
    property or its double bookings exist); staff of another office get the portal's 403, and
    the host whose contract is not active yet is told so (403), as everywhere."""
    prop = database.session.scalar(sa.select(Property).where(Property.slug == slug))
    if prop is None:
        raise NotFound(_l("No such property."))
    try:
        access.check_property(current_user, prop)
    except Forbidden:
        if current_user.role == "host" and prop.owner_id != current_user.id:
            raise NotFound(_l("No such double booking.")) from None
        raise
    return prop


def _double_booking(slug: str, db_id: int) -> tuple[Property, DoubleBooking]:
    prop = _property(slug)
    return prop, conflicts.of_property(database.session, current_user, prop, db_id)


@dataclasses.dataclass
class Ranked:
    """A booking of the double booking in R11 order, with the reason in words. `active`: it still
    occupies its nights (a cancelled one is listed, after the others, without a verdict)."""

    booking: Booking
    online: bool
    reason: str
    yields: bool
    active: bool = True
    unplaced: int = 0  # its nights without a room


def rank_with_reasons(bookings: list[Booking], yielding: set[int], unplaced: dict[int, dict] | None = None
                      ) -> list[Ranked]:
    """R11 in words: online before own; among online, the one booked first."""
    now = clock.now()
    active = [b for b in conflicts.rank(bookings) if b.occupies(now)]
    first_online = next((b for b in active if conflicts.is_online(b)), None)
    out = []
    for b in active:
        if conflicts.is_online(b):
            reason = (_("online, booked first") if b is first_online
                      else _("online, booked after %(guest)s", guest=first_online.guest_name))
        elif b.source == "ical":
            reason = _("blocked in an external calendar: online bookings have priority")
        else:
            reason = _("own booking: online bookings have priority")
        out.append(Ranked(b, conflicts.is_online(b), reason, b.id in yielding,
                          unplaced=len((unplaced or {}).get(b.id, {}))))
    out += [Ranked(b, conflicts.is_online(b), "", False, active=False)
            for b in conflicts.rank(bookings) if not b.occupies(now)]
    return out


def yielding(ranked: list[Booking], on_nights: dict[int, set[dt.date]], over: dict[dt.date, int]) -> set[int]:
    """Who has to yield: on each overbooked night, the last `excess` of the bookings there in R11 order."""
    out: set[int] = set()
    for night, excess in over.items():
        there = [b for b in ranked if night in on_nights.get(b.id, set())]
        out.update(b.id for b in there[-excess:])
    return out


@dataclasses.dataclass
class Grid:
    """Units x nights: the booking in each cell, and per night the bookings without a room."""

    nights: list[dt.date]
    rows: list[tuple[object, list[Booking | None]]]
    unplaced: list[list[tuple[Booking, int]]]
    first_in_row: set[tuple[int, int]]  # (row, column) where a stay's label is written
    moved: frozenset = frozenset()       # bookings the moves change (marked in the grid after them)

    @property
    def has_unplaced(self) -> bool:
        return any(self.unplaced)


def _grid(sit: unit_moves.Situation, nights: list[dt.date], held: dict[int, dict[dt.date, list[int]]],
          unplaced: dict[int, dict[dt.date, int]], moved: frozenset = frozenset()) -> Grid:
    by_id = sit.booking_by_id
    cell: dict[tuple[int, dt.date], Booking] = {}
    for bid, per_night in held.items():
        for night, uids in per_night.items():
            for uid in uids:
                cell[(uid, night)] = by_id[bid]
    rows, first = [], set()
    for r, unit in enumerate(sit.units):
        row = [cell.get((unit.id, n)) for n in nights]
        for c, b in enumerate(row):
            if b is not None and (c == 0 or row[c - 1] is not b):
                first.add((r, c))
        rows.append((unit, row))
    without = [[(by_id[bid], per[n]) for bid, per in sorted(unplaced.items()) if n in per and bid in by_id]
               for n in nights]
    return Grid(nights, rows, without, first, moved)


def _shown_nights(sit: unit_moves.Situation, db: DoubleBooking) -> list[dt.date]:
    """The double booking's nights and the stays of its bookings around them, at most MAX_GRID_NIGHTS."""
    members = [b for b in sit.bookings if b.arrival <= db.last_night and b.departure > db.first_night]
    first = min([db.first_night, *(b.arrival for b in members)])
    end = max([db.last_night + dt.timedelta(days=1), *(b.departure for b in members)])
    if (end - first).days > MAX_GRID_NIGHTS:
        first = max(first, db.first_night - dt.timedelta(days=3))
        end = min(end, first + dt.timedelta(days=MAX_GRID_NIGHTS))
    return [first + dt.timedelta(days=i) for i in range((end - first).days)]


def _page(prop: Property, db: DoubleBooking, status: int = 200, error: str | None = None):
    session = database.session
    allow_split = request.values.get("split") == "1"
    sit = unit_moves.situation(session, prop, db)
    members = list(db.bookings)
    over = conflicts.overbooked_nights(session, db.category_id, db.first_night, db.last_night) if db.is_open else {}
    on_nights: dict[int, set[dt.date]] = {}
    for b in members:
        on_nights[b.id] = set(sit.held.get(b.id, {})) | set(sit.unplaced.get(b.id, {}))
    order = conflicts.rank(members)
    ranked = rank_with_reasons(members, yielding(order, on_nights, over) if db.is_open else set(), sit.unplaced)
    preview = unit_moves.preview(session, prop, db, allow_split, sit=sit) if db.is_open else None
    nights = _shown_nights(sit, db)
    grid = _grid(sit, nights, sit.held, sit.unplaced)
    after = None
    if preview is not None and preview.status == "moves":
        held = {bid: dict(per) for bid, per in sit.held.items()}
        left = {bid: dict(per) for bid, per in sit.unplaced.items()}
        for m in preview.moves:
            held[m.booking.id] = {n: list(us) for n, us in m.after.items()}
            left.pop(m.booking.id, None)
        after = _grid(sit, nights, held, left, frozenset(m.booking.id for m in preview.moves))
    steps = list(session.scalars(
        sa.select(DoubleBookingStep).where(DoubleBookingStep.double_booking_id == db.id)
        .options(joinedload(DoubleBookingStep.actor)).order_by(DoubleBookingStep.at, DoubleBookingStep.id)))
    # `ranked` (the bookings in R11 order), `db` and `prop` are what conflicts/_steps.html takes
    return render("conflicts/page.html", "moves", status=status, prop=prop, db=db, ranking=ranked,
                  ranked=order, over=over, grid=grid, after=after, preview=preview,
                  allow_split=allow_split, steps=steps, step_labels=DOUBLE_BOOKING_STEPS,
                  members={b.id: b for b in members}, cause=conflicts.describe_cause(db.cause), error=error,
                  one_day=ONE_DAY)


@bp.route("/p/<slug>/conflicts")
@login_required
def index(slug):
    """The property's double bookings: open ones first, then resolved ones."""
    prop = _property(slug)
    items = conflicts.listing(database.session, current_user, prop)
    categories = {c.id: c for c in prop.categories}
    return render("conflicts/list.html", prop=prop, items=items, categories=categories, one_day=ONE_DAY)


@bp.route("/conflicts")
@login_required
def open_everywhere():
    """Open double bookings on every property the user may open (where the banner leads when
    there are several properties)."""
    items = list(database.session.scalars(
        sa.select(DoubleBooking).join(Property, Property.id == DoubleBooking.property_id)
        .where(DoubleBooking.status.in_(conflicts.OPEN), access.visible_properties(current_user))
        .options(joinedload(DoubleBooking.prop), joinedload(DoubleBooking.category))
        .order_by(DoubleBooking.opened_at, DoubleBooking.id)))
    return render("conflicts/everywhere.html", items=items, one_day=ONE_DAY)


@bp.route("/p/<slug>/conflicts/<id:db_id>")
@login_required
def show(slug, db_id):
    """One double booking: what, when, the nights, who keeps the room (R11), moves, steps, history."""
    prop, db = _double_booking(slug, db_id)
    return _page(prop, db)


@bp.route("/p/<slug>/conflicts/<id:db_id>/moves", methods=["POST"])
@login_required
def apply_moves(slug, db_id):
    """Apply the moves between units (recomputed: what the page showed may be stale)."""
    prop, db = _double_booking(slug, db_id)
    allow_split = request.form.get("split") == "1"
    try:
        moves = unit_moves.apply(database.session, current_user, prop, db, allow_split)
    except Conflict as e:
        database.session.rollback()
        prop, db = _double_booking(slug, db_id)
        return _page(prop, db, status=409, error=tr(e.message))
    flash(ngettext("%(num)s booking moved; the double booking is resolved.",
                   "%(num)s bookings moved; the double booking is resolved.", len(moves))
          if db.status == "resolved" else
          ngettext("%(num)s booking moved.", "%(num)s bookings moved.", len(moves)), "success")
    return hx_redirect(url_for("conflicts.show", slug=prop.slug, db_id=db_id))

"""Gap nights (R1): free nights between two stays too few for the minimum stay, so they never sell.

Definition. For one room category, a *gap* is a maximal run of consecutive nights from today on
whose availability is > 0 (inventory.Night.available: open, priced, within quota and free
units), bounded on both sides by a night with availability 0 (closed, unpriced, sold out or
occupied) - the night before today counts as such a bound, as the past cannot be sold - and
whose length is less than the minimum stay that applies at its first night (and > 0).

A run that touches the edge of the nights looked at (the plan's month) is not judged: its
length is not known there. `find` works on the nights the plan already loaded (no query);
`fix` looks a year ahead (a minimum stay is at most 365 nights) and lowers the minimum stay of
exactly the gap's nights to its length, recorded in the history and undoable
(services.availability.undo).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access
from services.core import clock
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.core.i18n import _l
from services.availability import inventory, rates, undo
from services.availability.inventory import Night, nights_for, touch
from services.channels import ari
from services.models import AuditEntry, NightRate, Property, User

LOOK_AHEAD_DAYS = 366  # a minimum stay is at most 365 nights (rates._validate)


@dataclass(frozen=True, slots=True)
class Gap:
    first: dt.date
    length: int
    min_stay: int  # what applies at its first night

    @property
    def nights(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range(self.length)]


def find(nights: list[Night], today: dt.date) -> dict[dt.date, Gap]:
    """Each night of a gap -> its gap, for one category's consecutive nights (see the module's definition)."""
    out: dict[dt.date, Gap] = {}
    i, count = 0, len(nights)
    while i < count:
        if nights[i].night < today or nights[i].available <= 0:
            i += 1
            continue
        j = i
        while j + 1 < count and nights[j + 1].available > 0:
            j += 1
        # Bounded on the left by a sold-out night in view or by the past; on the right by a sold-out night in view.
        left = i > 0 or nights[i].night <= today
        right = j + 1 < count
        length = j - i + 1
        if left and right and length < nights[i].min_stay:
            gap = Gap(nights[i].night, length, nights[i].min_stay)
            for n in nights[i:j + 1]:
                out[n.night] = gap
        i = j + 1
    return out


def gap_at(session: Session, category_id: int, first: dt.date, today: dt.date) -> Gap | None:
    """The gap that starts on `first` now, if any (three queries over a year of nights)."""
    start = max(today, first - dt.timedelta(days=1))
    figures = nights_for(session, [category_id], start, first + dt.timedelta(days=LOOK_AHEAD_DAYS))[category_id]
    gap = find([figures[d] for d in sorted(figures)], today).get(first)
    return gap if gap is not None and gap.first == first else None


def fix(session: Session, actor: User, prop: Property, category_id: int, first: dt.date) -> AuditEntry:
    """Lower the minimum stay of the gap starting on `first` to its length; returns the history entry."""
    access.check_property(actor, prop)
    cat = inventory.category_of(session, prop.id, category_id)
    today = clock.today(prop.timezone)
    if first < today:
        raise Invalid({"night": _l("Nights in the past cannot be changed.")})
    with use_case(session) as uc:
        touch(session, prop.id, [cat.id])  # the property row first (mark_maintained writes it), then the category
        rates.mark_maintained(prop)
        gap = gap_at(session, cat.id, first, today)
        if gap is None:
            raise Conflict(_l("These nights are no longer a gap: the plan has changed. Reload it."), code="no_gap")
        nights = gap.nights
        before = undo.snapshot(session, [cat.id], nights)
        session.execute(
            sa.update(NightRate).where(NightRate.category_id == cat.id, NightRate.night.in_(nights))
            .values(min_stay=gap.length).execution_options(synchronize_session=False)
        )
        ari.changed(session, prop.id, cat.id, nights)  # pushed to channels at commit
        entry = undo.record_edit(session, actor, prop, "gap_fix", [cat], nights, before)
        uc.keep(entry)
    return entry

"""Arranging a property's photos (R71, R73): motive, description, order, the cover, deleting,
the motives checklist and the tourist office's download.

Uploading is services/properties/photo_intake.py (its first photo of a property becomes the
cover); the files live behind services/core/storage.py.

Decisions:
- Exactly one cover per property with photos. The partial unique index uq_photo_one_cover
  holds at most one; the use cases keep one: the first upload, `set_cover` (the old one is
  cleared and flushed before the new one is set: in one flush SQLAlchemy orders the UPDATEs by
  id, and setting a lower id first would meet the index), `delete` (the cover passes to the
  next photo in the order, or to the one before it when it was the last).
- Every change takes the property's row lock first (on PostgreSQL; SQLite's writing
  transactions are serialised by BEGIN IMMEDIATE), so two people arranging the same property
  at once queue instead of producing two covers or a muddled order.
- The order is `position`, kept as 0..n-1 by every change here (ties, as uploads may leave
  them, fall back to the id).
- A photo's motive is one of PHOTO_MOTIVES; `room` names one of the property's room
  categories, every other motive names none (a category sent with them, as a form without
  scripts does, is dropped).
- Moving the first photo up or the last one down changes nothing (no history line).
- The office's download (R73) is services/properties/photo_export.py (`office_download`, re-exported here).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access
from services.core import audit, inputs, storage
from services.core.db import use_case
from services.core.errors import Invalid, NotFound
from services.core.i18n import Message, _l
from services.models import PHOTO_MOTIVES, Photo, Property, RoomCategory, User
from services.properties.photo_export import office_download  # noqa: F401 - one home for the photo use cases

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 300
DIRECTIONS = ("up", "down")

# R71's motives as the host reads them (the select of each photo, the checklist, the history).
MOTIVE_LABELS = {
    "interior": _l("Interior (flat or room)"),
    "room": _l("A room category"),
    "view": _l("View or garden"),
    "exterior": _l("House from outside"),
    "food": _l("Breakfast or food"),
    "feature": _l("Something unique"),
}

# The checklist's motives besides the room categories, in R71's order, with what helps.
CHECKLIST_MOTIVES = (
    ("interior", _l("The flat or a room as a whole: light, tidy, taken from a corner."), False),
    ("view", _l("The mountain view, the view from the window or balcony, or the garden."), False),
    ("exterior", _l("The house from outside, in daylight."), False),
    ("food", _l("Only if you offer breakfast or meals."), True),
    ("feature", _l("What sets your house apart: a sauna, a terrace, a playground, old beams."), False),
)


def motive_label(motive: str | None) -> Message:
    return MOTIVE_LABELS.get(motive or "", _l("Not chosen yet"))


# -- reading ----------------------------------------------------------------------------------

def _ordered(prop_id: int):
    return (sa.select(Photo).where(Photo.property_id == prop_id).order_by(Photo.position, Photo.id))


def listing(session: Session, actor: User, prop: Property) -> list[Photo]:
    """The property's photos in their order (one query)."""
    access.check_property(actor, prop)
    return list(session.scalars(_ordered(prop.id)))


def get(session: Session, actor: User, prop: Property, photo_id: int) -> Photo:
    """The property's photo; another property's (or none) is "not found", no hint it exists."""
    access.check_property(actor, prop)
    return access.of_property(session, Photo, photo_id, prop.id, _l("No such photo."))


def _locked_photos(session: Session, prop: Property) -> list[Photo]:
    """Lock the property's row (one change of its photos at a time), then its photos in order."""
    session.execute(sa.select(Property.id).where(Property.id == prop.id).with_for_update())
    return list(session.scalars(_ordered(prop.id)))


def _find(photos: list[Photo], photo_id) -> Photo:
    for p in photos:
        if p.id == photo_id:
            return p
    raise NotFound(_l("No such photo."))


def _renumber(photos: list[Photo]) -> None:
    for i, p in enumerate(photos):
        if p.position != i:
            p.position = i


def _who(actor: User, prop: Property, **params) -> dict:
    if actor.role != "host" and prop.owner is not None:
        params["on_behalf_of"] = prop.owner.name  # staff acting for the host (history.html marks it too)
    return params


def _excerpt(text: str, n: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[:n - 1].rstrip() + "…"


# -- motive, description ------------------------------------------------------------------------

def category_id_of(value) -> int | None:
    """A room category id as a form or the upload sends it: None when empty, -1 when not a
    whole number (no category has it: the caller's check says "choose one of this property's")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value
    n = inputs.whole(str(value).strip())
    return n if n is not None else -1


def update(session: Session, actor: User, prop: Property, photo_id: int, motive: str | None, category_id,
           description: str | None) -> Photo:
    """Set what a photo shows (R71) and its description for screen readers. Errors by field:
    `motive`, `category_id`, `description`."""
    access.check_property(actor, prop)
    errors: dict = {}
    motive = motive.strip() if isinstance(motive, str) else motive
    if not motive:
        errors["motive"] = _l("Choose what the photo shows.")
    elif motive not in PHOTO_MOTIVES:
        errors["motive"] = _l("Choose one of the motives in the list.")
    description = inputs.line(description, "description", errors, max_len=MAX_DESCRIPTION)
    cat_id = category_id_of(category_id)
    category = None
    if motive == "room":
        if cat_id is None:
            errors["category_id"] = _l("Choose the room category this photo shows.")
        else:
            category = session.get(RoomCategory, cat_id) if 0 < cat_id <= inputs.MAX_ID else None
            if category is None or category.property_id != prop.id:
                errors["category_id"] = _l("Choose one of this property's room categories.")
                category = None
    with use_case(session) as uc:
        photos = _locked_photos(session, prop)
        photo = _find(photos, photo_id)
        if errors:
            raise Invalid(errors)
        new = {"motive": motive, "category": category.name if category else None, "description": description}
        old = {"motive": photo.motive, "category": photo.category.name if photo.category_id and photo.category else None,
               "description": photo.description}
        changes = {k: [old[k], new[k]] for k in new if old[k] != new[k]}
        if photo.category_id != (category.id if category else None):
            changes.setdefault("category", [old["category"], new["category"]])
        if changes:
            photo.motive, photo.category_id, photo.description = motive, category.id if category else None, description
            audit.record(session, actor, prop, "photo_changed",
                         **_who(actor, prop, photo=photos.index(photo) + 1, changes=changes))
        uc.keep(photo, prop, actor)
    return photo


# -- order --------------------------------------------------------------------------------------

def move(session: Session, actor: User, prop: Property, photo_id: int, direction: str) -> list[Photo]:
    """Move a photo one place up (earlier) or down; at either end nothing changes. Returns the
    photos in their new order."""
    access.check_property(actor, prop)
    if direction not in DIRECTIONS:
        raise Invalid({"direction": _l("Move a photo up or down.")})
    with use_case(session) as uc:
        photos = _locked_photos(session, prop)
        photo = _find(photos, photo_id)
        i = photos.index(photo)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(photos):
            photos[i], photos[j] = photos[j], photos[i]
            _renumber(photos)
            audit.record(session, actor, prop, "photo_moved", **_who(actor, prop, photo=i + 1, to=j + 1))
        else:
            _renumber(photos)
        uc.keep(prop, actor, *photos)
    return photos


def _id(value) -> int | None:
    """A photo id as sent: a whole number, or its ASCII digits (not a bool, float or "1e3")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return inputs.whole(value.strip()) if isinstance(value, str) else None


def reorder(session: Session, actor: User, prop: Property, ordered_ids) -> list[Photo]:
    """Put the photos in the given order (drag and drop): `ordered_ids` must name each of the
    property's photos exactly once. Returns the photos in their new order."""
    access.check_property(actor, prop)
    wrong = Invalid({"order": _l("The order must name each photo of this property exactly once: "
                                 "reload the page and try again.")})
    if not isinstance(ordered_ids, (list, tuple)):
        raise wrong
    ids = [_id(i) for i in ordered_ids]
    if None in ids:
        raise wrong
    with use_case(session) as uc:
        photos = _locked_photos(session, prop)
        if len(ids) != len(photos) or set(ids) != {p.id for p in photos}:
            raise wrong
        by_id = {p.id: p for p in photos}
        new = [by_id[i] for i in ids]
        if new != photos:
            moved = sum(1 for a, b in zip(photos, new) if a is not b)
            _renumber(new)
            audit.record(session, actor, prop, "photos_reordered", **_who(actor, prop, photos=len(new), moved=moved))
        else:
            _renumber(new)
        uc.keep(prop, actor, *new)
    return new


# -- the cover ----------------------------------------------------------------------------------

def set_cover(session: Session, actor: User, prop: Property, photo_id: int) -> Photo:
    """Make a photo the cover; the old cover stops being it in the same transaction."""
    access.check_property(actor, prop)
    with use_case(session) as uc:
        photos = _locked_photos(session, prop)
        photo = _find(photos, photo_id)
        if not photo.is_cover:
            old = next((p for p in photos if p.is_cover), None)
            if old is not None:
                old.is_cover = False
                session.flush()  # the old one off before the new one on (uq_photo_one_cover)
            photo.is_cover = True
            session.flush()
            audit.record(session, actor, prop, "photo_cover", **_who(
                actor, prop, photo=photos.index(photo) + 1, description=_excerpt(photo.description),
                **({"before": photos.index(old) + 1} if old is not None else {})))
        uc.keep(photo, prop, actor)
    return photo


# -- deleting -----------------------------------------------------------------------------------

def delete(session: Session, actor: User, prop: Property, photo_id: int) -> list[Photo]:
    """Delete a photo and its three files (after the commit: a failed commit keeps them). The
    cover passes to the next photo in the order (the one before when it was the last).
    Returns the photos left, in order."""
    access.check_property(actor, prop)
    with use_case(session) as uc:
        photos = _locked_photos(session, prop)
        photo = _find(photos, photo_id)
        i = photos.index(photo)
        keys = [photo.original_key, photo.web_key, photo.thumb_key]
        params = {"photo": i + 1, "motive": photo.motive, "description": _excerpt(photo.description)}
        was_cover = photo.is_cover
        session.delete(photo)
        session.flush()  # the old cover gone before another becomes it
        left = photos[:i] + photos[i + 1:]
        _renumber(left)
        if was_cover and left:
            heir = left[i] if i < len(left) else left[-1]
            heir.is_cover = True
            params["cover"] = left.index(heir) + 1
        audit.record(session, actor, prop, "photo_deleted", **_who(actor, prop, **params))
        uc.keep(prop, actor, *left)
    store = storage.current()
    for key in keys:
        try:
            store.delete(key)
        except (OSError, ValueError):  # the row is gone; a file left behind harms no one
            log.warning("photo file %s of property %s not deleted", key, prop.id, exc_info=True)
    return left


# -- the checklist ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChecklistItem:
    motive: str
    label: Message
    count: int  # photos with this motive (and this room category)
    category: RoomCategory | None = None
    hint: Message | None = None
    optional: bool = False

    @property
    def done(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class Checklist:
    items: list[ChecklistItem]

    @property
    def missing(self) -> list[ChecklistItem]:
        """What R71 still asks for (an optional motive, food, is never missing)."""
        return [i for i in self.items if not i.done and not i.optional]

    @property
    def complete(self) -> bool:
        return not self.missing


def checklist(session: Session, prop: Property, categories: list[RoomCategory]) -> Checklist:
    """R71 per property: interior, every room category, view or garden, the house from outside,
    breakfast or food (if offered: optional), something unique. A room category counts when a
    photo shows motive `room` with that category. One query whatever the number of photos."""
    rows = session.execute(
        sa.select(Photo.motive, Photo.category_id, sa.func.count())
        .where(Photo.property_id == prop.id, Photo.motive.is_not(None))
        .group_by(Photo.motive, Photo.category_id)
    )
    return checklist_of({(motive, category_id): n for motive, category_id, n in rows}, categories)


def checklist_of(photo_counts: dict[tuple[str, int | None], int], categories: list[RoomCategory]) -> Checklist:
    """The checklist from the number of photos per (motive, category id): the office's home
    builds it for many properties from one query (services/office/attention.py)."""
    counts: dict[tuple[str | None, int | None], int] = {}
    for (motive, category_id), n in photo_counts.items():
        key = (motive, category_id if motive == "room" else None)
        counts[key] = counts.get(key, 0) + n
    items = []
    for motive, hint, optional in CHECKLIST_MOTIVES:
        items.append(ChecklistItem(motive, MOTIVE_LABELS[motive], counts.get((motive, None), 0), hint=hint,
                                   optional=optional))
        if motive == "interior":  # R71: interior, then every room
            items.extend(ChecklistItem("room", _l("Room category: %(name)s", name=c.name), counts.get(("room", c.id), 0),
                                       category=c) for c in categories)
    return Checklist(items)

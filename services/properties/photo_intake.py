"""Uploading photos of a property (R70-R72): each file checked by services/properties/imaging.py,
the accepted ones stored (services/core/storage.py) and written as Photo rows.

Decisions:
- The host confirms once per upload that the photos carry no text, captions or contact details
  (R72, `confirm_no_text`); without it nothing is looked at (Invalid, field `confirm_no_text`).
- Each file is answered on its own (`FileResult`, in the order given): a refused file (its
  code and message, from imaging) never stops the others.
- The images are checked and derived before the transaction, and the caller's read-only
  transaction (the property and the actor were loaded in it) is ended first, so that neither
  SQLite's write lock nor a PostgreSQL row lock is held while Pillow and Tesseract work. Then
  one transaction, under the property's row lock (as services/properties/photos.py takes it):
  the files are put into the storage under generated keys ("photos/<property id>/<random>.<ext>",
  never the upload's name), the rows written after the property's last photo, the first photo of
  a property made its cover, one history line. Should the transaction fail, the files it put
  are deleted again.
- Warnings (never refusals) are kept with the photo (Photo.warnings: [{"code": ..., params}],
  worded by imaging.finding_message): dark, blurred, visible text, and near duplicates, a
  perceptual hash within imaging.NEAR_DUPLICATE bits of one of the property's photos (or of a
  file earlier in the same upload).
- An upload in which every file is refused changes nothing and leaves no history line.
- A motive (and for `room` a room category of the property) given with the upload applies to
  every accepted photo; a room category alone means the motive `room`. The same rules as
  services/properties/photos.update.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from services.accounts import access
from services.core import audit, clock, inputs, storage
from services.core.db import UseCase, commit_keeping, use_case
from services.core.errors import Invalid
from services.core.i18n import Message, _l
from services.models import PHOTO_MOTIVES, Photo, Property, RoomCategory, User
from services.properties import imaging
from services.properties.photos import category_id_of as _category_id

log = logging.getLogger(__name__)

MAX_FILENAME = 120  # of the name shown back to the uploader (never stored, never a key)


@dataclass
class Upload:
    filename: str  # as the browser sent it: shown back, never used to store or to decide
    data: bytes  # may be empty when `size` alone refuses the file (not read into memory)
    size: int | None = None  # bytes, as known before reading; None: len(data)

    @property
    def byte_size(self) -> int:
        return len(self.data) if self.size is None else self.size


@dataclass
class FileResult:
    filename: str
    ok: bool
    photo: Photo | None = None
    code: str | None = None  # why refused (imaging.Rejected.code)
    message: Message | None = None
    warnings: list[imaging.Finding] = field(default_factory=list)  # warnings first, then notes (`is_note`)


def _shown_name(name: str | None) -> str:
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > MAX_FILENAME:
        name = name[:MAX_FILENAME - 1] + "…"
    return name or "?"


def _motive_and_category(session: Session, prop: Property, motive, category_id, errors: dict) -> tuple[str | None, int | None]:
    motive = motive.strip() if isinstance(motive, str) else motive
    cat_id = _category_id(category_id)
    if not motive:
        motive = "room" if cat_id is not None else None
    if motive is not None and motive not in PHOTO_MOTIVES:
        errors["motive"] = _l("Choose one of the motives in the list.")
        return None, None
    if motive != "room":
        return motive, None  # a category sent with another motive is dropped (as photos.update does)
    if cat_id is None:
        errors["category_id"] = _l("Choose the room category this photo shows.")
        return motive, None
    category = session.get(RoomCategory, cat_id) if 0 < cat_id <= inputs.MAX_ID else None
    if category is None or category.property_id != prop.id:
        errors["category_id"] = _l("Choose one of this property's room categories.")
        return motive, None
    return motive, category.id


def _end_read_transaction(session: Session, *keep) -> None:
    """End the caller's transaction before the slow part, keeping `keep` loaded, when it only
    read (nothing pending, no use case around this one): on SQLite every transaction of a POST
    holds the write lock, which would stop every other writer while the images are worked on."""
    real = session() if isinstance(session, scoped_session) else session
    if real.info.get(UseCase.DEPTH, 0) or real.new or real.dirty or real.deleted or not real.in_transaction():
        return
    commit_keeping(session, *keep)


def accept(session: Session, actor: User, prop: Property, uploads: list[Upload], confirm_no_text: bool,
           motive: str | None = None, category_id=None) -> list[FileResult]:
    """Check, store and record the uploaded photos of `prop`; one result per file, in order."""
    access.check_property(actor, prop)
    errors: dict = {}
    if not confirm_no_text:
        errors["confirm_no_text"] = _l("Please confirm that the photos show no text, captions or contact details.")
    if not uploads:
        errors["photos"] = _l("Please choose at least one photo.")
    motive, cat_id = _motive_and_category(session, prop, motive, category_id, errors)
    if errors:
        raise Invalid(errors)
    prop_id = prop.id
    _end_read_transaction(session, actor, prop)

    # The slow part, with no transaction open: check and derive every file.
    results: list[FileResult] = []
    derived: list[tuple[FileResult, imaging.Derived]] = []
    for upload in uploads:
        name = _shown_name(upload.filename)
        refused = imaging.too_large(upload.byte_size)
        if refused is None:
            checked = imaging.inspect(upload.data)
            if checked.ok:
                try:
                    out = imaging.derive(checked)
                except Exception:  # a picture Pillow decoded but cannot encode: refused, not a 500
                    log.exception("deriving an uploaded photo failed")
                    refused = imaging.damaged(checked.source_format)
                else:
                    result = FileResult(name, True)
                    derived.append((result, out))
                    results.append(result)
                    continue
                finally:
                    del checked  # the decoded picture (up to hundreds of MB) goes now, not at the end
            else:
                refused = checked
        results.append(FileResult(name, False, code=refused.code, message=refused.message))
    if not derived:
        return results

    store = storage.current()
    written: list[str] = []
    try:
        with use_case(session) as uc:
            session.execute(sa.select(Property.id).where(Property.id == prop_id).with_for_update())
            existing = session.execute(
                sa.select(Photo.id, Photo.position, Photo.phash, Photo.is_cover)
                .where(Photo.property_id == prop_id).order_by(Photo.position, Photo.id)).all()
            position = max((row.position for row in existing), default=-1) + 1
            needs_cover = not any(row.is_cover for row in existing)
            now = clock.now()
            earlier: list[tuple[str, str]] = []  # (phash, shown name) of this upload's accepted files
            photos = []
            for result, out in derived:
                findings = out.warnings + _near_duplicate(out.phash, existing, earlier) + out.notes
                earlier.append((out.phash, result.filename))
                keys = {}
                for variant, data, ext in (("original", out.original, out.original_ext), ("web", out.web, "webp"),
                                           ("thumb", out.thumb, "webp")):
                    key = storage.new_key("photos", prop_id, ext)
                    written.append(key)
                    store.put(key, data)
                    keys[variant] = key
                photo = Photo(property_id=prop_id, motive=motive, category_id=cat_id, position=position,
                              is_cover=needs_cover, original_key=keys["original"], web_key=keys["web"],
                              thumb_key=keys["thumb"], width=out.width, height=out.height,
                              source_format=out.source_format, size_bytes=out.size_bytes, phash=out.phash,
                              warnings=[f.stored() for f in findings] or None, uploaded_by_id=actor.id,
                              created_at=now)
                session.add(photo)
                position += 1
                needs_cover = False
                result.photo, result.warnings = photo, findings
                photos.append(photo)
            session.flush()
            params = {"accepted": len(photos), "refused": len(results) - len(photos)}
            if actor.role != "host" and prop.owner is not None:
                params["on_behalf_of"] = prop.owner.name  # staff acting for the host
            audit.record(session, actor, prop, "photos_uploaded", **params)
            uc.keep(actor, prop, *photos)
    except BaseException:
        for key in written:
            try:
                store.delete(key)
            except Exception:  # pragma: no cover - the original error matters more
                log.exception("could not delete %s after a failed upload", key)
        raise
    return results


def _near_duplicate(phash: str, existing, earlier: list[tuple[str, str]]) -> list[imaging.Finding]:
    """The closest photo within imaging.NEAR_DUPLICATE bits: one already there (by its number in
    the order) or one earlier in this upload (by its name)."""
    best = None
    for number, row in enumerate(existing, start=1):
        d = imaging.distance(phash, row.phash)
        if d <= imaging.NEAR_DUPLICATE and (best is None or d < best[0]):
            best = (d, {"photo_id": row.id, "number": number})
    for other, name in earlier:
        d = imaging.distance(phash, other)
        if d <= imaging.NEAR_DUPLICATE and (best is None or d < best[0]):
            best = (d, {"filename": name})
    if best is None:
        return []
    return [imaging.Finding("near_duplicate", {**best[1], "distance": best[0]})]

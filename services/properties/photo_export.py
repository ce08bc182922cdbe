"""The tourist office's download of its hosts' photos (R73): one zip, streamed.

The web size of every photo of the office's properties with an active contract, optionally the
(metadata-free) originals, and photos.csv with each file's motive, room category, cover and
description (the alt text for the office's website). services/properties/photos.py re-exports
`office_download` with the other use cases of arranging photos.
"""
from __future__ import annotations

import csv
import io
import logging
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from services.accounts import access
from services.core import storage
from services.core.errors import Forbidden
from services.core.i18n import _l
from services.models import Office, Photo, Property, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    name: str
    key: str
    when: tuple


class _Sink:
    """What zipfile writes, taken out chunk by chunk (zipfile writes to an unseekable stream
    with data descriptors), so a large download never sits whole in memory or on disk."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def _ext(key: str) -> str:
    return posixpath.splitext(key)[1].lower() or ".bin"


def office_download(session: Session, actor: User, office: Office, originals: bool = False) -> Iterator[bytes]:
    """A zip of the photos of `office`'s properties with an active contract, as chunks to stream:
    "<slug>/NN-<motive>.webp" (the web size, NN its place in the order), with `originals` also
    "<slug>/original/NN-<motive>.<ext>", and photos.csv (file, property, place, cover, motive,
    room category, description: the alt text for the office's website). Staff of the office and
    admins only. Everything is read from the database before the first chunk: the chunks need
    no session (a web response streams them after the request's session is gone)."""
    access.require_staff(actor)
    if actor.role != "admin" and actor.office_id != office.id:
        raise Forbidden(_l("You have no access to this office's photos."))
    photos = list(session.scalars(
        sa.select(Photo).join(Property, Property.id == Photo.property_id)
        .where(Property.office_id == office.id, Property.contract_active_since.is_not(None))
        .options(joinedload(Photo.prop), joinedload(Photo.category))
        .order_by(Property.slug, Photo.position, Photo.id)
    ))
    store = storage.current()
    entries: list[_Entry] = []
    sheet = io.StringIO()
    writer = csv.writer(sheet)
    writer.writerow(["file", "original", "property", "slug", "place", "cover", "motive", "room_category", "description"])
    place: dict[int, int] = {}
    for photo in photos:
        n = place[photo.property_id] = place.get(photo.property_id, 0) + 1
        stem, when = f"{n:02d}-{photo.motive or 'photo'}", photo.created_at.timetuple()[:6]
        files = [(f"{photo.prop.slug}/{stem}.webp", photo.web_key)]
        if originals:
            files.append((f"{photo.prop.slug}/original/{stem}{_ext(photo.original_key)}", photo.original_key))
        named = []
        for name, key in files:
            if store.exists(key):
                entries.append(_Entry(name, key, when))
                named.append(name)
            else:
                log.warning("photo file %s missing from the office's download", key)
                named.append("")
        writer.writerow([named[0], named[1] if originals else "", photo.prop.name, photo.prop.slug, n,
                         "yes" if photo.is_cover else "", photo.motive or "",
                         photo.category.name if photo.category else "", photo.description])
    return _stream(store, entries, sheet.getvalue().encode("utf-8-sig"))  # Excel reads UTF-8 with its mark


def _stream(store, entries: list[_Entry], sheet: bytes) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as zf:  # WebP and JPEG are compressed already
        for e in entries:
            try:
                data = store.get(e.key)
            except (OSError, ValueError):  # gone since it was listed
                log.warning("photo file %s missing from the office's download", e.key)
                continue
            zf.writestr(zipfile.ZipInfo(e.name, date_time=e.when), data)
            yield sink.take()
        zf.writestr(zipfile.ZipInfo("photos.csv", date_time=(1980, 1, 1, 0, 0, 0)), sheet)
    yield sink.take()

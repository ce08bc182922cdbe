"""Photo rows for tests that arrange photos (no Pillow): a row with its three files put into the
storage as small dummy bytes, placed last in the order; the first photo of a property is its
cover, as services/properties/photo_intake.py makes it."""
from __future__ import annotations

import sqlalchemy as sa

from services.core import clock, storage
from services.models import Photo


def make_photo(session, prop_id: int, motive: str | None = None, category_id: int | None = None,
               description: str = "", commit: bool = True) -> Photo:
    store = storage.current()
    count, last = session.execute(sa.select(sa.func.count(), sa.func.max(Photo.position))
                                  .where(Photo.property_id == prop_id)).one()
    keys = {}
    for variant, ext in (("original", "jpg"), ("web", "webp"), ("thumb", "webp")):
        key = storage.new_key("photos", prop_id, ext)
        store.put(key, f"{variant} of a photo of property {prop_id}: {key}".encode())
        keys[variant] = key
    photo = Photo(property_id=prop_id, motive=motive, category_id=category_id, description=description,
                  position=0 if last is None else last + 1, is_cover=count == 0,
                  original_key=keys["original"], web_key=keys["web"], thumb_key=keys["thumb"],
                  width=2048, height=1536, source_format="JPEG", size_bytes=1234, created_at=clock.now())
    session.add(photo)
    session.flush()
    if commit:
        session.commit()
    return photo

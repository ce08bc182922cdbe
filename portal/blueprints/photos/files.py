"""The photo files, behind access control.

- `/p/<slug>/photos/<id>/<thumb|web|original>`: the property's host, its office's staff and
  admins (access.property_for; a photo of another property is "not found" under this one, as
  one that does not exist). `?download=1` sends it as an attachment under a generated name
  (staff hand originals to the office's website, R73). Cached by the browser only (`private`).
- `/public/photos/<id>/<thumb|web>`: the thumbnail and web size of the photos of properties
  with an active brokerage contract, for the office's website and the public search; anything
  else is 404 (an unknown id, a property without an active contract, the original). No session
  (portal.NO_SESSION_ENDPOINTS: no cookie read or set), so shared caches may keep them.

The files carry no personal metadata (services/properties/imaging.py strips it on arrival);
their keys are random (services.core.storage.new_key) and never appear in a URL.
"""
from __future__ import annotations

import hashlib
import io
import mimetypes
import posixpath

import sqlalchemy as sa
from flask import abort, send_file
from flask_login import current_user, login_required
from htmx_flask import request

from portal.blueprints.photos import bp
from portal.extensions import db
from services.accounts import access
from services.core import storage
from services.core.i18n import _l
from services.models import Photo, Property

PRIVATE_MAX_AGE = 3600  # a photo's files never change under its id (a new upload is a new photo)
PUBLIC_MAX_AGE = 3600  # how long a property whose contract ended may still show in a shared cache

TYPES = {".webp": "image/webp", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def _key(photo: Photo, variant: str) -> str:
    return {"thumb": photo.thumb_key, "web": photo.web_key, "original": photo.original_key}[variant]


def _send(photo: Photo, variant: str, download_name: str | None = None):
    """The file from the storage, with an ETag from its key (a key's content never changes) and
    the photo's upload time as Last-Modified; a request that has it already gets 304. Sent from
    memory (thumbnails and web sizes are small; an original is at most the upload's 25 MB):
    no file handle is left to whoever forgets to close the response."""
    key = _key(photo, variant)
    try:
        data = storage.current().get(key)
    except (FileNotFoundError, ValueError):
        abort(404)
    ext = posixpath.splitext(key)[1].lower()
    mimetype = TYPES.get(ext) or mimetypes.guess_type(key)[0] or "application/octet-stream"
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=download_name is not None,
                     download_name=download_name, conditional=True, last_modified=photo.created_at,
                     etag=hashlib.sha256(key.encode()).hexdigest()[:32])


@bp.route("/p/<slug>/photos/<id:photo_id>/<any(thumb, web, original):variant>")
@login_required
def file(slug, photo_id, variant):
    """One photo file of a property the user may open."""
    prop = access.property_for(db.session, current_user, slug)
    photo = access.of_property(db.session, Photo, photo_id, prop.id, _l("No such photo."))
    name = None
    if request.args.get("download"):
        name = f"{prop.slug}-{photo.id}-{variant}{posixpath.splitext(_key(photo, variant))[1].lower()}"
    resp = _send(photo, variant, name)
    resp.headers["Cache-Control"] = f"private, max-age={PRIVATE_MAX_AGE}"
    return resp


@bp.route("/public/photos/<id:photo_id>/<any(thumb, web):variant>")
def public_file(photo_id, variant):
    """The thumbnail or web size of a photo of a property with an active contract; else 404."""
    photo = db.session.scalar(
        sa.select(Photo).join(Property, Property.id == Photo.property_id)
        .where(Photo.id == photo_id, Property.contract_active_since.is_not(None)))
    if photo is None:
        abort(404)
    resp = _send(photo, variant)
    resp.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    return resp

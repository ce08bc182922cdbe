"""The photos page of a property and the upload (R70, R72): `GET /p/<slug>/photos` shows the
upload form, the motives checklist and the photos; `POST` takes the multipart field `photos`
(one or several files) and answers each file on its own: accepted (with its thumbnail and what a
photo editor would point out) or refused with its reason. The other files still go in.

Three ways in, one view:
- a plain form without JavaScript: one POST with every file, the whole page with the results;
- portal/static/js/photos.js: one request per file (a progress bar each, drag and drop), each
  answered with the result fragment (HX-Request);
- htmx alone (should photos.js not run): one hx-post of the form, the fragment appended.

The request size limit is this route's own: the app refuses bodies over 1 MiB (portal/config.py),
a photo upload may carry MAX_FILES files of up to the per-file limit. The app's own before_request
hooks (the CSRF check, portal.errors.refuse_unstorable_input) read the form before any hook of a
blueprint, so the limit is set in a url_value_preprocessor, which Flask runs before every
before_request function. A larger body is answered 413 with a message in words (upload fewer
photos at once) after its body has been read and dropped, so the browser sees the answer instead
of a connection reset (a server that closes a socket with unread data resets it).
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import request

from portal import errors
from portal.blueprints.photos import bp
from portal.extensions import db
from portal.web.i18n import tr
from portal.web.render import is_fragment_request, render
from services.accounts import access
from services.core.errors import DomainError, Invalid
from services.models import PHOTO_MOTIVES, RoomCategory
from services.properties import imaging, photo_intake
from services.properties import photos as arranging

MB = 1024 * 1024
PER_FILE = imaging.MAX_BYTES  # checked per file by services/properties/photo_intake.py
MAX_FILES = 10  # what one plain form POST may carry at most, by size
ROUTE_LIMIT = MAX_FILES * PER_FILE + MB  # the files and the form's few fields
DRAIN_LIMIT = 2 * ROUTE_LIMIT  # read and drop at most this much of a refused body (beyond it: a reset)
READ_CHUNK = 256 * 1024

UPLOAD_ENDPOINT = "photos.page"


@bp.url_value_preprocessor
def _route_body_limit(endpoint, values):
    """This route's request size limit, before any hook reads the form (see the module's docstring)."""
    if endpoint == UPLOAD_ENDPOINT and request.method == "POST":
        request.max_content_length = ROUTE_LIMIT


def _drain_body() -> None:
    """Read and drop what is left of a refused request body (at most DRAIN_LIMIT bytes)."""
    length = request.content_length
    if not length:
        return
    stream = request.environ.get("wsgi.input")
    left = min(length, DRAIN_LIMIT)
    try:
        while left > 0:
            chunk = stream.read(min(READ_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
    except (OSError, ValueError):
        pass


@bp.errorhandler(413)
def too_large(e):
    """A body over the route's limit: the form again with a message in words, not a reset."""
    if request.endpoint != UPLOAD_ENDPOINT:  # the blueprint's other routes: the app's own answer
        return errors._respond(413, "too_large", tr(errors.TITLES[413]))
    _drain_body()
    db.session.rollback()
    message = _("The upload is larger than %(mb)s MB: upload fewer photos at once.", mb=ROUTE_LIMIT // MB)
    if not current_user.is_authenticated:
        return render("error.html", status=413, message=message)
    try:
        prop = access.property_for(db.session, current_user, request.view_args.get("slug", ""))
    except DomainError as err:
        return render("error.html", status=err.status, message=tr(err.message))
    return _page(prop, status=413, block="results", upload_error=message)


def _categories(prop) -> list[RoomCategory]:
    return sorted(prop.categories, key=lambda c: (c.position, c.id))


def _preselected(prop, source) -> tuple[str | None, int | None]:
    """The motive (and room category) that the checklist's link or the form names, if valid."""
    motive = source.get("motive") or None
    if motive not in PHOTO_MOTIVES:
        return None, None
    if motive != "room":
        return motive, None
    try:
        category_id = int(source.get("category") or source.get("category_id") or 0)
    except ValueError:
        category_id = 0
    ids = {c.id for c in prop.categories}
    return (motive, category_id) if category_id in ids else (None, None)


def _page(prop, status: int = 200, block: str | None = None, **ctx):
    """The photos page, or one block of it for htmx: "results" (an upload's answers: no photos
    or checklist are read for it) or "arrange" (the checklist and the photos)."""
    ctx["in_fragment"] = fragment = bool(block) and is_fragment_request()
    ctx.setdefault("results", [])
    ctx.setdefault("field_errors", {})
    ctx.setdefault("upload_error", None)
    ctx.setdefault("confirmed", False)
    motive, category_id = ctx.pop("preselected", None) or _preselected(prop, request.args)
    categories = _categories(prop)
    if not (fragment and block == "results"):
        ctx["photos"] = arranging.listing(db.session, current_user, prop)
        ctx["checklist"] = arranging.checklist(db.session, prop, categories)
    return render(
        "photos/page.html", block=block, status=status, prop=prop, categories=categories,
        motive=motive, motive_text=tr(arranging.motive_label(motive)) if motive else None,
        category=next((c for c in categories if c.id == category_id), None),
        route_limit=ROUTE_LIMIT, route_limit_mb=ROUTE_LIMIT // MB, per_file_mb=PER_FILE // MB, **ctx)


def _uploads():
    """The `photos` field's files as the intake takes them; empty parts (no file chosen) skipped.
    A file over the per-file limit is not read into memory: its size alone refuses it."""
    out = []
    for f in request.files.getlist("photos"):
        if not f or not f.filename:
            continue
        stream = f.stream
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(0)
        data = stream.read() if size <= PER_FILE else b""
        out.append(photo_intake.Upload(f.filename, data, size))
    return out


@bp.route("/p/<slug>/photos", methods=["GET", "POST"])
@login_required
def page(slug):
    """The photos page; POST uploads one or several photos (the field `photos`)."""
    prop = access.property_for(db.session, current_user, slug)
    if request.method == "GET":
        # photos.js reloads the checklist and the photos after a batch (HX-Target: photo-arrange).
        wants_arrange = request.htmx and request.htmx.target == "photo-arrange"
        return _page(prop, block="arrange" if wants_arrange else None)

    confirmed = bool(request.form.get("confirm_no_text"))
    preselected = _preselected(prop, request.form)
    uploads = _uploads()
    field_errors = {}
    results = []
    try:
        results = photo_intake.accept(db.session, current_user, prop, uploads, confirmed,
                                      motive=preselected[0], category_id=preselected[1])
    except Invalid as e:
        field_errors = {k: tr(v) for k, v in e.errors.items()}
    known = {"photos", "confirm_no_text"}
    upload_error = " ".join(v for k, v in field_errors.items() if k not in known) or None
    status = 422 if field_errors else 200
    return _page(prop, status=status, block="results", results=results, field_errors=field_errors,
                 upload_error=upload_error, confirmed=confirmed, preselected=preselected)


"""GET /search (HTML, embeddable by the office's origins) and GET /search.json (the same for the
office's web developers, documented in the API's OpenAPI file).

No login and no session (portal.NO_SESSION_ENDPOINTS: no cookie read or set), so shared caches
may keep the answers; they are revalidated on every use with an ETag that changes as soon as any
stay of the office is sold or freed (services.availability.public_search.fingerprint explains it).
Rate-limited per client address (SEARCH_RATE_LIMIT, default 60/minute). The language is `?lang=`
(de, en, cs; default German), as for the review block (portal/blueprints/reviews/embed.py).
"""
from __future__ import annotations

from decimal import Decimal

from flask import abort, current_app, jsonify, make_response, request, url_for

from portal.blueprints.reviews import present
from portal.blueprints.search import bp
from portal.extensions import db, limiter
from portal.security import frame_by
from portal.web.i18n import fmt_date, gettext, money, ngettext, tr
from portal.web.labels import CATEGORY_KIND_LABELS, category_kind_label
from services.availability import public_search
from services.core.errors import Invalid, NotFound
from services.core.i18n import _l

LANGS = ("de", "en", "cs")
DEFAULT_RATE_LIMIT = "60/minute"
CACHE_CONTROL = "public, max-age=0, must-revalidate"
FIELDS = ("arrival", "departure", "guests", "rooms", "kind", "max_guests", "sort", "page", "per_page")

# Per client address (extensions._rate_key), the page and the JSON counted together; read from the
# config of the app serving the request.
limiter.shared_limit(lambda: current_app.config.get("SEARCH_RATE_LIMIT", DEFAULT_RATE_LIMIT), scope="search")(bp)


def _lang() -> str:
    lang = request.args.get("lang")
    return lang if lang in LANGS else "de"


def _json_error(status: int, code: str, message: str, fields: dict | None = None):
    """The API's error shape (portal/errors.py): {"error": {"code", "message", "field", "fields"}}."""
    error = {"code": code, "message": message}
    if fields:
        error.update(field=next(iter(fields)), fields=fields)
    return jsonify(error=error), status


@bp.errorhandler(429)
def too_many(_e):
    message = gettext("Too many searches from your address: please wait a minute and try again.")
    if request.path.endswith(".json"):
        return _json_error(429, "rate_limited", message)
    return _render(None, {}, {"_": message}, 429)


def score_text(score) -> str:
    """ "5.3 / 6, 27 reviews", as the review block words it (reviews/present.py)."""
    reviews = ngettext("%(num)s review", "%(num)s reviews", score.count)
    if score.average is None:
        return reviews
    return gettext("%(average)s / %(best)s, %(reviews)s", average=present.score(score.average),
                   best=present.scale(score.scale_max), reviews=reviews)


def _render(office, values: dict, errors: dict, status: int = 200, result=None, etag: str | None = None):
    # Straight through Jinja, without the app's context processors: Flask-Login's would load the
    # visitor's session (a cookie read, "Vary: Cookie") for a page that has none.
    template = current_app.jinja_env.get_template("search/page.html")
    body = template.render(
        office=office, values=values, errors=errors, result=result, lang=_lang(), money=money, fmt_date=fmt_date,
        kinds=[(k, tr(v)) for k, v in CATEGORY_KIND_LABELS.items()], kind_label=category_kind_label,
        score_text=score_text, max_per_page=public_search.MAX_PER_PAGE,
        page_url=lambda n: url_for("search.page", **{**values, "lang": _lang(), "page": n}),
    )
    resp = make_response(body, status)
    if etag is not None:
        resp.set_etag(etag)
        resp.headers["Cache-Control"] = CACHE_CONTROL
    return resp


def _not_modified(etag: str):
    resp = make_response("", 304)
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = CACHE_CONTROL
    return resp


@bp.route("/search")
def page():
    """The search form and its results, for the office's website to link to or frame."""
    values = {k: request.args.get(k, "") for k in FIELDS if request.args.get(k)}
    if request.args.get("office"):
        values["office"] = request.args["office"]
    try:
        office = public_search.office_of(db.session, request.args.get("office"))
    except NotFound:
        abort(404)
    except Invalid as e:
        return _render(None, values, {k: tr(v) for k, v in e.errors.items()}, 422)
    frame_by(*office.embed_origins.split())
    if not any(request.args.get(k) for k in ("arrival", "departure", "guests")):
        return _render(office, values, {})  # the empty form: nothing asked yet
    try:
        q = public_search.parse(office, request.args)
    except Invalid as e:
        return _render(office, values, {k: tr(v) for k, v in e.errors.items()}, 422)
    etag = public_search.fingerprint(db.session, q, "html", _lang())
    if etag in request.if_none_match:
        return _not_modified(etag)
    result = public_search.run(db.session, q)
    return _render(office, values, {}, result=result, etag=etag)


def _money(amount) -> str:
    return str(amount.quantize(Decimal("0.01")))


def _score(score) -> dict | None:
    if score is None:
        return None
    number = (lambda v: None if v is None else float(v))
    return {"average": number(score.average), "count": score.count,
            "scale": {"min": number(score.scale_min), "max": number(score.scale_max)}}


def _category(stay) -> dict:
    cat, currency = stay.category, stay.prop.currency
    return {"id": cat.id, "name": cat.name, "kind": cat.kind, "max_guests": cat.max_guests, "available": stay.available,
            "price": {"lodging": _money(stay.lodging),
                      "extras": [{"name": name, "amount": _money(amount)} for name, amount in stay.extras],
                      "total": _money(stay.total), "currency": currency}}


@bp.route("/search.json")
def results_json():
    """The same search as JSON (see the OpenAPI document, path /search.json)."""
    try:
        office = public_search.office_of(db.session, request.args.get("office"))
        q = public_search.parse(office, request.args)
    except NotFound as e:
        return _json_error(404, e.code, tr(e.message))
    except Invalid as e:
        fields = {k: tr(v) for k, v in e.errors.items()}
        return _json_error(422, e.code, tr(_l("Please check your input.")), fields)
    etag = public_search.fingerprint(db.session, q, "json", _lang())
    if etag in request.if_none_match:
        return _not_modified(etag)
    result = public_search.run(db.session, q)
    body = {
        "arrival": q.arrival.isoformat(), "departure": q.departure.isoformat(), "guests": q.guests, "rooms": q.rooms,
        "page": q.page, "per_page": q.per_page, "total": result.total,
        "results": [{
            "property": {
                "slug": r.prop.slug, "name": r.prop.name, "city": r.prop.city,
                "cover_photo_url": (url_for("photos.public_file", photo_id=r.cover_photo_id, variant="thumb",
                                            _external=True) if r.cover_photo_id else None),
                "review_score": _score(r.score)},
            "categories": [_category(s) for s in r.stays]} for r in result.results],
    }
    resp = jsonify(body)
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = CACHE_CONTROL
    return resp

"""Guest reviews: the public block for the tourist office's website, `GET /embed/<slug>/reviews`.

No login and no session (portal.NO_SESSION_ENDPOINTS: no cookie read or set); only properties
with an active brokerage contract (404 otherwise, as for an unknown address). It may be framed
only by the origins the property's office configured (CSP frame-ancestors, portal.security.frame_by).
Cheap: an ETag / Last-Modified from the newest change of the property's reviews answers a
repeated request with 304 after two small queries; the page itself is `public, max-age=300`.
"""
import hashlib

import sqlalchemy as sa
from flask import abort, current_app, make_response, request

from portal.blueprints.reviews import bp, present
from portal.extensions import db
from portal.security import frame_by
from portal.web.i18n import fmt_date
from services.core import clock
from services.models import Property
from services.reviews import display

LANGS = ("de", "en", "cs")
MAX_AGE = 300


@bp.route("/embed/<slug>/reviews")
def embed(slug):
    """The public review block (R60-R63) of one property, in `?lang=de|en|cs` (default German)."""
    lang = request.args.get("lang")
    lang = lang if lang in LANGS else "de"
    prop = db.session.scalars(sa.select(Property).where(Property.slug == slug)
                              .options(sa.orm.joinedload(Property.office))).first()
    if prop is None or not prop.contract_active:
        abort(404)
    frame_by(*prop.office.embed_origins.split())
    today = clock.today(prop.timezone)
    stamp = display.stamp(db.session, prop)
    etag = hashlib.sha256(repr((stamp, today.isoformat(), lang, prop.name, prop.id)).encode()).hexdigest()[:32]
    changed = max((t for t in (stamp[0], stamp[2], prop.contract_active_since) if t is not None))
    if etag in request.if_none_match:
        resp = make_response("", 304)
    else:
        blk = display.block(db.session, prop, today)
        # Straight through Jinja, without the app's context processors: Flask-Login's would load
        # the visitor's session (a cookie read, "Vary: Cookie") for a page that has none.
        template = current_app.jinja_env.get_template("reviews/embed.html")
        resp = make_response(template.render(prop=prop, review_block=blk, lang=lang, fmt_date=fmt_date,
                                             **present.helpers()))
    resp.set_etag(etag)
    resp.last_modified = changed
    resp.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return resp

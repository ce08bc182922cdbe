"""The printable maintenance guide for hosts (Pflegeanleitung, R5), in German, English and Czech,
and the office's contact that every host page shows (R25).

The guide is long-form text, so each language has its own template (main/guide_<locale>.html)
rather than hundreds of msgids; German is the default. Its print styles are css/print.css.
"""
import sqlalchemy as sa
from flask import g
from flask_babel import get_locale
from flask_login import current_user, login_required

from portal.blueprints.main import bp
from portal.extensions import db
from portal.web.render import render
from services.office import contact

GUIDE_LANGUAGES = ("de", "en", "cs")


@bp.route("/guide")
@login_required
def guide():
    """The guide in the reader's language, with their office's contact."""
    locale = str(get_locale() or "de")
    office = contact.office_for(db.session, current_user)
    return render(f"main/guide_{locale if locale in GUIDE_LANGUAGES else 'de'}.html", office=office)


@bp.app_template_global()
def office_contact(prop=None):
    """The office whose contact base.html shows: the page's property's office; on a host's pages
    without a property, the office of their first property; none for staff and admins away from a
    property. Looked up once per request (one query at most), never on error pages without a database."""
    if not current_user.is_authenticated:
        return None
    if prop is None and current_user.role != "host":
        return None
    key = prop.id if prop is not None else None
    cached = g.get("_office_contact")
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        office = contact.office_for(db.session, current_user, prop)
    except sa.exc.SQLAlchemyError:
        return None
    g._office_contact = (key, office)
    return office

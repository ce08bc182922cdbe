"""One package per area; each defines `bp`."""
from portal.blueprints.api import bp as api
from portal.blueprints.auth import bp as auth
from portal.blueprints.bookings import bp as bookings
from portal.blueprints.calendar import bp as calendar
from portal.blueprints.channels import bp as channels
from portal.blueprints.conflicts import bp as conflicts
from portal.blueprints.main import bp as main
from portal.blueprints.office import bp as office
from portal.blueprints.photos import bp as photos
from portal.blueprints.properties import bp as properties
from portal.blueprints.reviews import bp as reviews
from portal.blueprints.search import bp as search
from portal.blueprints.statements import bp as statements
from portal.extensions import csrf


def register_all(app) -> None:
    # The API authenticates by key, not by cookie: no CSRF token (its rate limit is set
    # where its blueprint is made).
    csrf.exempt(api)
    for bp in (auth, main, calendar, bookings, properties, photos, office, channels, conflicts, reviews, statements,
               search, api):
        app.register_blueprint(bp)

from flask import Blueprint

bp = Blueprint("bookings", __name__)

from portal.blueprints.bookings import cancellations, routes  # noqa: E402,F401

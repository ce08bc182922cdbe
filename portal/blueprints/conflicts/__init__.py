"""Double bookings (R10-R14): the host's list and page per double booking, moves between units,
and the R13 steps (portal/blueprints/conflicts/steps.py)."""
from flask import Blueprint

bp = Blueprint("conflicts", __name__)

from portal.blueprints.conflicts import routes, steps  # noqa: E402,F401

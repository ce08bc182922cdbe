"""Guest reviews: the host's page (routes.py), the public block for the office's website
(embed.py), replies and reports (actions.py)."""
from flask import Blueprint

bp = Blueprint("reviews", __name__)

from portal.blueprints.reviews import actions, embed, routes  # noqa: E402,F401

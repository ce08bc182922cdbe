"""The public availability search for the tourist office's website: /search and /search.json (no login)."""
from flask import Blueprint

bp = Blueprint("search", __name__)

from portal.blueprints.search import routes  # noqa: E402,F401

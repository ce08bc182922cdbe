from flask import Blueprint

bp = Blueprint("main", __name__)

from portal.blueprints.main import guide, routes  # noqa: E402,F401

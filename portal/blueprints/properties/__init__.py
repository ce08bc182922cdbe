from flask import Blueprint

bp = Blueprint("properties", __name__)

from portal.blueprints.properties import routes, terms  # noqa: E402,F401

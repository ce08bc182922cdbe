from flask import Blueprint

bp = Blueprint("auth", __name__)

from portal.blueprints.auth import passwords, routes  # noqa: E402,F401

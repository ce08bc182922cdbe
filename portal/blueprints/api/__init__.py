"""The JSON API v1 for channels: key-authenticated, CSRF-exempt, thin over the services."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.blueprints.api import routes  # noqa: E402,F401

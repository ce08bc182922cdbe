"""The JSON API v1 for channels: key-authenticated, CSRF-exempt, thin over the services."""
from flask import Blueprint, current_app

from portal.extensions import limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Per key (see extensions._rate_key); read from the config of the app serving the request.
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(bp)

from portal.blueprints.api import routes  # noqa: E402,F401

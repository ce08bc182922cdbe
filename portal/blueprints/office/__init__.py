from flask import Blueprint

bp = Blueprint("office", __name__)

from portal.blueprints.office import assist, cancellations, contracts, routes  # noqa: E402,F401

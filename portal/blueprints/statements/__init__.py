"""Commission statements (R23): the office's list, a statement's page (print CSS), CSV and PDF."""
from flask import Blueprint

bp = Blueprint("statements", __name__)

from portal.blueprints.statements import routes  # noqa: E402,F401

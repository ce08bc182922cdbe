from flask import Blueprint

bp = Blueprint("channels", __name__)

from portal.blueprints.channels import routes  # noqa: E402,F401

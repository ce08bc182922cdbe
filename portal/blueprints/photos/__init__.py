"""Photos of a property (R70-R73): the upload page (upload.py), the files behind access control
(files.py), arranging them: motive, description, order, cover, delete (arrange.py)."""
from flask import Blueprint

bp = Blueprint("photos", __name__)

from portal.blueprints.photos import arrange, files, upload  # noqa: E402,F401

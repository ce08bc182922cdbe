from flask import Blueprint

from portal.blueprints.calendar.cells import night_cell, night_cells, overbooked_cells, unit_cells, weekday_names

bp = Blueprint("calendar", __name__)
for helper in (night_cell, night_cells, overbooked_cells, unit_cells, weekday_names):
    bp.add_app_template_global(helper)

from portal.blueprints.calendar import routes  # noqa: E402,F401

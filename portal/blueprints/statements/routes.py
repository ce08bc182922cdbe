"""Statement pages for staff and hosts."""
from portal.blueprints.statements import bp  # noqa: F401

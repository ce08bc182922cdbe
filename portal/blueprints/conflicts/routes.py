"""Pages of double bookings: the list, one page per double booking, moves between units."""
from portal.blueprints.conflicts import bp  # noqa: F401

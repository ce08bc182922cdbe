"""Guest reviews: routes."""
from portal.blueprints.reviews import bp  # noqa: F401

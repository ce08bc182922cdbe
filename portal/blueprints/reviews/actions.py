"""Guest reviews: actions."""
from portal.blueprints.reviews import bp  # noqa: F401

"""Guest reviews: embed."""
from portal.blueprints.reviews import bp  # noqa: F401

"""One-time links: accepting an invitation (first password) and "forgot password"."""
from portal.blueprints.auth import bp  # noqa: F401

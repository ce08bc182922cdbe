"""The R13 steps of a double booking: contact, new dates, guest cancels, replacement, hand-over."""
from portal.blueprints.conflicts import bp  # noqa: F401

"""The host's terms: adopt the office's model terms, edit the cancellation fees and the deposit rule."""
from portal.blueprints.properties import bp  # noqa: F401

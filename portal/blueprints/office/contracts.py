"""A property's brokerage contract (states, history, commission rates), the office's model terms and contact."""
from portal.blueprints.office import bp  # noqa: F401

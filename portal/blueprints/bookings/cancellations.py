"""Reporting a guest's cancellation to the office (R20) and the fee proposed from the terms (R21)."""
from portal.blueprints.bookings import bp  # noqa: F401

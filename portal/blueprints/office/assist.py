"""Assist mode: staff work in a host's screens under a visible banner, and leave in one click."""
from portal.blueprints.office import bp  # noqa: F401

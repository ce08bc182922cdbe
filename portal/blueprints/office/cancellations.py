"""The office's queue of guest cancellations reported by hosts (R20): cancel free of charge, or decline."""
from portal.blueprints.office import bp  # noqa: F401

"""Domain exceptions; the web edge (portal/errors.py) maps them to status codes."""
from __future__ import annotations

from services.core.i18n import Message


class DomainError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: Message | str = "", code: str | None = None, **details):
        super().__init__(str(message))
        self.message = message if isinstance(message, Message) else Message(message)
        self.details = details
        if code:
            self.code = code


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The change cannot be had: nights taken, bookings in the way."""

    status = 409
    code = "conflict"


class TooManyAttempts(DomainError):
    """Throttled (logins): `details["seconds"]` until the next try may be made."""

    status = 429
    code = "too_many_attempts"


class Invalid(DomainError):
    """Bad input: `errors` maps a field name to its message."""

    status = 422
    code = "invalid"

    def __init__(self, errors: dict[str, Message]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors

"""Map domain exceptions and HTTP errors to pages, htmx fragments and JSON; never a trace."""
from __future__ import annotations

import logging

from flask import jsonify, make_response, render_template
from flask_babel import gettext
from htmx_flask import request
from werkzeug.exceptions import HTTPException

from portal.extensions import db
from portal.web import tr
from services.errors import DomainError, Invalid
from services.i18n import _l

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_details(e: DomainError | None) -> dict:
    """What a channel needs to act on an error: the fields, or the nights and why."""
    if isinstance(e, Invalid):
        fields = {k: tr(v) for k, v in e.errors.items()}
        return {"field": next(iter(fields)), "fields": fields}
    if e is not None and e.details:
        out = {}
        if "nights" in e.details:
            out["nights"] = [n.isoformat() for n in e.details["nights"]]
        if "reason" in e.details:
            out["reason"] = e.details["reason"]
        return out
    return {}


def _respond(status: int, code: str, message: str, error: DomainError | None = None):
    db.session.rollback()
    if _wants_json():
        return jsonify(error={"code": code, "message": message, **_json_details(error)}), status
    if request.htmx:
        # Show the message in the flash area instead of swapping it into a table cell.
        resp = make_response(render_template("_flash_error.html", message=message), status)
        resp.headers["HX-Retarget"] = "#flash"
        resp.headers["HX-Reswap"] = "innerHTML"
        return resp
    return render_template("error.html", status=status, message=message), status


TITLES = {
    400: _l("Bad request."), 403: _l("You have no access to this page."), 404: _l("This page does not exist."),
    405: _l("This action is not allowed here."), 409: _l("This cannot be done right now."),
    413: _l("What you sent is too large."), 429: _l("Too many requests: please slow down."),
    401: _l("Please log in or send a valid API key."), 422: _l("Please check your input."), 500: _l("Something went wrong on our side."),
}


def register(app) -> None:
    @app.errorhandler(DomainError)
    def domain_error(e: DomainError):
        return _respond(e.status, e.code, tr(e.message) or tr(TITLES.get(e.status, _l("Error"))), e)

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        code = e.code or 500
        if code == 400 and "CSRF" in (e.description or ""):
            return _respond(400, "csrf", gettext("Your form has expired. Please reload the page and try again."))
        names = {413: "too_large", 429: "rate_limited"}
        return _respond(code, names.get(code, (e.name or "error").lower().replace(" ", "_")), tr(TITLES.get(code, _l("Error"))))

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        log.exception("unhandled error")
        return _respond(500, "internal", tr(TITLES[500]))

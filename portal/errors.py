"""Map domain exceptions and HTTP errors to pages, htmx fragments and JSON; never a trace."""
from __future__ import annotations

import contextlib
import functools
import io
import logging

import sqlalchemy as sa
from flask import g, has_request_context, jsonify, make_response, render_template, session
from flask_babel import force_locale, gettext
from htmx_flask import request
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from portal.extensions import db, login
from portal.web.i18n import tr
from services.core.db import disconnected, unavailable
from services.core.errors import DomainError, Invalid
from services.core.inputs import UNSTORABLE, single_line, storable
from services.core.i18n import _l

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
    _rollback()
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


def refuse_unstorable_input() -> None:
    """Text no column can hold (a NUL byte, a lone surrogate) anywhere in the URL or a form is
    refused before any view runs: PostgreSQL fails a query that carries it (a 500), SQLite
    stores it. The API's JSON bodies are checked where the API reads them, after its size limit
    (portal.blueprints.api.routes._json_body); names are checked further by the use cases
    (services.core.inputs.line)."""
    sources = [request.view_args or {}, request.args]
    if not _wants_json():
        sources.append(request.form)
    for source in sources:
        pairs = source.lists() if hasattr(source, "lists") else ((k, [v]) for k, v in source.items())
        for key, values in pairs:
            if not all(storable(v) for v in (key, *values) if isinstance(v, str)):
                raise Invalid({single_line(key) or "?": UNSTORABLE})


def register(app) -> None:
    _register_db_down(app)

    # First of all hooks: nothing may query with such input, not even a login throttle.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unstorable_input)

    @app.errorhandler(DomainError)
    @_never_fails
    def domain_error(e: DomainError):
        message = e.message
        if isinstance(e, Invalid) and not _wants_json():
            message = next(iter(e.errors.values()))  # a page shows the words, not the field's name
        return _respond(e.status, e.code, tr(message) or tr(TITLES.get(e.status, _l("Error"))), e)

    @app.errorhandler(HTTPException)
    @_never_fails
    def http_error(e: HTTPException):
        code = e.code or 500
        original = getattr(e, "original_exception", None)
        if code == 500 and original is not None and unavailable(original):
            return _db_unavailable(original)
        if code == 400 and "CSRF" in (e.description or ""):
            return _respond(400, "csrf", gettext("Your form has expired. Please reload the page and try again."))
        names = {413: "too_large", 429: "rate_limited"}
        return _respond(code, names.get(code, (e.name or "error").lower().replace(" ", "_")), tr(TITLES.get(code, _l("Error"))))

    @app.errorhandler(Exception)
    @_never_fails
    def unexpected(e: Exception):
        if unavailable(e):
            return _db_unavailable(e)
        log.exception("unhandled error")
        return _respond(500, "internal", tr(TITLES[500]))


# --- When the database drops -------------------------------------------------------------
# A connection the server dropped (restart, fail-over, pg_terminate_backend) fails on its first
# use, since the pool does not ping (portal/config.py). A request whose connection broke before
# it sent a COMMIT has changed nothing, so RetryOnDisconnect runs it once more on a fresh
# connection; the happy path pays for none of this. When the database really is unreachable,
# or the break came at or after a COMMIT, the answer is a 503 with Retry-After, rendered
# without the database. Nothing here may raise: an exception escaping Flask's handlers
# becomes gunicorn's bare "Internal Server Error" page.

RETRY_AFTER_SECONDS = 5
ATTEMPT = "portal.db_attempt"    # environ: 1 on the first run of a request, 2 on its retry
RETRY = "portal.db_retry"        # environ: set by the handler when the run is to be repeated
COMMITTED = "portal.db_commit"   # environ: a COMMIT was sent during this run

UNREACHABLE = _l("The database cannot be reached just now. Please try again in a minute.")
UNSURE = _l("The connection to the database broke off while saving. Please check whether your change "
            "was saved before you try again.")


class RetryOnDisconnect:
    """WSGI middleware: run a request once more when its database connection broke before it
    committed anything (the handler below decides and marks it). The body is kept to be read
    again; bodies over `max_body` or of unknown length are passed through untouched."""

    def __init__(self, app, max_body: int):
        self.app, self.max_body = app, max_body

    def __call__(self, environ, start_response):
        body = None
        length = environ.get("CONTENT_LENGTH")
        if length:
            try:
                n = int(length)
            except ValueError:
                n = -1
            if not 0 <= n <= self.max_body:
                return self.app(environ, start_response)
            body = environ["wsgi.input"].read(n)
        elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.app(environ, start_response)
        for attempt in (1, 2):
            env = dict(environ)  # a fresh copy each run: middleware below (ProxyFix) edits it
            env[ATTEMPT] = attempt
            if body is not None:
                env["wsgi.input"] = io.BytesIO(body)
            if attempt == 2:
                return self.app(env, start_response)
            discarded = []

            def hold_back(status, headers, exc_info=None, env=env, discarded=discarded):
                if env.get(RETRY):
                    discarded.append(status)
                    return lambda data: None
                return start_response(status, headers, exc_info)

            result = self.app(env, hold_back)
            if not discarded:
                return result
            if hasattr(result, "close"):
                result.close()
            log.warning("database connection lost; running %s %s again", environ.get("REQUEST_METHOD"),
                        environ.get("PATH_INFO"))
        raise AssertionError("not reached")


def _note_commit(_conn) -> None:
    if has_request_context():
        request.environ[COMMITTED] = True


def _register_db_down(app) -> None:
    app.wsgi_app = RetryOnDisconnect(app.wsgi_app, app.config.get("MAX_CONTENT_LENGTH") or 1024 * 1024)
    with app.app_context():
        sa.event.listen(db.engine, "commit", _note_commit)

    # Registered after Flask-SQLAlchemy's, so it runs first (teardowns run in reverse).
    @app.teardown_appcontext
    def end_session(_exc=None):
        """Flask-SQLAlchemy's remove(), which raises when the server has dropped a connection
        that was left in a transaction (a page read, then the database went away)."""
        try:
            db.session.remove()
        except Exception:
            log.warning("closing the database session failed", exc_info=True)
            try:
                db.session.remove()  # the failed close has released the connection; this forgets the session
            except Exception:
                db.session.registry.clear()


def _rollback() -> None:
    """End what the view had begun before the error page renders. A use case has already rolled
    its own transaction back (services.core.db.use_case); what is left here is a page view's
    read transaction, which the error page must not run inside (its connection may be broken).
    A failing rollback is no reason to fail the page."""
    try:
        db.session.rollback()
    except Exception:
        log.warning("rollback failed", exc_info=True)


def _db_unavailable(e: BaseException):
    env = request.environ
    if disconnected(e) and env.get(ATTEMPT) == 1 and not env.get(COMMITTED):
        env[RETRY] = True  # RetryOnDisconnect runs the request again; this answer is dropped
        _rollback()
        try:
            db.engine.dispose()  # the pool's other idle connections died with this one, most likely
        except Exception:
            log.warning("disposing of the pool failed", exc_info=True)
        return make_response("", 503)
    log.warning("database unavailable (run %s%s): %s %s: %s", env.get(ATTEMPT), ", after a COMMIT was sent" if
                env.get(COMMITTED) else "", request.method, request.path, e)
    resp = make_response(_offline(503, "unavailable", UNSURE if env.get(COMMITTED) else UNREACHABLE))
    resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return resp


def _reader_locale() -> str:
    """The reader's language without a query: from the user as far as already loaded, else
    the session's choice."""
    user = g.get("_login_user")
    state = sa.inspect(user, raiseerr=False) if user is not None else None
    locale = state.dict.get("locale") if state is not None else None
    return locale or session.get("locale") or "de"


def _offline(status: int, code: str, message) -> object:
    """An error answer that needs no database: the page is rendered for an anonymous reader in
    the user's language; failing that, a fixed page."""
    text = None
    try:
        locale = None if _wants_json() else _reader_locale()
        g._login_user = login.anonymous_user()  # the header must not load the user again
        _rollback()
        with force_locale(locale) if locale else contextlib.nullcontext():
            text = tr(message)
            return _respond(status, code, text)
    except Exception:
        log.warning("error page without the database failed", exc_info=True)
    text = text or str(message)
    if _wants_json():
        return jsonify(error={"code": code, "message": text}), status
    return make_response(STATIC_PAGE.format(status=status, message=escape(text)), status)


def _never_fails(handler):
    """An error handler that raises (its page needed the database, say) ends as a bare 500 from
    the server: answer from _offline instead."""

    @functools.wraps(handler)
    def safe(e):
        try:
            return handler(e)
        except Exception as failure:
            if unavailable(failure):
                return _db_unavailable(failure)
            log.exception("error handler failed")
            return _offline(500, "internal", TITLES[500])

    return safe


STATIC_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{status}</title>
<link rel="stylesheet" href="/static/css/portal.css"></head>
<body><main><section class="card narrow error-page"><h1>{status}</h1><p>{message}</p>
<p><a href="/">&#8592;</a></p></section></main></body></html>
"""

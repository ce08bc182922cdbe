"""The security headers of every response: Content-Security-Policy, framing, HSTS, caching.

The policy allows scripts and styles from our own origin only, so the templates carry no
inline `<script>`, no `on...=` handlers and no `style=""` attributes (portal/static/js/portal.js
binds behaviour through data- attributes; htmx is configured in base.html to need no eval and
to inject no indicator style). tests/web/test_headers.py and tests/browser/test_csp.py hold
every page to that.

Framing is refused everywhere (`frame-ancestors 'none'` and `X-Frame-Options: DENY`). A page
that is meant to be embedded opts in with `@frameable(...)`, or per answer with `frame_by(...)`
(the public review block: the origins its tourist office configured).
"""
from __future__ import annotations

from typing import Callable

from flask import Flask, current_app, g, request

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}

HSTS = "max-age=31536000; includeSubDomains"

# GET answers without guest data that keep ordinary caching: static files, the public
# iCal export (a secret URL with booked nights only; its view sends `private, max-age=300`)
# and the API's description. Every other answer may show guest data and is `no-store`.
# The public review block (reviews.embed) shows published reviews only: `public, max-age=300`.
# Photo files (portal/blueprints/photos/files.py) set their own: `private` for the property's
# users, `public` for the public sizes. The public search (search.page, search.results_json) shows
# no guest data: `public, max-age=0, must-revalidate` with an ETag.
CACHEABLE = frozenset({"static", "channels.export", "api.openapi", "reviews.embed", "photos.file",
                       "photos.public_file", "search.page", "search.results_json"})


def frameable(*ancestors: str) -> Callable:
    """Let a view's pages be embedded by `ancestors` (CSP source expressions such as "'self'"
    or "https://partner.example"; default "'self'"):

        @bp.route("/widget")
        @frameable("https://tourist-info.example")
        def widget(): ...

    The view's responses then carry `frame-ancestors <ancestors>` instead of 'none', and no
    X-Frame-Options (which cannot name other origins; "'self'" alone keeps SAMEORIGIN).
    Put it under `@bp.route`; it may sit above or below `@login_required` (which keeps the
    function's attributes)."""
    allowed = ancestors or ("'self'",)

    def mark(view: Callable) -> Callable:
        view.frame_ancestors = allowed
        return view

    return mark


def _frame_ancestors() -> tuple[str, ...] | None:
    chosen = g.get("frame_ancestors")  # set by a view whose framers depend on the data (frame_by)
    if chosen is not None:
        return chosen
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "frame_ancestors", None)


def frame_by(*ancestors: str) -> None:
    """Let this response be framed by `ancestors` (origins read from the database, e.g. a
    tourist office's website for its public review block); none: `frame-ancestors 'none'`."""
    g.frame_ancestors = tuple(ancestors) or ("'none'",)


def content_security_policy(frame_ancestors: tuple[str, ...] | None = None) -> str:
    if not frame_ancestors:
        return DEFAULT_POLICY
    policy = dict(POLICY)
    policy["frame-ancestors"] = " ".join(frame_ancestors)
    return "; ".join(f"{name} {value}" for name, value in policy.items())


DEFAULT_POLICY = "; ".join(f"{name} {value}" for name, value in POLICY.items())  # every answer: built once


def _shows_guest_data() -> bool:
    return not (request.method in ("GET", "HEAD") and request.endpoint in CACHEABLE)


def register(app: Flask) -> None:
    @app.after_request
    def security_headers(resp):
        ancestors = _frame_ancestors()
        resp.headers["Content-Security-Policy"] = content_security_policy(ancestors)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        if ancestors is None or ancestors == ("'none'",):
            resp.headers["X-Frame-Options"] = "DENY"
        elif ancestors == ("'self'",):
            resp.headers["X-Frame-Options"] = "SAMEORIGIN"
        else:
            resp.headers.pop("X-Frame-Options", None)
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            # Only where the site is served over HTTPS: a browser that saw it on plain http
            # would otherwise lock the host out for a year.
            resp.headers["Strict-Transport-Security"] = HSTS
        if _shows_guest_data() or (resp.status_code >= 400 and "Cache-Control" not in resp.headers):
            # (An error on a cacheable address, e.g. the review block of a property whose
            # contract is not active yet, is not kept either: it may be there tomorrow.)
            # Logged-in pages, their fragments and error pages, and every API answer: never
            # kept by the browser (back button after logout) or by a proxy.
            resp.headers["Cache-Control"] = "no-store"
        return resp

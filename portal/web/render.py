"""Pages and fragments: one URL serves both (htmx asks for a block), and links built once."""
from __future__ import annotations

from flask import make_response, render_template, url_for
from htmx_flask import request
from jinja2_fragments.flask import render_block


def is_fragment_request() -> bool:
    """An htmx swap wants a fragment; a history restore or a direct visit wants the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request and not request.htmx.boosted


def render(template: str, block: str | None = None, status: int = 200, **ctx):
    """The whole page, or one block of it for htmx (the same URL serves both)."""
    if block and is_fragment_request():
        body = render_block(template, block, **ctx)
    else:
        body = render_template(template, **ctx)
    resp = make_response(body, status)
    resp.headers["Vary"] = "HX-Request"
    return resp


def hx_redirect(url: str):
    """Navigate after a successful POST: HX-Redirect for htmx, 303 otherwise."""
    if request.htmx:
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    resp = make_response("", 303)
    resp.headers["Location"] = url
    return resp


_CUT = 2**31 - 1  # a database id no row has: where url_prefix cuts the URL


def url_prefix(endpoint: str, cut: str, **values) -> str:
    """What url_for(endpoint, **values) gives before the value named `cut` (an id). A page
    with hundreds of links to one route (the plan's cells) builds it once and appends ids;
    tests/web/test_calendar_cells.py checks the joined URLs against url_for."""
    url = url_for(endpoint, **{**values, cut: _CUT})
    return url[:url.index(str(_CUT))]

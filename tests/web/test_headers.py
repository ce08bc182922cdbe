"""Security headers (portal/security.py) and pages without inline code.

Every answer carries a strict Content-Security-Policy and refuses framing; answers that may show
guest data (logged-in pages, their fragments and error pages, the API) are `no-store`; HSTS only
where the session cookie is HTTPS-only. Every page and fragment the app renders, as host and as
staff, holds no inline script, inline event handler, style attribute or htmx feature that needs
eval: the policy would block them (tests/browser/test_csp.py checks the same in Chromium).
"""
from __future__ import annotations

import os
import re

import pytest

from portal.security import frameable
from services.channels import connections
from services.models import Property
from tests.web.conftest import HTMX, login
from tests.web.test_access_matrix import CASES

STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
              "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"

# What the policy would block, or what makes htmx evaluate code (blocked without 'unsafe-eval').
INLINE_CODE = {
    "inline event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on (eval)": re.compile(r"\s(data-)?hx-on", re.I),
    "hx-vars (eval)": re.compile(r"\s(data-)?hx-vars\s*=", re.I),
    "js: in hx-vals (eval)": re.compile(r"\s(data-)?hx-vals\s*=\s*[\"']\s*(js|javascript):", re.I),
}
HX_TRIGGER = re.compile(r"""\s(?:data-)?hx-trigger\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
# htmx reads an event filter right after the event name (or after `every <interval>`), e.g.
# keyup[key=='Enter']; a `[` elsewhere belongs to a selector (from:input[type=date]).
TRIGGER_FILTER = re.compile(r"(?:^|,)\s*(?:every\s+[^\s,\[]+\s*|[^\s,\[]+)\[")

# The HTML pages of the matrix: every GET route but the API, the iCal file, the health check
# and files (photos: tests/web/test_photo_files.py).
PAGES = [c for c in CASES if c.method == "GET" and c.access not in ("api",) and c.page
         and c.rule not in ("/ical/<token>.ics", "/healthz", "/api/v1/openapi.json")]


def inline_code(html: str) -> list[str]:
    found = []
    for what, pattern in INLINE_CODE.items():
        for m in pattern.finditer(html):
            found.append(f"{what}: {html[max(0, m.start() - 60):m.end() + 60]!r}")
    for m in HX_TRIGGER.finditer(html):
        if TRIGGER_FILTER.search(m.group(1) if m.group(1) is not None else m.group(2)):
            found.append(f"hx-trigger filter (eval): {m.group(0)!r}")
    return found


def assert_strict(resp) -> None:
    assert resp.headers.get("Content-Security-Policy") == STRICT_CSP
    assert resp.headers.get("X-Frame-Options") == "DENY"
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"


def test_the_inline_code_scan_finds_what_it_looks_for():
    """The scan itself: each pattern catches its case (and the page scan below could fail)."""
    samples = {
        "inline event handler": '<select name="l" onchange="this.form.submit()">',
        "inline script": "<script>alert(1)</script>",
        "<style> element": "<style>.a{}</style>",
        "style attribute": '<td class="x" style="width:3px">',
        "javascript: URL": '<a href="javascript:void(0)">',
        "hx-on (eval)": '<button hx-on:click="go()">',
        "hx-vars (eval)": '<div hx-vars="a:1">',
        "js: in hx-vals (eval)": "<div hx-vals='js:{a: 1}'>",
        "hx-trigger filter (eval)": '<input hx-trigger="keyup[key==\'Enter\']">',
    }
    for what, html in samples.items():
        assert any(f.startswith(what + ":") for f in inline_code(html)), what
    for trigger in ("click[ctrlKey]", "load, every 2s [ready()]", "input changed, keyup[key=='Enter'] from:#q"):
        assert inline_code(f"<div hx-trigger='{trigger}'>") != [], trigger
    clean = ('<script src="/static/js/htmx.min.js" defer></script><select data-autosubmit>'
             '<form data-confirm="Sure?" hx-trigger="input changed delay:300ms from:#q, change from:input[type=date], submit">'
             '<p>Station on the lake: open = yes</p>')
    assert inline_code(clean) == []


@pytest.mark.parametrize("actor", ["anonymous", "host_a", "staff1"])
def test_every_page_and_fragment_is_free_of_inline_code_strict_and_not_stored(client, world, actor):
    """Every GET page of the app (the access matrix lists them all), as a page and as an htmx
    fragment, including the 403/404 pages an actor meets among them."""
    logged_in = actor != "anonymous"
    login(client, world.users[actor] if logged_in else None)
    seen_html = 0
    for case in PAGES:
        p = world.props[case.target]
        for headers in (None, HTMX):
            resp = client.get(case.url(world, p), headers=headers)
            where = f"{case} as {actor}{' (htmx)' if headers else ''}: {resp.status_code}"
            assert resp.status_code < 500, where
            assert_strict(resp)
            if logged_in:
                assert resp.headers.get("Cache-Control") == "no-store", where
            if resp.mimetype == "text/html":
                seen_html += 1
                assert inline_code(resp.get_data(as_text=True)) == [], where
    assert seen_html >= len(PAGES)


@pytest.mark.parametrize("htmx", [False, True])
def test_error_pages_and_refused_forms_are_strict_too(client, world, htmx):
    """404 and 403 pages, the flash fragment of an htmx error, a 422 form re-rendered."""
    login(client, world.host_a)
    headers = HTMX if htmx else None
    answers = [
        client.get("/no/such/page", headers=headers),
        client.get(f"/p/{world.B.slug}/calendar", headers=headers),  # another host's: 403
        client.get("/office", headers=headers),  # staff only: 403
        client.post(f"/p/{world.A.slug}/bookings/new", data={"guest_name": ""}, headers=headers),
        client.post(f"/p/{world.A.slug}/settings", data={"p-name": ""}, headers=headers),
        client.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/2030-06-20",
                    data={"price": "-1", "quota": "x", "min_stay": "0"}, headers=headers),
    ]
    assert [r.status_code for r in answers] == [404, 403, 403, 422, 422, 422]
    for resp in answers:
        assert_strict(resp)
        assert resp.headers["Cache-Control"] == "no-store"
        assert inline_code(resp.get_data(as_text=True)) == [], resp.request.path


def test_the_api_is_strict_and_never_stored(client, world, db_session):
    with db_session() as s:
        _, key = connections.switch_on(s, None, s.get(Property, world.A.id), "api")
        s.commit()
    auth = {"Authorization": f"Bearer {key}"}
    answers = {
        "no key": client.get("/api/v1/property"),
        "property": client.get("/api/v1/property", headers=auth),
        "availability": client.get("/api/v1/availability?start=2030-06-20&end=2030-06-25", headers=auth),
        "unknown reservation": client.get("/api/v1/reservations/999999", headers=auth),
        "invalid reservation": client.post("/api/v1/reservations", json={}, headers=auth),
        "unknown path": client.get("/api/v1/nothing", headers=auth),
    }
    assert answers["property"].status_code == 200 and world.A.name in answers["property"].get_data(as_text=True)
    for what, resp in answers.items():
        assert resp.status_code < 500, what
        assert_strict(resp)
        assert resp.headers.get("Cache-Control") == "no-store", what


def test_answers_without_guest_data_keep_their_caching(client, world):
    """Static files, the API description and the public iCal export (booked nights only) may be
    cached; they still carry the policy."""
    login(client, world.host_a)  # even for a logged-in browser
    static = client.get("/static/css/portal.css")
    openapi = client.get("/api/v1/openapi.json")
    ics = client.get(f"/ical/{world.A.ical_token}.ics")
    assert [static.status_code, openapi.status_code, ics.status_code] == [200, 200, 200]
    for resp in (static, openapi, ics):
        assert_strict(resp)
        assert "no-store" not in resp.headers.get("Cache-Control", "")
    assert ics.headers["Cache-Control"] == "private, max-age=300"  # a secret URL: no shared cache
    assert world.A.own_guest not in ics.get_data(as_text=True)
    static.close()


@pytest.mark.parametrize("secure", [False, True])
def test_hsts_only_when_the_session_cookie_is_https_only(make_app, world, secure):
    other = make_app(SESSION_COOKIE_SECURE=secure)
    c = other.test_client()
    answers = [c.get("/login"), c.get("/api/v1/openapi.json"), c.get("/static/css/portal.css"), c.get("/nothing")]
    for resp in answers:
        assert resp.headers.get("Strict-Transport-Security") == (HSTS if secure else None)
        resp.close()


def test_the_default_config_has_no_hsts(app):
    # The test config does not set SESSION_COOKIE_SECURE: what `make run` and plain http get.
    assert not app.config["SESSION_COOKIE_SECURE"]
    resp = app.test_client().get("/login")
    assert "Strict-Transport-Security" not in resp.headers


def test_a_view_can_opt_in_to_being_framed(make_app, world):
    """No page is meant to be embedded yet; @frameable is the hook for the first one."""
    other = make_app()

    @other.route("/_test/widget")
    @frameable("https://tourist-info.example", "'self'")
    def widget():
        return "<p>widget</p>"

    @other.route("/_test/own-frames")
    @frameable()
    def own_frames():
        return "<p>own</p>"

    c = other.test_client()
    widget = c.get("/_test/widget")
    assert widget.headers["Content-Security-Policy"] == STRICT_CSP.replace(
        "frame-ancestors 'none'", "frame-ancestors https://tourist-info.example 'self'")
    assert "X-Frame-Options" not in widget.headers  # it cannot name another origin
    own = c.get("/_test/own-frames")
    assert own.headers["Content-Security-Policy"].endswith("frame-ancestors 'self'")
    assert own.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert_strict(c.get("/login"))  # every other page still refuses framing


def test_htmx_is_configured_to_need_no_eval_and_no_inline_style(client):
    """The meta config names options the vendored htmx really reads (an upgrade may rename them)."""
    html = client.get("/login").get_data(as_text=True)
    config = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'>', html).group(1)
    assert '"allowEval":false' in config and '"includeIndicatorStyles":false' in config
    # Settling copies old attributes with setAttribute: a style attribute would be refused.
    assert '"attributesToSettle":["class","width","height"]' in config
    import portal

    with open(os.path.join(os.path.dirname(portal.__file__), "static", "js", "htmx.min.js")) as f:
        htmx_js = f.read()
    assert "config.allowEval" in htmx_js and "config.includeIndicatorStyles!==false" in htmx_js
    assert "config.attributesToSettle.includes" in htmx_js
    with open(os.path.join(os.path.dirname(portal.__file__), "static", "css", "portal.css")) as f:
        css = f.read()
    assert ".htmx-request .htmx-indicator" in css  # the indicator style htmx no longer injects


def test_the_language_switch_and_the_key_confirmation_use_data_attributes(client, world):
    """The behaviour once written as onchange/onsubmit is asked for by data- attributes."""
    login(client, world.host_a)
    modules = client.get(f"/p/{world.A.slug}/modules").get_data(as_text=True)
    assert re.search(r'<select id="lang-locale" name="lang-locale" data-autosubmit>', modules)
    assert re.search(r'<form method="post" action="/p/%s/modules/slevomat/regenerate" class="inline"\s+'
                     r'data-confirm="Create a new key\? The current key stops working at once.">' % world.A.slug, modules)

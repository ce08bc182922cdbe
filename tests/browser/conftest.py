"""Browser tests: the real app on a live server, driven by Debian's Chromium through Playwright.

The live server is a second create_app over the same database as the `app` fixture (so the
factories and the per-test cleanup of tests/conftest.py apply), with CSRF protection on as in
production. Without /usr/bin/chromium the browser tests are skipped, unless REQUIRE_BROWSER=1
(CI), where a missing browser is a failure.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import re
import threading

import pytest
from flask import current_app, has_app_context, request
from werkzeug.serving import WSGIRequestHandler, make_server

from portal import create_app
from portal.extensions import db
from services.availability import inventory
from services.core import clock
from tests.conftest import BASE_CONFIG
from tests.factories import PASSWORD, make_user, make_property, new_booking

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Screenshots are artifacts of the run: look at them (CI keeps the folder).
SHOTS = os.environ.get("SHOTS", os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts", "screenshots"))
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
PHONE_375 = {"width": 375, "height": 740}  # the narrowest phone the pages are checked at
REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def pytest_collection_modifyitems(config, items):
    reason = browser_missing()
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("browser") is None:
            continue
        if REQUIRED:
            # CI must never pass by skipping: every browser test fails instead.
            item.add_marker(pytest.mark.usefixtures("_browser_required"))
        else:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def _browser_required():
    pytest.fail(f"REQUIRE_BROWSER=1 but {browser_missing()}")


# -- the live server ---------------------------------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # the access log would drown the test output
        pass


@dataclasses.dataclass
class LiveServer:
    app: object
    url: str
    failures: list[str]  # 5xx responses and exceptions seen by the server


@contextlib.contextmanager
def serve(**config):
    """Run create_app(BASE_CONFIG + config) on 127.0.0.1:<free port> in a daemon thread.

    The `app` fixture must have built the schema first; the tests' cleanup empties the tables."""
    app = create_app({**BASE_CONFIG, "WTF_CSRF_ENABLED": True, **config})
    failures: list[str] = []

    @app.after_request
    def _record_server_errors(resp):
        if resp.status_code >= 500:
            failures.append(f"{resp.status_code} {request.method} {request.full_path}")
        return resp

    # portal.errors turns every exception into an error page and logs it: keep the trace.
    class _Keep(logging.Handler):
        def emit(self, record):
            if has_app_context() and current_app._get_current_object() is app:  # not the other server's
                failures.append(self.format(record))

    keep = _Keep(logging.ERROR)
    keep.setFormatter(logging.Formatter("%(name)s: %(message)s"))  # with the traceback
    error_log = logging.getLogger("portal.errors")
    error_log.addHandler(keep)
    error_log.disabled = False  # alembic's fileConfig in the migrations disables existing loggers

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", failures)
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
        error_log.removeHandler(keep)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(app):  # `app` first: it builds the schema
    with serve() as live:
        yield live


@pytest.fixture(scope="session")
def short_session_server(app):  # `app` first: it builds the schema
    """A server whose sessions end after 65 seconds: the warning shows after about 5."""
    with serve(SESSION_TIMEOUT=dt.timedelta(seconds=65)) as live:
        yield live


# -- the browser -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class ConsoleErrors:
    """JS console errors and uncaught exceptions of a page; `allow` names expected ones."""

    def __init__(self):
        self.errors: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def on_console(self, msg) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            self.errors.append(f"console.error: {msg.text} ({loc.get('url', '')})")

    def on_pageerror(self, exc) -> None:
        self.errors.append(f"pageerror: {exc}")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@dataclasses.dataclass
class Tab:
    """A page plus what it needs to be checked: its server and console."""
    page: object
    live: LiveServer
    console: ConsoleErrors

    def shot(self, name: str, full_page: bool = False) -> None:
        self.page.screenshot(path=os.path.join(SHOTS, name), full_page=full_page)


@pytest.fixture
def open_tab(browser, live_server):
    """open_tab(viewport=..., server=...) -> Tab; fails the test on JS errors or server 5xx."""
    contexts = []
    tabs: list[Tab] = []

    def _open(viewport=DESKTOP, server: LiveServer | None = None, **kwargs) -> Tab:
        live = server or live_server
        ctx = browser.new_context(base_url=live.url, viewport=viewport, locale="de-DE",
                                  timezone_id="Europe/Berlin", **kwargs)
        ctx.set_default_timeout(5_000)
        contexts.append(ctx)
        page = ctx.new_page()
        console = ConsoleErrors()
        page.on("console", console.on_console)
        page.on("pageerror", console.on_pageerror)
        tab = Tab(page, live, console)
        tabs.append(tab)
        return tab

    yield _open
    for ctx in contexts:
        ctx.close()
    problems = [e for t in tabs for e in t.console.unexpected()]
    problems += [f for t in {id(t.live): t.live for t in tabs}.values() for f in t.failures]
    for t in tabs:
        t.live.failures.clear()
    if problems:
        pytest.fail("Errors in the browser or on the server:\n" + "\n".join(problems))


@pytest.fixture
def tab(open_tab) -> Tab:
    return open_tab()


# -- data --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Host:
    """Plain values of a seeded host and property (no ORM objects: the test's transaction is
    closed before the browser runs, so SQLite's write lock is free for the server)."""
    email: str
    password: str
    name: str
    slug: str
    prop_name: str
    category_id: int
    category_name: str
    units: dict[str, int]  # unit name -> id
    today: dt.date


@pytest.fixture
def seed(session):
    """seed(bookings=False, **make_property kwargs) -> Host: a host with one property."""

    def _seed(bookings: bool = False, **kwargs) -> Host:
        user = make_user(session)
        kwargs.setdefault("days", 120)
        prop = make_property(session, owner=user, **kwargs)
        today = clock.today(prop.timezone)
        cat = prop.categories[0]
        units = {u.name: u.id for u in cat.units}
        if bookings:
            unit_ids = list(units.values())
            samples = [("own", "Familie Berger", 1, 3, unit_ids[0]),
                       ("booking", "J. Smith", 2, 4, unit_ids[1]),
                       ("tourist_office", "Novák", 5, 2, unit_ids[0]),
                       ("own", "Stammgast Huber", 8, 5, unit_ids[2])]
            for source, guest, offset, nights, unit_id in samples:
                b = new_booking(prop, cat, today + dt.timedelta(days=offset), nights=nights, source=source, guest=guest)
                session.add(b)
                inventory.take(session, b, [unit_id])
            session.commit()
        host = Host(user.email, PASSWORD, user.name, prop.slug, prop.name, cat.id, cat.name, units, today)
        session.commit()
        session.close()
        return host

    return _seed


def log_in(page, host: Host) -> None:
    """Through the real login form, as a host does."""
    page.goto("/login")
    page.fill("input[name=email]", host.email)
    page.fill("input[name=password]", host.password)
    page.click("form button.primary")
    page.wait_for_url(re.compile(rf"/p/{re.escape(host.slug)}/calendar"))

"""The hotelier portal: create_app wires config, extensions, blueprints and error pages."""
from __future__ import annotations

import gc
import os

import sqlalchemy as sa

from flask import Flask, flash, g, redirect, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from flask_babel import gettext
from flask_login import current_user, logout_user
from htmx_flask import request

from portal import errors, security
from portal.blueprints import register_all
from services.core import storage
from portal.cli import register as register_cli
from portal.config import check_secret_key, from_env
from portal.extensions import babel, csrf, db, htmx, limiter, login, migrate
from portal.web import register_template_helpers
from portal.web.i18n import fmt_date, money
from services.bookings import conflicts
from services.core import clock
from services.core.db import configure_engine, reading
from services.core.i18n import set_catalog_dir
from services.models import User

HERE = os.path.dirname(__file__)


class IdConverter(IntegerConverter):
    """A database id in a URL: 1 to 2^31-1, so a huge number is a 404, not an overflow."""

    def __init__(self, map):
        super().__init__(map, min=1, max=2**31 - 1)


# Public pages without a session (no login, no cookie read or set): the review block that the
# tourist office's website frames (portal/blueprints/reviews/embed.py); its language is `?lang=`;
# the public photo files (portal/blueprints/photos/files.py); the public search
# (portal/blueprints/search/routes.py: /search, /search.json).
NO_SESSION_ENDPOINTS = frozenset({"reviews.embed", "photos.public_file", "search.page", "search.results_json"})


NO_SESSION_PREFIXES = ("/embed/", "/public/photos/", "/search")


class SessionInterface(SecureCookieSessionInterface):
    """The cookie session, except under NO_SESSION_PREFIXES (public pages that caches keep):
    there the visitor's cookie is not read (anonymous, empty) and the session is never saved,
    so such an answer carries no Set-Cookie (a logged-in visitor's refreshed session that a
    shared cache would keep and hand out) and no "Vary: Cookie"."""

    def open_session(self, app, request):
        if request.path.startswith(NO_SESSION_PREFIXES):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if request.path.startswith(NO_SESSION_PREFIXES):
            return None
        return super().save_session(app, session, response)


def select_locale() -> str:
    langs = ["de", "en", "cs"]
    if request.endpoint in NO_SESSION_ENDPOINTS:
        lang = request.args.get("lang")
        return lang if lang in langs else "de"
    if request.path.startswith("/api/"):
        # Channels have no session: their Accept-Language, else English.
        return request.accept_languages.best_match(langs) or "en"
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    if session.get("locale") in langs:
        return session["locale"]
    return "de"


# What a user who must replace a one-time password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {"auth.account", "auth.logout", "auth.language", "auth.ping", "auth.set_password",
                             "auth.forgot_password", "static"}


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(from_env(app.instance_path))
    if config:
        app.config.update(config)
    check_secret_key(app.config, app.debug)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.url_map.converters["id"] = IdConverter
    app.session_interface = SessionInterface()

    db.init_app(app)
    storage.configure(storage.FolderStorage(app.config["UPLOAD_DIR"]))
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(HERE), "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(HERE, "translations"))
    login.init_app(app)
    limiter.init_app(app)
    set_catalog_dir(os.path.join(HERE, "translations"))
    login.login_view = "auth.login"

    @login.user_loader
    def load_user(user_id: str):
        user = db.session.get(User, int(user_id))
        # A deactivated account loses its open sessions too, not only the next login; so does a
        # cookie from before a logout, a password change or "sign out everywhere" (an older
        # generation), and one whose login is longer ago than SESSION_MAX_AGE, however active.
        if user is None or not user.active or session.get("gen") != user.session_generation:
            return None
        if clock.now().timestamp() - session.get("login_at", 0) > app.config["SESSION_MAX_AGE"].total_seconds():
            return None
        return user

    @login.unauthorized_handler
    def unauthorized():
        target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if request.htmx:
            # A full navigation, never a login form swapped into a table cell.
            resp = app.make_response(("", 401))
            resp.headers["HX-Redirect"] = target
            return resp
        return redirect(target)

    @app.before_request
    def read_only_for_page_views():
        # GET must not write; its transaction need not queue for SQLite's write lock.
        if request.method in ("GET", "HEAD", "OPTIONS"):
            g.reading = reading()
            g.reading.__enter__()

    @app.teardown_request
    def end_read_only(_exc=None):
        ctx = g.pop("reading", None)
        if ctx is not None:
            ctx.__exit__(None, None, None)

    @app.before_request
    def session_timeout():
        """R80: 30 minutes without a request end the session."""
        if (request.endpoint == "static" or request.blueprint == "api" or request.endpoint in NO_SESSION_ENDPOINTS
                or not current_user.is_authenticated):
            return None  # the API and static files have no cookie session to time out
        now = clock.now().timestamp()
        seen = session.get("seen", now)
        if now - seen > app.config["SESSION_TIMEOUT"].total_seconds():
            locale = select_locale()  # the message and the login page stay in the user's language
            logout_user()
            session.clear()
            session["locale"] = locale
            flash(gettext("Your session ended after %(minutes)s minutes without activity. Please log in again.",
                          minutes=int(app.config["SESSION_TIMEOUT"].total_seconds() // 60)), "info")
            return unauthorized()
        session["seen"] = now
        session.permanent = True
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            # A one-time password handed over by staff opens nothing but the page that replaces it.
            flash(gettext("Please choose your own password first."), "info")
            if request.htmx:
                resp = app.make_response(("", 204))
                resp.headers["HX-Redirect"] = url_for("auth.account")
                return resp
            return redirect(url_for("auth.account"))
        return None

    register_all(app)
    register_template_helpers(app)
    errors.register(app)
    register_cli(app)

    def open_double_bookings():
        """The banner's figures (base.html calls it on full pages only, never for a fragment):
        (open double bookings the user may open, the property's slug when all on one)."""
        if not current_user.is_authenticated:
            return 0, None
        try:
            return conflicts.banner_for(db.session, current_user)
        except sa.exc.SQLAlchemyError:  # an error page while the database is away: no banner
            return 0, None

    @app.context_processor
    def template_helpers():
        return {
            "open_double_bookings": open_double_bookings,
            "money": money,
            "fmt_date": fmt_date,
            "session_seconds": int(app.config["SESSION_TIMEOUT"].total_seconds()),
            "current_locale": select_locale(),
        }

    security.register(app)

    # What the app has built so far (models, templates, catalogs, routes) lives as long as the
    # process: keep it out of the collector's full passes, which otherwise cost a request that
    # triggers one tens of milliseconds (bench/run.py reports them).
    gc.freeze()
    return app

"""Fixtures: one real database per run (an SQLite file, or PostgreSQL when DATABASE_URL is set),
built by the migrations once and emptied after every test that used it; an app, a browser.

`engine` builds the database without the app, so the service tests (tests/services) run on a
plain SQLAlchemy session and never call create_app; `app` opens the same database.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import sys
import tempfile
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from services.core import clock
from services.core.db import configure_engine
from services.models import Base

_TMP = tempfile.mkdtemp(prefix="portal-test-")
MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")

# Webhook and iCal tests talk to receivers on 127.0.0.1; the SSRF tests switch this off.
os.environ["OUTBOUND_ALLOW_PRIVATE"] = "1"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    return "sqlite:///" + os.path.join(_TMP, "test.sqlite3")


def is_postgres() -> bool:
    return database_url().startswith("postgresql")


BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test",
    "SQLALCHEMY_DATABASE_URI": database_url(),
    "UPLOAD_DIR": tempfile.mkdtemp(prefix="portal-uploads-"),  # photos of this run, never instance/
    "MAIL_FOLDER": tempfile.mkdtemp(prefix="portal-mail-"),  # account e-mails without MAIL_SERVER, never instance/
}


def _build_schema(engine: sa.engine.Engine) -> None:
    """The schema comes from the migrations, as in production (never create_all).

    migrations/env.py takes its engine from Flask-Migrate's entry in `current_app`; a bare
    Flask app carrying this engine is enough for it, so no create_app is needed."""
    from flask import Flask
    from flask_migrate import Migrate, upgrade

    if is_postgres():
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    holder = Flask(__name__)
    Migrate(holder, SimpleNamespace(engine=engine, metadata=Base.metadata), directory=MIGRATIONS)
    with holder.app_context():
        upgrade()


@pytest.fixture(scope="session")
def engine():
    """The test database, built once per run; set up as the app sets up its own engine."""
    engine = sa.create_engine(database_url())
    configure_engine(engine)
    _build_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app(engine):
    from portal import create_app
    from portal.extensions import db

    app = create_app({**BASE_CONFIG, "WTF_CSRF_ENABLED": False})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean(request):
    """After each test: the real clock, an empty availability cache, and, if the test used the
    database, empty tables. DELETE rather than TRUNCATE, on PostgreSQL too: TRUNCATE ...
    RESTART IDENTITY of every table costs ~70 ms per test there (new files and fsyncs), DELETE
    of a few hundred rows a few ms. Ids keep counting up on PostgreSQL, which no test relies on."""
    yield
    clock.set_now(None)
    cache = sys.modules.get("portal.blueprints.api.cache")  # loaded only once an app was made
    if cache is not None:
        cache.AVAILABILITY_CACHE.clear()
    if "engine" not in request.fixturenames:
        return
    with request.getfixturevalue("engine").begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.exec_driver_sql(f'DELETE FROM "{table.name}"')


@contextlib.contextmanager
def app_session(app):
    """The app's `db.session` inside an application context held for the block."""
    from portal.extensions import db

    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()


@pytest.fixture
def session(app):
    """The app's `db.session`, in an application context held for the whole test. Requests of
    `client` run inside that context and share the session (the API tests rely on it);
    tests/services overrides this with a plain session, tests/web uses `db_session`."""
    with app_session(app) as s:
        yield s


@pytest.fixture
def db_session(app):
    """`with db_session() as s:` - a short-lived session outside any request."""
    return lambda: app_session(app)


@pytest.fixture
def client(app):
    """A browser: it holds no application context between its requests, so each request gets
    its own (its own `g`, database session and `current_user`), as in production. Each test's
    browser has its own address, so per-address limits (logins) never couple tests together.
    A test that also takes `session` holds a context for its whole run; Flask then runs every
    request inside that one, sharing its `g` and session (fine for the key-authenticated API,
    wrong for logged-in browsers: Flask-Login caches the user in `g`)."""
    return new_client(app)


_addresses = itertools.count(1)


def new_client(app):
    """Another browser in the same test (its own cookies and address)."""
    c = app.test_client()
    n = next(_addresses)
    c.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    return c


@pytest.fixture
def make_app(app):
    """Another app on the same database with some settings changed; its engine is closed after."""
    from portal import create_app
    from portal.extensions import db

    made = []

    def make(**config):
        other = create_app({**BASE_CONFIG, "WTF_CSRF_ENABLED": False, **config})
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def csrf_app(make_app):
    """The same database with CSRF protection on, as in production."""
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def count_queries():
    """Context manager counting the SQL statements sent to the database (by any engine: the
    app's, the test's session's)."""

    @contextlib.contextmanager
    def counter():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(sa.engine.Engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", before)

    return counter

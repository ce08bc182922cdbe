"""Fixtures: a real database (SQLite file, or PostgreSQL when DATABASE_URL is set) built by
the migrations once per run and emptied after every test; an app, a client, factories."""
from __future__ import annotations

import os
import tempfile

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.extensions import db
from services import clock
from services.models import Base

_TMP = tempfile.mkdtemp(prefix="portal-test-")


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
    # Hundreds of tests log in from 127.0.0.1; the login limit has its own test.
    "LOGIN_RATE_LIMIT": "100000/minute",
}


def _reset_schema(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        if is_postgres():
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        upgrade()


@pytest.fixture(scope="session")
def app():
    app = create_app({**BASE_CONFIG, "WTF_CSRF_ENABLED": False})
    _reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean(request):
    yield
    clock.set_now(None)
    from portal.blueprints.api.cache import AVAILABILITY_CACHE

    AVAILABILITY_CACHE.clear()
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if is_postgres():
                conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            else:
                for t in tables:
                    conn.exec_driver_sql(f'DELETE FROM "{t}"')


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def make_app(app):
    """Another app on the same database with some settings changed; its engine is closed after."""
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
def count_queries(app):
    """Context manager counting the SQL statements sent to the database."""
    import contextlib

    @contextlib.contextmanager
    def counter():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)

    return counter

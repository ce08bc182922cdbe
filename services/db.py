"""Engine set-up that the domain's guarantees depend on."""
from __future__ import annotations

import contextlib
import contextvars

import sqlalchemy as sa

_reading = contextvars.ContextVar("reading", default=False)


@contextlib.contextmanager
def reading():
    """Transactions begun inside only read: on SQLite they need not queue for the write lock."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def configure_engine(engine: sa.engine.Engine) -> None:
    """On SQLite, make every writing transaction take the write lock up front (BEGIN IMMEDIATE).

    SQLite has no row locks, so two deferred transactions could both read the last free
    quota unit before either writes. With BEGIN IMMEDIATE they queue instead (busy_timeout),
    which is what DESIGN.md asks for; WAL keeps readers from blocking on it. Page views
    (GET) run inside `reading()` and begin deferred, so they never queue.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let us emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN" if _reading.get() else "BEGIN IMMEDIATE")

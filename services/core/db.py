"""Engine set-up that the domain's guarantees depend on; what a lost connection means for a unit of work."""
from __future__ import annotations

import contextlib
import contextvars

import sqlalchemy as sa
from sqlalchemy.orm import scoped_session
from sqlalchemy.orm.attributes import instance_state

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


# --- When the database drops -------------------------------------------------------------

def _driver_errors() -> tuple[type[BaseException], ...]:
    """psycopg's own connection errors, for code that talks to a DBAPI connection directly
    (services.channels.api_keys.caller_autocommit) and so gets them unwrapped."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - a dependency; SQLite needs none
        return ()
    return (psycopg.OperationalError, psycopg.InterfaceError)


_DRIVER_ERRORS = _driver_errors()


def unavailable(exc: BaseException) -> bool:
    """The database could not serve the request: not reachable, the connection broke, no
    connection free in the pool, a lock or statement timeout. Trying again later may work,
    so the answer is a 503, not a 500 (which says the request itself is at fault)."""
    if isinstance(exc, sa.exc.TimeoutError):
        return True  # the pool had no connection to give within its timeout
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError))
    return isinstance(exc, _DRIVER_ERRORS)


def disconnected(exc: BaseException) -> bool:
    """The connection broke or could not be made (rather than a statement failing on a live one).

    Whatever the transaction did on it is rolled back by the server, so a request that never
    sent a COMMIT may run again in full on a fresh connection."""
    if isinstance(exc, sa.exc.DBAPIError):
        # statement is None: raised while connecting, before anything was sent.
        return exc.connection_invalidated or (isinstance(exc, sa.exc.OperationalError) and exc.statement is None)
    return isinstance(exc, _DRIVER_ERRORS)


class UseCase:
    """One use case, one transaction: `with use_case(session) as uc:` commits when the block
    ends and rolls back on any exception (a Conflict from inventory.take, an Invalid found
    late, a dropped connection), so no half-written change is left in the session.
    `uc.keep(obj, ...)` names what the answer is built from (see commit_keeping). Every use case
    of a request has this shape; the worker's jobs (outbox delivery, iCal sync, the hold sweep)
    commit step by step by design, never holding a transaction while waiting on another server.

    A use case run inside another (lifting several restrictions, each a rates use case) joins
    it: only the outermost commits or rolls back, so the whole is one transaction. An error of
    the inner one propagates; code that catches it inside the outer block must not go on to
    commit a half-done change (re-raise, or end the outer block with its own error)."""

    DEPTH = "use_case_depth"

    def __init__(self, session):
        self.session = session
        self._keep: list = []

    def keep(self, *objs) -> None:
        self._keep.extend(objs)

    def _info(self) -> dict:
        real = self.session() if isinstance(self.session, scoped_session) else self.session
        return real.info

    def __enter__(self) -> "UseCase":
        info = self._info()
        self._outer = info.get(self.DEPTH, 0) == 0
        info[self.DEPTH] = info.get(self.DEPTH, 0) + 1
        if self._outer:
            info["use_case_keep"] = self._keep
        else:
            self._keep = info["use_case_keep"]  # what an inner use case keeps, the outer keeps
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        info = self._info()
        info[self.DEPTH] -= 1
        if not self._outer:
            return False
        info.pop("use_case_keep", None)
        if exc_type is None:
            commit_keeping(self.session, *self._keep)
            return False
        try:
            self.session.rollback()
        except sa.exc.DBAPIError:
            pass  # the connection is gone, and its transaction with it; the original error matters
        return False


def use_case(session) -> UseCase:
    return UseCase(session)


def commit_keeping(session, *keep) -> None:
    """Commit, and keep `keep` (and only them) loaded as they were written.

    The answer to a write is then built from what was written, with no query after the
    commit: such a read could meet a connection that died a moment ago and turn a change that
    was made into an error page, an answer that contradicts the database. Everything else
    expires as after any commit, so later reads in the same session see the database.
    Name them as the answer reaches them (`b, b.prop`): the session holds its objects weakly,
    so one that only a local variable refers to may be gone by then."""
    real = session() if isinstance(session, scoped_session) else session
    expire = real.expire_on_commit
    real.expire_on_commit = False
    try:
        real.commit()
    finally:
        real.expire_on_commit = expire
    if expire:
        # By state, not object: a context-local proxy (Flask-Login's current_user) stands for its user.
        kept = {id(instance_state(obj)) for obj in keep if obj is not None}
        for state in list(real.identity_map.all_states()):
            obj = state.obj()
            if obj is not None and id(state) not in kept:
                real.expire(obj)

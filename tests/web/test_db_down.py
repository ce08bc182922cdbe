"""When the database drops: a connection that broke is replaced without the user noticing, an
unreachable database is a styled 503 page (or a JSON 503) with Retry-After, never gunicorn's
bare 500, the app recovers by itself, and an answer never contradicts what was committed.

The tests with an unreachable database point an app at a closed port (they need no server).
The others cut real connections: through a TCP proxy in front of PostgreSQL (FlakyProxy) or
with pg_terminate_backend, so they run on PostgreSQL only. TESTING is on, so an exception that
escapes Flask's error handlers (what gunicorn turns into its bare page) fails the test.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from services.channels import connections
from services.models import Booking, Occupancy, Property
from tests.conftest import database_url, is_postgres
from tests.web.conftest import HTMX, TODAY, assert_no_trace, english, login, new_client


UNREACHABLE = "The database cannot be reached just now. Please try again in a minute."


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def api_key(db_session, world, letter="A") -> str:
    with db_session() as s:
        return connections.switch_on(s, None, s.get(Property, getattr(world, letter).id), "api")[1]


def hold_body(world, external_id: str, offset: int = 3) -> dict:
    arrival = TODAY + dt.timedelta(days=offset)
    return {"external_id": external_id, "room_category_id": world.A.cat_id, "arrival": arrival.isoformat(),
            "departure": (arrival + dt.timedelta(days=1)).isoformat(), "guest": {"name": "Jana Nová"},
            "status": "pending"}


# -- the database cannot be reached -----------------------------------------------------------

@pytest.fixture
def down_app(make_app):
    """An app whose database server does not answer (a closed port)."""
    return make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/gone")


def logged_in(app, locale="en"):
    """A browser with the session cookie of user 1 (loading the user needs the database)."""
    c = new_client(app)
    with c.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"], sess["locale"] = "1", True, locale
    return c


@pytest.mark.parametrize("path", ["/", "/p/haus-a/calendar", "/account"])
def test_unreachable_database_is_a_styled_503_page(down_app, path):
    resp = logged_in(down_app).get(path)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    assert resp.mimetype == "text/html"
    assert "portal.css" in html and "<h1>503</h1>" in html and UNREACHABLE in html
    assert_no_trace(html)


def test_unreachable_database_is_503_for_a_form_post_and_for_htmx(down_app):
    browser = logged_in(down_app)
    post = browser.post("/p/haus-a/bookings/new", data={"guest_name": "Eva"})
    assert post.status_code == 503 and UNREACHABLE in post.get_data(as_text=True)
    frag = browser.get("/p/haus-a/calendar", headers=HTMX)
    assert frag.status_code == 503 and frag.headers["HX-Retarget"] == "#flash"
    assert UNREACHABLE in frag.get_data(as_text=True) and "<html" not in frag.get_data(as_text=True)


def test_unreachable_database_keeps_the_language_of_the_session(down_app):
    resp = logged_in(down_app, locale="cs").get("/")
    assert resp.status_code == 503 and 'lang="cs"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("method, path", [
    ("get", "/property"), ("get", "/availability?from=2030-07-01&to=2030-07-03"),
    ("post", "/reservations"), ("post", "/reservations/7/cancel"),
])
def test_unreachable_database_is_a_json_503_for_the_api(down_app, method, path):
    key = "hp_abcdefabcdef_" + "x" * 43  # well-formed: looking it up needs the database
    resp = getattr(new_client(down_app), method)("/api/v1" + path, headers={"Authorization": f"Bearer {key}"},
                                                 **({"json": {}} if method == "post" else {}))
    # Flask-Limiter may raise Retry-After to the end of the key's rate-limit window.
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) > 0
    assert resp.json["error"]["code"] == "unavailable" and resp.json["error"]["message"] == UNREACHABLE


def test_a_database_server_that_never_answers_is_a_503_not_a_hang(make_app):
    """A server that accepts the connection and then says nothing (a host dropping packets
    looks the same): the connect timeout ends the wait with a 503, within gunicorn's timeout."""
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        port = silent.getsockname()[1]
        app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{port}/x?connect_timeout=1")
        started = time.monotonic()
        resp = logged_in(app).get("/")
        assert resp.status_code == 503 and time.monotonic() - started < 10
    finally:
        silent.close()


@pytest.mark.parametrize("given, used", [
    ("postgres://u@db/portal", "postgresql+psycopg://u@db/portal?connect_timeout=5"),
    ("postgresql://u@db/portal?sslmode=require", "postgresql+psycopg://u@db/portal?sslmode=require&connect_timeout=5"),
    ("postgresql://u@db/portal?connect_timeout=20", "postgresql+psycopg://u@db/portal?connect_timeout=20"),
])
def test_postgresql_connections_time_out(monkeypatch, tmp_path, given, used):
    from portal.config import database_url as configured

    monkeypatch.setenv("DATABASE_URL", given)
    assert configured(str(tmp_path)) == used


# -- an answer never contradicts what was committed --------------------------------------------

@pytest.fixture
def after_commit(app):
    """Statements sent after the first COMMIT of a request: a query there could meet a dead
    connection and turn a change that was made into an error."""
    with app.app_context():
        engine = db.engine
    seen = {"committed": False, "after": []}

    def on_commit(conn):
        seen["committed"] = True

    def on_execute(conn, cursor, statement, *args):
        if seen["committed"]:
            seen["after"].append(statement)

    sa.event.listen(engine, "commit", on_commit)
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    yield seen
    sa.event.remove(engine, "commit", on_commit)
    sa.event.remove(engine, "before_cursor_execute", on_execute)


@pytest.mark.parametrize("action", ["cancel", "confirm"])
def test_api_write_answers_without_a_query_after_its_commit(app, db_session, world, after_commit, action):
    key = api_key(db_session, world)
    api = new_client(app)
    headers = {"Authorization": f"Bearer {key}"}
    hold = api.post("/api/v1/reservations", json=hold_body(world, "H1"), headers=headers)
    assert hold.status_code == 201
    after_commit.update(committed=False, after=[])
    resp = api.post(f"/api/v1/reservations/{hold.json['id']}/{action}", headers=headers)
    assert resp.status_code == 200
    assert resp.json["status"] == ("cancelled" if action == "cancel" else "confirmed")
    assert after_commit["committed"] and after_commit["after"] == []


def test_new_reservation_answers_without_a_query_after_its_commit(app, db_session, world, after_commit):
    headers = {"Authorization": f"Bearer {api_key(db_session, world)}"}
    after_commit.update(committed=False, after=[])
    resp = new_client(app).post("/api/v1/reservations", json=hold_body(world, "H2"), headers=headers)
    assert resp.status_code == 201 and resp.json["external_id"] == "H2" and resp.json["currency"] == "EUR"
    assert after_commit["committed"] and after_commit["after"] == []


def host_actions(w):
    """(path, form) of the host's writes that answer with a redirect and a flash message."""
    day = lambda n: (TODAY + dt.timedelta(days=n)).isoformat()  # noqa: E731
    own = {"category_id": w.A.cat_id, "unit_id": 0, "arrival": day(20), "departure": day(22), "units": 1,
           "guests": 2, "guest_name": "Paula Telefon"}
    base = f"/p/{w.A.slug}/bookings"
    return {
        "cancel own booking": (f"{base}/{w.A.own_id}/cancel", {}),
        "new own booking": (f"{base}/new", own),
        "change own booking": (f"{base}/{w.A.own_id}/edit", {**own, "guest_name": "Gustav Neu"}),
        "request cancellation": (f"{base}/{w.A.online_id}/request-cancellation", {"note": "Guest is ill"}),
        "deposit": (f"{base}/{w.A.online_id}/deposit", {"deposit_amount": "20", "deposit_due": day(10)}),
        "modify channel booking": (f"{base}/{w.A.online_id}/modify",
                                   {"arrival": day(25), "departure": day(27), "category_id": w.A.cat_id}),
    }


@pytest.mark.parametrize("action", ["cancel own booking", "new own booking", "change own booking",
                                    "request cancellation", "deposit", "modify channel booking"])
def test_host_write_answers_without_a_query_after_its_commit(app, world, after_commit, action):
    host = new_client(app)
    login(host, world.host_a)
    path, form = host_actions(world)[action]
    after_commit.update(committed=False, after=[])
    resp = host.post(path, data=form)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    assert after_commit["committed"] and after_commit["after"] == []
    assert host.get(resp.headers["Location"]).status_code == 200


def test_commit_keeping_keeps_what_the_answer_reads_and_expires_the_rest(session):
    from services.core.db import commit_keeping
    from tests.factories import make_property

    prop = make_property(session)
    owner, category = prop.owner, prop.categories[0]
    prop.name = "Haus Neu"
    commit_keeping(session, prop, owner)
    assert not {"name", "slug"} & sa.inspect(prop).expired_attributes
    assert not {"email", "locale"} & sa.inspect(owner).expired_attributes
    assert "name" in sa.inspect(category).expired_attributes  # read again from the database when used
    assert session.scalar(sa.select(Property.name).where(Property.id == prop.id)) == "Haus Neu"
    assert session().expire_on_commit  # only that one commit kept anything


@pytest.fixture
def admin_engine():
    engine = sa.create_engine(database_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def terminate(admin_engine, pid: int) -> None:
    with admin_engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(200):  # until the backend is gone
            if not conn.execute(sa.text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).first():
                return
            time.sleep(0.01)


def status_of(admin_engine, booking_id: int) -> str:
    """Read on a connection of its own: the app's pool still holds the one that was killed."""
    with admin_engine.connect() as conn:
        return conn.scalar(sa.select(Booking.status).where(Booking.id == booking_id))


@contextlib.contextmanager
def backend_killed_after_commit(app, admin_engine):
    """Terminate the request's database backend as soon as its connection goes back to the
    pool after a COMMIT: any query after the commit meets a dead connection."""
    with app.app_context():
        engine = db.engine
    state = {"committed": False, "killed": 0}

    def on_commit(conn):
        state["committed"] = True

    def on_checkin(dbapi_conn, record):
        if state["committed"] and dbapi_conn is not None and not state["killed"]:
            terminate(admin_engine, dbapi_conn.info.backend_pid)
            state["killed"] += 1

    sa.event.listen(engine, "commit", on_commit)
    sa.event.listen(engine.pool, "checkin", on_checkin)
    try:
        yield state
    finally:
        sa.event.remove(engine, "commit", on_commit)
        sa.event.remove(engine.pool, "checkin", on_checkin)
        # The killed connection must not wait in the pool for the next test's first request.
        engine.dispose()


@pytest.mark.parametrize("action", ["cancel", "confirm"])
@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="terminates PostgreSQL backends")
def test_committed_api_write_answers_2xx_when_the_connection_dies_right_after(
        app, db_session, world, admin_engine, action):
    headers = {"Authorization": f"Bearer {api_key(db_session, world)}"}
    api = new_client(app)
    hold = api.post("/api/v1/reservations", json=hold_body(world, "H3"), headers=headers).json
    with backend_killed_after_commit(app, admin_engine) as state:
        resp = api.post(f"/api/v1/reservations/{hold['id']}/{action}", headers=headers)
    assert state["killed"] == 1
    assert resp.status_code == 200, resp.get_data(as_text=True)
    expected = "cancelled" if action == "cancel" else "confirmed"
    assert resp.json["status"] == expected
    assert status_of(admin_engine, hold["id"]) == expected
    # The pool recovers by itself: the next request works.
    assert api.get(f"/api/v1/reservations/{hold['id']}", headers=headers).json["status"] == expected


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="terminates PostgreSQL backends")
def test_committed_own_booking_cancel_redirects_when_the_connection_dies_right_after(app, world, admin_engine):
    host = new_client(app)
    login(host, world.host_a)
    with backend_killed_after_commit(app, admin_engine) as state:
        resp = host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/cancel")
    assert state["killed"] == 1
    assert resp.status_code == 303, resp.get_data(as_text=True)
    assert status_of(admin_engine, world.A.own_id) == "cancelled"
    with admin_engine.connect() as conn:
        assert not conn.scalar(sa.select(Occupancy.id).where(Occupancy.booking_id == world.A.own_id))
    page = host.get(resp.headers["Location"])
    assert page.status_code == 200 and "cancelled; its nights are free again." in page.get_data(as_text=True)


# -- connections that break: through a proxy the test can cut ------------------------------------

class FlakyProxy:
    """A TCP proxy in front of PostgreSQL. drop() closes every open connection, as a server
    restart or pg_terminate_backend does; refuse() turns new connections away until restore()."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def drop(self) -> None:
        with self.lock:
            doomed, self.open = self.open, []
        for s in doomed:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        time.sleep(0.05)  # let the pipes notice

    def refuse(self) -> None:
        self.refusing = True
        self.drop()

    def restore(self) -> None:
        self.refusing = False

    def close(self) -> None:
        self.listener.close()
        self.drop()


@pytest.fixture
def flaky(make_app):
    """(app, proxy): an app that reaches the test database through a FlakyProxy."""
    url = urlsplit(database_url())
    proxy = FlakyProxy(url.hostname or "127.0.0.1", url.port or 5432)
    netloc = url.netloc.replace(f"{url.hostname}:{url.port}" if url.port else url.hostname, f"127.0.0.1:{proxy.port}")
    app = make_app(SQLALCHEMY_DATABASE_URI=url._replace(netloc=netloc).geturl())
    yield app, proxy
    with app.app_context():
        db.engine.dispose()
    proxy.close()


def _host_and_key(app, db_session, world):
    """Host A logged in on `app`, and the headers of an API key of property A."""
    host = new_client(app)
    login(host, world.host_a)
    return host, {"Authorization": f"Bearer {api_key(db_session, world)}"}


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="cuts PostgreSQL connections")
def test_dropped_connections_are_replaced_without_an_error(flaky, db_session, world):
    app, proxy = flaky
    host, headers = _host_and_key(app, db_session, world)
    api = new_client(app)
    plan = f"/p/{world.A.slug}/calendar"
    assert host.get(plan).status_code == 200
    assert api.get("/api/v1/property", headers=headers).status_code == 200
    for n, request in enumerate([
        lambda: host.get(plan),
        lambda: host.get(plan, headers=HTMX),
        lambda: api.get("/api/v1/availability?from=2030-06-20&to=2030-06-25", headers=headers),
        lambda: api.post("/api/v1/reservations", json=hold_body(world, "after-drop", offset=10), headers=headers),
        lambda: host.post(f"/p/{world.A.slug}/bookings/{world.A.own_id}/cancel"),
    ]):
        proxy.drop()  # every pooled connection of the app is dead now
        resp = request()
        assert resp.status_code in (200, 201, 303), (n, resp.status_code, resp.get_data(as_text=True)[:300])
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count()).where(Booking.external_id == "after-drop")) == 1
        assert s.get(Booking, world.A.own_id).status == "cancelled"


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="cuts PostgreSQL connections")
def test_unreachable_then_back_503_then_recovers(flaky, db_session, world):
    app, proxy = flaky
    host, headers = _host_and_key(app, db_session, world)
    english(host)
    plan = f"/p/{world.A.slug}/calendar"
    assert host.get(plan).status_code == 200
    proxy.refuse()
    page = host.get(plan)
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "portal.css" in page.get_data(as_text=True)
    assert_no_trace(page.get_data(as_text=True))
    api = new_client(app).post("/api/v1/reservations", json=hold_body(world, "while-down"), headers=headers)
    assert api.status_code == 503 and api.json["error"]["code"] == "unavailable" and api.headers["Retry-After"]
    proxy.restore()
    assert host.get(plan).status_code == 200
    again = new_client(app).post("/api/v1/reservations", json=hold_body(world, "while-down"), headers=headers)
    assert again.status_code == 201


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="cuts PostgreSQL connections")
def test_connection_lost_after_the_page_was_read_still_answers_it(flaky, world):
    """The page has been built; the connection dies before the request's transaction is
    closed (teardown). Closing it raises: that must not turn the page into a bare 500."""
    app, proxy = flaky

    @app.get("/_test/read-then-drop")
    def read_then_drop():
        name = db.session.scalar(sa.select(Property.name).where(Property.id == world.A.id))
        proxy.drop()
        return name

    resp = new_client(app).get("/_test/read-then-drop")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == world.A.name
    assert new_client(app).get("/_test/read-then-drop").status_code == 200

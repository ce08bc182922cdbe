"""Fixtures for the web tests: a small two-office world, clients that log in, DB snapshots.

Requests here run the way they do in production: each one gets its own application
context (so its own `g`, its own database session and its own `current_user`). The
top-level `client` fixture depends on `session`, which keeps an application context
pushed for the whole test; Flask then reuses that context for every request, and
Flask-Login's cached `g._login_user` leaks from one request (and client) to the next.
So this package overrides `client`, and reaches the database through `db_session()`
blocks that are closed before the next request.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from portal.extensions import db
from services import audit, clock, inventory
from services.db import reading
from services.models import Base, Booking, ChannelConnection, ExtraCost, IcalFeed, User
from tests.factories import PASSWORD, make_office, make_property, new_booking

# A fixed Wednesday morning (10:00 in Berlin): dates in the tests do not depend on the day they run.
NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()

# The real hash (scrypt) costs ~0.1 s per user and per login; the web tests create and log
# in hundreds of users, so they share one cheap hash of the same password.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

HTMX = {"HX-Request": "true"}


_addresses = itertools.count(1)


@pytest.fixture(autouse=True)
def _clean(request):
    """tests/conftest.py's clean-up, but DELETE instead of TRUNCATE on PostgreSQL as well:
    TRUNCATE ... RESTART IDENTITY of every table costs ~70 ms per test there (new files and
    fsyncs), which for the ~440 tests here was half of the run; DELETE of a few hundred rows
    takes a few ms. Ids keep counting up, which no test here relies on."""
    yield
    clock.set_now(None)
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.exec_driver_sql(f'DELETE FROM "{table.name}"')


@pytest.fixture
def client(app):
    """A browser: no application context is held between its requests. Each test's browser
    has its own address, so per-address limits (logins) never couple tests together."""
    return new_client(app)


@pytest.fixture
def db_session(app):
    """`with db_session() as s:` - a short-lived session outside any request."""

    @contextlib.contextmanager
    def open_session():
        with app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    return open_session


def make_fast_user(session, role: str, name: str, email: str, office=None) -> User:
    """Added, not flushed (one INSERT for all of them)."""
    user = User(email=email, name=name, password_hash=FAST_HASH, role=role,
                office_id=office.id if office else None, locale="en", created_at=clock.now())
    session.add(user)
    return user


def _book(session, prop, guest: str, arrival: dt.date, nights: int = 2, source: str = "own", actor=None) -> Booking:
    b = new_booking(prop, arrival=arrival, nights=nights, source=source, guest=guest)
    b.created_by_id = actor.id if actor else None
    b.total_price = Decimal("80.00") * nights
    session.add(b)
    inventory.take(session, b)
    session.flush()
    return b


def _tenant(session, letter: str, word: str, owner: User, office, active: bool = True) -> SimpleNamespace:
    """A property full of data that only its host, its office's staff and admins may see.
    (Flushed, not committed; the values are read before anything expires.)"""
    prop = make_property(session, owner=owner, office=office, units=3, days=40, active=active, slug=f"haus-{letter}")
    prop.name = f"Pension {word}"
    cat = prop.categories[0]
    own = _book(session, prop, f"Gustav {word}sohn", TODAY + dt.timedelta(days=3), actor=owner)
    online = _book(session, prop, f"Olga {word}ova", TODAY + dt.timedelta(days=6), source="booking")
    cost = ExtraCost(property_id=prop.id, name=f"Endreinigung {word}", amount=Decimal("40.00"), per="stay")
    session.add(cost)
    audit.record(session, owner, prop, "property_changed", f"phone=+49 {word} 123")
    conn = ChannelConnection(property_id=prop.id, channel="slevomat", key_prefix=f"{letter}" * 12, key_hash="x",
                             created_at=clock.now(), updated_at=clock.now())
    session.add(conn)
    session.flush()
    online.connection_id, online.source = conn.id, "slevomat"
    feed = IcalFeed(category_id=cat.id, name=f"Feed {word}", url="https://example.org/a.ics", created_at=clock.now())
    session.add(feed)
    session.flush()
    return SimpleNamespace(
        letter=letter.upper(), id=prop.id, slug=prop.slug, name=prop.name, owner_id=owner.id,
        cat_id=cat.id, unit_ids=[u.id for u in cat.units], unit_names=[u.name for u in cat.units],
        own_id=own.id, own_guest=own.guest_name, online_id=online.id, online_guest=online.guest_name,
        own_arrival=own.arrival, own_departure=own.departure, cost_id=cost.id, cost_name=cost.name,
        feed_id=feed.id, ical_token=cat.ical_token,
        # Strings that must never reach anyone outside this tenant.
        markers=[word, owner.email],
    )


@pytest.fixture
def world(app, db_session):
    """Offices 1 and 2; hosts A and B (office 1, active contracts), host C (office 1, contract
    not active), staff of office 1 and of office 2, an admin. Returns plain values only."""
    clock.set_now(NOW)
    with db_session() as s:
        office1 = make_office(s, "Tourist-Info Eins")
        office2 = make_office(s, "Tourist-Info Zwei")
        users = {
            "host_a": make_fast_user(s, "host", "Anna Aurora", "host-a@example.com"),
            "host_b": make_fast_user(s, "host", "Bruno Birke", "host-b@example.com"),
            "host_c": make_fast_user(s, "host", "Carla Ceder", "host-c@example.com"),
            "staff1": make_fast_user(s, "staff", "Stefan Sonnenschein", "staff1@example.com", office1),
            "staff2": make_fast_user(s, "staff", "Zora Zweigstelle", "staff2@example.com", office2),
            "admin": make_fast_user(s, "admin", "Adele Admin", "admin@example.com"),
        }
        s.flush()
        accounts = {k: SimpleNamespace(key=k, id=u.id, email=u.email, name=u.name, role=u.role) for k, u in users.items()}
        office_ids = {1: office1.id, 2: office2.id}
        props = {
            "A": _tenant(s, "a", "Aurora", users["host_a"], office1),
            "B": _tenant(s, "b", "Birke", users["host_b"], office1),
            "C": _tenant(s, "c", "Ceder", users["host_c"], office1, active=False),
        }
        s.commit()
    return SimpleNamespace(users=accounts, props=props, offices=office_ids, **props, **accounts)


def login(client, account, password: str = PASSWORD):
    """Log `client` in as `account` (None: stay anonymous); asserts it worked."""
    if account is None:
        return None
    resp = client.post("/login", data={"email": account.email, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp


def english(client) -> None:
    """Messages in English for an anonymous browser (logged-in users carry locale='en')."""
    with client.session_transaction() as sess:
        sess["locale"] = "en"


def snapshot(app) -> dict[str, list[str]]:
    """Every row of every table, to prove that a refused request wrote nothing."""
    with app.app_context(), reading():
        with db.engine.connect() as conn:
            state = {t.name: sorted(repr(tuple(r)) for r in conn.execute(sa.select(t))) for t in Base.metadata.sorted_tables}
        db.session.remove()
    return state


def field_errors(html: str, field_id: str) -> list[str]:
    """The messages rendered next to one field (<p class="error" id="<field>-error">)."""
    return [m.strip() for m in re.findall(
        r'<p class="error" id="%s-error">(.*?)</p>' % re.escape(field_id), html, re.S)]


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no csrf_token in the page"
    return m.group(1)


def assert_no_trace(html: str) -> None:
    assert "Traceback" not in html
    assert 'File "' not in html
    assert "sqlalchemy" not in html.lower()
    assert "werkzeug" not in html.lower()


def new_client(app):
    """Another browser in the same test (its own cookies and address)."""
    c = app.test_client()
    n = next(_addresses)
    c.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    return c

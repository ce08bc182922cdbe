"""Fixtures for the web tests: a small two-office world, a logged-in host, DB snapshots.

Requests here run the way they do in production: each one gets its own application
context (so its own `g`, its own database session and its own `current_user`). So the web
tests never take `session` (it holds an application context for the whole test, which
Flask would reuse for every request, and Flask-Login's cached `g._login_user` would leak
from one request, and client, to the next); they reach the database through `db_session()`
blocks that are closed before the next request.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import secrets
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from portal.extensions import db
from services.availability import inventory
from services.core import audit, clock
from services.core.db import reading
from services.models import Base, Booking, ChannelConnection, ExtraCost, IcalFeed, User
from tests.conftest import _clean, client, db_session, new_client  # noqa: F401 - re-exported, tests import them from here
from tests.factories import FAST_HASH, PASSWORD, login, make_office, make_property, make_user, new_booking  # noqa: F401

# A fixed Wednesday morning (10:00 in Berlin): dates in the tests do not depend on the day they run.
NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()

HTMX = {"HX-Request": "true"}


def d(days: int) -> dt.date:
    """The day `days` after TODAY."""
    return TODAY + dt.timedelta(days=days)


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
    entry = audit.record(session, owner, prop, "property_changed", f"phone=+49 {word} 123")  # an old line: text
    conn = ChannelConnection(property_id=prop.id, channel="slevomat", key_prefix=f"{letter}" * 12, key_hash="x",
                             contact_email="partner@slevomat.example",  # R32: the cancellation request's address
                             created_at=clock.now(), updated_at=clock.now())
    session.add(conn)
    session.flush()
    online.connection_id, online.source = conn.id, "slevomat"
    feed = IcalFeed(category_id=cat.id, name=f"Feed {word}", url="https://example.org/a.ics", created_at=clock.now())
    session.add(feed)
    ical_token = secrets.token_urlsafe(24)
    cat.ical_token_hash = hashlib.sha256(ical_token.encode()).hexdigest()
    session.flush()
    return SimpleNamespace(
        letter=letter.upper(), id=prop.id, slug=prop.slug, name=prop.name, owner_id=owner.id,
        cat_id=cat.id, unit_ids=[u.id for u in cat.units], unit_names=[u.name for u in cat.units],
        own_id=own.id, audit_id=entry.id, own_guest=own.guest_name, online_id=online.id, online_guest=online.guest_name,
        own_arrival=own.arrival, own_departure=own.departure, cost_id=cost.id, cost_name=cost.name,
        feed_id=feed.id, ical_token=ical_token,
        # Strings that must never reach anyone outside this tenant.
        markers=[word, owner.email],
    )


def _build_world(s) -> SimpleNamespace:
    office1 = make_office(s, "Tourist-Info Eins")
    office2 = make_office(s, "Tourist-Info Zwei")
    english_unsaved = {"locale": "en", "commit": False}  # one INSERT for all of them
    users = {
        "host_a": make_user(s, "host", None, "host-a@example.com", name="Anna Aurora", **english_unsaved),
        "host_b": make_user(s, "host", None, "host-b@example.com", name="Bruno Birke", **english_unsaved),
        "host_c": make_user(s, "host", None, "host-c@example.com", name="Carla Ceder", **english_unsaved),
        "staff1": make_user(s, "staff", office1, "staff1@example.com", name="Stefan Sonnenschein", **english_unsaved),
        "staff2": make_user(s, "staff", office2, "staff2@example.com", name="Zora Zweigstelle", **english_unsaved),
        "admin": make_user(s, "admin", None, "admin@example.com", name="Adele Admin", **english_unsaved),
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


def _empty(s) -> bool:
    counts = s.execute(sa.select(*(sa.select(sa.func.count()).select_from(t).scalar_subquery()
                                   for t in Base.metadata.sorted_tables))).one()
    return not any(counts)


# The first world of the run, built through the services, as rows: every later test gets the
# same rows back in one INSERT per table, ~10 times faster than building it again (the web
# tests take it ~900 times). Ids keep counting up past them (tests/conftest.py's _clean).
_saved_world: dict = {}


@pytest.fixture
def world(app, db_session):
    """Offices 1 and 2; hosts A and B (office 1, active contracts), host C (office 1, contract
    not active), staff of office 1 and of office 2, an admin. Returns plain values only."""
    clock.set_now(NOW)
    with db_session() as s:
        empty = _empty(s)
        if empty and _saved_world:
            for table in Base.metadata.sorted_tables:
                if _saved_world["rows"][table.name]:
                    s.execute(sa.insert(table), _saved_world["rows"][table.name])
            s.commit()
            return copy.deepcopy(_saved_world["world"])
        built = _build_world(s)
        if empty:
            _saved_world["rows"] = {t.name: [dict(r._mapping) for r in s.execute(sa.select(t))]
                                    for t in Base.metadata.sorted_tables}
            _saved_world["world"] = copy.deepcopy(built)
        s.commit()
    return built


@pytest.fixture
def host(client, world):
    """Host A's browser, logged in."""
    login(client, world.host_a)
    return client


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


def own_form(w, **over):
    """The own-booking form of property A, valid as it stands; `over` changes fields."""
    data = {"category_id": w.A.cat_id, "unit_id": 0, "arrival": d(20).isoformat(), "departure": d(22).isoformat(),
            "units": 1, "guests": 2, "guest_name": "Paula Telefon", "guest_email": "paula@example.com",
            "guest_phone": "+49 8821 1234", "notes": "regular guest"}
    data.update(over)
    return data


def bulk_form(w, **over):
    """The bulk edit of property A: Fridays and Saturdays of d(5)..d(11) at 150.00."""
    data = {"categories": [w.A.cat_id], "start": d(5).isoformat(), "end": d(11).isoformat(),
            "weekdays": [4, 5], "price": "150.00", "quota": "", "min_stay": "",
            "closed": "", "closed_to_arrival": "", "closed_to_departure": ""}
    data.update(over)
    return data

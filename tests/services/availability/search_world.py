"""What the office-wide search tests share (test_search.py, test_public_search.py): a fixed now,
an office with properties of two units, and a way to set one night's rate."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from services.core import clock
from services.models import NightRate
from tests.factories import make_office, make_property, make_user

NOW = dt.datetime(2030, 6, 12, 8, 0, tzinfo=dt.timezone.utc)


def d(days: int) -> dt.date:
    return NOW.date() + dt.timedelta(days=days)


@pytest.fixture
def office(session):
    clock.set_now(NOW)
    return make_office(session, "Tourist-Info")


def _prop(session, office, name, **kw):
    kw.setdefault("units", 2)
    prop = make_property(session, owner=make_user(session, "host"), office=office, **kw)
    prop.name = name
    session.commit()
    return prop


def _rate(session, cat, night, **values):
    session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id, NightRate.night == night)
                    .values(**values))
    session.commit()

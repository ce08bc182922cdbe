"""services.core.audit: history lines keep parameters (never worded text), so that each reader
gets them in their own language (portal/web/history.py); a calendar edit keeps old -> new of
the changed fields only (R1)."""
from __future__ import annotations

import ast
import datetime as dt
import json
import pathlib
from decimal import Decimal

import sqlalchemy as sa

from services.availability import rates
from services.core import audit, clock
from services.models import AuditEntry
from services.properties import registry
from tests.factories import make_property

SERVICES = pathlib.Path(__file__).resolve().parents[3] / "services"


def _last(session, action):
    return session.scalar(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc()).limit(1))


def test_no_call_in_services_passes_worded_text():
    calls = []
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "audit"):
                calls.append((path.name, node.lineno, len(node.args), [k.arg for k in node.keywords]))
    assert len(calls) >= 20
    # session, actor, property, action: the details are keyword parameters, never a fifth (text) argument.
    texts = [c for c in calls if c[2] > 4 or "summary" in c[3]]
    assert texts == []


def test_a_night_edit_keeps_old_and_new_of_the_changed_fields_only(session):
    prop = make_property(session, units=3, price="80.00")
    cat, day = prop.categories[0], clock.today(prop.timezone) + dt.timedelta(days=2)
    rates.set_night(session, prop.owner, prop, cat, day,
                    rates.RateChange(price=Decimal("95.50"), quota=3, min_stay=1, closed=False, closed_to_arrival=True))
    p = json.loads(_last(session, "rates").summary)
    assert p["categories"] == [cat.name] and p["first"] == p["last"] == day.isoformat() and p["nights"] == 1
    # quota, min_stay and closed were sent unchanged: not in the line.
    assert p["changes"] == {"price": [["80.00"], ["95.50"]], "closed_to_arrival": [[False], [True]]}


def test_property_details_keep_old_and_new(session):
    prop = make_property(session)
    old_city = prop.city
    registry.update_property(session, prop.owner, prop, {"name": prop.name, "city": "Zittau", "country": "de"})
    p = json.loads(_last(session, "property_changed").summary)
    assert p["changes"]["city"] == [old_city, "Zittau"]
    assert "name" not in p["changes"]  # unchanged: not in the line


def test_text_lines_and_parameters_both_stay_readable(session):
    prop = make_property(session)
    with session.begin_nested():
        audit.record(session, prop.owner, prop, "property_changed", "phone=+49 123")
        entry = audit.record(session, prop.owner, prop, "ical_url_renewed", category="Suite")
    session.commit()
    lines = audit.history(session, prop)
    assert [e.summary for e in lines[:2]] == [entry.summary, "phone=+49 123"]
    assert json.loads(entry.summary) == {"category": "Suite"} and entry.undo is None

"""The properties blueprint: the settings (property, room categories, mandatory costs) and
the history, where staff acting on a host's behalf are named."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from services.models import AuditEntry, NightRate, Property
from tests.web.conftest import HTMX, TODAY, field_errors, login, new_client, snapshot


# -- settings --------------------------------------------------------------------------------
@pytest.mark.parametrize("url,data,field,message", [
    ("settings", {"p-name": "", "p-country": "DE"}, "p-name", "Enter the property's name."),
    ("settings", {"p-name": "X", "p-country": "D1"}, "p-country", "Use the two-letter country code, e.g. DE."),
    ("settings", {"p-name": "X", "p-email": "nope"}, "p-email", "Enter a valid e-mail address."),
    ("categories", {"c-name": "Suite", "c-max_guests": "2", "c-unit_names": "S1, S1"}, "c-unit_names",
     "Each unit needs its own name."),
    ("categories", {"c-name": "Suite", "c-max_guests": "0", "c-unit_names": "S1"}, "c-max_guests",
     "Number must be between 1 and 30."),
    ("costs", {"x-name": "Linen", "x-amount": "-3", "x-per": "stay", "x-category_id": "0"}, "x-amount",
     "Number must be at least 0."),
    ("costs", {"x-name": "", "x-amount": "3", "x-per": "stay", "x-category_id": "0"}, "x-name",
     "Enter a name, e.g. Final cleaning."),
])
def test_settings_validation_messages_stand_by_the_field(app, host, world, url, data, field, message):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/{url}", data=data)
    assert resp.status_code == 422
    assert message in field_errors(resp.get_data(as_text=True), field)
    assert snapshot(app) == before


def test_settings_changes_and_a_cost_for_all_categories(host, db_session, world):
    resp = host.post(f"/p/{world.A.slug}/settings", data={"p-name": "Pension Aurora", "p-city": "Garmisch",
                                                          "p-country": "de"}, headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/settings"
    resp = host.post(f"/p/{world.A.slug}/costs", data={"x-name": "Bettwaesche", "x-amount": "12,50", "x-per": "stay",
                                                       "x-category_id": "0"})
    assert resp.status_code == 303, field_errors(resp.get_data(as_text=True), "x-amount")
    page = host.get(f"/p/{world.A.slug}/settings").get_data(as_text=True)
    assert "Garmisch" in page and "Bettwaesche" in page and "all room categories" in page
    with db_session() as s:
        assert s.get(Property, world.A.id).country == "DE"


# -- staff act on a host's behalf: the host sees it in the history ---------------------------
def test_staff_changes_are_in_the_hosts_history_with_the_staff_name(client, db_session, world):
    night = (TODAY + dt.timedelta(days=12)).isoformat()
    staff = new_client(client.application)
    login(staff, world.staff1)
    assert staff.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{night}",
                      data={"price": "123.00", "quota": "2", "min_stay": "1"}).status_code == 302
    assert staff.post(f"/p/{world.A.slug}/costs", data={"x-name": "Kurtaxe", "x-amount": "2.50", "x-per": "night",
                                                          "x-category_id": "0"}).status_code == 303
    login(client, world.host_a)
    assert client.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{night}",
                       data={"price": "124.00", "quota": "2", "min_stay": "1"}).status_code == 302

    with db_session() as s:
        rows = s.execute(sa.select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.summary)
                         .where(AuditEntry.property_id == world.A.id).order_by(AuditEntry.id)).all()
        assert s.get(NightRate, (world.A.cat_id, dt.date.fromisoformat(night))).price == 124
    assert (world.staff1.id, "rates") in [(r[0], r[1]) for r in rows]
    assert any(r[0] == world.staff1.id and r[1] == "extra_cost_added" and "Kurtaxe" in r[2] for r in rows)

    resp = client.get(f"/p/{world.A.slug}/history")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    table = body[body.index("<tbody>"):]
    rows_html = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    staff_rows = [r for r in rows_html if world.staff1.name in r]
    assert len(staff_rows) == 2
    assert all("Tourist office, on behalf of Anna Aurora" in r for r in staff_rows)
    assert any("Night edited" in r and "price=123.00" in r for r in staff_rows)
    assert any("Mandatory cost added" in r and "Kurtaxe" in r for r in staff_rows)
    own = [r for r in rows_html if "price=124.00" in r]
    assert len(own) == 1 and "Anna Aurora" in own[0] and "Tourist office" not in own[0]
    # Newest first, with the time of day in the property's timezone (10:00 in Berlin).
    assert rows_html[0] == own[0]
    assert "10:00" in own[0]

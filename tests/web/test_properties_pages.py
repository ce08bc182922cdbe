"""The properties blueprint: the settings (property, room categories, mandatory costs) and
the history, where staff acting on a host's behalf are named."""
from __future__ import annotations

import datetime as dt
import json
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
    assert any("Night edited" in r and "Price:" in r and "€123.00" in r for r in staff_rows)
    assert any("Mandatory cost added" in r and "Kurtaxe" in r for r in staff_rows)
    own = [r for r in rows_html if "→ €124.00" in r]  # old -> new (R1)
    assert len(own) == 1 and "Anna Aurora" in own[0] and "Tourist office" not in own[0]
    # Newest first, with the time of day in the property's timezone (10:00 in Berlin).
    assert rows_html[0] == own[0]
    assert "10:00" in own[0]


# -- room categories and units: renamed in place, deleted after a confirmation step (issue 9) ----

def _settings_page(host, world):
    return host.get(f"/p/{world.A.slug}/settings").get_data(as_text=True)


def test_categories_and_units_are_renamed_in_place(host, db_session, world):
    page = _settings_page(host, world)
    assert f'action="/p/{world.A.slug}/categories/{world.A.cat_id}/rename"' in page
    assert f'id="unit-name-{world.A.unit_ids[1]}"' in page
    resp = host.post(f"/p/{world.A.slug}/categories/{world.A.cat_id}/rename", data={"name": "Doppelzimmer"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/settings#categories")
    resp = host.post(f"/p/{world.A.slug}/units/{world.A.unit_ids[1]}/rename", data={"name": "Zimmer 12"}, headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].endswith("/settings#categories")
    page = _settings_page(host, world)
    assert 'value="Doppelzimmer"' in page and 'value="Zimmer 12"' in page
    with db_session() as s:
        actions = set(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.property_id == world.A.id)))
    assert {"category_renamed", "unit_renamed"} <= actions


def test_a_bad_new_name_is_refused_next_to_its_input(app, host, world):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/units/{world.A.unit_ids[1]}/rename", data={"name": world.A.unit_names[2]})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(body, f"unit-name-{world.A.unit_ids[1]}") == ["Each unit needs its own name."]
    assert re.search(r'id="unit-name-%s"[^>]*value="%s"' % (world.A.unit_ids[1], world.A.unit_names[2]), body)
    assert snapshot(app) == before


def test_deleting_a_unit_asks_first_then_deletes(app, host, db_session, world):
    url = f"/p/{world.A.slug}/units/{world.A.unit_ids[2]}/delete"
    before = snapshot(app)
    ask = host.get(url).get_data(as_text=True)
    assert snapshot(app) == before  # asking changes nothing
    assert f"Delete the unit {world.A.unit_names[2]} of Category 1?" in ask
    assert re.search(r'<form method="post" action="%s"' % re.escape(url), ask)
    resp = host.post(url)
    assert resp.status_code == 303
    from services.models import Unit
    with db_session() as s:
        assert s.get(Unit, world.A.unit_ids[2]) is None
        assert s.scalar(sa.select(sa.func.max(NightRate.quota)).where(NightRate.category_id == world.A.cat_id)) == 2


@pytest.mark.parametrize("what", ["unit", "category"])
def test_deleting_what_bookings_refer_to_is_refused_naming_them(app, host, world, what):
    url = (f"/p/{world.A.slug}/units/{world.A.unit_ids[0]}/delete" if what == "unit"
           else f"/p/{world.A.slug}/categories/{world.A.cat_id}/delete")
    ask = host.get(url).get_data(as_text=True)
    assert "cannot be deleted" in ask and world.A.own_guest in ask and world.A.online_guest in ask
    assert f'action="{url}"' not in ask  # no delete button when it cannot be
    before = snapshot(app)
    resp = host.post(url)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert world.A.own_guest in body and TODAY.replace(day=TODAY.day + 3).strftime("%d.%m.%Y") in body
    assert snapshot(app) == before


def test_a_new_category_without_bookings_is_deleted_with_its_units(host, db_session, world):
    assert host.post(f"/p/{world.A.slug}/categories", data={
        "c-name": "Suite", "c-max_guests": "4", "c-unit_names": "S1, S2"}).status_code == 303
    from services.models import RoomCategory, Unit
    with db_session() as s:
        cat_id = s.scalar(sa.select(RoomCategory.id).where(RoomCategory.name == "Suite"))
    ask = host.get(f"/p/{world.A.slug}/categories/{cat_id}/delete").get_data(as_text=True)
    assert "Delete the room category Suite?" in ask and "(S1, S2)" in ask
    assert host.post(f"/p/{world.A.slug}/categories/{cat_id}/delete").status_code == 303
    with db_session() as s:
        assert s.get(RoomCategory, cat_id) is None
        assert not s.scalars(sa.select(Unit).where(Unit.category_id == cat_id)).all()
        assert json.loads(s.scalar(sa.select(AuditEntry.summary).where(AuditEntry.action == "category_deleted"))) == {
            "category": "Suite", "units": ["S1", "S2"]}
    assert "Suite: S1, S2" in host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)


def test_another_propertys_category_or_unit_is_not_found(app, host, world):
    before = snapshot(app)
    for url in (f"/p/{world.A.slug}/categories/{world.B.cat_id}/delete", f"/p/{world.A.slug}/units/{world.B.unit_ids[1]}/delete",
                f"/p/{world.A.slug}/categories/{world.B.cat_id}/rename", f"/p/{world.A.slug}/units/{world.B.unit_ids[1]}/rename"):
        assert host.post(url, data={"name": "Mine"}).status_code == 404, url
    assert host.get(f"/p/{world.A.slug}/units/{world.B.unit_ids[1]}/delete").status_code == 404
    assert snapshot(app) == before


# -- the history in the reader's language: old -> new, no code words (issue 9) ----------------
@pytest.mark.parametrize("locale, money_99, money_80", [
    ("de", "99,00\xa0€", "80,00\xa0€"), ("en", "€99.00", "€80.00"), ("cs", "99,00\xa0€", "80,00\xa0€"),
])
def test_history_lines_are_worded_for_the_reader(host, world, locale, money_99, money_80):
    from tests.web.conftest import d
    night = d(20)
    assert host.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{night.isoformat()}",
                     data={"price": "99.00", "quota": "3", "min_stay": "1", "closed_to_arrival": "y"}).status_code == 302
    assert host.post(f"/p/{world.A.slug}/costs", data={"x-name": "Kurtaxe", "x-amount": "2.50", "x-per": "night",
                                                       "x-category_id": "0"}).status_code == 303
    host.post("/language", data={"lang-locale": locale, "next": f"/p/{world.A.slug}/history"})
    body = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    table = body[body.index("<tbody>"):body.index("</tbody>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    edit = next(r for r in rows if money_99 in r)
    assert f"{money_80} → {money_99}" in edit  # old -> new, money the reader's way (R1)
    # Only what changed: the quota and the minimum stay were sent unchanged.
    assert edit.count("→") == 2
    # No code words: field names, Python's True/False, ISO dates.
    for word in ("price=", "quota=", "min_stay", "closed_to", "True", "False", night.isoformat()):
        assert word not in table, word
    assert "Kurtaxe" in table
    assert "phone=+49 Aurora 123" in table  # an old line written as text shows as it is
    # The calendar edit of a moment ago can be undone from here (a form with CSRF).
    form = re.search(r'<form method="post" action="(/p/%s/calendar/undo/\d+)" class="undo-form">\s*'
                     r'<input type="hidden" name="csrf_token"' % world.A.slug, edit)
    assert form


def test_the_undo_button_goes_after_ten_minutes(host, world):
    from services.core import clock
    from tests.web.conftest import NOW, d
    assert host.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{d(20).isoformat()}",
                     data={"price": "99.00", "quota": "3", "min_stay": "1"}).status_code == 302
    assert "undo-form" in host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    clock.set_now(NOW + dt.timedelta(minutes=11))
    assert "undo-form" not in host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)


def test_undo_from_the_history_page(host, db_session, world):
    from tests.web.conftest import d
    assert host.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{d(20).isoformat()}",
                     data={"price": "99.00", "quota": "3", "min_stay": "1"}).status_code == 302
    page = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    url = re.search(r'action="(/p/[^"]+/calendar/undo/\d+)"', page).group(1)
    resp = host.post(url)
    assert resp.status_code == 303 and resp.headers["Location"] == f"/p/{world.A.slug}/history"
    with db_session() as s:
        assert s.get(NightRate, (world.A.cat_id, d(20))).price == 80
    page = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    assert "Undone:" in page and "Change undone" in page and "undo-form" not in page

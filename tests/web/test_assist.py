"""Assist mode (issue 14): staff open a property of their office and work in the host's screens
under a banner; every change names them in the history; Leave lands on the office's home."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from services.models import AuditEntry
from tests.web.conftest import HTMX, d, login, new_client

BANNER = 'class="banner assist"'


def _staff(app, account):
    c = new_client(app)
    login(c, account)
    return c


def _entries(db_session, prop_id, action):
    with db_session() as s:
        return [(e.actor_id, e.property_id) for e in s.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action, AuditEntry.property_id == prop_id))]


def test_staff_start_assist_mode_land_on_the_hosts_plan_under_a_banner(app, world, db_session):
    staff = _staff(app, world.staff1)
    assert BANNER not in staff.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)

    resp = staff.post(f"/office/p/{world.A.slug}/assist")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/p/{world.A.slug}/calendar"
    body = staff.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    banner = body[body.index(BANNER):][:800]
    assert f"Working for {world.host_a.name} ({world.A.name})" in banner
    assert 'action="/office/assist/leave"' in banner and 'name="csrf_token"' in banner
    assert "Every change is recorded with your name" in body  # the flash
    assert _entries(db_session, world.A.id, "assist_started") == [(world.staff1.id, world.A.id)]

    # On every page of that property ...
    for path in ("bookings", "settings", "photos", "reviews", "history"):
        assert BANNER in staff.get(f"/p/{world.A.slug}/{path}").get_data(as_text=True), path
    # ... and nowhere else: another property of the office, the office's own pages.
    assert BANNER not in staff.get(f"/p/{world.B.slug}/calendar").get_data(as_text=True)
    assert BANNER not in staff.get("/office").get_data(as_text=True)
    assert BANNER not in staff.get("/guide").get_data(as_text=True)


def test_htmx_start_redirects_the_whole_page(app, world):
    staff = _staff(app, world.staff1)
    resp = staff.post(f"/office/p/{world.A.slug}/assist", headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == f"/p/{world.A.slug}/calendar"


def test_a_change_in_assist_mode_is_in_the_history_with_the_staff_members_name(app, world, db_session):
    staff = _staff(app, world.staff1)
    staff.post(f"/office/p/{world.A.slug}/assist")
    night = d(5).isoformat()
    resp = staff.post(f"/p/{world.A.slug}/calendar/night/{world.A.cat_id}/{night}",
                      data={"price": "91.00", "quota": "2", "min_stay": "1", "max_stay": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    with db_session() as s:
        rates = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "rates",
                                                      AuditEntry.property_id == world.A.id)).all()
        assert [e.actor_id for e in rates] == [world.staff1.id]

    # The host reads it in their history: the staff member by name, on the host's behalf.
    host = new_client(app)
    login(host, world.host_a)
    history = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", history, re.S)
    edit = next(r for r in rows if "Night edited" in r)
    assert world.staff1.name in edit and f"Tourist office, on behalf of {world.host_a.name}" in edit
    started = next(r for r in rows if "Tourist office began working for the host" in r)
    assert world.staff1.name in started


def test_leave_ends_assist_mode_and_lands_on_the_office_home(app, world, db_session):
    staff = _staff(app, world.staff1)
    staff.post(f"/office/p/{world.A.slug}/assist")
    resp = staff.post("/office/assist/leave")
    assert resp.status_code == 303 and resp.headers["Location"] == "/office"
    home = staff.get("/office").get_data(as_text=True)
    assert f"You no longer work for {world.host_a.name} ({world.A.name})." in home
    assert BANNER not in staff.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    assert _entries(db_session, world.A.id, "assist_ended") == [(world.staff1.id, world.A.id)]

    # Leaving again (another tab): nothing to end, nothing recorded, still the office's home.
    again = staff.post("/office/assist/leave", headers=HTMX)
    assert again.status_code == 204 and again.headers["HX-Redirect"] == "/office"
    assert len(_entries(db_session, world.A.id, "assist_ended")) == 1


def test_switching_to_another_property_moves_the_banner(app, world):
    staff = _staff(app, world.staff1)
    staff.post(f"/office/p/{world.A.slug}/assist")
    staff.post(f"/office/p/{world.B.slug}/assist")
    assert BANNER not in staff.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    assert f"Working for {world.host_b.name}" in staff.get(f"/p/{world.B.slug}/calendar").get_data(as_text=True)


def test_an_admin_may_assist_any_office(app, world, db_session):
    admin = _staff(app, world.admin)
    assert admin.post(f"/office/p/{world.A.slug}/assist").status_code == 303
    assert BANNER in admin.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    assert _entries(db_session, world.A.id, "assist_started") == [(world.admin.id, world.A.id)]


@pytest.mark.parametrize("actor", ["staff2", "host_a", "host_b"])
def test_others_cannot_start_it(app, world, db_session, actor):
    """Staff of another office, and hosts (even on their own property), are refused; nothing recorded."""
    c = _staff(app, world.users[actor])
    resp = c.post(f"/office/p/{world.A.slug}/assist")
    assert resp.status_code in ((403, 404) if actor == "staff2" else (403,))
    assert world.host_a.name not in resp.get_data(as_text=True) or actor == "host_a"
    assert _entries(db_session, world.A.id, "assist_started") == []


def test_a_host_sees_no_banner_and_cannot_use_leave(app, world):
    host = new_client(app)
    login(host, world.host_a)
    assert BANNER not in host.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    assert host.post("/office/assist/leave").status_code == 403


def test_anonymous_is_sent_to_login(client, world):
    resp = client.post(f"/office/p/{world.A.slug}/assist")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]

"""The contract page (state, history, actions with a note, commission rates) and the office's
settings (contact, model terms); what suspending and ending stop, through the web and the API."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.channels import connections
from services.models import CommissionRate, Contract, Office, Property, Terms
from tests.web.conftest import HTMX, field_errors, login, new_client, snapshot


def _staff(app, world, who="staff1"):
    c = new_client(app)
    login(c, getattr(world, who))
    return c


def test_contract_page_shows_state_actions_rates_and_history(app, world):
    staff = _staff(app, world)
    resp = staff.get(f"/office/p/{world.A.slug}/contract")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="contract-state">Active<' in body
    assert 'id="contract-suspend"' in body and 'id="contract-end"' in body and 'id="contract-activate"' not in body
    assert "data-confirm=" in body and 'name="note"' in body
    for label in ("Booking.com", "e-domizil", "Tourist-office booking site"):
        assert label in body
    assert "History of the contracts" in body


@pytest.mark.parametrize("who,status", [("host_a", 403), ("staff2", 403)])
def test_contract_page_is_for_the_property_s_office_only(app, world, who, status):
    c = _staff(app, world, who)
    assert c.get(f"/office/p/{world.A.slug}/contract").status_code == status
    before = snapshot(app)
    assert c.post(f"/office/p/{world.A.slug}/contract/suspend").status_code == status
    assert c.post(f"/office/p/{world.A.slug}/contract/rates", data={"booking": "10"}).status_code == status
    assert snapshot(app) == before


def test_an_admin_sees_the_contract_page(app, world):
    assert _staff(app, world, "admin").get(f"/office/p/{world.A.slug}/contract").status_code == 200


def test_suspend_with_a_note_signs_the_host_out_and_refuses_pages_and_keys(app, world, host, db_session):
    with db_session() as s:
        _, key = connections.switch_on(s, None, s.get(Property, world.A.id), "booking")
        s.commit()
    api = {"Authorization": f"Bearer {key}"}
    assert host.get(f"/p/{world.A.slug}/calendar").status_code == 200
    assert host.get("/api/v1/property", headers=api).status_code == 200
    staff = _staff(app, world)
    resp = staff.post(f"/office/p/{world.A.slug}/contract/suspend", data={"note": "Rechnung offen", "back": "contract"},
                      headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == f"/office/p/{world.A.slug}/contract"
    # The host's session ended at once; logging in again finds the property closed.
    assert host.get(f"/p/{world.A.slug}/calendar").headers["Location"].startswith("/login")
    login(host, world.host_a)
    assert host.get(f"/p/{world.A.slug}/calendar").status_code == 403
    refused = host.get("/api/v1/property", headers=api)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "contract_inactive"
    page = staff.get(f"/office/p/{world.A.slug}/contract").get_data(as_text=True)
    assert 'id="contract-state">Suspended<' in page and "Rechnung offen" in page and world.staff1.name in page
    assert "suspended: the host has no access until it is activated again" in page  # the flash

    assert staff.post(f"/office/p/{world.A.slug}/contract/activate").status_code == 303
    assert host.get(f"/p/{world.A.slug}/calendar").status_code == 200
    assert host.get("/api/v1/property", headers=api).status_code == 200


def test_end_then_activate_starts_a_new_contract_shown_with_the_old(app, world, db_session):
    staff = _staff(app, world)
    assert staff.post(f"/office/p/{world.A.slug}/contract/end", data={"note": "Saisonende"}).status_code == 303
    page = staff.get(f"/office/p/{world.A.slug}/contract").get_data(as_text=True)
    assert 'id="contract-state">No contract<' in page and 'id="contract-activate"' in page
    assert staff.post(f"/office/p/{world.A.slug}/contract/activate").status_code == 303
    with db_session() as s:
        states = s.scalars(sa.select(Contract.state).where(Contract.property_id == world.A.id)
                           .order_by(Contract.id)).all()
    assert states == ["ended", "active"]
    page = staff.get(f"/office/p/{world.A.slug}/contract").get_data(as_text=True)
    assert page.count("Contract of ") == 2 and "Saisonende" in page


def test_an_illegal_transition_is_a_409_with_a_message(app, world):
    staff = _staff(app, world)
    resp = staff.post(f"/office/p/{world.A.slug}/contract/activate")
    assert resp.status_code == 409
    assert "cannot be changed this way" in resp.get_data(as_text=True)


def test_rates_are_saved_and_bad_input_is_a_422_next_to_the_field(app, world, db_session):
    staff = _staff(app, world)
    url = f"/office/p/{world.A.slug}/contract/rates"
    before = snapshot(app)
    resp = staff.post(url, data={"booking": "120", "slevomat": "15"})
    assert resp.status_code == 422
    assert field_errors(resp.get_data(as_text=True), "booking") == [
        "Enter a percentage from 0 to 100 with at most two decimals."]
    assert snapshot(app) == before
    assert staff.post(url, data={"booking": "12,5", "slevomat": "15", "tourist_office": ""}).status_code == 303
    with db_session() as s:
        rates = dict(s.execute(sa.select(CommissionRate.channel, CommissionRate.percent)
                               .join(Contract).where(Contract.property_id == world.A.id)).all())
    assert {k: str(v) for k, v in rates.items()} == {"booking": "12.50", "slevomat": "15.00"}
    page = staff.get(f"/office/p/{world.A.slug}/contract").get_data(as_text=True)
    assert 'value="12.50"' in page
    history = staff.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    assert "Commission rates changed" in history and "Booking.com: – → 12.5 %" in history


# -- the office's settings -------------------------------------------------------------------

def test_staff_save_the_contact_and_model_terms_of_their_office(app, world, db_session):
    staff = _staff(app, world)
    page = staff.get("/office/settings").get_data(as_text=True)
    assert 'name="tiers-0-days" value="30"' in page  # the default schedule before any is saved
    resp = staff.post("/office/settings", data={"form": "contact", "email": "info@eins.example",
                                                "phone": "+49 1234", "opening_hours": "Mo–Fr 9–17"})
    assert resp.status_code == 303
    resp = staff.post("/office/settings", data={
        "form": "terms", "tiers-0-days": "21", "tiers-0-percent": "0", "tiers-1-days": "0", "tiers-1-percent": "90",
        "deposit_percent": "30", "deposit_days": "5", "text": "Muster-AGB", "save": "1"})
    assert resp.status_code == 303
    with db_session() as s:
        office = s.get(Office, world.offices[1])
        assert (office.email, office.phone, office.opening_hours) == ("info@eins.example", "+49 1234", "Mo–Fr 9–17")
        model = s.scalar(sa.select(Terms).where(Terms.office_id == office.id))
        assert model.fee_schedule == [{"days": 21, "percent": "0"}, {"days": 0, "percent": "90"}]
        assert (str(model.deposit_percent), model.deposit_days, model.text) == ("30.00", 5, "Muster-AGB")


def test_bad_model_terms_are_a_422_with_the_message_at_the_tier(app, world):
    staff = _staff(app, world)
    before = snapshot(app)
    resp = staff.post("/office/settings", data={
        "form": "terms", "tiers-0-days": "8", "tiers-0-percent": "50", "tiers-1-days": "8", "tiers-1-percent": "120",
        "deposit_percent": "20", "deposit_days": ""}, headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(body, "tiers-1-days") == ["Each number of days may appear only once."]
    assert field_errors(body, "tiers-1-percent") == ["Enter a percentage from 0 to 100 with at most two decimals."]
    assert field_errors(body, "deposit_days") == ["Enter within how many days after booking the deposit is due."]
    assert 'name="tiers-1-percent" value="120"' in body  # what was typed stays
    resp = staff.post("/office/settings", data={"form": "contact", "email": "kein-mail"})
    assert resp.status_code == 422 and field_errors(resp.get_data(as_text=True), "email")
    assert snapshot(app) == before


def test_rows_are_added_and_removed_without_saving(app, world):
    staff = _staff(app, world)
    rows = {"form": "terms", "tiers-0-days": "30", "tiers-0-percent": "0", "tiers-1-days": "8", "tiers-1-percent": "50"}
    before = snapshot(app)
    added = staff.post("/office/settings", data={**rows, "add_tier": "1"}).get_data(as_text=True)
    assert 'name="tiers-2-days" value=""' in added
    removed = staff.post("/office/settings", data={**rows, "remove_tier": "0"}).get_data(as_text=True)
    assert 'name="tiers-0-days" value="8"' in removed and 'name="tiers-1-days"' not in removed
    assert snapshot(app) == before


def test_an_admin_picks_the_office_and_hosts_and_other_offices_are_refused(app, world, db_session):
    admin = _staff(app, world, "admin")
    picker = admin.get("/office/settings")
    assert picker.status_code == 200
    assert f'href="/office/settings?office={world.offices[2]}"' in picker.get_data(as_text=True)
    page = admin.get(f"/office/settings?office={world.offices[2]}")
    assert page.status_code == 200 and "Tourist-Info Zwei" in page.get_data(as_text=True)
    assert admin.post(f"/office/settings?office={world.offices[2]}",
                      data={"form": "contact", "phone": "+49 2"}).status_code == 303
    with db_session() as s:
        assert s.get(Office, world.offices[2]).phone == "+49 2"
    staff2 = _staff(app, world, "staff2")
    assert staff2.get(f"/office/settings?office={world.offices[1]}").status_code == 403
    host = _staff(app, world, "host_a")
    assert host.get("/office/settings").status_code == 403

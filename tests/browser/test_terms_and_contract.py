"""On a phone (390 px): a host adopts the model terms, adds a fee tier and saves; staff suspend a
contract after the confirmation, with a note, and activate it again. No page is wider than the phone."""
from __future__ import annotations


import pytest

from services.office import contracts
from services.models import Terms
from tests.browser.conftest import PHONE, log_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_host_adopts_and_edits_terms_on_a_phone(open_tab, seed, session):
    host = seed()
    tab = open_tab(viewport=PHONE)
    page = tab.page
    log_in(page, host)
    page.goto(f"/p/{host.slug}/terms")
    _fits(page)
    page.click("form:has(input[name=action][value=adopt]) button")
    page.wait_for_selector("input[name='tiers-2-days']")
    page.click("button[name=add_tier]")
    page.wait_for_selector("input[name='tiers-3-days']")
    page.fill("input[name='tiers-3-days']", "60")
    page.fill("input[name='tiers-3-percent']", "0")
    page.fill("input[name='tiers-0-percent']", "10")
    page.fill("input[name=deposit_percent]", "25")
    page.fill("input[name=deposit_days]", "3")
    _fits(page)
    tab.shot("terms-phone.png", full_page=True)
    with page.expect_navigation():
        page.press("input[name=deposit_days]", "Enter")  # Enter saves (it must not remove a row)
    assert page.url.endswith(f"/p/{host.slug}/terms")
    saved = session.query(Terms).filter(Terms.property_id.isnot(None)).one()
    assert saved.fee_schedule[0] == {"days": 60, "percent": "0"} and saved.fee_schedule[1] == {"days": 30, "percent": "10"}
    assert str(saved.deposit_percent) == "25.00" and saved.deposit_days == 3


def test_staff_suspend_with_a_note_after_confirming_on_a_phone(open_tab, seed, session):
    host = seed()
    from services.models import Property
    prop = session.query(Property).filter_by(slug=host.slug).one()
    staff = make_user(session, "staff", prop.office)
    email = staff.email
    session.close()
    tab = open_tab(viewport=PHONE)
    page = tab.page
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_load_state()
    page.goto(f"/office/p/{host.slug}/contract")
    _fits(page)
    page.fill("#note-suspend", "Rechnung offen")
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.click("#contract-suspend button")
    page.wait_for_selector("#contract-activate")
    assert dialogs and "Rechnung offen" in page.content()
    _fits(page)
    tab.shot("contract-phone.png", full_page=True)
    assert contracts.current(session, session.query(Property).filter_by(slug=host.slug).one()).state == "suspended"

"""The office's home page (issue 14, "What needs attention"): the list with its signals and
their links, the filters and the order as a GET form htmx swaps in place, the empty states,
the actions kept per property, office isolation."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import url_for

from services.core import clock
from services.models import DoubleBooking, Property
from tests.web.conftest import HTMX, TODAY, login, new_client


@pytest.fixture
def staff(app, world):
    c = new_client(app)
    login(c, world.staff1)
    return c


def _rows(html: str) -> list[str]:
    """The property slugs of the list, in their order."""
    return re.findall(r'<tr id="prop-([a-z0-9-]+)"', html)


def _row(html: str, slug: str) -> str:
    start = html.index(f'<tr id="prop-{slug}"')
    return html[start:html.index("</tr>", start)]


def test_the_list_shows_each_property_with_its_signals_and_links(staff, world):
    resp = staff.get("/office")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    assert _rows(html) == [world.A.slug, world.B.slug, world.C.slug]  # by name
    a = _row(html, world.A.slug)
    # The world's properties have 40 nights of rates: 50 of the next 90 have no price or quota.
    assert f'href="/p/{world.A.slug}/calendar">50 nights without price or quota</a>' in a
    assert f'href="/p/{world.A.slug}/photos"' in a and "photo motives missing" in a
    assert world.A.name in a and "Anna Aurora" in a and "host-a@example.com" in a
    assert "never" in a  # the calendar has never been maintained through the portal
    # Actions kept per property: open it, contract, risk-free, sign the host out.
    assert f'href="/p/{world.A.slug}/calendar"' in a
    assert f"/office/p/{world.A.slug}/contract/end" in a
    assert f"/office/p/{world.A.slug}/risk-free/on" in a
    assert f"/office/users/{world.host_a.id}/sign-out" in a
    c = _row(html, world.C.slug)
    assert "invited" in c and f"/office/p/{world.C.slug}/contract/activate" in c and "/sign-out" not in c
    # The form to register a host is still on the page.
    assert 'action="/office/hosts"' in html


def test_a_double_booking_links_to_the_conflicts_and_sorts_first(staff, world, db_session):
    with db_session() as s:
        s.add(DoubleBooking(property_id=world.B.id, category_id=world.B.cat_id, first_night=TODAY, last_night=TODAY,
                            cause="check", status="open", opened_at=clock.now()))
        s.commit()
    html = staff.get("/office?sort=signals").get_data(as_text=True)
    assert _rows(html)[0] == world.B.slug
    assert f'href="/p/{world.B.slug}/conflicts">1 open double booking</a>' in _row(html, world.B.slug)
    assert "double booking" not in _row(html, world.A.slug)


def test_calendar_least_recently_maintained_first(staff, world, db_session):
    with db_session() as s:
        for pid, days in ((world.A.id, 1), (world.B.id, 20)):
            s.get(Property, pid).calendar_maintained_at = clock.now() - dt.timedelta(days=days)
        s.commit()
    html = staff.get("/office?sort=maintained").get_data(as_text=True)
    assert _rows(html) == [world.C.slug, world.B.slug, world.A.slug]  # never, 20 days, yesterday
    assert "never" not in _row(html, world.A.slug)


def test_filters_by_text_and_contract_as_an_htmx_fragment(staff, world):
    resp = staff.get("/office?q=birke", headers=HTMX)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    assert html.lstrip().startswith('<div id="board">') and "<html" not in html and "Register a host" not in html
    assert _rows(html) == [world.B.slug]
    assert _rows(staff.get("/office?q=host-a%40example", headers=HTMX).get_data(as_text=True)) == [world.A.slug]
    assert _rows(staff.get("/office?contract=invited").get_data(as_text=True)) == [world.C.slug]
    assert sorted(_rows(staff.get("/office?contract=active").get_data(as_text=True))) == [world.A.slug, world.B.slug]
    none = staff.get("/office?q=nobody-at-all").get_data(as_text=True)
    assert _rows(none) == [] and "No property matches these filters." in none
    # The full page keeps the filters filled in (a reload or a shared link shows the same list).
    page = staff.get("/office?q=birke&contract=active&sort=signals").get_data(as_text=True)
    assert 'value="birke"' in page and '<option selected value="active">' in page
    assert 'hx-push-url="true"' in page and 'hx-target="#board"' in page


def _quiet_property(s, office_id: int, slug: str) -> Property:
    """90 nights priced, every R71 motive photographed: nothing needs attention."""
    from services.models import Office, Photo
    from tests.factories import make_property

    p = make_property(s, office=s.get(Office, office_id), days=90, slug=slug)
    for i, (motive, cat) in enumerate((("interior", None), ("room", p.categories[0].id), ("view", None),
                                       ("exterior", None), ("feature", None))):
        s.add(Photo(property_id=p.id, motive=motive, category_id=cat, position=i, original_key=f"o{i}",
                    web_key=f"w{i}", thumb_key=f"t{i}", width=2048, height=1536, source_format="JPEG",
                    size_bytes=1, created_at=clock.now()))
    s.commit()
    return p


def test_needs_attention_only(staff, world, db_session):
    with db_session() as s:
        _quiet_property(s, world.offices[1], "haus-ruhig")
    assert "haus-ruhig" in _rows(staff.get("/office").get_data(as_text=True))
    html = staff.get("/office?attention=y").get_data(as_text=True)
    assert sorted(_rows(html)) == [world.A.slug, world.B.slug, world.C.slug]  # every one of them has gaps
    assert "3 need attention" in html and "All quiet" not in html
    assert '<input checked id="attention" name="attention" type="checkbox"' in html


def test_all_quiet(app, world, db_session):
    with db_session() as s:
        _quiet_property(s, world.offices[2], "haus-ruhig")
    other = new_client(app)
    login(other, world.staff2)
    html = other.get("/office").get_data(as_text=True)
    assert _rows(html) == ["haus-ruhig"] and "All quiet: nothing needs attention." in html
    assert '<span class="quiet-note">nothing</span>' in _row(html, "haus-ruhig")
    only = other.get("/office?attention=y", headers=HTMX).get_data(as_text=True)
    assert _rows(only) == [] and "All quiet: nothing needs attention." in only
    assert "No property matches" not in only


def test_no_hosts_yet(app, world):
    other = new_client(app)
    login(other, world.staff2)  # office 2 has no hosts
    html = other.get("/office").get_data(as_text=True)
    assert "No hosts yet: register the first one below." in html and "All quiet" not in html


def test_signals_whose_page_does_not_exist_yet_show_unlinked(app, staff, world, db_session):
    """The office's cancellation queue and the contract page are built by other changes: the page
    renders with or without them."""
    from services.models import CancellationReport

    with db_session() as s:
        s.add(CancellationReport(booking_id=world.A.online_id, property_id=world.A.id, reported_at=clock.now(),
                                 guest_told_on=TODAY, told_by="phone"))
        s.commit()
    html = staff.get("/office").get_data(as_text=True)
    a = _row(html, world.A.slug)
    assert "1 cancellation waiting" in a
    with app.test_request_context():
        try:
            queue = url_for("office.cancellations")
        except Exception:
            queue = None
    if queue:
        assert f'href="{queue}">1 cancellation waiting</a>' in a
    else:
        assert '<span class="chip signal s-cancellations_waiting">1 cancellation waiting</span>' in a


def test_admin_sees_every_office_and_filters_by_one(app, world, db_session):
    from tests.factories import make_property

    with db_session() as s:
        from services.models import Office
        p = make_property(s, office=s.get(Office, world.offices[2]), days=90, slug="haus-zwei")
        p.name = "Pension Zwei"
        s.commit()
    admin = new_client(app)
    login(admin, world.admin)
    html = admin.get("/office").get_data(as_text=True)
    assert set(_rows(html)) == {world.A.slug, world.B.slug, world.C.slug, "haus-zwei"}
    assert 'name="office"' in html and "Tourist-Info Zwei" in html
    assert _rows(admin.get(f"/office?office={world.offices[2]}").get_data(as_text=True)) == ["haus-zwei"]
    # Staff of office 1 see nothing of office 2, whatever they ask for.
    staff = new_client(app)
    login(staff, world.staff1)
    page = staff.get(f"/office?office={world.offices[2]}").get_data(as_text=True)
    assert "haus-zwei" not in page and "Pension Zwei" not in page and 'name="office"' not in page
    assert sorted(_rows(page)) == [world.A.slug, world.B.slug, world.C.slug]


def test_hosts_have_no_office_home(host):
    assert host.get("/office").status_code == 403


def test_registering_a_host_renders_the_home_with_its_list(staff, world):
    resp = staff.post("/office/hosts", data={"host_name": "N", "email": "not-an-address", "property_name": "Haus",
                                             "slug": "haus-neu"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert sorted(_rows(html)) == [world.A.slug, world.B.slug, world.C.slug]


def test_the_number_of_queries_does_not_grow_with_the_properties(app, staff, world, db_session, count_queries):
    from tests.factories import make_property
    from services.models import Office

    with count_queries() as few:
        assert staff.get("/office").status_code == 200
    with db_session() as s:
        for _ in range(5):
            make_property(s, office=s.get(Office, world.offices[1]), days=5)
    with count_queries() as many:
        html = staff.get("/office").get_data(as_text=True)
    assert len(_rows(html)) == 8
    assert len(many) == len(few)

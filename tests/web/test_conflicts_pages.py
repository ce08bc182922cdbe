"""The double-booking pages (issue 11): the list, one page per double booking (the nights as a
grid, R11 in words, who yields, the moves between units with Apply, the history), the banner on
every page, the link from the booking; tenant isolation, CSRF, constant queries."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from portal.extensions import db
from services.core import clock
from services.models import DoubleBooking, Occupancy, Office, User
from tests.conflict_scenarios import fragmented, no_unit_twice, placed, still_unplaced
from tests.factories import make_property
from tests.web.conftest import HTMX, assert_no_trace, csrf_from, d, login, new_client, snapshot


def _scenario(db_session, world, cancel_x=True, units=2, extra=False, owner="host_a", x_source="own"):
    """A property of host A (office 1) with 2 units and a double booking that moves solve
    (tests/conflict_scenarios.fragmented), or that they cannot (cancel_x=False)."""
    with db_session() as s:
        user = s.get(User, world.users[owner].id)
        prop = make_property(s, owner=user, office=s.get(Office, world.offices[1]), units=units, days=40)
        prop.name = "Haus Doppel"
        s.commit()
        if extra:  # more bookings in the same nights, on the other units
            for i, uid in enumerate(u.id for u in prop.categories[0].units[2:]):
                placed(s, prop, f"Extra {i}", d(2), 4, uid)
                placed(s, prop, f"Extra {i}b", d(6), 2, uid)
            s.commit()
        sc = fragmented(s, prop, d(3), cancel_x=cancel_x, x_source=x_source)
        return SimpleNamespace(**vars(sc), slug=prop.slug, url=f"/p/{prop.slug}/conflicts/{sc.db}")


def _status(db_session, db_id):
    with db_session() as s:
        dbl = s.get(DoubleBooking, db_id)
        return dbl.status, dbl.resolution


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_list_is_empty_at_first(host, world):
    body = host.get(f"/p/{world.A.slug}/conflicts").get_data(as_text=True)
    assert "No double bookings." in body
    assert 'role="alert"' not in body.split("<main>")[0].split('id="session-warning"')[0]


def test_the_list_shows_open_ones_first_then_resolved(host, db_session, world):
    sc = _scenario(db_session, world)
    with db_session() as s:  # an older one, resolved
        old = DoubleBooking(property_id=sc.prop_id, category_id=sc.cat_id, first_night=d(20), last_night=d(21),
                            cause="check", status="resolved", opened_at=clock.now(), resolved_at=clock.now(),
                            resolution="fits")
        s.add(old)
        s.commit()
        old_id = old.id
    body = host.get(f"/p/{sc.slug}/conflicts").get_data(as_text=True)
    rows = re.findall(r'<tr class="(is-open|is-resolved)">.*?conflicts/(\d+)"', body, re.S)
    assert rows == [("is-open", str(sc.db)), ("is-resolved", str(old_id))]
    assert "resolved" in _text(body) and "open" in _text(body)


def test_the_page_shows_the_nights_the_ranking_and_who_yields(host, db_session, world):
    sc = _scenario(db_session, world, cancel_x=False, x_source="booking")
    resp = host.get(sc.url)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    text = _text(body)
    assert "Double booking: Category 1" in text
    assert "A channel sold a stay that had no free room here (notify mode)." in text
    # the grid: both units, C without a room on two nights in the red row
    grid = re.search(r'<table class="conflict-grid" id="grid-now">(.*?)</table>', body, re.S).group(1)
    assert "Room 101" in grid and "Room 102" in grid
    unplaced = re.search(r'<tr class="unplaced">(.*?)</tr>', grid, re.S).group(1)
    assert unplaced.count("Carl Channel") == 2
    # R11: online before own, the online one booked first before the later one: Anna (own) yields,
    # though she booked before Carl
    ranking = re.search(r'<ol class="ranking">(.*?)</ol>', body, re.S).group(1)
    names = re.findall(r'<a href="/p/[^"]+/bookings/\d+">([^<]+)</a>', ranking)
    assert names == ["Xaver Storno", "Carl Channel", "Anna Eigen"]
    assert re.findall(r"<li class=\"(yields|keeps)\">", ranking) == ["keeps", "keeps", "yields"]
    rtext = _text(ranking)
    assert "online, booked first" in rtext and "online, booked after Xaver Storno" in rtext
    assert "own booking: online bookings have priority" in rtext and rtext.count("has to yield") == 1
    # no moves: two nights have more stays than rooms
    assert "Moving bookings between rooms does not help" in text and "apply-moves" not in body
    assert "Double booking found" in text  # the history


def test_moves_are_previewed_and_applied(host, db_session, world):
    sc = _scenario(db_session, world)
    body = host.get(sc.url).get_data(as_text=True)
    moves = _text(re.search(r'<ul class="moves">(.*?)</ul>', body, re.S).group(1))
    assert "Anna Eigen" in moves and "Room 101 → Room 102" in moves
    assert "Carl Channel" in moves and "Room 101 (no room on 2 nights) → Room 101" in moves
    assert 'id="grid-after"' in body and 'hx-confirm="' in body and 'id="apply-moves"' in body
    after = re.search(r'<table class="conflict-grid" id="grid-after">(.*?)</table>', body, re.S).group(1)
    assert 'class="unplaced"' not in after
    resp = host.post(sc.url + "/moves", data={})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(sc.url)
    assert _status(db_session, sc.db) == ("resolved", "moved")
    with db_session() as s:
        assert no_unit_twice(s) and still_unplaced(s, [sc.c]) == 0
    page = host.get(sc.url).get_data(as_text=True)
    text = _text(page)
    assert "2 bookings moved; the double booking is resolved." in text
    assert "Bookings moved between rooms" in text and "Anna Eigen: Room 101 → Room 102" in text
    assert "by moving bookings between rooms" in text and "apply-moves" not in page
    history = _text(host.get(f"/p/{sc.slug}/history").get_data(as_text=True))
    assert "Bookings moved between rooms (double booking)" in history
    # the booking's history names the move
    detail = host.get(f"/p/{sc.slug}/bookings/{sc.a}").get_data(as_text=True)
    assert "Moved to another room (double booking)" in detail and "Room 101 → Room 102" in _text(detail)


def test_apply_over_htmx_redirects_and_a_stale_apply_is_409(host, db_session, world):
    sc = _scenario(db_session, world)
    resp = host.post(sc.url + "/moves", headers=HTMX)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].endswith(sc.url)
    again = host.post(sc.url + "/moves", headers=HTMX)  # already resolved
    assert again.status_code == 404 or again.status_code == 409
    assert_no_trace(again.get_data(as_text=True))


def test_when_moves_no_longer_help_apply_answers_409_and_writes_nothing(app, host, db_session, world):
    sc = _scenario(db_session, world, cancel_x=False)
    before = snapshot(app)
    resp = host.post(sc.url + "/moves", headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "<html" not in body
    assert "does not solve this double booking" in body
    assert snapshot(app) == before


def test_the_room_change_checkbox_previews_split_moves(host, db_session, world):
    sc = _scenario(db_session, world)
    frag = host.get(sc.url + "?split=1", headers=HTMX)
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in body
    assert 'name="split" value="1" checked' in body and '<input type="hidden" name="split" value="1">' in body
    # whole stays need no room change here, so the same moves come back
    assert "Room 101 (no room on 2 nights) → Room 101" in _text(body)


@pytest.mark.parametrize("actor, status", [("host_b", 404), ("staff2", 403), ("staff1", 200), ("admin", 200)])
def test_only_the_host_and_the_office_open_it(app, client, db_session, world, actor, status):
    sc = _scenario(db_session, world)
    login(client, world.users[actor])
    resp = client.get(sc.url)
    assert resp.status_code == status
    assert (client.get(f"/p/{sc.slug}/conflicts").status_code == status)
    if status != 200:
        assert "Carl Channel" not in resp.get_data(as_text=True)
        before = snapshot(app)
        assert client.post(sc.url + "/moves").status_code == status
        assert snapshot(app) == before


def test_a_double_booking_of_another_property_is_404(host, db_session, world):
    sc = _scenario(db_session, world, owner="host_b")
    assert host.get(f"/p/{world.A.slug}/conflicts/{sc.db}").status_code == 404
    assert host.post(f"/p/{world.A.slug}/conflicts/{sc.db}/moves").status_code == 404
    assert _status(db_session, sc.db)[0] == "open"


@pytest.fixture
def csrf_client(csrf_app):
    yield new_client(csrf_app)
    with csrf_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_apply_needs_the_csrf_token(csrf_app, csrf_client, db_session, world):
    sc = _scenario(db_session, world)
    page = csrf_client.get("/login").get_data(as_text=True)
    csrf_client.post("/login", data={"email": world.host_a.email, "password": "secret-password",
                                     "csrf_token": csrf_from(page)})
    before = snapshot(csrf_app)
    assert csrf_client.post(sc.url + "/moves", data={}).status_code == 400
    assert snapshot(csrf_app) == before
    token = csrf_from(csrf_client.get(sc.url).get_data(as_text=True))
    assert csrf_client.post(sc.url + "/moves", data={"csrf_token": token}).status_code == 303
    assert _status(db_session, sc.db) == ("resolved", "moved")


def _banner(body: str) -> str | None:
    m = re.search(r'<div class="banner danger double-booking-banner" role="alert">(.*?)</div>', body, re.S)
    return m.group(1) if m else None


def test_the_banner_shows_on_every_page_while_one_is_open(client, db_session, world):
    sc = _scenario(db_session, world)
    login(client, world.host_a)
    for url in ["/", f"/p/{world.A.slug}/calendar", f"/p/{world.A.slug}/bookings", "/account", sc.url]:
        resp = client.get(url, follow_redirects=True)
        banner = _banner(resp.get_data(as_text=True))
        assert banner is not None, url
        assert "1 double booking is open" in banner and f'href="/p/{sc.slug}/conflicts"' in banner
    assert _banner(client.get(f"/p/{world.A.slug}/calendar", headers=HTMX).get_data(as_text=True)) is None
    # host B (another property) sees none; the office's staff see it
    other = new_client(client.application)
    login(other, world.host_b)
    assert _banner(other.get(f"/p/{world.B.slug}/calendar").get_data(as_text=True)) is None
    staff = new_client(client.application)
    login(staff, world.staff1)
    assert _banner(staff.get("/office", follow_redirects=True).get_data(as_text=True)) is not None
    # resolved: gone
    client.post(sc.url + "/moves")
    assert _banner(client.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)) is None


def test_the_banner_leads_to_a_list_when_several_properties_have_one(client, db_session, world):
    _scenario(db_session, world)
    _scenario(db_session, world)
    login(client, world.host_a)
    banner = _banner(client.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True))
    assert "2 double bookings are open" in banner and 'href="/conflicts"' in banner
    body = client.get("/conflicts").get_data(as_text=True)
    assert body.count("Haus Doppel") == 2


def test_navigation_and_booking_link_to_the_double_booking(host, db_session, world):
    sc = _scenario(db_session, world)
    body = host.get(f"/p/{sc.slug}/calendar").get_data(as_text=True)
    assert f'href="/p/{sc.slug}/conflicts"' in body.split("</nav>")[0]
    detail = host.get(f"/p/{sc.slug}/bookings/{sc.c}").get_data(as_text=True)
    assert "This booking is part of an open double booking." in detail and f'href="{sc.url}"' in detail
    host.post(sc.url + "/moves")
    assert "part of an open double booking" not in host.get(f"/p/{sc.slug}/bookings/{sc.c}").get_data(as_text=True)


def test_the_page_needs_the_same_queries_however_many_bookings(host, db_session, world, count_queries):
    small = _scenario(db_session, world)
    big = _scenario(db_session, world, units=4, extra=True)
    counts = []
    for sc in (small, big):
        host.get(sc.url)
        with count_queries() as statements:
            body = host.get(sc.url).get_data(as_text=True)
        assert "apply-moves" in body
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    with db_session() as s:  # the big one's grid shows all four rooms
        assert s.scalar(sa.select(sa.func.count(Occupancy.id))) > 10

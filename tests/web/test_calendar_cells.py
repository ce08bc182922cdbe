"""The plan's cells are written in Python (portal/blueprints/calendar/cells.py) from URL
prefixes built once per page: every link they make is exactly what url_for makes."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from flask import url_for

from services.models import Property, User
from tests.web.conftest import TODAY, _book, login


def test_every_link_of_the_plan_is_what_url_for_builds(app, client, world):
    login(client, world.host_a)
    page = client.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    night_links = set(re.findall(r'<td id="n-\d+-[\d-]+" class="night[^"]*" title="[^"]*"[^>]*><a href="([^"]+)"', page))
    bar_links = set(re.findall(r'<td colspan="\d+" class="bar[^"]*"[^>]*><a href="([^"]+)"', page))
    book_links = set(html.unescape(u) for u in re.findall(r'<td class="free"[^>]*><a href="([^"]+)"', page))
    assert night_links and bar_links and book_links
    with app.test_request_context():
        day = TODAY + dt.timedelta(days=5)
        assert url_for("calendar.night", slug=world.A.slug, cat_id=world.A.cat_id, night=day.isoformat()) in night_links
        assert {url_for("bookings.detail", slug=world.A.slug, booking_id=i) for i in (world.A.own_id, world.A.online_id)} \
            <= bar_links
        unit = world.A.unit_ids[0]
        assert url_for("bookings.new", slug=world.A.slug, unit_id=unit, arrival=day.isoformat()) in book_links


def test_the_night_editor_updates_the_same_cell_it_came_from(app, client, world):
    login(client, world.host_a)
    day = (TODAY + dt.timedelta(days=10)).isoformat()
    with app.test_request_context():
        url = url_for("calendar.night", slug=world.A.slug, cat_id=world.A.cat_id, night=day)
    resp = client.post(url, data={"price": "91.00", "quota": "2", "min_stay": "1"}, headers={"HX-Request": "true"})
    assert resp.status_code == 200
    assert f'<a href="{url}" hx-get="{url}">' in resp.get_data(as_text=True)


def test_cells_name_their_category_and_night_and_bars_their_whole_label(app, client, world):
    """Scripts (keyboard moves, marks, popovers) find a cell by data-cat / data-night; a bar's
    name, cut with an ellipsis when narrow, is whole in its title (hover) and aria-label (focus)."""
    login(client, world.host_a)
    page = client.get(f"/p/{world.A.slug}/calendar").get_data(as_text=True)
    day = (TODAY + dt.timedelta(days=5)).isoformat()
    assert re.search(r'<td id="n-%s-%s" class="night[^"]*" title="[^"]*" data-cat="%s" data-night="%s">'
                     % (world.A.cat_id, day, world.A.cat_id, day), page)
    bar = re.search(r'<td colspan="(\d+)" class="bar[^"]*" data-night="([\d-]+)"><a [^>]*title="([^"]*)" aria-label="([^"]*)">%s</a>'
                    % re.escape(world.A.own_guest), page)
    assert bar, page
    assert bar.group(2) == world.A.own_arrival.isoformat()
    assert bar.group(3) == bar.group(4) and bar.group(3).startswith(world.A.own_guest + " · ")


# -- each date formatted once per request (issue 16: Babel was 6.5 % of the page) -------------
@pytest.mark.parametrize("locale, heads, title", [
    ("de", ["Mi.", "Do.", "Fr."], "18.06.30–20.06.30"),
    ("en", ["We", "Th", "Fr"], "18/06/2030–20/06/2030"),
    ("cs", ["st", "čt", "pá"], "18.06.30–20.06.30"),
])
def test_column_heads_and_bar_titles_in_the_readers_format(client, db_session, world, locale, heads, title):
    with db_session() as s:
        s.get(User, world.host_a.id).locale = locale
        s.commit()
    login(client, world.host_a)
    page = client.get(f"/p/{world.A.slug}/calendar?start={TODAY.isoformat()}").get_data(as_text=True)
    assert re.findall(r'<th scope="col" class="day[^"]*" data-night="[\d-]+"><span class="dow">([^<]+)</span>', page)[:3] \
        == heads  # TODAY is a Wednesday
    bar = re.search(r'title="%s · [^"]*· ([^"]+)"' % re.escape(world.A.online_guest), page)
    assert bar and bar.group(1) == title, bar and bar.group(1)


def test_each_date_of_the_plan_is_formatted_once_per_request(client, db_session, world, monkeypatch):
    """Bars of a month start and end on the same few dates: Babel formats each of them once,
    and the column heads need no date format at all (the locale's seven weekday names)."""
    from portal.blueprints.calendar import cells
    from portal.web import i18n

    calls = []
    for module in (cells, i18n):
        real = module.format_date
        monkeypatch.setattr(module, "format_date", lambda day, *a, _real=real, **k: calls.append(day) or _real(day, *a, **k))
    login(client, world.host_a)
    with db_session() as s:  # two more bars on the same dates
        prop = s.get(Property, world.A.id)
        many = [_book(s, prop, f"Gast {i}", TODAY + dt.timedelta(days=10)).guest_name for i in range(2)]
        s.commit()
    page = client.get(f"/p/{world.A.slug}/calendar?start={TODAY.isoformat()}").get_data(as_text=True)
    assert all(guest in page for guest in many)
    assert calls and len(calls) == len(set(calls)), sorted(calls)
    assert len(calls) <= 2 * page.count('class="bar ')

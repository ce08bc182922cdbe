"""The plan's "overbooked" lane (issue 11): nights sold without a room (notify mode, iCal) as
red bars under the category's units, and the category's count below zero (-1 free)."""
from __future__ import annotations

import re
from decimal import Decimal

from services.availability import inventory
from services.models import Property
from tests.factories import new_booking
from tests.web.conftest import HTMX, d


def _overbook(db_session, world, arrival, guest="Ola Overbooked"):
    """Fill the 3 units of A's category on two nights, then sell one more (notify mode)."""
    with db_session() as s:
        prop = s.get(Property, world.A.id)
        for i in range(3):
            b = new_booking(prop, arrival=arrival, nights=2, source="booking", guest=f"Full {i}")
            s.add(b)
            inventory.take(s, b)
        over = new_booking(prop, arrival=arrival, nights=2, source="booking", guest=guest)
        over.total_price = Decimal("160.00")
        s.add(over)
        inventory.take(s, over, overbook=True)
        s.commit()
        return over.id


def test_the_plan_shows_the_overbooked_lane_and_minus_one_free(host, world, db_session):
    over_id = _overbook(db_session, world, d(20))
    body = host.get(f"/p/{world.A.slug}/calendar?start={d(15)}&days=14", headers=HTMX).get_data(as_text=True)
    lanes = re.findall(r'<tr class="unit-row overbooked-row" data-cat="(\d+)">(.*?)</tr>', body, re.S)
    assert [cat for cat, _ in lanes] == [str(world.A.cat_id)]
    lane = lanes[0][1]
    assert "Overbooked" in lane
    bar = re.search(r'<td colspan="(\d)" class="bar ob"[^>]*data-night="([^"]+)"[^>]*><a href="([^"]+)"[^>]*>([^<]+)</a>',
                    lane)
    assert bar.groups() == ("2", d(20).isoformat(), f"/p/{world.A.slug}/bookings/{over_id}", "Ola Overbooked")
    assert lane.count('class="ob-none"') == 14 - 2
    # The category's cells of those nights: -1 of 3, in red (class overbooked).
    for night in (d(20), d(21)):
        cell = re.search(r'<td id="n-%s-%s"[^>]*>.*?</td>' % (world.A.cat_id, night.isoformat()), body, re.S).group(0)
        assert 'class="night overbooked' in cell or " overbooked" in cell.split(">")[0]
        assert '<span class="free-count">-1/3</span>' in cell
        assert "overbooked: 1 unit sold without a room" in cell
    other = re.search(r'<td id="n-%s-%s"[^>]*>.*?</td>' % (world.A.cat_id, d(22).isoformat()), body, re.S).group(0)
    assert "overbooked" not in other and '<span class="free-count">3/3</span>' in other


def test_no_lane_when_the_window_has_no_overbooked_night(host, world, db_session):
    _overbook(db_session, world, d(30))
    body = host.get(f"/p/{world.A.slug}/calendar?start={d(15)}&days=14", headers=HTMX).get_data(as_text=True)
    assert "overbooked-row" not in body and "free-count\">-" not in body

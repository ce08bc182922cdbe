"""Issue 11 in the channel API: the maximum stay in GET /availability and in the stay check of
POST /reservations (409, code restriction, reason max_stay), and the connection's inventory mode
in GET /property."""
from __future__ import annotations

import datetime as dt

from portal.blueprints.api.openapi import document
from services.availability import rates
from services.channels import connections
from services.core import clock
from tests.api.conftest import ApiClient


def _max_stay(session, prop, offset, n):
    day = clock.today(prop.timezone) + dt.timedelta(days=offset)
    rates.set_night(session, prop.owner, prop, prop.categories[0], day, rates.RateChange(max_stay=n))
    return day


def test_availability_carries_the_max_stay_as_documented(session, channel):
    prop, _, api = channel
    day = _max_stay(session, prop, 3, 4)
    r = api.get(f"/availability?from={day}&to={day + dt.timedelta(days=2)}")
    assert r.status_code == 200, r.get_data(as_text=True)
    first, second = r.json["room_categories"][0]["nights"]
    assert (first["max_stay"], second["max_stay"]) == (4, None)  # null: no limit
    night = document()["paths"]["/availability"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"]["properties"]["room_categories"]["items"]["properties"]["nights"]["items"]
    assert set(first) == set(night["properties"]) and "max_stay" in night["required"]


def test_availability_answer_changes_when_the_max_stay_does(session, channel):
    """The cached answer (inventory version) is not served stale after an edit of the maximum stay."""
    prop, _, api = channel
    start = clock.today(prop.timezone) + dt.timedelta(days=3)
    url = f"/availability?from={start}&to={start + dt.timedelta(days=1)}"
    assert api.get(url).json["room_categories"][0]["nights"][0]["max_stay"] is None
    _max_stay(session, prop, 3, 2)
    assert api.get(url).json["room_categories"][0]["nights"][0]["max_stay"] == 2


def test_a_stay_longer_than_the_max_stay_is_409_restriction_max_stay(session, channel, body):
    prop, _, api = channel
    day = _max_stay(session, prop, 3, 2)
    r = api.post("/reservations", json=body(nights=3))
    assert r.status_code == 409
    err = r.json["error"]
    assert (err["code"], err["reason"], err["nights"]) == ("restriction", "max_stay", [day.isoformat()])
    assert "2" in err["message"]
    assert api.post("/reservations", json=body(nights=2)).status_code == 201  # as long as allowed: fine
    # Only the arrival's maximum counts (as for the minimum stay): arriving the day before, 3 nights are fine.
    assert api.post("/reservations", json=body(external_id="O2", offset=2, nights=3)).status_code == 201


def test_property_names_the_channel_and_its_inventory_mode(session, client):
    from tests.factories import make_property

    prop = make_property(session, units=1)
    _, key = connections.switch_on(session, None, prop, "booking")
    r = ApiClient(client, key).get("/property")
    assert (r.json["channel"], r.json["inventory_mode"]) == ("booking", "notify")

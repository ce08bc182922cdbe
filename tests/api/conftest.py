"""API fixtures: a property with a channel connection and a client that sends its key."""
from __future__ import annotations

import datetime as dt

import pytest

from services.channels import connections
from services.core import clock
from services.properties import registry
from tests.factories import make_property


class ApiClient:
    def __init__(self, client, key):
        self.client, self.key = client, key

    def _headers(self, extra=None):
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, url, **kw):
        return self.client.get("/api/v1" + url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post("/api/v1" + url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def channel(session, client):
    """(property, connection, api client) for a Slevomat connection with a 60-minute hold."""
    clock.set_now(clock.now())
    prop = make_property(session, units=2, price="100.00", days=90)
    registry.add_extra_cost(session, prop.owner, prop, "Endreinigung", "30.00", "stay", None)
    conn, key = connections.switch_on(session, None, prop, "slevomat", hold_minutes=60)
    return prop, conn, ApiClient(client, key)


@pytest.fixture
def body(channel):
    prop = channel[0]

    def make(external_id="ORDER-1", offset=3, nights=2, **kw):
        arrival = clock.today(prop.timezone) + dt.timedelta(days=offset)
        data = {"external_id": external_id, "room_category_id": prop.categories[0].id,
                "arrival": arrival.isoformat(), "departure": (arrival + dt.timedelta(days=nights)).isoformat(),
                "units": 1, "guests": 2, "guest": {"name": "Jana Nová", "email": "jana@example.cz", "phone": "+420 1"},
                "status": "confirmed"}
        data.update(kw)
        return data

    return make

"""The API edge reads a reservation body into the use case's input, naming each bad field."""
from __future__ import annotations

import pytest

from portal.blueprints.api import schemas
from services.core.errors import Invalid


@pytest.mark.parametrize("body,field", [
    ({"external_id": ""}, "external_id"),
    ({"arrival": "2027-13-01"}, "arrival"),
    ({"units": 0}, "units"),
    ({"units": "2"}, "units"),
    ({"guest": {"name": "A", "fax": "1"}}, "guest.fax"),
    ({"guest": {"name": "A", "email": "nope"}}, "guest.email"),
    ({"status": "paid"}, "status"),
    ({"total_price": 12.5}, "total_price"),
    ({"total_price": "-1"}, "total_price"),
    ({"free_cancellation_until": "2027-01-01T10:00:00"}, "free_cancellation_until"),
    ({"colour": "red"}, "colour"),
])
def test_a_reservation_body_is_refused_field_by_field(body, field):
    base = {"external_id": "A", "room_category_id": 1, "arrival": "2030-01-01", "departure": "2030-01-03",
            "guest": {"name": "A"}}
    base.update(body)
    with pytest.raises(Invalid) as e:
        schemas.reservation_input(base)
    assert field in e.value.errors

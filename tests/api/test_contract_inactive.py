"""A channel's key stops working when the property's brokerage contract ends (issue 7)."""
from __future__ import annotations

from services.core import clock


def test_key_of_a_property_whose_contract_ended_is_refused(session, channel):
    prop, _, api = channel
    assert api.get("/property").status_code == 200
    prop.contract_active_since = None
    session.commit()
    resp = api.get("/property")
    assert resp.status_code == 401 and resp.json["error"]["code"] == "contract_inactive"
    assert api.get("/availability?from=2030-01-01&to=2030-01-02").json["error"]["code"] == "contract_inactive"
    # A wrong key learns nothing about the contract.
    api.key = api.key[:-1] + ("x" if api.key[-1] != "x" else "y")
    assert api.get("/property").json["error"]["code"] == "unauthorized"


def test_key_works_again_when_the_contract_is_activated_again(session, channel):
    prop, _, api = channel
    prop.contract_active_since = None
    session.commit()
    assert api.get("/property").status_code == 401
    prop.contract_active_since = clock.now()
    session.commit()
    assert api.get("/property").status_code == 200

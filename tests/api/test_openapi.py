"""The OpenAPI document and the code stay in step; a fuzz run of it finds no 5xx."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from portal.blueprints.api import schemas
from portal.blueprints.api.openapi import RESERVATION, document
from services.channels import connections
from services.models import Booking, RoomNight


def _documented(api: bool = True):
    """(path, method) of the channel API's operations; api=False: of the public pages that the
    document also describes under their own server (GET /search.json)."""
    doc = document()
    return {(path, method.upper()) for path, ops in doc["paths"].items() if ("servers" not in ops) == api
            for method in ops if method != "servers"}


def test_every_route_is_documented_and_every_documented_path_exists(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:\w+:)?(\w+)>", "{id}", rule.rule[len("/api/v1"):])
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == _documented()
    public = {(rule.rule, m) for rule in app.url_map.iter_rules() if rule.endpoint == "search.results_json"
              for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert public == _documented(api=False) == {("/search.json", "GET")}


RISK_FREE_ONLY = {"payment_status", "replacement"}  # issue 10, R51, R57


def test_documented_reservation_fields_are_what_the_api_returns(session, channel, body):
    api = channel[2]
    res = api.post("/reservations", json=body()).json
    assert set(res) == set(RESERVATION["properties"]) - RISK_FREE_ONLY == set(RESERVATION["required"])
    assert set(res["price_breakdown"]) == set(RESERVATION["properties"]["price_breakdown"]["properties"])
    # A risk-free reservation adds who pays it and its replacement room-nights.
    b = session.get(Booking, res["id"])
    b.risk_free = True
    row = session.scalars(sa.select(RoomNight).where(RoomNight.booking_id == b.id)).first()
    row.state, row.amount_paid = "paid_by_platform", Decimal("100.00")
    session.commit()
    risk_free = api.get(f"/reservations/{res['id']}").json
    assert set(risk_free) == set(RESERVATION["properties"])
    item = RESERVATION["properties"]["replacement"]["items"]
    assert [set(r) for r in risk_free["replacement"]] == [set(item["properties"])] == [set(item["required"])]
    assert risk_free["payment_status"] in RESERVATION["properties"]["payment_status"]["enum"]
    assert risk_free["replacement"][0]["state"] in item["properties"]["state"]["enum"]


def test_document_is_served_without_a_key(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.json["openapi"].startswith("3.")


def test_documented_create_fields_are_what_the_schema_accepts():
    create = document()["components"]["schemas"]["ReservationCreate"]
    assert set(create["properties"]) == schemas.FIELDS


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzz_finds_no_server_error(app, session, channel, mode):
    """Schemathesis generates valid and invalid requests from the document: never a 5xx,
    and every answer matches the documented schema. (Driven through Hypothesis directly:
    schemathesis' pytest plugin does not run under this pytest.)"""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    _, review_key = connections.switch_on(session, None, channel[0], "holidaycheck")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10  # the channel API's 9 and the public search (/search.json, no key)
    for operation in operations:
        # The review endpoints with a review partner's key (scope reviews), the rest with the channel's.
        key = review_key if operation.path == "/reviews" else channel[2].key
        headers = {"Authorization": f"Bearer {key}"}
        # The public search has its own server ("/"), which schemathesis' WSGI client does not apply by itself.
        where = {"base_url": "http://localhost/"} if operation.path == "/search.json" else {}

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  phases=[Phase.explicit, Phase.generate])
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance], **where)

        run()

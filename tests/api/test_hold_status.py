"""One hold life cycle (R36): once a hold's time has run out it is "expired" for every reader,
the API, the bookings list and the booking detail alike, before any sweep has marked it."""
from __future__ import annotations

import datetime as dt

from services.core import clock
from tests.factories import PASSWORD

HOLD_TEXT = "temporarily unconfirmed reservation from"


def test_list_and_detail_agree_with_the_api_after_expiry_without_a_sweep(app, session, channel, body):
    prop, _, api = channel
    start = clock.now()
    created = api.post("/reservations", json=body(status="pending"))
    assert created.status_code == 201
    rid = created.json["id"]
    host = app.test_client()
    assert host.post("/login", data={"email": prop.owner.email, "password": PASSWORD}).status_code == 302
    host.post("/language", data={"lang-locale": "en"})

    def seen():
        listed = host.get(f"/p/{prop.slug}/bookings").get_data(as_text=True)
        detail = host.get(f"/p/{prop.slug}/bookings/{rid}").get_data(as_text=True)
        return api.get(f"/reservations/{rid}").json["status"], listed, detail

    status, listed, detail = seen()
    assert status == "pending" and HOLD_TEXT in listed and HOLD_TEXT in detail
    for minutes in (25, 50, 61):  # the host keeps working (R80: no 30 minutes without a request)
        clock.set_now(start + dt.timedelta(minutes=minutes))
        assert host.post("/ping").status_code == 204
    status, listed, detail = seen()
    assert status == "expired"
    assert HOLD_TEXT not in listed and HOLD_TEXT not in detail
    assert "expired" in listed and "expired" in detail
    only_expired = host.get(f"/p/{prop.slug}/bookings?status=expired").get_data(as_text=True)
    only_holds = host.get(f"/p/{prop.slug}/bookings?status=pending").get_data(as_text=True)
    assert "Jana Nová" in only_expired and "Jana Nová" not in only_holds
    # A cancellation request for it is refused as for any booking that is over.
    resp = host.post(f"/p/{prop.slug}/bookings/{rid}/request-cancellation", data={"note": "x"})
    assert resp.status_code == 409

"""The error edge (portal/errors.py): proper 403/404/405/500 pages, or the message in the flash
area for htmx requests; never a trace."""
from __future__ import annotations

import pytest

from tests.web.conftest import HTMX, assert_no_trace, english, login, snapshot


# -- errors: proper pages, never a trace -------------------------------------------------------
@pytest.mark.parametrize("who", ["anonymous", "host_a"])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_unknown_route_is_a_404_page(client, world, who, htmx):
    english(client)
    if who != "anonymous":
        login(client, world.host_a)
    resp = client.get("/no/such/page", headers=HTMX if htmx else None)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert "This page does not exist." in body
    assert_no_trace(body)
    if htmx:
        assert resp.headers["HX-Retarget"] == "#flash" and "<html" not in body
    else:
        assert "<html" in body


@pytest.mark.parametrize("url", ["/p/haus-a/bookings/999999", "/p/haus-a/bookings/999999/edit",
                                 "/p/no-such-house/bookings/1", "/p/haus-a/bookings/abc"])
def test_unknown_ids_are_404(host, world, url):
    resp = host.get(url)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert_no_trace(body)


def test_unknown_booking_post_is_404_and_writes_nothing(app, host, world):
    before = snapshot(app)
    for url in (f"/p/{world.A.slug}/bookings/999999/cancel", f"/p/{world.A.slug}/costs/999999/delete"):
        resp = host.post(url, headers=HTMX)
        assert resp.status_code == 404 and resp.headers["HX-Retarget"] == "#flash"
        assert_no_trace(resp.get_data(as_text=True))
    assert snapshot(app) == before


def test_wrong_method_is_405_page(host, world):
    resp = host.get(f"/p/{world.A.slug}/bookings/{world.A.own_id}/cancel")
    assert resp.status_code == 405
    assert "This action is not allowed here." in resp.get_data(as_text=True)


def test_forbidden_htmx_request_shows_the_message_in_the_flash_area(client, world):
    login(client, world.host_b)
    resp = client.get(f"/p/{world.A.slug}/calendar", headers=HTMX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 403
    assert resp.headers["HX-Retarget"] == "#flash" and resp.headers["HX-Reswap"] == "innerHTML"
    assert "<html" not in body and "You have no access to this property." in body
    assert world.A.name not in body


def test_an_unexpected_error_is_a_500_page_without_details(host, world, monkeypatch):
    from services.bookings import listing

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals: connection string postgres://user:pw@db")

    monkeypatch.setattr(listing, "search", boom)
    resp = host.get(f"/p/{world.A.slug}/bookings")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "Something went wrong on our side." in body
    assert "secret internals" not in body and "RuntimeError" not in body
    assert_no_trace(body)

"""The public availability search, GET /search and /search.json: no login and no session, the
office's active properties free for the stay with their final prices (R4), clear messages for
bad input (422, never a 500), framing only by the office's origins, a rate limit per address,
ETag/304 that never confirms a stay sold since, the JSON against the OpenAPI document, and a
number of queries that does not grow with the properties."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import jsonschema_rs
import pytest

from portal.blueprints.api.openapi import document
from services.availability import inventory
from services.core import clock
from services.models import ExtraCost, Office, Photo, Property
from tests.factories import make_property
from tests.web.conftest import NOW, assert_no_trace, d, login, new_booking, new_client


def url(w, path="/search", office=1, **query) -> str:
    params = {"office": w.offices[office] if office else None, "arrival": d(10).isoformat(),
              "departure": d(12).isoformat(), "guests": 2, "lang": "en"}
    params.update(query)
    return path + "?" + "&".join(f"{k}={v}" for k, v in params.items() if v is not None)


def slugs(html: str) -> list[str]:
    return re.findall(r'<li class="search-result" data-slug="([^"]+)"', html)


def field_error(html: str, field: str) -> str:
    m = re.search(r'<p class="field-error" id="e-%s">(.*?)</p>' % field, html, re.S)
    return m.group(1).strip() if m else ""


def validator(name: str):
    doc = document()
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})


def test_lists_the_office_s_active_properties_with_final_prices(client, world):
    resp = client.get(url(world))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert slugs(html) == [world.A.slug, world.B.slug]  # same price: by name; C has no active contract
    assert world.C.slug not in html and "Pension Ceder" not in html
    # 2 nights at 80.00 plus the final cleaning (R4)
    assert "€200.00" in html and "Endreinigung Aurora €40.00" in html and "2 nights: €160.00" in html
    assert '<html lang="en">' in html and "portal.css" not in html and "search.css" in html
    assert 'name="viewport"' in html  # phone-friendly


def test_the_empty_form_first(client, world):
    resp = client.get(f"/search?office={world.offices[1]}&lang=en")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'name="arrival"' in html and "search-result" not in html
    assert "field-error" not in html


def test_a_property_is_hidden_while_its_stay_is_not_free(client, world, db_session):
    with db_session() as s:  # A's own booking d(3)-d(5) leaves 2 of 3 units; an online one takes them
        prop = s.get(Property, world.A.id)
        b = new_booking(prop, arrival=d(3), nights=2, source="booking", units=2)
        s.add(b)
        inventory.take(s, b)
        s.commit()
    assert slugs(client.get(url(world, arrival=d(3).isoformat(), departure=d(5).isoformat())).get_data(as_text=True)) \
        == [world.B.slug]


@pytest.mark.parametrize("query,field,message", [
    ({"arrival": "12.07.2030"}, "arrival", "Enter a date as YYYY-MM-DD, e.g. 2027-05-01."),
    ({"arrival": ""}, "arrival", "Enter the arrival date."),
    ({"departure": d(10).isoformat()}, "departure", "The departure must be after the arrival."),
    ({"arrival": d(-1).isoformat()}, "arrival", "The arrival cannot be in the past."),
    ({"departure": d(41).isoformat()}, "departure", "A stay can last at most 30 nights here."),
    ({"guests": "0"}, "guests", "Enter a number of guests from 1 to 50."),
    ({"guests": "99999999999999999999"}, "guests", "Enter a number of guests from 1 to 50."),
    ({"rooms": "3"}, "guests", "Each room needs at least one guest."),
    ({"kind": "castle"}, "kind", "Choose a type from the list."),
    ({"per_page": "500"}, "per_page", "Enter from 1 to 50 results per page."),
    ({"arrival": "2999-01-01", "departure": "2999-01-03"}, "arrival", "Search at most two years ahead."),
])
def test_bad_input_gets_a_message_at_its_field(client, world, query, field, message):
    resp = client.get(url(world, **query))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and field_error(html, field) == message
    assert field in ("per_page",) or 'aria-invalid="true"' in html
    assert "search-result" not in html
    assert_no_trace(html)
    as_json = client.get(url(world, path="/search.json", **query))
    assert as_json.status_code == 422 and as_json.json["error"]["fields"][field] == message
    assert as_json.json["error"]["code"] == "invalid" and as_json.json["error"]["field"] in as_json.json["error"]["fields"]
    assert validator("Error").is_valid(as_json.json)


def test_messages_in_german_by_default(client, world):
    html = client.get(url(world, lang=None, departure=d(9).isoformat())).get_data(as_text=True)
    assert '<html lang="de">' in html and field_error(html, "departure") == "Die Abreise muss nach der Anreise liegen."
    assert ">Gäste</label>" in html


def test_the_office_is_needed_when_there_are_several(client, world):
    resp = client.get(url(world, office=None))
    assert resp.status_code == 422 and "Name the tourist office (parameter office)." in resp.get_data(as_text=True)
    as_json = client.get(url(world, path="/search.json", office=None))
    assert as_json.status_code == 422 and "office" in as_json.json["error"]["fields"]
    assert client.get(url(world, office=None) + "&office=999999").status_code == 404
    missing = client.get(url(world, path="/search.json", office=None) + "&office=999999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_another_office_sees_its_own_properties_only(client, world, db_session):
    assert slugs(client.get(url(world, office=2)).get_data(as_text=True)) == []
    assert client.get(url(world, path="/search.json", office=2)).json["results"] == []


def test_json_is_what_the_openapi_document_describes(client, world, db_session):
    with db_session() as s:
        s.add(Photo(property_id=world.B.id, position=0, is_cover=True, original_key="o", web_key="w", thumb_key="t",
                    width=2048, height=1536, source_format="JPEG", size_bytes=1, created_at=NOW))
        s.add(ExtraCost(property_id=world.B.id, name="Kurtaxe", amount=Decimal("2.50"), per="night"))
        s.commit()
        photo_id = s.query(Photo).one().id
    resp = client.get(url(world, path="/search.json", guests=3, rooms=2))
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.json
    validator("PublicSearch").validate(body)
    assert (body["arrival"], body["departure"], body["guests"], body["rooms"]) == (d(10).isoformat(), d(12).isoformat(), 3, 2)
    assert (body["page"], body["per_page"], body["total"]) == (1, 10, 2)
    a, b = body["results"]
    assert a["property"] == {"slug": world.A.slug, "name": "Pension Aurora", "city": "", "cover_photo_url": None,
                             "review_score": None}
    assert b["property"]["cover_photo_url"] == f"http://localhost/public/photos/{photo_id}/thumb"
    [cat] = a["categories"]
    assert cat["id"] == world.A.cat_id and cat["kind"] == "room" and cat["available"] == 3 and cat["max_guests"] == 2
    # two rooms, two nights: 4 x 80.00; the final cleaning once per room (R4)
    assert cat["price"] == {"lodging": "320.00", "extras": [{"name": "Endreinigung Aurora", "amount": "80.00"}],
                            "total": "400.00", "currency": "EUR"}
    assert b["categories"][0]["price"]["total"] == "410.00"  # and the tourist tax per night and room


def test_no_session_cookie_even_for_a_logged_in_browser(client, world):
    for path in ("/search", "/search.json"):
        resp = new_client(client.application).get(url(world, path=path))
        assert "Set-Cookie" not in resp.headers and "Cookie" not in resp.headers.get("Vary", "")
    login(client, world.host_a)
    for path in ("/search", "/search.json"):
        resp = client.get(url(world, path=path))
        assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
        assert "Cookie" not in resp.headers.get("Vary", "")


def test_framing_only_by_the_office_s_origins(client, world, db_session):
    resp = client.get(url(world))
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    with db_session() as s:
        s.get(Office, world.offices[1]).embed_origins = "https://www.tourist-eins.de"
        s.get(Office, world.offices[2]).embed_origins = "https://zwei.example"
        s.commit()
    for query in ({}, {"guests": "0"}):  # the results and a refused form alike
        resp = client.get(url(world, **query))
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors https://www.tourist-eins.de" in csp and "zwei.example" not in csp
        assert "X-Frame-Options" not in resp.headers and "script-src 'self'" in csp
    assert "frame-ancestors https://zwei.example" in client.get(url(world, office=2)).headers["Content-Security-Policy"]


def test_rate_limited_per_address(make_app, world):
    app = make_app(SEARCH_RATE_LIMIT="3/minute")
    c, other = new_client(app), new_client(app)
    codes = [c.get(url(world)).status_code for _ in range(3)]
    over = c.get(url(world))
    assert codes == [200, 200, 200] and over.status_code == 429
    assert "Too many searches from your address" in over.get_data(as_text=True)
    as_json = c.get(url(world, path="/search.json"))
    assert as_json.status_code == 429 and as_json.json["error"]["code"] == "rate_limited"
    assert other.get(url(world)).status_code == 200  # another address is not held up


def _sell_out_a(db_session, world):
    with db_session() as s:
        prop = s.get(Property, world.A.id)
        b = new_booking(prop, arrival=d(10), nights=1, source="booking", units=3)
        s.add(b)
        inventory.take(s, b)
        s.commit()


@pytest.mark.parametrize("path", ["/search", "/search.json"])
def test_cacheable_but_a_stay_sold_since_is_never_confirmed(client, world, db_session, path):
    first = client.get(url(world, path=path))
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=0, must-revalidate" and etag
    again = client.get(url(world, path=path), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    assert client.get(url(world, path=path, guests=1), headers={"If-None-Match": etag}).status_code == 200
    _sell_out_a(db_session, world)  # the last units of A on the first night go
    after = client.get(url(world, path=path), headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    text = after.get_data(as_text=True)
    assert world.A.slug not in text and world.B.slug in text


def test_a_hold_that_runs_out_frees_the_stay_without_a_write(client, world, db_session):
    with db_session() as s:
        prop = s.get(Property, world.A.id)
        b = new_booking(prop, arrival=d(10), nights=2, source="booking", units=3, status="pending", hold_minutes=20)
        s.add(b)
        inventory.take(s, b)
        s.commit()
    held = client.get(url(world, path="/search.json"))
    assert [r["property"]["slug"] for r in held.json["results"]] == [world.B.slug]
    clock.set_now(NOW + dt.timedelta(minutes=20))
    freed = client.get(url(world, path="/search.json"), headers={"If-None-Match": held.headers["ETag"]})
    assert freed.status_code == 200 and [r["property"]["slug"] for r in freed.json["results"]] == [world.A.slug, world.B.slug]


def test_pages_and_sorting_in_the_html(client, world, db_session):
    with db_session() as s:
        s.get(Property, world.B.id).name = "Pension Aaa"
        s.commit()
    first = client.get(url(world, per_page=1)).get_data(as_text=True)
    assert slugs(first) == [world.B.slug] and "Page 1 of 2" in first and 'rel="next"' in first
    nxt = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(nxt).get_data(as_text=True)
    assert slugs(second) == [world.A.slug] and 'rel="prev"' in second and "office=" in nxt and "lang=en" in nxt


def test_json_queries_do_not_grow_with_the_properties(client, world, db_session, count_queries):
    with db_session() as s:
        office = Office(name="Tourist-Info Drei")
        s.add(office)
        s.commit()
        office_id = office.id

    def add(n):
        with db_session() as s:
            office = s.get(Office, office_id)
            for _ in range(n):
                p = make_property(s, office=office, units=2, categories=2, days=20)
                s.add(ExtraCost(property_id=p.id, name="Endreinigung", amount=Decimal("30.00"), per="stay"))
            s.commit()

    def measure():
        query = f"/search.json?office={office_id}&arrival={d(3)}&departure={d(5)}&guests=2&per_page=50"
        client.get(query)
        with count_queries() as statements:
            body = client.get(query).json
        return body, [q for q in statements if not q.startswith("BEGIN")]

    add(3)
    few_body, few = measure()
    add(9)
    many_body, many = measure()
    assert few_body["total"] == 3 and many_body["total"] == 12
    assert len(few) == len(many) <= 12, many


def test_no_server_error_for_odd_input(client, world):
    odd = [("guests", "%EF%BC%92"), ("arrival", "2030-13-01"), ("page", "99999999999"), ("max_guests", "0"),
           ("sort", "%3Cscript%3E"), ("departure", "9999-12-31"), ("arrival", "0000-01-01"), ("rooms", "1.5")]
    for key, value in odd:
        for path in ("/search", "/search.json"):
            resp = client.get(url(world, path=path, **{key: value}))
            assert resp.status_code == 422, (key, value, resp.status_code)
            assert_no_trace(resp.get_data(as_text=True))
            assert "<script>" not in resp.get_data(as_text=True)
    for office in ("-1", "1e3", "99999999999", "%00"):
        for path in ("/search", "/search.json"):
            resp = client.get(url(world, path=path, office=None) + "&office=" + office)
            assert resp.status_code in (404, 422), (office, resp.status_code)


def test_the_host_sets_the_type_of_a_new_category_and_the_search_filters_by_it(host, world, db_session):
    page = host.get(f"/p/{world.A.slug}/settings").get_data(as_text=True)
    assert 'name="c-kind"' in page and '<option value="apartment">Apartment</option>' in page
    assert host.post(f"/p/{world.A.slug}/categories", data={
        "c-name": "Fewo Bergblick", "c-max_guests": "4", "c-unit_names": "F1", "c-kind": "apartment"}).status_code == 303
    bad = host.post(f"/p/{world.A.slug}/categories", data={
        "c-name": "Burg", "c-max_guests": "4", "c-unit_names": "B1", "c-kind": "castle"})
    assert bad.status_code == 422
    with db_session() as s:
        from services.models import NightRate, RoomCategory
        import sqlalchemy as sa

        cat = s.scalar(sa.select(RoomCategory).where(RoomCategory.name == "Fewo Bergblick"))
        assert cat.kind == "apartment" and s.scalar(sa.select(RoomCategory).where(RoomCategory.name == "Burg")) is None
        s.add_all(NightRate(category_id=cat.id, night=d(k), quota=1, price=Decimal("140.00")) for k in range(10, 12))
        s.commit()
        cat_id = cat.id
    assert f'<select id="kind-{cat_id}" name="kind">' in host.get(f"/p/{world.A.slug}/settings").get_data(as_text=True)
    anon = new_client(host.application)
    body = anon.get(url(world, path="/search.json", kind="apartment")).json
    assert [(r["property"]["slug"], [c["id"] for c in r["categories"]]) for r in body["results"]] == [(world.A.slug, [cat_id])]
    assert anon.get(url(world, path="/search.json", kind="house")).json["results"] == []
    html = anon.get(url(world, kind="apartment")).get_data(as_text=True)
    assert "Fewo Bergblick" in html and "Apartment · up to 4 guests" in html


def test_the_host_changes_a_category_s_type_in_place(host, world, db_session):
    page = host.get(f"/p/{world.A.slug}/settings").get_data(as_text=True)
    assert f'id="kind-{world.A.cat_id}"' in page and '<option value="room" selected>Room</option>' in page
    resp = host.post(f"/p/{world.A.slug}/categories/{world.A.cat_id}/kind", data={"kind": "house"},
                     headers={"HX-Request": "true"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].endswith("/settings#categories")
    page = host.get(f"/p/{world.A.slug}/settings").get_data(as_text=True)
    assert "is now listed as: Holiday house." in page and '<option value="house" selected>Holiday house</option>' in page
    history = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    assert "Type of a room category changed" in history and "Room → Holiday house" in history
    anon = new_client(host.application)
    assert [r["property"]["slug"] for r in anon.get(url(world, path="/search.json", kind="house")).json["results"]] \
        == [world.A.slug]
    bad = host.post(f"/p/{world.A.slug}/categories/{world.A.cat_id}/kind", data={"kind": "castle"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert f'<p class="error" id="kind-{world.A.cat_id}-error">Choose a type from the list.</p>' in html
    assert host.post(f"/p/{world.A.slug}/categories/{world.B.cat_id}/kind", data={"kind": "room"}).status_code == 404
    with db_session() as s:
        from services.models import RoomCategory
        assert s.get(RoomCategory, world.A.cat_id).kind == "house" and s.get(RoomCategory, world.B.cat_id).kind == "room"

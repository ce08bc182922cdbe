"""Arranging photos on the photos page (R71, R73): motive and description with messages next to
the field, the order by buttons and by drag and drop (the posted order), the cover, delete with a
confirmation, the checklist with upload links, staff on the host's behalf in the history, the
office's download, tenant isolation and CSRF; every form without scripts too (303)."""
from __future__ import annotations

import html
import io
import json
import re
import zipfile

import pytest
import sqlalchemy as sa

from portal.extensions import db
from services.core import storage
from services.models import Photo, RoomCategory
from tests.photo_rows import make_photo
from tests.web.conftest import HTMX, csrf_from, field_errors, login, new_client, snapshot


@pytest.fixture
def pics(world, db_session):
    """Property A: three photos (the first the cover); property B: one."""
    with db_session() as s:
        a = [make_photo(s, world.A.id, description=f"Aurora {n}", commit=False).id for n in (1, 2, 3)]
        b = make_photo(s, world.B.id, motive="exterior", description="Birke außen", commit=False).id
        s.commit()
    return {"a": a, "b": b}


def _state(db_session, prop_id):
    with db_session() as s:
        return [(p.id, p.position, p.is_cover) for p in s.scalars(
            sa.select(Photo).where(Photo.property_id == prop_id).order_by(Photo.position, Photo.id))]


def _order(db_session, prop_id):
    return [i for i, _, _ in _state(db_session, prop_id)]


def _photo(db_session, photo_id) -> Photo | None:
    with db_session() as s:
        p = s.get(Photo, photo_id)
        if p is not None:
            s.expunge(p)
        return p


def _details(client, world, photo_id, htmx=True, slug=None, **form):
    data = {"motive": "", "category_id": "", "description": ""}
    data.update(form)
    return client.post(f"/p/{slug or world.A.slug}/photos/{photo_id}/details", data=data, headers=HTMX if htmx else {})


def _post(client, url, htmx=True, **kw):
    return client.post(url, headers={**(HTMX if htmx else {}), **kw.pop("headers", {})}, **kw)


def _card(html: str, photo_id: int) -> str:
    start = html.index(f'id="photo-{photo_id}"')
    return html[start:html.index("</li>", start)]


# -- the page -------------------------------------------------------------------------------------

def test_the_photos_page_shows_cards_and_the_checklist(host, world, pics):
    page = host.get(f"/p/{world.A.slug}/photos").get_data(as_text=True)
    a1, a2, a3 = pics["a"]
    first = _card(page, a1)
    assert "Cover photo" in first and "Make cover" not in first
    assert re.search(r'<button id="photo%s-up"[^>]*disabled' % a1, first)  # the first cannot go up
    assert f'src="/p/{world.A.slug}/photos/{a1}/thumb"' in first and 'alt="Aurora 1"' in first
    last = _card(page, a3)
    assert re.search(r'<button id="photo%s-down"[^>]*disabled' % a3, last) and "Make cover" in last
    assert 'hx-confirm="Delete photo 3? This cannot be undone."' in last
    assert "Photo 2 of 3" in page and 'data-drag-handle' in page
    assert "js/photo_order.js" in page
    # The checklist: nothing has a motive yet; each missing motive links to the upload for it.
    assert 'id="photo-checklist"' in page
    assert "5 motives still have no photo." in page  # interior, the one room category, view, exterior, feature
    assert f'href="/p/{world.A.slug}/photos?motive=view#photo-upload"' in page
    assert f'href="/p/{world.A.slug}/photos?motive=room&amp;category={world.A.cat_id}#photo-upload"' in page
    assert "Only if you offer breakfast or meals." in page
    # Property B's photo is not on A's page.
    assert "Birke außen" not in page and f'id="photo-{pics["b"]}"' not in page


def test_the_page_without_photos_shows_the_empty_state(host, world):
    page = host.get(f"/p/{world.A.slug}/photos").get_data(as_text=True)
    assert 'id="photo-grid"' in page and "No photos yet." in page
    assert 'id="photo-checklist"' in page


# -- motive and description -----------------------------------------------------------------------

def test_save_a_photo_in_place_and_the_checklist_comes_along(host, world, pics, db_session):
    a1 = pics["a"][0]
    resp = _details(host, world, a1, motive="room", category_id=str(world.A.cat_id), description="Doppelzimmer mit Balkon")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert body.lstrip().startswith('<div class="photo-grid" id="photo-grid"')  # the grid only, no page
    assert "<html" not in body and "js/photo_order.js" not in body
    assert "Photo saved." in body
    assert re.search(r'<section [^>]*id="photo-checklist"[^>]* hx-swap-oob="true"', body)  # the checklist out of band
    room = body[body.index(f'data-category="{world.A.cat_id}"'):]
    assert room[:room.index("</li>")].count("1 photo") == 1
    p = _photo(db_session, a1)
    assert (p.motive, p.category_id, p.description) == ("room", world.A.cat_id, "Doppelzimmer mit Balkon")
    card = _card(body, a1)
    assert 'alt="Doppelzimmer mit Balkon"' in card
    assert re.search(r'<option value="room"\s+selected', card)


@pytest.mark.parametrize("form, field, message", [
    ({"motive": ""}, "motive", "Choose what the photo shows."),
    ({"motive": "pool"}, "motive", "Choose one of the motives in the list."),
    ({"motive": "room"}, "category_id", "Choose the room category this photo shows."),
    ({"motive": "view", "description": "x" * 301}, "description", "At most 300 characters."),
])
def test_refused_changes_show_the_message_next_to_the_field(app, host, world, pics, form, field, message):
    a2 = pics["a"][1]
    before = snapshot(app)
    resp = _details(host, world, a2, **form)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert field_errors(body, f"photo{a2}-{field}") == [message]
    assert "The photo was not saved" in body
    if "description" in form:
        assert f'value="{"x" * 301}"' in _card(body, a2)  # what was typed stays
    assert snapshot(app) == before


def test_a_category_of_another_property_is_refused(host, world, pics, db_session):
    with db_session() as s:
        b_cat = s.scalar(sa.select(RoomCategory.id).where(RoomCategory.property_id == world.B.id))
    resp = _details(host, world, pics["a"][0], motive="room", category_id=str(b_cat))
    assert resp.status_code == 422
    assert field_errors(html.unescape(resp.get_data(as_text=True)), f"photo{pics['a'][0]}-category_id") == [
        "Choose one of this property's room categories."]


def test_without_scripts_save_redirects_and_a_refusal_renders_a_page(host, world, pics, db_session):
    a1 = pics["a"][0]
    resp = _details(host, world, a1, htmx=False, motive="view", description="Blick auf den Wank")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/p/{world.A.slug}/photos#photo-{a1}")
    assert "Photo saved." in host.get(f"/p/{world.A.slug}/photos").get_data(as_text=True)
    assert _photo(db_session, a1).motive == "view"
    resp = _details(host, world, a1, htmx=False, motive="room")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<html" in page and "Back to the photos page" in page
    assert field_errors(page, f"photo{a1}-category_id") == ["Choose the room category this photo shows."]


# -- the order ------------------------------------------------------------------------------------

def test_move_up_and_down_by_buttons(host, world, pics, db_session):
    a1, a2, a3 = pics["a"]
    url = f"/p/{world.A.slug}/photos"
    resp = _post(host, f"{url}/{a3}/move/up")
    assert resp.status_code == 200 and "Photo moved to place 2 of 3." in resp.get_data(as_text=True)
    assert _order(db_session, world.A.id) == [a1, a3, a2]
    resp = _post(host, f"{url}/{a1}/move/up")  # the first up: nothing changes
    assert resp.status_code == 200 and _order(db_session, world.A.id) == [a1, a3, a2]
    resp = _post(host, f"{url}/{a1}/move/down", htmx=False)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"#photo-{a1}")
    assert _order(db_session, world.A.id) == [a3, a1, a2]
    assert host.post(f"{url}/{a1}/move/left").status_code == 404


@pytest.mark.parametrize("how", ["form", "repeated", "json", "json_object"])
def test_reorder_by_drag_and_drop(host, world, pics, db_session, how):
    a1, a2, a3 = pics["a"]
    url = f"/p/{world.A.slug}/photos/order"
    new = [a2, a3, a1]
    if how == "form":
        resp = _post(host, url, data={"order": ",".join(map(str, new))})
    elif how == "repeated":
        resp = _post(host, url, data={"order": [str(i) for i in new]})
    elif how == "json":
        resp = _post(host, url, json=new)
    else:
        resp = _post(host, url, json={"order": new})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert "New order saved." in resp.get_data(as_text=True)
    assert _state(db_session, world.A.id) == [(a2, 0, False), (a3, 1, False), (a1, 2, True)]


@pytest.mark.parametrize("order", ["", "1,2", "abc", "same-twice", "with-b"])
def test_reorder_with_a_wrong_set_is_refused(app, host, world, pics, order):
    a1, a2, a3 = pics["a"]
    order = {"same-twice": f"{a1},{a1},{a2}", "with-b": f"{a1},{a2},{pics['b']}", "1,2": f"{a1},{a2}"}.get(order, order)
    before = snapshot(app)
    resp = _post(host, f"/p/{world.A.slug}/photos/order", data={"order": order})
    assert resp.status_code == 422
    assert "The order must name each photo of this property exactly once" in resp.get_data(as_text=True)
    assert snapshot(app) == before
    assert _post(host, f"/p/{world.A.slug}/photos/order", json={"order": "nope"}).status_code == 422


# -- the cover, delete ------------------------------------------------------------------------------

def test_make_cover(host, world, pics, db_session):
    a1, a2, a3 = pics["a"]
    resp = _post(host, f"/p/{world.A.slug}/photos/{a3}/cover")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "This photo is the cover now." in body
    assert "Cover photo" in _card(body, a3) and "Cover photo" not in _card(body, a1)
    assert [c for _, _, c in _state(db_session, world.A.id)] == [False, False, True]
    assert _post(host, f"/p/{world.A.slug}/photos/{a2}/cover", htmx=False).status_code == 303
    assert [c for _, _, c in _state(db_session, world.A.id)] == [False, True, False]


def test_delete_asks_first_and_the_cover_moves_on(host, world, pics, db_session):
    a1, a2, a3 = pics["a"]
    photo = _photo(db_session, a1)
    store = storage.current()
    assert store.exists(photo.web_key)
    # Without scripts the first POST asks on a page of its own; nothing is deleted yet.
    resp = _post(host, f"/p/{world.A.slug}/photos/{a1}/delete", htmx=False)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Delete photo 1?" in page and "the next photo becomes the cover" in page
    assert 'name="confirm" value="yes"' in page
    assert _order(db_session, world.A.id) == [a1, a2, a3]
    resp = _post(host, f"/p/{world.A.slug}/photos/{a1}/delete", htmx=False, data={"confirm": "yes"})
    assert resp.status_code == 303
    assert "Photo deleted. Photo 1 is the cover now." in host.get(f"/p/{world.A.slug}/photos").get_data(as_text=True)
    assert _state(db_session, world.A.id) == [(a2, 0, True), (a3, 1, False)]
    assert not store.exists(photo.web_key) and not store.exists(photo.original_key) and not store.exists(photo.thumb_key)
    # htmx asked already (hx-confirm): the POST deletes.
    resp = _post(host, f"/p/{world.A.slug}/photos/{a3}/delete")
    assert resp.status_code == 200 and "Photo deleted." in resp.get_data(as_text=True)
    assert _state(db_session, world.A.id) == [(a2, 0, True)]
    resp = _post(host, f"/p/{world.A.slug}/photos/{a2}/delete")
    assert "No photos yet." in resp.get_data(as_text=True) and _state(db_session, world.A.id) == []


# -- the history --------------------------------------------------------------------------------------

def test_staff_arrange_for_their_host_and_the_history_says_so(client, world, pics, db_session):
    a1, a2, a3 = pics["a"]
    login(client, world.staff1)
    assert _details(client, world, a1, motive="exterior", description="Das Haus im Winter").status_code == 200
    assert _post(client, f"/p/{world.A.slug}/photos/{a3}/move/up").status_code == 200
    assert _post(client, f"/p/{world.A.slug}/photos/order", data={"order": f"{a2},{a1},{a3}"}).status_code == 200
    assert _post(client, f"/p/{world.A.slug}/photos/{a2}/cover").status_code == 200
    assert _post(client, f"/p/{world.A.slug}/photos/{a3}/delete").status_code == 200
    host = new_client(client.application)
    login(host, world.host_a)
    history = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    for label, detail in [("Photo described", "Photo 1: Motive: – → House from outside; Description: “Aurora 1” → “Das Haus im Winter”"),
                          ("Photo moved", "Photo 3 → place 2"),
                          ("Photos put in a new order", "3 of 3 photos in a new place"),
                          ("New cover photo", "Photo 1 “Aurora 2” · before: photo 2"),
                          ("Photo deleted", "Photo 3 “Aurora 3”")]:
        i = history.index(label)
        row = history[history.rindex("<tr", 0, i):history.index("</tr>", i)]
        assert world.staff1.name in row and f"Tourist office, on behalf of {world.host_a.name}" in row, label
        assert detail in row, (label, row)


# -- tenant isolation, CSRF -----------------------------------------------------------------------------

def _actions(slug, photo_id):
    return [(f"/p/{slug}/photos/{photo_id}/details", {"motive": "view"}),
            (f"/p/{slug}/photos/{photo_id}/move/down", {}),
            (f"/p/{slug}/photos/{photo_id}/move/up", {}),
            (f"/p/{slug}/photos/{photo_id}/cover", {}),
            (f"/p/{slug}/photos/{photo_id}/delete", {"confirm": "yes"}),
            (f"/p/{slug}/photos/order", {"order": str(photo_id)})]


@pytest.mark.parametrize("who, status", [("host_b", 403), ("staff2", 403), ("host_c", 403)])
def test_another_host_or_office_cannot_touch_the_photos(app, client, world, pics, who, status):
    login(client, getattr(world, who))
    before = snapshot(app)
    for url, data in _actions(world.A.slug, pics["a"][1]):
        for htmx in (True, False):
            assert _post(client, url, htmx=htmx, data=data).status_code == status, (who, url)
    assert snapshot(app) == before


def test_another_propertys_photo_under_ones_own_is_not_found(app, host, world, pics):
    before = snapshot(app)
    for url, data in _actions(world.A.slug, pics["b"])[:-1]:
        assert _post(host, url, data=data).status_code == 404, url
    assert snapshot(app) == before


def test_anonymous_is_sent_to_log_in(app, client, world, pics):
    for url, data in _actions(world.A.slug, pics["a"][0]):
        resp = client.post(url, data=data)
        assert resp.status_code in (302, 401), url
    assert client.get("/office/photos.zip").status_code in (302, 401)


def test_csrf_is_required(csrf_app, world, pics, db_session):
    c = new_client(csrf_app)
    token = csrf_from(c.get("/login").get_data(as_text=True))
    assert c.post("/login", data={"email": world.host_a.email, "password": "secret-password",
                                  "csrf_token": token}).status_code == 302
    a1, a2, a3 = pics["a"]
    for url, data in _actions(world.A.slug, a2):
        assert c.post(url, data=data, headers=HTMX).status_code == 400, url
    assert _order(db_session, world.A.id) == [a1, a2, a3]
    page = c.get(f"/p/{world.A.slug}/photos").get_data(as_text=True)
    token = csrf_from(page)
    assert c.post(f"/p/{world.A.slug}/photos/{a3}/move/up", data={"csrf_token": token}).status_code == 303
    assert c.post(f"/p/{world.A.slug}/photos/order", json=[a3, a2, a1],
                  headers={**HTMX, "X-CSRFToken": token}).status_code == 200
    assert _order(db_session, world.A.id) == [a3, a2, a1]
    with csrf_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_grid_answer_costs_the_same_queries_with_more_photos(host, world, pics, db_session, count_queries):
    def cost():
        with count_queries() as statements:
            assert _post(host, f"/p/{world.A.slug}/photos/{pics['a'][0]}/move/down").status_code == 200
        return len(statements)

    few = cost()
    with db_session() as s:
        for _ in range(6):
            make_photo(s, world.A.id, motive="room", category_id=world.A.cat_id, commit=False)
        s.commit()
    assert cost() == few


# -- the office's download (R73) --------------------------------------------------------------------------

def _zip_names(client, url: str) -> list[str]:
    with client.get(url) as resp:  # closed: the zip's spooled file goes with the response
        assert resp.status_code == 200, resp.status_code
        return sorted(zipfile.ZipFile(io.BytesIO(resp.data)).namelist())


def test_office_download_has_its_active_properties_photos(app, client, world, pics, db_session):
    with db_session() as s:
        make_photo(s, world.C.id, motive="view")  # contract not active: not handed out
    login(client, world.staff1)
    hosts = client.get("/office").get_data(as_text=True)
    assert 'href="/office/photos.zip"' in hosts and "Download photos" in hosts
    with client.get("/office/photos.zip") as resp:
        assert resp.status_code == 200 and resp.mimetype == "application/zip"
        assert "attachment" in resp.headers["Content-Disposition"] and "no-store" in resp.headers["Cache-Control"]
    assert _zip_names(client, "/office/photos.zip") == [
        "haus-a/01-photo.webp", "haus-a/02-photo.webp", "haus-a/03-photo.webp", "haus-b/01-exterior.webp", "photos.csv"]
    assert "haus-b/original/01-exterior.jpg" in _zip_names(client, "/office/photos.zip?originals=1")

    other = new_client(app)
    login(other, world.staff2)
    assert _zip_names(other, "/office/photos.zip") == ["photos.csv"]
    admin = new_client(app)
    login(admin, world.admin)
    assert admin.get("/office/photos.zip").status_code == 404  # which office?
    assert "haus-b/01-exterior.webp" in _zip_names(admin, f"/office/photos.zip?office={world.offices[1]}")
    host = new_client(app)
    login(host, world.host_a)
    assert host.get("/office/photos.zip").status_code == 403


ODD = ["\x00", "a\x00b", "x" * 5000, "\r\n", "\u2028", "-1", "0", "2147483648", "99999999999999999999", "1e9",
       "room", "[]", "{}", "😀" * 301]


@pytest.mark.parametrize("value", ODD)
def test_odd_input_never_breaks_and_a_refusal_writes_nothing(app, host, world, pics, value):
    a1 = pics["a"][0]
    for field in ("motive", "category_id", "description"):
        before = snapshot(app)
        form = {"motive": "room", "category_id": str(world.A.cat_id), "description": "ok", field: value}
        resp = _details(host, world, a1, **form)
        assert resp.status_code in (200, 400, 422), (field, value, resp.status_code)
        if resp.status_code != 200:
            assert snapshot(app) == before, (field, value)
    for data in ({"order": value}, {"order": [value, value]}):
        before = snapshot(app)
        resp = _post(host, f"/p/{world.A.slug}/photos/order", data=data)
        assert resp.status_code in (400, 422), (value, resp.status_code)
        assert snapshot(app) == before
    before = snapshot(app)
    resp = _post(host, f"/p/{world.A.slug}/photos/order", data=json.dumps({"order": [value]}),
                 headers={"Content-Type": "application/json"})
    assert resp.status_code in (400, 422) and snapshot(app) == before


def test_staff_upload_for_their_host_is_in_the_history_on_behalf(app, client, world, db_session):
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    from tests.web import photo_images

    login(client, world.staff1)
    # Built in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(MultiDict([
        ("photos", FileStorage(io.BytesIO(photo_images.jpeg(seed=7)), "garten.jpg")),
        ("photos", FileStorage(io.BytesIO(photo_images.jpeg(2047, 1536, seed=8)), "klein.jpg")),
        ("confirm_no_text", "y")]))
    resp = client.post(f"/p/{world.A.slug}/photos", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 200
    host = new_client(app)
    login(host, world.host_a)
    history = host.get(f"/p/{world.A.slug}/history").get_data(as_text=True)
    i = history.index("Photos uploaded")
    row = history[history.rindex("<tr", 0, i):history.index("</tr>", i)]
    assert world.staff1.name in row and f"Tourist office, on behalf of {world.host_a.name}" in row
    assert "1 photo accepted, 1 refused" in row

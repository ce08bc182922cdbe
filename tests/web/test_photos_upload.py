"""The photos page and its upload (issue 13): the field `photos` (several files at once), each
file answered on its own, the confirmation `confirm_no_text` (R72), the route's own request size
limit with a message in words (also over a real socket: no connection reset), escaping."""
from __future__ import annotations

import contextlib
import http.client
import re
import threading
import uuid

import pytest
import sqlalchemy as sa
from werkzeug.serving import WSGIRequestHandler, make_server

from portal.blueprints.photos.upload import MB, ROUTE_LIMIT
from services.models import Photo
from tests.factories import PASSWORD
from tests.web import photo_images as images
from tests.web.conftest import HTMX, assert_no_trace, csrf_from, login, new_client, snapshot

TEXT_AS_JPG = b"Zimmer frei! Tel. +49 8821 1234\n" * 20


def _photos(db_session, prop_id):
    with db_session() as s:
        return list(s.scalars(sa.select(Photo).where(Photo.property_id == prop_id).order_by(Photo.id)))


def _results(html: str) -> list[str]:
    """The per-file result items of the results list, as markup."""
    m = re.search(r'<ul class="upload-results plain" id="upload-results"[^>]*>(.*?)</ul>\s*</section>', html, re.S)
    block = m.group(1) if m else html
    return re.findall(r'<li class="upload-result (?:ok|refused)".*?</div>\s*</li>|<li class="upload-result refused" role="alert".*?</li>',
                      block, re.S)


def _upload(client, slug, files, confirm=True, headers=None, **fields):
    if confirm:
        fields["confirm_no_text"] = "y"
    body, content_type = images.multipart(files, **fields)
    return client.post(f"/p/{slug}/photos", data=body, content_type=content_type, headers=headers)


def test_the_page_has_the_form_for_phone_and_desktop(host, world):
    resp = host.get(f"/p/{world.A.slug}/photos")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and world.A.name in body
    form = re.search(r"<form method=\"post\"[^>]*enctype=\"multipart/form-data\"[^>]*>", body, re.S).group(0)
    assert 'hx-encoding="multipart/form-data"' in form and "data-photo-upload" in form
    file_input = re.search(r'<input id="photos-input"[^>]*>', body, re.S).group(0)
    assert 'type="file"' in file_input and 'name="photos"' in file_input
    assert 'accept="image/*' in file_input and "multiple" in file_input
    assert 'name="confirm_no_text"' in body
    assert "/static/js/photos.js" in body
    assert resp.headers["Cache-Control"] == "no-store"


def test_german_by_default(client, world, db_session):
    with db_session() as s:
        s.execute(sa.text("UPDATE user_account SET locale = 'de' WHERE email = :e"), {"e": world.host_a.email})
        s.commit()
    login(client, world.host_a)
    body = client.get(f"/p/{world.A.slug}/photos").get_data(as_text=True)
    assert '<html lang="de">' in body


def test_good_and_bad_files_in_one_request_each_get_their_answer(host, world, db_session):
    """Without JavaScript: one POST, the whole page, one answer per file; the good one is kept."""
    resp = _upload(host, world.A.slug, [
        ("garten.jpg", images.jpeg(2048, 1536, seed=11)),
        ("schmal.jpg", images.jpeg(2047, 1536, seed=12)),
        ("flach.jpg", images.jpeg(2048, 1535, seed=13)),
        ("notiz.jpg", TEXT_AS_JPG),
        ("grafik.jpg", images.png(2048, 1536, seed=14)),  # a PNG named .jpg: by content, accepted
    ])
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200, body[:3000]
    assert body.lstrip().lower().startswith("<!doctype html>")  # the whole page
    assert_no_trace(body)
    items = _results(body)
    assert len(items) == 5, items
    by_name = {re.search(r'class="file-name">(.*?)<', i).group(1): i for i in items}
    assert 'upload-result ok' in by_name["garten.jpg"] and "<img" in by_name["garten.jpg"]
    assert 'upload-result ok' in by_name["grafik.jpg"]
    assert 'upload-result refused' in by_name["schmal.jpg"] and "2047 x 1536 px" in by_name["schmal.jpg"]
    assert 'upload-result refused' in by_name["flach.jpg"] and "2048 x 1535 px" in by_name["flach.jpg"]
    assert 'upload-result refused' in by_name["notiz.jpg"] and "JPEG" in by_name["notiz.jpg"]
    photos = _photos(db_session, world.A.id)
    assert len(photos) == 2
    for p in photos:  # each accepted file's thumbnail is on the page
        assert f"/p/{world.A.slug}/photos/{p.id}/thumb" in body


def test_a_larger_upload_than_the_apps_1_mib_passes_on_this_route_only(host, world, db_session):
    big = images.png(2048, 1536, seed=21)
    assert len(big) > MB  # over the app-wide limit
    resp = _upload(host, world.A.slug, [("gross.png", big)])
    assert resp.status_code == 200
    assert len(_photos(db_session, world.A.id)) == 1
    # Any other form keeps the app's limit.
    other = host.post(f"/p/{world.A.slug}/settings", data={"p-name": "x" * (MB + 10)})
    assert other.status_code == 413


def test_without_the_confirmation_nothing_is_stored_and_the_field_says_why(app, host, world, db_session):
    before = snapshot(app)
    resp = _upload(host, world.A.slug, [("garten.jpg", images.jpeg(seed=31))], confirm=False)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert snapshot(app) == before
    error = re.search(r'<p class="error" id="confirm_no_text-error"( hidden)?>(.*?)</p>', body, re.S)
    assert error and not error.group(1) and error.group(2).strip()
    assert 'aria-invalid="true"' in re.search(r'<input type="checkbox" name="confirm_no_text"[^>]*>', body, re.S).group(0)
    assert _photos(db_session, world.A.id) == []


def test_without_a_file_the_field_says_so(app, host, world):
    before = snapshot(app)
    resp = host.post(f"/p/{world.A.slug}/photos", data={"confirm_no_text": "y"}, content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert '<p class="error" id="photos-error">' in body
    assert snapshot(app) == before


def test_one_file_per_htmx_request_answers_with_its_item_only(host, world, db_session):
    """What photos.js sends: one file, HX-Request; the answer is the file's list item."""
    ok = _upload(host, world.A.slug, [("balkon.jpg", images.jpeg(seed=41))], headers=HTMX)
    body = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "<html" not in body
    assert body.strip().startswith('<li class="upload-result ok"') and "balkon.jpg" in body
    small = _upload(host, world.A.slug, [("klein.jpg", images.jpeg(1024, 768, seed=42))], headers=HTMX)
    body = small.get_data(as_text=True)
    assert small.status_code == 200 and "<html" not in body
    assert 'upload-result refused' in body and "1024 x 768 px" in body
    unconfirmed = _upload(host, world.A.slug, [("b.jpg", images.jpeg(seed=43))], confirm=False, headers=HTMX)
    body = unconfirmed.get_data(as_text=True)
    assert unconfirmed.status_code == 422 and 'data-field="confirm_no_text"' in body
    assert len(_photos(db_session, world.A.id)) == 1


@pytest.mark.parametrize("name", ['<img src=x onerror="alert(1)">.jpg', "'><svg onload=alert(1)>.jpg"])
def test_the_file_name_is_escaped_in_every_answer(host, world, name):
    for headers in (None, HTMX):
        for content in (TEXT_AS_JPG, images.jpeg(seed=51)):
            resp = _upload(host, world.A.slug, [(name, content)], headers=headers)
            body = resp.get_data(as_text=True)
            assert "<svg onload" not in body and "<img src=x" not in body
            assert "&lt;" in body


def test_a_body_over_the_routes_limit_gets_the_message(app, host, world):
    """The size is refused before anything is read (the Content-Length says it)."""
    before = snapshot(app)
    for headers, full in ((None, True), (HTMX, False)):
        resp = host.post(f"/p/{world.A.slug}/photos", data={"confirm_no_text": "y"},
                         content_type="multipart/form-data", headers=headers,
                         environ_overrides={"CONTENT_LENGTH": str(ROUTE_LIMIT + 1)})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 413
        assert f"The upload is larger than {ROUTE_LIMIT // MB} MB: upload fewer photos at once." in body
        assert ("<html" in body) == full
        assert_no_trace(body)
    assert snapshot(app) == before


def test_the_checklists_link_files_the_upload_under_its_motive(host, world, db_session):
    page = host.get(f"/p/{world.A.slug}/photos?motive=room&category={world.A.cat_id}").get_data(as_text=True)
    assert '<input type="hidden" name="motive" value="room">' in page
    assert f'<input type="hidden" name="category_id" value="{world.A.cat_id}">' in page
    resp = _upload(host, world.A.slug, [("zimmer.jpg", images.jpeg(seed=61))], motive="room",
                   category_id=str(world.A.cat_id))
    assert resp.status_code == 200
    (photo,) = _photos(db_session, world.A.id)
    assert (photo.motive, photo.category_id) == ("room", world.A.cat_id)
    # Another property's category is no preselection.
    page = host.get(f"/p/{world.A.slug}/photos?motive=room&category={world.B.cat_id}").get_data(as_text=True)
    assert '<input type="hidden" name="motive"' not in page


def test_staff_upload_for_their_host(client, world, db_session):
    login(client, world.staff1)
    resp = _upload(client, world.A.slug, [("haus.jpg", images.jpeg(seed=71))])
    assert resp.status_code == 200
    (photo,) = _photos(db_session, world.A.id)
    assert photo.uploaded_by_id == world.staff1.id


# -- over a real socket ------------------------------------------------------------------------

class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@contextlib.contextmanager
def _live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def _login_cookie(port, email) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = f"email={email}&password={PASSWORD}".replace("@", "%40")
    conn.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 302
    cookie = resp.getheader("Set-Cookie").split(";")[0]
    conn.close()
    return cookie


def _post_streamed(port, path, cookie, file_size: int, name: str = "gross.jpg", head: bytes = b"") -> tuple[int, str]:
    """A multipart POST whose file part is `file_size` bytes (`head`, then zeros), sent in chunks."""
    boundary = uuid.uuid4().hex
    start = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"confirm_no_text\"\r\n\r\ny\r\n"
             f"--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"{name}\"\r\n"
             "Content-Type: image/jpeg\r\n\r\n").encode()
    end = f"\r\n--{boundary}--\r\n".encode()

    def chunks():
        yield start
        yield head
        left = file_size - len(head)
        block = b"\0" * MB
        while left > 0:
            yield block[:min(MB, left)]
            left -= MB
        yield end

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", path, body=chunks(), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie,
        "Content-Length": str(len(start) + file_size + len(end))})
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    return resp.status, text


def test_over_a_real_socket_a_26_mb_file_and_a_too_large_body_get_messages(make_app, world):
    """A 26 MB file is under the route's limit: the per-file rule answers it. A body over the
    route's limit is answered 413 with the message, after the body was read: no reset."""
    app = make_app()
    with _live(app) as port:
        cookie = _login_cookie(port, world.host_a.email)
        status, body = _post_streamed(port, f"/p/{world.A.slug}/photos", cookie, 26 * MB,
                                      head=images.jpeg(seed=81))
        assert status == 200, body[:2000]
        item = _results(body)
        assert len(item) == 1 and "upload-result refused" in item[0] and "gross.jpg" in item[0]
        assert "25 MB" in item[0] or "26" in item[0]
        status, body = _post_streamed(port, f"/p/{world.A.slug}/photos", cookie, ROUTE_LIMIT + MB)
        assert status == 413
        assert f"The upload is larger than {ROUTE_LIMIT // MB} MB: upload fewer photos at once." in body
        assert world.A.name in body  # the page again, with the form


def test_the_property_must_be_open_to_the_uploader(client, world, db_session):
    login(client, world.host_b)
    resp = _upload(client, world.A.slug, [("x.jpg", images.jpeg(seed=91))])
    assert resp.status_code in (403, 404)
    assert _photos(db_session, world.A.id) == []


def test_the_upload_needs_the_csrf_token(csrf_app, world, db_session):
    from portal.extensions import db

    c = new_client(csrf_app)
    try:
        token = csrf_from(c.get("/login").get_data(as_text=True))
        assert c.post("/login", data={"email": world.host_a.email, "password": PASSWORD,
                                      "csrf_token": token}).status_code == 302
        body, content_type = images.multipart([("garten.jpg", images.small_jpeg())], confirm_no_text="y")
        assert c.post(f"/p/{world.A.slug}/photos", data=body, content_type=content_type).status_code == 400
        assert _photos(db_session, world.A.id) == []
        token = csrf_from(c.get(f"/p/{world.A.slug}/photos").get_data(as_text=True))
        body, content_type = images.multipart([("garten.jpg", images.small_jpeg())], confirm_no_text="y",
                                              csrf_token=token)
        assert c.post(f"/p/{world.A.slug}/photos", data=body, content_type=content_type).status_code == 200
        assert len(_photos(db_session, world.A.id)) == 1
    finally:
        with csrf_app.app_context():
            db.session.remove()


def test_the_page_reads_the_same_number_of_queries_for_1_or_6_photos(host, world, db_session, count_queries):
    from tests.photo_rows import make_photo

    counts = []
    for n in (1, 5):
        with db_session() as s:
            for _ in range(n):
                make_photo(s, world.A.id, motive="room", category_id=world.A.cat_id, commit=False)
            s.commit()
        with count_queries() as statements:
            assert host.get(f"/p/{world.A.slug}/photos").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts

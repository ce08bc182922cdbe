"""Serving photo files (issue 13): tenant isolation of every photo URL, the public sizes only for
properties with an active contract and never the original, caching, and no GPS or other EXIF
in any file served."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from services.core import storage
from services.models import Photo, Property
from tests.photo_rows import make_photo
from tests.web import photo_images as images
from tests.web.conftest import HTMX, assert_no_trace, login

VARIANTS = ("thumb", "web", "original")


@pytest.fixture
def photos(world, db_session):
    """One photo (dummy files) in each of the world's properties: key -> photo id."""
    with db_session() as s:
        made = {key: make_photo(s, p.id, description=f"Foto {p.markers[0]}", commit=False)
                for key, p in world.props.items()}
        s.commit()
        return {key: (photo.id, {v: storage.current().get(getattr(photo, f"{v}_key")) for v in VARIANTS})
                for key, photo in made.items()}


@pytest.mark.parametrize("actor,key,allowed", [
    ("host_a", "A", True), ("host_a", "B", False), ("host_a", "C", False),
    ("host_b", "A", False), ("host_b", "B", True),
    ("host_c", "C", False),  # C's contract is not active yet
    ("staff1", "A", True), ("staff1", "B", True), ("staff1", "C", True),
    ("staff2", "A", False), ("staff2", "C", False),
    ("admin", "B", True),
])
def test_only_the_propertys_users_get_its_files(client, world, photos, actor, key, allowed):
    login(client, world.users[actor])
    p = world.props[key]
    photo_id, content = photos[key]
    for variant in VARIANTS:
        resp = client.get(f"/p/{p.slug}/photos/{photo_id}/{variant}")
        if allowed:
            assert resp.status_code == 200
            assert resp.data == content[variant]
            assert resp.headers["Cache-Control"].startswith("private")
            expected = "image/jpeg" if variant == "original" else "image/webp"
            assert resp.headers["Content-Type"] == expected
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        else:
            assert resp.status_code in (403, 404)
            assert resp.data != content[variant] and b"of a photo of property" not in resp.data
            assert resp.headers["Cache-Control"] == "no-store"


def test_another_propertys_photo_under_ones_own_address_is_not_found(client, world, photos):
    """Host A (and staff who may open both) cannot reach B's photo through A's address."""
    for actor in ("host_a", "staff1"):
        login(client, world.users[actor])
        b_id, content = photos["B"]
        for variant in VARIANTS:
            resp = client.get(f"/p/{world.A.slug}/photos/{b_id}/{variant}")
            assert resp.status_code == 404
            assert resp.data != content[variant]
        client.post("/logout")


def test_anonymous_visitors_are_sent_to_the_login(client, world, photos):
    photo_id, _ = photos["A"]
    for variant in VARIANTS:
        resp = client.get(f"/p/{world.A.slug}/photos/{photo_id}/{variant}")
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
        resp = client.get(f"/p/{world.A.slug}/photos/{photo_id}/{variant}", headers=HTMX)
        assert resp.status_code == 401


def test_unknown_variants_and_ids_are_404(host, world, photos):
    photo_id, _ = photos["A"]
    for url in (f"/p/{world.A.slug}/photos/{photo_id}/big", f"/p/{world.A.slug}/photos/2147483646/web",
                f"/p/{world.A.slug}/photos/{photo_id}/original.jpg", f"/p/{world.A.slug}/photos/0/web"):
        assert host.get(url).status_code == 404, url


def test_staff_download_an_original_under_a_generated_name(client, world, photos):
    login(client, world.staff1)
    photo_id, content = photos["A"]
    resp = client.get(f"/p/{world.A.slug}/photos/{photo_id}/original?download=1")
    assert resp.status_code == 200 and resp.data == content["original"]
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f"{world.A.slug}-{photo_id}-original.jpg" in disposition


def test_a_second_request_is_answered_304(host, world, photos):
    photo_id, _ = photos["A"]
    first = host.get(f"/p/{world.A.slug}/photos/{photo_id}/thumb")
    again = host.get(f"/p/{world.A.slug}/photos/{photo_id}/thumb", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_a_missing_file_is_404_not_500(host, world, photos, db_session):
    photo_id, _ = photos["A"]
    with db_session() as s:
        storage.current().delete(s.get(Photo, photo_id).web_key)
    resp = host.get(f"/p/{world.A.slug}/photos/{photo_id}/web")
    assert resp.status_code == 404
    assert_no_trace(resp.get_data(as_text=True))


# -- public ------------------------------------------------------------------------------------

def test_public_sizes_of_a_property_with_an_active_contract(client, world, photos):
    photo_id, content = photos["A"]
    for variant in ("thumb", "web"):
        resp = client.get(f"/public/photos/{photo_id}/{variant}")
        assert resp.status_code == 200 and resp.data == content[variant]
        assert resp.headers["Content-Type"] == "image/webp"
        assert resp.headers["Cache-Control"].startswith("public, max-age=")
        # Sessionless: nothing a shared cache could hand to the next visitor.
        assert "Set-Cookie" not in resp.headers and "Cookie" not in resp.headers.get("Vary", "")


def test_public_sizes_need_no_login_but_a_logged_in_visitor_gets_no_cookie_either(host, world, photos):
    photo_id, _ = photos["B"]
    resp = host.get(f"/public/photos/{photo_id}/web")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers


def test_the_original_is_never_public(client, world, photos):
    for key in ("A", "B", "C"):
        photo_id, content = photos[key]
        resp = client.get(f"/public/photos/{photo_id}/original")
        assert resp.status_code == 404 and resp.data != content["original"]


def test_no_public_files_without_an_active_contract(client, world, photos, db_session):
    photo_id, content = photos["C"]
    for variant in ("thumb", "web"):
        resp = client.get(f"/public/photos/{photo_id}/{variant}")
        assert resp.status_code == 404 and resp.data != content[variant]
        assert resp.headers["Cache-Control"] == "no-store"
    # A contract that ends takes the public files with it.
    with db_session() as s:
        s.get(Property, world.A.id).contract_active_since = None
        s.commit()
    a_id, _ = photos["A"]
    assert client.get(f"/public/photos/{a_id}/web").status_code == 404
    assert client.get("/public/photos/2147483646/web").status_code == 404


# -- no personal metadata in anything served ---------------------------------------------------

def test_gps_in_the_upload_is_in_no_file_stored_or_served(client, world, db_session):
    upload = images.jpeg(2400, 1800, seed=5, gps=True)
    assert images.has_gps(upload)  # the test image really carries GPS
    login(client, world.host_a)
    body, content_type = images.multipart([("urlaub.jpg", upload)], confirm_no_text="y")
    resp = client.post(f"/p/{world.A.slug}/photos", data=body, content_type=content_type)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    with db_session() as s:
        photo = s.scalar(sa.select(Photo).where(Photo.property_id == world.A.id))
        keys = {v: getattr(photo, f"{v}_key") for v in VARIANTS}
    served = {}
    for variant in VARIANTS:
        served[variant] = client.get(f"/p/{world.A.slug}/photos/{photo.id}/{variant}").data
    for variant in ("thumb", "web"):
        served["public-" + variant] = client.get(f"/public/photos/{photo.id}/{variant}").data
    stored = {v: storage.current().get(k) for v, k in keys.items()}
    for name, data in {**served, **{"stored-" + v: d for v, d in stored.items()}}.items():
        assert data[:4] in (b"\xff\xd8\xff\xe0", b"RIFF") or data[:3] == b"\xff\xd8\xff", name
        assert not images.has_gps(data), name
        assert b"PhoneMaker" not in data, name
    assert images.size_of(served["original"]) == (2400, 1800)
    # The key, never the uploaded name, names the files.
    assert all("urlaub" not in k for k in keys.values())
    assert all(re.fullmatch(r"photos/\d+/[0-9a-f]{32}\.(jpg|png|webp)", k) for k in keys.values())

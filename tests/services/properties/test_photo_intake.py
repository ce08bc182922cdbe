"""services.properties.photo_intake: an upload of several photos (R70-R72, issue 13). Each file is
answered on its own, the accepted ones stored without metadata and written as rows (the first
photo of a property its cover), warnings kept, one history line, nothing left behind when the
transaction fails; tenant isolation; staff acting for a host."""
from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from services.accounts import access
from services.core import audit, storage
from services.core.errors import Forbidden, Invalid
from services.models import AuditEntry, Photo
from services.properties import imaging, photo_intake
from services.properties.photo_intake import Upload
from tests.factories import make_office, make_property, make_user
from tests.photo_rows import make_photo
from tests.services.properties import images


@pytest.fixture(autouse=True)
def store(tmp_path):
    """Each test's files in a folder of its own."""
    before = storage._storage
    storage.configure(storage.FolderStorage(str(tmp_path / "uploads")))
    yield storage.current()
    storage.configure(before)


def _files(store) -> list[str]:
    out = []
    for folder, _, names in os.walk(store.root):
        out.extend(os.path.relpath(os.path.join(folder, n), store.root) for n in names)
    return sorted(out)


def _history(session, prop, action="photos_uploaded"):
    return [json.loads(text) for text in session.scalars(
        sa.select(AuditEntry.summary).where(AuditEntry.property_id == prop.id, AuditEntry.action == action)
        .order_by(AuditEntry.id))]


def _photos(session, prop) -> list[Photo]:
    session.expire_all()
    return list(session.scalars(sa.select(Photo).where(Photo.property_id == prop.id).order_by(Photo.position, Photo.id)))


def test_mixed_files_each_get_their_own_answer_and_the_good_ones_go_in(session, store):
    prop = make_property(session, days=0)
    host = prop.owner
    uploads = [
        Upload("IMG_0001.jpg", images.jpeg(exif=images.exif())),  # with GPS
        Upload("small.jpg", images.jpeg(2047, 1536)),
        Upload("screenshot.jpg", images.encode(images.picture(seed=2), "PNG")),  # a PNG named .jpg
        Upload("notes.jpg", b"Tel. 0831 123456\n" * 50),  # text named .jpg
        Upload("IMG_0002.HEIC", images.encode(images.picture(seed=3), "HEIF", exif=images.exif())),
        Upload("huge.jpg", b"", size=26 * 1024 * 1024),  # refused by its size, never read
    ]
    results = photo_intake.accept(session, host, prop, uploads, confirm_no_text=True)
    assert [(r.filename, r.ok, r.code) for r in results] == [
        ("IMG_0001.jpg", True, None), ("small.jpg", False, "too_small"), ("screenshot.jpg", True, None),
        ("notes.jpg", False, "not_an_image"), ("IMG_0002.HEIC", True, None), ("huge.jpg", False, "too_large")]
    assert str(results[1].message) == "2047 x 1536 px: at least 2048 x 1536 px needed."
    assert str(results[5].message) == "26 MB: a photo can be at most 25 MB."
    assert all(r.photo is None for r in results if not r.ok)

    rows = _photos(session, prop)
    assert [(p.position, p.is_cover, p.source_format) for p in rows] == [(0, True, "JPEG"), (1, False, "PNG"),
                                                                          (2, False, "HEIF")]
    assert [r.photo.id for r in results if r.ok] == [p.id for p in rows]
    assert all(p.uploaded_by_id == host.id and p.created_at is not None for p in rows)
    assert rows[0].width == 2048 and rows[0].height == 1536 and rows[0].size_bytes == len(uploads[0].data)
    # generated keys, never the upload's name; the PNG stays a PNG, the HEIC becomes a JPEG
    assert rows[0].original_key.endswith(".jpg") and rows[1].original_key.endswith(".png")
    assert rows[2].original_key.endswith(".jpg")
    for p in rows:
        assert p.original_key.startswith(f"photos/{prop.id}/") and "IMG" not in p.original_key
        assert p.web_key.endswith(".webp") and p.thumb_key.endswith(".webp")
        for key in (p.original_key, p.web_key, p.thumb_key):
            assert images.metadata_of(store.get(key)) == {"exif": {}, "gps": {}, "info": []}
        assert len(p.phash) == 16
    assert len(_files(store)) == 9
    assert _history(session, prop) == [{"accepted": 3, "refused": 3}]


def test_the_confirmation_is_needed_for_the_whole_upload(session, store):
    prop = make_property(session, days=0)
    with pytest.raises(Invalid) as e:
        photo_intake.accept(session, prop.owner, prop, [Upload("a.jpg", images.jpeg())], confirm_no_text=False)
    assert set(e.value.errors) == {"confirm_no_text"}
    assert str(e.value.errors["confirm_no_text"]) == \
        "Please confirm that the photos show no text, captions or contact details."
    assert _photos(session, prop) == [] and _files(store) == []
    with pytest.raises(Invalid) as e:
        photo_intake.accept(session, prop.owner, prop, [], confirm_no_text=True)
    assert set(e.value.errors) == {"photos"}


def test_the_first_photo_becomes_the_cover_and_later_ones_go_last(session, store):
    prop = make_property(session, days=0)
    first = photo_intake.accept(session, prop.owner, prop, [Upload("a.jpg", images.jpeg(seed=1)),
                                                            Upload("b.jpg", images.jpeg(seed=2))], True)
    assert [r.photo.is_cover for r in first] == [True, False]
    later = photo_intake.accept(session, prop.owner, prop, [Upload("c.jpg", images.jpeg(seed=3))], True)
    assert later[0].photo.position == 2 and not later[0].photo.is_cover
    rows = _photos(session, prop)
    assert [p.is_cover for p in rows] == [True, False, False]
    assert session.scalar(sa.select(sa.func.count()).where(Photo.property_id == prop.id, Photo.is_cover)) == 1


def test_uploads_after_arranged_photos_go_after_the_last(session, store):
    prop = make_property(session, days=0)
    make_photo(session, prop.id)
    make_photo(session, prop.id)
    (result,) = photo_intake.accept(session, prop.owner, prop, [Upload("a.jpg", images.jpeg())], True)
    assert result.photo.position == 2 and not result.photo.is_cover


def test_an_upload_with_every_file_refused_changes_nothing(session, store):
    prop = make_property(session, days=0)
    results = photo_intake.accept(session, prop.owner, prop, [Upload("a.gif", images.animated("GIF"))], True)
    assert [r.code for r in results] == ["unsupported_format"]
    assert _photos(session, prop) == [] and _files(store) == [] and _history(session, prop) == []


def test_warnings_are_answered_and_kept_with_the_photo(session, store):
    prop = make_property(session, days=0)
    photo_intake.accept(session, prop.owner, prop, [Upload("first.jpg", images.jpeg(seed=5))], True)
    results = photo_intake.accept(session, prop.owner, prop, [
        Upload("dark.jpg", images.dark()),
        Upload("again.jpg", images.jpeg(seed=5, quality=70)),  # the photo already there, saved again
        Upload("again2.png", images.encode(images.picture(seed=9), "PNG")),
        Upload("again3.jpg", images.jpeg(seed=9)),  # the same as a file earlier in this upload
    ], True)
    warned = {r.filename: [w for w in r.warnings if not w.is_note] for r in results}
    assert [w.code for w in warned["dark.jpg"]] == ["dark"]
    assert [(w.code, w.params["number"]) for w in warned["again.jpg"]] == [("near_duplicate", 1)]
    assert str(warned["again.jpg"][0].message) == "Looks almost the same as photo 1 already there."
    assert warned["again2.png"] == []
    assert [(w.code, w.params["filename"]) for w in warned["again3.jpg"]] == [("near_duplicate", "again2.png")]
    photos_now = _photos(session, prop)
    rows = {p.id: p for p in photos_now}
    kept = [w for w in rows[results[1].photo.id].warnings if w["code"] == "near_duplicate"]
    assert kept == [{"code": "near_duplicate", "photo_id": photos_now[0].id, "number": 1,
                     "distance": kept[0]["distance"]}]
    assert [imaging.Finding.from_stored(w).code for w in rows[results[0].photo.id].warnings] in (
        ["dark"], ["dark", "text_check_skipped"])


def test_a_motive_and_room_category_apply_to_every_accepted_photo(session, store):
    prop = make_property(session, days=0, categories=2)
    cat = prop.categories[1]
    results = photo_intake.accept(session, prop.owner, prop, [Upload("a.jpg", images.jpeg(seed=1)),
                                                              Upload("b.jpg", images.jpeg(seed=2))],
                                  True, motive="room", category_id=str(cat.id))
    assert [(r.photo.motive, r.photo.category_id) for r in results] == [("room", cat.id)] * 2
    (view,) = photo_intake.accept(session, prop.owner, prop, [Upload("c.jpg", images.jpeg(seed=3))], True,
                                  motive="view", category_id=cat.id)
    assert (view.photo.motive, view.photo.category_id) == ("view", None)  # a category only with `room`
    (room,) = photo_intake.accept(session, prop.owner, prop, [Upload("d.jpg", images.jpeg(seed=4))], True,
                                  category_id=cat.id)
    assert (room.photo.motive, room.photo.category_id) == ("room", cat.id)


def test_a_wrong_motive_or_another_property_s_category_is_refused(session, store):
    prop = make_property(session, days=0)
    other = make_property(session, days=0)
    upload = [Upload("a.jpg", images.jpeg())]
    for motive, category, field in (("pool", None, "motive"), ("room", None, "category_id"),
                                    ("room", other.categories[0].id, "category_id"), ("room", "x", "category_id")):
        with pytest.raises(Invalid) as e:
            photo_intake.accept(session, prop.owner, prop, upload, True, motive=motive, category_id=category)
        assert set(e.value.errors) == {field}
    assert _photos(session, prop) == [] and _files(store) == []


def test_another_host_s_property_is_refused(session, store):
    prop = make_property(session, days=0)
    stranger = make_user(session, "host")
    with pytest.raises(Forbidden):
        photo_intake.accept(session, stranger, prop, [Upload("a.jpg", images.jpeg())], True)
    other_office_staff = make_user(session, "staff")
    with pytest.raises(Forbidden):
        photo_intake.accept(session, other_office_staff, prop, [Upload("a.jpg", images.jpeg())], True)
    inactive = make_property(session, days=0, active=False)
    with pytest.raises(Forbidden):
        photo_intake.accept(session, inactive.owner, inactive, [Upload("a.jpg", images.jpeg())], True)
    assert _photos(session, prop) == [] and _files(store) == []


def test_staff_upload_for_their_host_and_the_history_says_so(session, store):
    office = make_office(session)
    prop = make_property(session, days=0, office=office)
    staff = make_user(session, "staff", office=office)
    (result,) = photo_intake.accept(session, staff, prop, [Upload("a.jpg", images.jpeg())], True)
    assert result.ok and result.photo.uploaded_by_id == staff.id
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.property_id == prop.id,
                                                       AuditEntry.action == "photos_uploaded"))
    assert entry.actor_id == staff.id
    assert json.loads(entry.summary) == {"accepted": 1, "refused": 0, "on_behalf_of": prop.owner.name}


def test_a_failed_transaction_leaves_no_file_behind(session, store, monkeypatch):
    prop = make_property(session, days=0)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit, "record", broken)  # fails after the files were put and the rows flushed
    with pytest.raises(RuntimeError):
        photo_intake.accept(session, prop.owner, prop, [Upload("a.jpg", images.jpeg(seed=1)),
                                                        Upload("b.jpg", images.jpeg(seed=2))], True)
    assert _files(store) == []
    assert _photos(session, prop) == []


def test_a_failing_storage_leaves_no_file_and_no_row(session, store, monkeypatch):
    prop = make_property(session, days=0)
    calls = []
    put = store.put

    def put_twice_then_fail(key, data):
        calls.append(key)
        if len(calls) > 4:
            raise OSError("disk full")
        put(key, data)

    monkeypatch.setattr(store, "put", put_twice_then_fail)
    with pytest.raises(OSError):
        photo_intake.accept(session, prop.owner, prop, [Upload("a.jpg", images.jpeg(seed=1)),
                                                        Upload("b.jpg", images.jpeg(seed=2))], True)
    assert len(calls) == 5 and _files(store) == [] and _photos(session, prop) == []


def test_no_transaction_is_held_while_the_images_are_worked_on(session, store, monkeypatch):
    """The caller's read (the property, the actor) is ended before Pillow starts: on SQLite every
    transaction of a POST holds the write lock."""
    prop = make_property(session, days=0)
    prop = access.property_for(session, prop.owner, prop.slug)  # as the web layer loads it
    assert session.in_transaction()
    seen = []
    inspect = imaging.inspect

    def watching(data):
        seen.append(session.in_transaction())
        return inspect(data)

    monkeypatch.setattr(imaging, "inspect", watching)
    (result,) = photo_intake.accept(session, prop.owner, prop, [Upload("a.jpg", images.jpeg())], True)
    assert seen == [False] and result.ok
    assert result.photo.id and result.photo.thumb_key  # kept loaded after the commit


def test_the_shown_file_name_is_only_the_name():
    assert photo_intake._shown_name("C:\\fakepath\\IMG_1.jpg") == "IMG_1.jpg"
    assert photo_intake._shown_name("../../etc/passwd") == "passwd"
    assert photo_intake._shown_name("a\x00b\nc.jpg") == "abc.jpg"
    assert photo_intake._shown_name("") == "?"
    assert len(photo_intake._shown_name("x" * 500 + ".jpg")) == photo_intake.MAX_FILENAME

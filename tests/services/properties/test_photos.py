"""services.properties.photos (R71, R73): motive and description, the order, exactly one cover,
deleting (the cover passes on, the files go), the motives checklist at its edges, staff acting
on the host's behalf, the office's download, tenant isolation."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from services.core import storage
from services.core.errors import Forbidden, Invalid, NotFound
from services.models import AuditEntry, Photo, RoomCategory
from services.properties import photos
from tests.factories import make_office, make_property, make_user
from tests.photo_rows import make_photo


@pytest.fixture(autouse=True)
def store(tmp_path):
    """Each test's files in a folder of its own."""
    before = storage._storage
    storage.configure(storage.FolderStorage(str(tmp_path / "uploads")))
    yield storage.current()
    storage.configure(before)


def _history(session, prop, action):
    return [json.loads(text) for text in session.scalars(
        sa.select(AuditEntry.summary).where(AuditEntry.property_id == prop.id, AuditEntry.action == action)
        .order_by(AuditEntry.id))]


def _state(session, prop):
    """(id, position, is_cover) of the property's photos as the database has them, in order."""
    session.expire_all()
    return [(p.id, p.position, p.is_cover) for p in session.scalars(
        sa.select(Photo).where(Photo.property_id == prop.id).order_by(Photo.position, Photo.id))]


def _covers(session, prop) -> int:
    return session.scalar(sa.select(sa.func.count()).where(Photo.property_id == prop.id, Photo.is_cover))


def _order(session, prop):
    return [i for i, _, _ in _state(session, prop)]


def _three(session, prop):
    return [make_photo(session, prop.id, description=f"Foto {n}").id for n in (1, 2, 3)]


# -- the cover ------------------------------------------------------------------------------------

def test_one_cover_at_all_times(session):
    prop = make_property(session, days=0)
    host = prop.owner
    a, b, c = _three(session, prop)
    assert [cov for _, _, cov in _state(session, prop)] == [True, False, False]  # the first photo

    photos.set_cover(session, host, prop, c)
    assert [cov for _, _, cov in _state(session, prop)] == [False, False, True]
    # A lower id after a higher one: the old cover is cleared first, whatever the flush order.
    photos.set_cover(session, host, prop, a)
    assert [cov for _, _, cov in _state(session, prop)] == [True, False, False]
    photos.set_cover(session, host, prop, a)  # already the cover: nothing changes, no second line
    assert [p["photo"] for p in _history(session, prop, "photo_cover")] == [3, 1]
    assert _history(session, prop, "photo_cover")[1]["before"] == 3

    photos.delete(session, host, prop, a)  # the cover goes: the next photo becomes it
    assert _state(session, prop) == [(b, 0, True), (c, 1, False)]
    photos.set_cover(session, host, prop, c)
    photos.delete(session, host, prop, c)  # the last one was the cover: the one before it
    assert _state(session, prop) == [(b, 0, True)]
    photos.delete(session, host, prop, b)  # no photo, no cover
    assert _state(session, prop) == []
    assert _history(session, prop, "photo_deleted")[0]["cover"] == 1


def test_deleting_a_photo_that_is_not_the_cover_keeps_the_cover(session):
    prop = make_property(session, days=0)
    a, b, c = _three(session, prop)
    photos.set_cover(session, prop.owner, prop, b)
    photos.delete(session, prop.owner, prop, a)
    assert _state(session, prop) == [(b, 0, True), (c, 1, False)]
    assert "cover" not in _history(session, prop, "photo_deleted")[0]


def test_the_database_refuses_a_second_cover(session):
    """The partial unique index stands behind the use cases, on SQLite and PostgreSQL."""
    prop = make_property(session, days=0)
    a, b = make_photo(session, prop.id), make_photo(session, prop.id)
    assert a.is_cover
    b.is_cover = True
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()
    session.rollback()
    assert _covers(session, prop) == 1
    # Another property has its own cover.
    other = make_property(session, days=0)
    assert make_photo(session, other.id).is_cover


def test_deleting_removes_the_row_and_its_three_files(session, store):
    prop = make_property(session, days=0)
    photo = make_photo(session, prop.id, motive="view", description="Blick auf die Zugspitze")
    keys = [photo.original_key, photo.web_key, photo.thumb_key]
    assert all(store.exists(k) for k in keys)
    left = photos.delete(session, prop.owner, prop, photo.id)
    assert left == [] and session.get(Photo, photo.id) is None
    assert not any(store.exists(k) for k in keys)
    line = _history(session, prop, "photo_deleted")[0]
    assert line == {"photo": 1, "motive": "view", "description": "Blick auf die Zugspitze"}


def test_a_missing_file_does_not_stop_the_delete(session, store):
    prop = make_property(session, days=0)
    photo = make_photo(session, prop.id)
    store.delete(photo.web_key)
    photos.delete(session, prop.owner, prop, photo.id)
    assert _state(session, prop) == []


# -- the order ------------------------------------------------------------------------------------

def test_move_up_and_down_and_at_the_edges(session):
    prop = make_property(session, days=0)
    host = prop.owner
    a, b, c = _three(session, prop)
    photos.move(session, host, prop, c, "up")
    assert _order(session, prop) == [a, c, b]
    photos.move(session, host, prop, a, "down")
    assert _order(session, prop) == [c, a, b]
    assert [p for _, p, _ in _state(session, prop)] == [0, 1, 2]
    lines = len(_history(session, prop, "photo_moved"))
    photos.move(session, host, prop, c, "up")  # the first up: nothing changes
    photos.move(session, host, prop, b, "down")  # the last down: nothing changes
    assert _order(session, prop) == [c, a, b]
    assert len(_history(session, prop, "photo_moved")) == lines == 2
    assert _history(session, prop, "photo_moved")[0] == {"photo": 3, "to": 2}
    with pytest.raises(Invalid):
        photos.move(session, host, prop, a, "sideways")


def test_move_mends_ties_that_uploads_left(session):
    prop = make_property(session, days=0)
    a, b, c = _three(session, prop)
    session.execute(sa.update(Photo).where(Photo.property_id == prop.id).values(position=5))
    session.commit()
    photos.move(session, prop.owner, prop, c, "up")
    assert _state(session, prop) == [(a, 0, True), (c, 1, False), (b, 2, False)]


def test_reorder(session):
    prop = make_property(session, days=0)
    a, b, c = _three(session, prop)
    result = photos.reorder(session, prop.owner, prop, [str(c), str(a), str(b)])
    assert [p.id for p in result] == [c, a, b]
    assert _state(session, prop) == [(c, 0, False), (a, 1, True), (b, 2, False)]  # the cover stays the cover
    assert _history(session, prop, "photos_reordered") == [{"photos": 3, "moved": 3}]
    photos.reorder(session, prop.owner, prop, [c, a, b])  # the same order: no second line
    assert len(_history(session, prop, "photos_reordered")) == 1


@pytest.mark.parametrize("wrong", ["missing", "extra", "twice", "foreign", "garbage", "none", "bools", "floats"])
def test_reorder_refuses_anything_but_exactly_the_photos(session, wrong):
    prop = make_property(session, days=0)
    other = make_property(session, days=0)
    a, b, c = _three(session, prop)
    foreign = make_photo(session, other.id).id
    ids = {"missing": [a, b], "extra": [a, b, c, 999999], "twice": [a, b, b], "foreign": [a, b, foreign],
           "garbage": [a, b, "x"], "none": None, "bools": [a, b, True],
           "floats": [float(a), float(b), float(c)]}[wrong]
    with pytest.raises(Invalid) as e:
        photos.reorder(session, prop.owner, prop, ids)
    assert set(e.value.errors) == {"order"}
    assert _order(session, prop) == [a, b, c]
    assert _order(session, other) == [foreign]


# -- motive and description -----------------------------------------------------------------------

def test_update_motive_category_and_description(session):
    prop = make_property(session, days=0, categories=2)
    cat = prop.categories[1]
    photo = make_photo(session, prop.id)
    photos.update(session, prop.owner, prop, photo.id, "room", str(cat.id), "  Doppelzimmer mit Balkon  ")
    session.expire_all()
    photo = session.get(Photo, photo.id)
    assert (photo.motive, photo.category_id, photo.description) == ("room", cat.id, "Doppelzimmer mit Balkon")
    assert _history(session, prop, "photo_changed") == [{"photo": 1, "changes": {
        "motive": [None, "room"], "category": [None, cat.name], "description": ["", "Doppelzimmer mit Balkon"]}}]

    # Another motive names no category: one sent with it (a form without scripts sends it) is dropped.
    photos.update(session, prop.owner, prop, photo.id, "view", cat.id, "Doppelzimmer mit Balkon")
    session.expire_all()
    photo = session.get(Photo, photo.id)
    assert (photo.motive, photo.category_id) == ("view", None)
    assert _history(session, prop, "photo_changed")[1]["changes"] == {"motive": ["room", "view"], "category": [cat.name, None]}
    photos.update(session, prop.owner, prop, photo.id, "view", "", "Doppelzimmer mit Balkon")  # nothing changed
    assert len(_history(session, prop, "photo_changed")) == 2


@pytest.mark.parametrize("motive, category, description, errors", [
    ("", None, "", {"motive": "Choose what the photo shows."}),
    (None, None, "", {"motive": "Choose what the photo shows."}),
    ("pool", None, "", {"motive": "Choose one of the motives in the list."}),
    ("room", None, "", {"category_id": "Choose the room category this photo shows."}),
    ("room", "", "", {"category_id": "Choose the room category this photo shows."}),
    ("room", "abc", "", {"category_id": "Choose one of this property's room categories."}),
    ("room", "other", "", {"category_id": "Choose one of this property's room categories."}),
    ("room", "99999999999", "", {"category_id": "Choose one of this property's room categories."}),
    ("view", None, "x" * 301, {"description": "At most 300 characters."}),
    ("view", None, "Zeile 1\nZeile 2", {"description": "Use a single line without control characters (such as line breaks or tabs)."}),
    ("", None, "x" * 301, {"motive": "Choose what the photo shows.", "description": "At most 300 characters."}),
])
def test_update_errors_by_field_and_nothing_changes(session, motive, category, description, errors):
    prop = make_property(session, days=0)
    other = make_property(session, days=0)
    if category == "other":
        category = str(other.categories[0].id)
    photo = make_photo(session, prop.id, motive="exterior", description="Haus")
    with pytest.raises(Invalid) as e:
        photos.update(session, prop.owner, prop, photo.id, motive, category, description)
    assert {k: str(v) for k, v in e.value.errors.items()} == errors
    session.expire_all()
    assert (session.get(Photo, photo.id).motive, session.get(Photo, photo.id).description) == ("exterior", "Haus")
    assert _history(session, prop, "photo_changed") == []


def test_a_description_of_300_characters_is_fine(session):
    prop = make_property(session, days=0)
    photo = make_photo(session, prop.id)
    photos.update(session, prop.owner, prop, photo.id, "feature", None, "é" * 300)
    session.expire_all()
    assert session.get(Photo, photo.id).description == "é" * 300


# -- the checklist (R71) --------------------------------------------------------------------------

def _missing(session, prop):
    session.expire_all()
    cats = list(session.scalars(sa.select(RoomCategory).where(RoomCategory.property_id == prop.id)
                                .order_by(RoomCategory.position, RoomCategory.id)))
    c = photos.checklist(session, prop, cats)
    return [(i.motive, i.category.name if i.category else None) for i in c.missing], c


def test_checklist_without_photos_lists_everything_but_food(session):
    prop = make_property(session, days=0, categories=2)
    missing, c = _missing(session, prop)
    assert missing == [("interior", None), ("room", "Category 1"), ("room", "Category 2"), ("view", None),
                       ("exterior", None), ("feature", None)]
    food = [i for i in c.items if i.motive == "food"][0]
    assert food.optional and not food.done and str(food.hint) == "Only if you offer breakfast or meals."
    assert not c.complete
    assert [i.motive for i in c.items] == ["interior", "room", "room", "view", "exterior", "food", "feature"]


def test_checklist_complete_and_every_motive_but_one(session):
    prop = make_property(session, days=0, categories=2)
    c1, c2 = prop.categories
    for motive in ("interior", "view", "exterior", "feature"):
        make_photo(session, prop.id, motive=motive)
    make_photo(session, prop.id, motive="room", category_id=c1.id)
    assert _missing(session, prop)[0] == [("room", "Category 2")]
    make_photo(session, prop.id, motive="room", category_id=c2.id)
    missing, c = _missing(session, prop)
    assert missing == [] and c.complete  # complete without food: breakfast only if offered
    assert [i.count for i in c.items if i.motive == "room"] == [1, 1]
    make_photo(session, prop.id, motive="food")
    assert [i.done for i in _missing(session, prop)[1].items] == [True] * 7


def test_a_category_counts_only_with_motive_room(session):
    prop = make_property(session, days=0, categories=1)
    cat = prop.categories[0]
    # A stray category on another motive (written around the use case) does not count for the room.
    make_photo(session, prop.id, motive="interior", category_id=cat.id)
    make_photo(session, prop.id)  # no motive yet
    missing, c = _missing(session, prop)
    assert ("room", "Category 1") in missing and ("interior", None) not in missing


def test_a_new_category_appears_missing(session):
    prop = make_property(session, days=0, categories=1)
    make_photo(session, prop.id, motive="room", category_id=prop.categories[0].id)
    assert ("room", "Category 1") not in _missing(session, prop)[0]
    session.add(RoomCategory(property_id=prop.id, name="Suite", max_guests=4, position=1))
    session.commit()
    assert ("room", "Suite") in _missing(session, prop)[0]


def test_checklist_counts_in_one_query(session, count_queries):
    prop = make_property(session, days=0, categories=3)
    for cat in prop.categories:
        make_photo(session, prop.id, motive="room", category_id=cat.id)
    cats = list(prop.categories)
    with count_queries() as statements:
        photos.checklist(session, prop, cats)
    assert len(statements) == 1


# -- staff for the host, tenant isolation -----------------------------------------------------------

def test_staff_arranging_is_recorded_on_behalf_of_the_host(session):
    office = make_office(session)
    host = make_user(session, "host", name="Hanna Host")
    prop = make_property(session, owner=host, office=office, days=0)
    staff = make_user(session, "staff", office)
    a, b, c = _three(session, prop)
    photos.update(session, staff, prop, a, "exterior", None, "Das Haus im Sommer")
    photos.move(session, staff, prop, c, "up")
    photos.reorder(session, staff, prop, [b, a, c])
    photos.set_cover(session, staff, prop, b)
    photos.delete(session, staff, prop, c)
    lines = session.execute(sa.select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.summary)
                            .where(AuditEntry.property_id == prop.id).order_by(AuditEntry.id)).all()
    assert [a for _, a, _ in lines] == ["photo_changed", "photo_moved", "photos_reordered", "photo_cover", "photo_deleted"]
    assert all(actor == staff.id and json.loads(s)["on_behalf_of"] == "Hanna Host" for actor, _, s in lines)
    # The host's own changes carry no "on behalf".
    photos.move(session, host, prop, a, "up")
    assert _history(session, prop, "photo_moved")[-1] == {"photo": 2, "to": 1}
    assert "on_behalf_of" not in _history(session, prop, "photo_moved")[-1]


def test_tenant_isolation(session):
    office1, office2 = make_office(session), make_office(session)
    prop = make_property(session, office=office1, days=0)
    other = make_property(session, office=office1, days=0)
    inactive = make_property(session, office=office1, days=0, active=False)
    mine = make_photo(session, prop.id)
    theirs = make_photo(session, other.id)
    make_photo(session, inactive.id)
    staff2 = make_user(session, "staff", office2)
    for actor in (other.owner, staff2):  # another host, another office's staff
        for call in (lambda: photos.listing(session, actor, prop),
                     lambda: photos.update(session, actor, prop, mine.id, "view", None, ""),
                     lambda: photos.move(session, actor, prop, mine.id, "down"),
                     lambda: photos.reorder(session, actor, prop, [mine.id]),
                     lambda: photos.set_cover(session, actor, prop, mine.id),
                     lambda: photos.delete(session, actor, prop, mine.id)):
            with pytest.raises(Forbidden):
                call()
    with pytest.raises(Forbidden):  # the contract not active yet: not even the host
        photos.listing(session, inactive.owner, inactive)
    # Another property's photo through one's own property: "not found", like a missing one.
    for call in (lambda: photos.update(session, prop.owner, prop, theirs.id, "view", None, ""),
                 lambda: photos.move(session, prop.owner, prop, theirs.id, "up"),
                 lambda: photos.set_cover(session, prop.owner, prop, theirs.id),
                 lambda: photos.delete(session, prop.owner, prop, theirs.id),
                 lambda: photos.get(session, prop.owner, prop, theirs.id)):
        with pytest.raises(NotFound):
            call()
    assert _state(session, other) == [(theirs.id, 0, True)]
    assert len(photos.listing(session, prop.owner, prop)) == 1


# -- the office's download (R73) ----------------------------------------------------------------------

def _zip(chunks) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(chunks)))


def test_office_download_has_the_active_properties_photos_only(session, store):
    office1, office2 = make_office(session), make_office(session)
    alpen = make_property(session, office=office1, days=0, slug="alpenblick")
    berg = make_property(session, office=office1, days=0, slug="berghof")
    waiting = make_property(session, office=office1, days=0, slug="noch-nicht", active=False)
    elsewhere = make_property(session, office=office2, days=0, slug="anderswo")
    cat = alpen.categories[0]
    a1 = make_photo(session, alpen.id, motive="exterior", description="Das Haus, Südseite")
    a2 = make_photo(session, alpen.id, motive="room", category_id=cat.id, description="Doppelzimmer")
    make_photo(session, alpen.id)  # no motive yet
    make_photo(session, berg.id, motive="view")
    make_photo(session, waiting.id, motive="view")
    make_photo(session, elsewhere.id, motive="view")
    photos.reorder(session, alpen.owner, alpen, [a2.id, a1.id, a1.id + 2])
    staff = make_user(session, "staff", office1)

    zf = _zip(photos.office_download(session, staff, office1))
    assert sorted(zf.namelist()) == ["alpenblick/01-room.webp", "alpenblick/02-exterior.webp",
                                     "alpenblick/03-photo.webp", "berghof/01-view.webp", "photos.csv"]
    assert zf.read("alpenblick/02-exterior.webp") == store.get(a1.web_key)
    rows = list(csv.DictReader(io.StringIO(zf.read("photos.csv").decode("utf-8-sig"))))
    assert rows[0] == {"file": "alpenblick/01-room.webp", "original": "", "property": alpen.name, "slug": "alpenblick", "place": "1",
                       "cover": "", "motive": "room", "room_category": cat.name, "description": "Doppelzimmer"}
    assert rows[1]["cover"] == "yes" and rows[1]["description"] == "Das Haus, Südseite"

    with_originals = _zip(photos.office_download(session, staff, office1, originals=True))
    assert "alpenblick/original/02-exterior.jpg" in with_originals.namelist()
    assert list(csv.DictReader(io.StringIO(with_originals.read("photos.csv").decode("utf-8-sig"))))[1]["original"] == \
        "alpenblick/original/02-exterior.jpg"
    assert with_originals.read("alpenblick/original/02-exterior.jpg") == store.get(a1.original_key)

    admin = make_user(session, "admin")
    assert "anderswo/01-view.webp" in _zip(photos.office_download(session, admin, office2)).namelist()


def test_office_download_is_for_the_office_staff_only(session):
    office1, office2 = make_office(session), make_office(session)
    prop = make_property(session, office=office1, days=0)
    make_photo(session, prop.id, motive="view")
    with pytest.raises(Forbidden):
        photos.office_download(session, prop.owner, office1)  # a host
    with pytest.raises(Forbidden):
        photos.office_download(session, make_user(session, "staff", office2), office1)
    empty = _zip(photos.office_download(session, make_user(session, "staff", office2), office2))
    assert empty.namelist() == ["photos.csv"]


def test_office_download_streams_without_the_session_and_skips_a_missing_file(session, store):
    office = make_office(session)
    prop = make_property(session, office=office, days=0, slug="seehaus")
    kept = make_photo(session, prop.id, motive="view")
    lost = make_photo(session, prop.id, motive="exterior")
    store.delete(lost.web_key)
    staff = make_user(session, "staff", office)
    chunks = photos.office_download(session, staff, office)
    web_key = kept.web_key
    session.close()  # a web response streams the chunks after the request's session is gone
    zf = _zip(chunks)
    assert zf.namelist() == ["seehaus/01-view.webp", "photos.csv"]
    assert zf.read("seehaus/01-view.webp") == store.get(web_key)
    rows = list(csv.DictReader(io.StringIO(zf.read("photos.csv").decode("utf-8-sig"))))
    assert [(r["file"], r["motive"]) for r in rows] == [("seehaus/01-view.webp", "view"), ("", "exterior")]

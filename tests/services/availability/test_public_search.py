"""services.availability.public_search: the public search's rules at their edges (on top of
search.free_stays), the form's checks, one entry per property, sorting, pages, the score (R60)
and the freshness fingerprint."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from services.availability import inventory, public_search
from services.core import clock
from services.core.errors import Invalid, NotFound
from services.models import ChannelConnection, ExtraCost, NightRate, Photo, Review, RoomCategory
from services.office import contracts
from services.reviews import display
from tests.factories import make_office, make_user, new_booking

from tests.services.availability.search_world import NOW, _prop, _rate, d, office  # noqa: F401 (a fixture)


def _query(office, arrival=None, nights=2, **kw) -> public_search.Query:
    arrival = arrival or d(3)
    return public_search.Query(office_id=office.id, arrival=arrival, departure=arrival + dt.timedelta(days=nights),
                               guests=kw.pop("guests", 2), **kw)


def _names(session, office, **kw) -> list[str]:
    return [r.prop.name for r in public_search.run(session, _query(office, **kw)).results]


def test_minimum_stay_of_the_arrival_night_at_its_edge(session, office):
    prop = _prop(session, office, "Haus")
    _rate(session, prop.categories[0], d(3), min_stay=3)
    assert _names(session, office, nights=2) == []
    assert _names(session, office, nights=3) == ["Haus"]


def test_closed_to_arrival_only_on_the_arrival_day(session, office):
    prop = _prop(session, office, "Haus")
    _rate(session, prop.categories[0], d(4), closed_to_arrival=True)
    assert _names(session, office, arrival=d(4)) == []
    assert _names(session, office, arrival=d(3), nights=3) == ["Haus"]  # d(4) is a night inside the stay


def test_closed_to_departure_only_on_the_departure_day(session, office):
    prop = _prop(session, office, "Haus")
    _rate(session, prop.categories[0], d(5), closed_to_departure=True)
    assert _names(session, office, arrival=d(3), nights=2) == []  # departs d(5)
    assert _names(session, office, arrival=d(3), nights=3) == ["Haus"]  # d(5) is a night inside the stay


def test_quota_zero_on_one_night_hides_the_category(session, office):
    prop = _prop(session, office, "Haus")
    _rate(session, prop.categories[0], d(4), quota=0)
    assert _names(session, office, arrival=d(3)) == []
    assert _names(session, office, arrival=d(5)) == ["Haus"]


def test_a_running_hold_counts_an_expired_one_does_not(session, office):
    prop = _prop(session, office, "Haus", units=1)
    hold = new_booking(prop, arrival=d(4), nights=1, source="booking", status="pending", hold_minutes=30)
    session.add(hold)
    inventory.take(session, hold)
    session.commit()
    assert _names(session, office, arrival=d(3)) == []
    clock.set_now(NOW + dt.timedelta(minutes=29))
    assert _names(session, office, arrival=d(3)) == []
    clock.set_now(NOW + dt.timedelta(minutes=30))  # ran out: no write needed
    assert _names(session, office, arrival=d(3)) == ["Haus"]


def test_suspended_contract_and_another_office_are_hidden(session, office):
    prop = _prop(session, office, "Haus Hier")
    _prop(session, make_office(session, "Tourist-Info Zwei"), "Haus Fremd")
    _prop(session, office, "Haus Eingeladen", active=False)
    assert _names(session, office) == ["Haus Hier"]
    contracts.change(session, make_user(session, "staff", office), prop, "suspend")
    assert _names(session, office) == []


def test_final_price_holds_the_mandatory_costs(session, office):
    prop = _prop(session, office, "Haus", price="80.00")
    session.add_all([ExtraCost(property_id=prop.id, name="Endreinigung", amount=Decimal("40.00"), per="stay"),
                     ExtraCost(property_id=prop.id, name="Kurtaxe", amount=Decimal("2.50"), per="night")])
    session.commit()
    [result] = public_search.run(session, _query(office, nights=3)).results
    [stay] = result.stays
    assert stay.lodging == Decimal("240.00")
    assert stay.extras == [("Endreinigung", Decimal("40.00")), ("Kurtaxe", Decimal("7.50"))]
    assert stay.total == result.price == Decimal("287.50")


def test_one_entry_per_property_with_its_categories_cheapest_first(session, office):
    prop = _prop(session, office, "Haus", categories=3)
    cats = prop.categories
    for cat, price in zip(cats, ("120.00", "70.00", "95.00")):
        session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id).values(price=Decimal(price)))
    session.commit()
    page = public_search.run(session, _query(office))
    assert page.total == 1
    assert [s.category.id for s in page.results[0].stays] == [cats[1].id, cats[2].id, cats[0].id]


def test_kind_and_size_filters(session, office):
    prop = _prop(session, office, "Haus", categories=2)
    flat = prop.categories[1]
    flat.kind, flat.max_guests = "apartment", 4
    session.commit()
    [result] = public_search.run(session, _query(office, kind="apartment")).results
    assert [s.category.id for s in result.stays] == [flat.id]
    [result] = public_search.run(session, _query(office, max_guests=3)).results
    assert [s.category.id for s in result.stays] == [flat.id]
    assert public_search.run(session, _query(office, kind="house")).results == []


def _reviews(session, prop, scores: list[str], scale_max="6"):
    conn = ChannelConnection(property_id=prop.id, channel="holidaycheck", scope="reviews", created_at=NOW, updated_at=NOW)
    session.add(conn)
    session.flush()
    for i, overall in enumerate(scores):
        session.add(Review(property_id=prop.id, connection_id=conn.id, partner_review_id=f"R{prop.id}-{i}",
                           written_on=d(-10 - i), author="Gast", overall=Decimal(overall), scale_min=Decimal("1"),
                           scale_max=Decimal(scale_max), status="published", received_at=NOW, updated_at=NOW))
    session.commit()


def test_sorted_by_price_or_by_score(session, office):
    cheap = _prop(session, office, "Haus Billig", price="60.00")
    good = _prop(session, office, "Haus Gut", price="90.00")
    fine = _prop(session, office, "Haus Fein", price="75.00")
    _prop(session, office, "Haus Ohne", price="50.00")
    _reviews(session, cheap, ["3.0", "3.0", "3.0"])
    _reviews(session, good, ["5.0", "5.0", "6.0"])
    _reviews(session, fine, ["4.0", "4.0"])  # two reviews: no score shown (R60)
    assert _names(session, office) == ["Haus Ohne", "Haus Billig", "Haus Fein", "Haus Gut"]
    page = public_search.run(session, _query(office, sort="score"))
    assert [r.prop.name for r in page.results] == ["Haus Gut", "Haus Billig", "Haus Ohne", "Haus Fein"]
    scores = {r.prop.name: r.score for r in page.results}
    assert scores["Haus Gut"].average == Decimal("5.33") and scores["Haus Gut"].count == 3
    assert scores["Haus Fein"] is None and scores["Haus Ohne"] is None
    # on the price-sorted page too
    assert {r.prop.name: r.score for r in public_search.run(session, _query(office)).results} == scores


def test_scores_on_different_scales_compare_as_fractions(session, office):
    six = _prop(session, office, "Haus Sechs")
    ten = _prop(session, office, "Haus Zehn")
    _reviews(session, six, ["5.0"] * 3)  # 0.8 of the way on 1..6
    _reviews(session, ten, ["9.0"] * 3, scale_max="10")  # 0.89 on 1..10
    assert _names(session, office, sort="score") == ["Haus Zehn", "Haus Sechs"]


def test_scores_are_what_the_review_block_shows(session, office):
    props = [_prop(session, office, f"Haus {i}") for i in range(4)]
    _reviews(session, props[0], ["5.25", "4.0", "6.0", "1.5"])
    _reviews(session, props[1], ["5.0", "5.0"])
    _reviews(session, props[2], ["2.0", "3.0", "4.0"])
    conn = session.scalar(sa.select(ChannelConnection).where(ChannelConnection.property_id == props[2].id))
    conn.review_count, conn.review_average = 27, Decimal("5.30")  # the partner's totals win (R62)
    session.commit()
    found = display.scores(session, [p.id for p in props])
    for p in props:
        blk = display.block(session, p, NOW.date())
        if not blk.visible:
            assert p.id not in found
            continue
        s = found[p.id]
        assert (s.average, s.count, s.scale_min, s.scale_max) == (blk.average, blk.count, blk.scale_min, blk.scale_max)
    assert set(found) == {props[0].id, props[2].id} and found[props[2].id].count == 27


def test_pages(session, office):
    for i in range(5):
        _prop(session, office, f"Haus {i}", price=f"{60 + i}.00")
    first = public_search.run(session, _query(office, per_page=2))
    last = public_search.run(session, _query(office, per_page=2, page=3))
    beyond = public_search.run(session, _query(office, per_page=2, page=4))
    assert first.total == last.total == beyond.total == 5 and first.pages == 3
    assert [r.prop.name for r in first.results] == ["Haus 0", "Haus 1"]
    assert [r.prop.name for r in last.results] == ["Haus 4"] and beyond.results == []


def test_cover_photo_of_the_shown_properties(session, office):
    prop = _prop(session, office, "Haus")
    photo = Photo(property_id=prop.id, position=0, is_cover=True, original_key="o", web_key="w", thumb_key="t",
                  width=2048, height=1536, source_format="JPEG", size_bytes=1, created_at=NOW)
    session.add(photo)
    session.commit()
    [result] = public_search.run(session, _query(office)).results
    assert result.cover_photo_id == photo.id


def _args(**kw):
    args = {"arrival": d(3).isoformat(), "departure": d(5).isoformat(), "guests": "2"}
    args.update(kw)
    return {k: v for k, v in args.items() if v is not None}


def test_parse_reads_the_form(session, office):
    q = public_search.parse(office, _args(rooms="2", guests="3", kind="house", max_guests="2", sort="score",
                                          page="2", per_page="50"))
    assert (q.arrival, q.departure, q.guests, q.rooms, q.kind, q.max_guests) == (d(3), d(5), 3, 2, "house", 2)
    assert (q.sort, q.page, q.per_page, q.office_id) == ("score", 2, 50, office.id)
    q = public_search.parse(office, _args())
    assert (q.rooms, q.kind, q.max_guests, q.sort, q.page, q.per_page) == (1, None, None, "price", 1, 10)


@pytest.mark.parametrize("args,field", [
    ({"arrival": None}, "arrival"), ({"arrival": "03.07.2030"}, "arrival"), ({"arrival": "2030-02-30"}, "arrival"),
    ({"departure": "tomorrow"}, "departure"), ({"departure": d(3).isoformat()}, "departure"),
    ({"departure": d(2).isoformat()}, "departure"), ({"arrival": d(-1).isoformat()}, "arrival"),
    ({"departure": d(34).isoformat()}, "departure"), ({"guests": "0"}, "guests"), ({"guests": "51"}, "guests"),
    ({"guests": "-1"}, "guests"), ({"guests": "1e9"}, "guests"), ({"guests": None}, "guests"),
    ({"rooms": "0"}, "rooms"), ({"rooms": "3", "guests": "2"}, "guests"), ({"kind": "castle"}, "kind"),
    ({"max_guests": "x"}, "max_guests"), ({"sort": "name"}, "sort"), ({"page": "0"}, "page"),
    ({"per_page": "51"}, "per_page"),
])
def test_parse_names_the_wrong_field(session, office, args, field):
    with pytest.raises(Invalid) as e:
        public_search.parse(office, _args(**args))
    assert field in e.value.errors


def test_thirty_nights_are_fine_thirty_one_are_not(session, office):
    assert public_search.parse(office, _args(departure=d(33).isoformat())).nights == 30
    with pytest.raises(Invalid) as e:
        public_search.parse(office, _args(departure=d(34).isoformat()))
    assert "30" in str(e.value.errors["departure"])


def test_the_office_by_id_or_the_only_one(session, office):
    assert public_search.office_of(session, None).id == office.id
    assert public_search.office_of(session, str(office.id)).id == office.id
    with pytest.raises(NotFound):
        public_search.office_of(session, "99999999999")
    with pytest.raises(NotFound):
        public_search.office_of(session, "abc")
    make_office(session, "Tourist-Info Zwei")
    with pytest.raises(Invalid) as e:
        public_search.office_of(session, "")
    assert "office" in e.value.errors


def test_fingerprint_changes_with_a_sale_and_a_hold_running_out(session, office):
    prop = _prop(session, office, "Haus", units=2)
    q = _query(office)
    first = public_search.fingerprint(session, q)
    assert public_search.fingerprint(session, q) == first
    assert public_search.fingerprint(session, _query(office, guests=1)) != first  # the query is in it
    hold = new_booking(prop, arrival=d(3), nights=1, source="booking", status="pending", hold_minutes=10)
    session.add(hold)
    inventory.take(session, hold)
    session.commit()
    held = public_search.fingerprint(session, q)
    assert held != first
    clock.set_now(NOW + dt.timedelta(minutes=10))  # the hold runs out without a write (same time window)
    assert public_search.fingerprint(session, q) not in (first, held)


def test_query_count_does_not_depend_on_the_number_of_properties(session, office, count_queries):
    def seed(n):
        for i in range(n):
            p = _prop(session, office, f"Haus {n}-{i}", categories=2)
            session.add(ExtraCost(property_id=p.id, name="Endreinigung", amount=Decimal("40.00"), per="stay"))
            _reviews(session, p, ["5.0"] * 3)
        session.commit()
        session.expire_all()

    def count(sort):
        with count_queries() as statements:
            page = public_search.run(session, _query(office, sort=sort, per_page=50))
            public_search.fingerprint(session, _query(office))
        return page, [s for s in statements if not s.startswith("BEGIN")]

    seed(2)
    few = {sort: count(sort) for sort in public_search.SORTS}
    seed(8)
    many = {sort: count(sort) for sort in public_search.SORTS}
    for sort in public_search.SORTS:
        assert few[sort][0].total == 2 and many[sort][0].total == 10
        assert len(few[sort][1]) == len(many[sort][1]) <= 11, many[sort][1]
    assert session.scalar(sa.select(sa.func.count(RoomCategory.id))) == 20

"""The operator commands (portal/cli.py) through Flask's CLI runner: each runs in its own
application context, as `flask --app portal ...` does, against the test database."""
from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import sqlalchemy as sa

from services.core import clock
from services.properties import demo
from services.models import AuditEntry, Booking, ChannelConnection, Occupancy, OutboxEvent, Property, RoomNight, User
from tests.factories import login, make_property
from tests.services.channels.test_outbox import receiver  # noqa: F401 - the fixture: a webhook receiver on loopback


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _property(db_session, **kw) -> SimpleNamespace:
    with db_session() as s:
        prop = make_property(s, **kw)
        return SimpleNamespace(slug=prop.slug, name=prop.name, cat_id=prop.categories[0].id, timezone=prop.timezone)


def _new_key(app, slug, *options) -> str:
    result = run(app, "api-key", "create", "--property", slug, *options)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


# -- api-key create ------------------------------------------------------------------------------

def test_api_key_create_prints_a_key_that_opens_the_api(app, db_session, client):
    prop = _property(db_session)
    result = run(app, "api-key", "create", "--property", prop.slug, "--channel", "slevomat", "--hold-minutes", "30")
    assert result.exit_code == 0, result.output
    *info, key = result.output.strip().splitlines()
    assert f"{prop.slug} <-> slevomat, hold 30 min" in info[0]
    resp = client.get("/api/v1/property", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200 and resp.json["name"] == prop.name
    assert client.get("/api/v1/property", headers={"Authorization": f"Bearer {key}x"}).status_code == 401


def test_api_key_create_for_an_unknown_property_or_channel_is_refused(app, db_session):
    prop = _property(db_session)
    unknown = run(app, "api-key", "create", "--property", "no-such-house", "--channel", "slevomat")
    assert unknown.exit_code == 1 and "No property with slug 'no-such-house'." in unknown.output
    channel = run(app, "api-key", "create", "--property", prop.slug, "--channel", "airbnb")
    assert channel.exit_code == 2 and "'airbnb' is not one of" in channel.output
    hold = run(app, "api-key", "create", "--property", prop.slug, "--channel", "booking", "--hold-minutes", "0")
    assert hold.exit_code == 1 and "hold_minutes" in hold.output
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count(ChannelConnection.id))) == 0


def _mode(db_session, slug, channel):
    with db_session() as s:
        return s.scalar(sa.select(ChannelConnection.inventory_mode).join(Property, Property.id == ChannelConnection.property_id)
                        .where(Property.slug == slug, ChannelConnection.channel == channel))


def test_api_key_create_sets_the_inventory_mode_or_the_channels_default(app, db_session, client):
    prop = _property(db_session)
    booking = run(app, "api-key", "create", "--property", prop.slug, "--channel", "booking")
    assert booking.exit_code == 0 and "inventory mode notify" in booking.output  # Booking.com sells first
    assert _mode(db_session, prop.slug, "booking") == "notify"
    _new_key(app, prop.slug, "--channel", "slevomat")
    assert _mode(db_session, prop.slug, "slevomat") == "request"
    key = _new_key(app, prop.slug, "--channel", "booking", "--mode", "request")
    assert _mode(db_session, prop.slug, "booking") == "request"
    assert client.get("/api/v1/property", headers={"Authorization": f"Bearer {key}"}).json["inventory_mode"] == "request"
    _new_key(app, prop.slug, "--channel", "booking")  # switched on again without --mode: keeps its mode
    assert _mode(db_session, prop.slug, "booking") == "request"
    _new_key(app, prop.slug, "--channel", "api", "--mode", "notify")
    assert _mode(db_session, prop.slug, "api") == "notify"


def test_api_key_create_with_an_unknown_mode_is_a_clear_error(app, db_session):
    prop = _property(db_session)
    bad = run(app, "api-key", "create", "--property", prop.slug, "--channel", "booking", "--mode", "sometimes")
    assert bad.exit_code == 2
    assert "Invalid value for '--mode': 'sometimes' is not one of 'request', 'notify'." in bad.output
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count(ChannelConnection.id))) == 0


# -- user create ---------------------------------------------------------------------------------

def test_user_create_makes_an_account_that_can_log_in(app, db_session, client):
    result = run(app, "user", "create", "--email", " Petra@Example.com", "--name", "Petra Berger", "--role", "staff",
                 "--office", "Tourist-Info Neustadt", "--password", "long-enough-pw")
    assert result.exit_code == 0, result.output
    assert result.output == "Created staff petra@example.com of Tourist-Info Neustadt\n"
    with db_session() as s:
        user = s.scalar(sa.select(User).where(User.email == "petra@example.com"))
        assert (user.name, user.role, user.office.name) == ("Petra Berger", "staff", "Tourist-Info Neustadt")
    login(client, SimpleNamespace(email="petra@example.com"), "long-enough-pw")
    assert client.get("/").headers["Location"] == "/office"


def test_user_create_refuses_bad_input_and_writes_nothing(app, db_session):
    base = ["user", "create", "--email", "host@example.com", "--name", "Hanna Host", "--role", "host"]
    short = run(app, *base, "--password", "short")
    assert short.exit_code == 1 and "password: The password needs at least 8 characters." in short.output
    staff = run(app, *base[:-1], "staff", "--password", "long-enough-pw")
    assert staff.exit_code == 1 and "office: Staff belong to a tourist office." in staff.output
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count(User.id))) == 0
    assert run(app, *base, "--password", "long-enough-pw").exit_code == 0
    again = run(app, *base, "--password", "long-enough-pw")
    assert again.exit_code == 1 and "email: An account with this e-mail address exists already." in again.output


# -- demo ----------------------------------------------------------------------------------------

def test_demo_loads_once_and_its_logins_work(app, db_session, client):
    first = run(app, "demo")
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[:2] == ["Demo data loaded.", f"Logins (password for all: {demo.PASSWORD}):"]
    assert [line.split()[:2] for line in lines[2:]] == [[role, email] for email, role, _ in demo.LOGINS]
    with db_session() as s:
        counts = [s.scalar(sa.select(sa.func.count(m.id))) for m in (Property, User, Booking)]
    assert counts[0] == 2 and counts[2] > 0

    second = run(app, "demo")
    assert second.exit_code == 0 and second.output.splitlines()[0] == "Demo data was there already."
    with db_session() as s:
        assert [s.scalar(sa.select(sa.func.count(m.id))) for m in (Property, User, Booking)] == counts

    host_email = next(email for email, role, _ in demo.LOGINS if role == "host")
    login(client, SimpleNamespace(email=host_email), demo.PASSWORD)
    calendar = client.get("/").headers["Location"]
    assert calendar == "/p/demo-guesthouse/calendar" and client.get(calendar).status_code == 200


def test_demo_if_empty_leaves_a_database_with_data_alone(app, db_session):
    _property(db_session, slug="haus-eigen")
    result = run(app, "demo", "--if-empty")
    assert result.exit_code == 0 and result.output == "The database has data already; no demo loaded.\n"
    with db_session() as s:
        assert list(s.scalars(sa.select(Property.slug))) == ["haus-eigen"]


def test_demo_if_empty_loads_into_an_empty_database(app, db_session):
    result = run(app, "demo", "--if-empty")
    assert result.exit_code == 0 and result.output.startswith("Demo data loaded.\n")
    with db_session() as s:
        assert sorted(s.scalars(sa.select(Property.slug))) == ["demo-flat", "demo-guesthouse"]


def test_make_run_is_quiet_until_the_server_names_its_url_and_logins(app, db_session):
    """`make run` runs `demo --if-empty --quiet`; `serve` then prints the logins whose accounts
    exist (none in a database without the demo)."""
    result = run(app, "demo", "--if-empty", "--quiet")
    assert result.exit_code == 0 and result.output == ""
    with db_session() as s:
        assert demo.present_logins(s) == demo.LOGINS
        s.execute(sa.delete(User).where(User.email == demo.LOGINS[3][0]))
        s.commit()
        assert demo.present_logins(s) == demo.LOGINS[:3]
    _property(db_session, slug="haus-eigen")
    assert run(app, "demo", "--if-empty", "--quiet").output == ""


# -- worker --------------------------------------------------------------------------------------

def test_worker_once_sweeps_an_expired_hold_then_delivers_its_webhooks(app, db_session, client, receiver):  # noqa: F811
    """A hold that runs out changes availability without any request: the worker's round marks it
    expired and pushes both the reservation's webhook and the availability it gave back."""
    start = clock.now()
    clock.set_now(start)
    prop = _property(db_session, units=1)
    hook = receiver()
    key = _new_key(app, prop.slug, "--channel", "booking", "--hold-minutes", "30", "--webhook-url", hook.url)
    arrival = clock.today(prop.timezone) + dt.timedelta(days=3)
    hold = client.post("/api/v1/reservations", headers={"Authorization": f"Bearer {key}"}, json={
        "external_id": "CART-1", "room_category_id": prop.cat_id, "arrival": arrival.isoformat(),
        "departure": (arrival + dt.timedelta(days=2)).isoformat(), "units": 1, "guests": 1,
        "guest": {"name": "Jana Nová"}, "status": "pending"})
    assert hold.status_code == 201, hold.json
    hold_id = hold.json["id"]

    clock.set_now(start + dt.timedelta(minutes=29))
    taken = run(app, "worker", "--once")  # the hold took its nights: that availability goes out
    assert taken.output == "webhooks 1/0, e-mails 0/0, expired holds 0, calendars 0\n"
    [(headers, body)] = hook.requests
    assert headers["X-Portal-Event"] == "availability_changed"
    [nights] = [c["nights"] for c in json.loads(body)["data"]["room_categories"]]
    assert [(n["date"], n["available"]) for n in nights] == [(arrival.isoformat(), 0),
                                                            ((arrival + dt.timedelta(days=1)).isoformat(), 0)]
    assert run(app, "worker", "--once").output == ""  # nothing to do: a round says nothing

    clock.set_now(start + dt.timedelta(minutes=31))
    swept = run(app, "worker", "--once")
    assert swept.exit_code == 0, swept.output
    # The round sweeps first and delivers after: the hold's webhooks go out in the same round.
    assert swept.output == "webhooks 2/0, e-mails 0/0, expired holds 1, calendars 0\n"
    with db_session() as s:
        assert s.get(Booking, hold_id).status == "expired"
        assert s.scalar(sa.select(sa.func.count(Occupancy.id)).where(Occupancy.booking_id == hold_id)) == 0
    sent = {h["X-Portal-Event"]: json.loads(b) for h, b in hook.requests[1:]}
    assert sent["reservation.expired"]["data"]["id"] == hold_id
    assert sent["reservation.expired"]["data"]["status"] == "expired"
    [nights] = [c["nights"] for c in sent["availability_changed"]["data"]["room_categories"]]
    assert [(n["date"], n["available"]) for n in nights] == [(arrival.isoformat(), 1),
                                                            ((arrival + dt.timedelta(days=1)).isoformat(), 1)]
    assert run(app, "worker", "--once").output == ""


# -- ari full-sync -------------------------------------------------------------------------------

def test_ari_full_sync_queues_every_night_for_the_channels_and_the_worker_sends_it(app, db_session, receiver):  # noqa: F811
    clock.set_now(clock.now())
    prop = _property(db_session, units=2, categories=2, days=10)
    hook = receiver()
    _new_key(app, prop.slug, "--channel", "booking", "--webhook-url", hook.url)
    _new_key(app, prop.slug, "--channel", "tourist-office", "--webhook-url", hook.url)
    _new_key(app, prop.slug, "--channel", "slevomat")  # no webhook address: nowhere to send to
    today = clock.today(prop.timezone)

    synced = run(app, "ari", "full-sync", "--property", prop.slug, "--days", "20")
    assert synced.exit_code == 0, synced.output
    assert synced.output == f"{prop.slug}: 20 nights queued for booking, tourist-office\n"
    delivered = run(app, "worker", "--once")
    assert delivered.output.startswith("webhooks 2/0,"), delivered.output
    assert {h["X-Portal-Event"] for h, _ in hook.requests} == {"availability_changed"}
    data = json.loads(hook.requests[0][1])["data"]
    assert len(data["room_categories"]) == 2
    for category in data["room_categories"]:
        nights = category["nights"]
        assert [n["date"] for n in nights] == [(today + dt.timedelta(days=i)).isoformat() for i in range(20)]
        assert [n["available"] for n in nights] == [2] * 10 + [0] * 10  # ten nights priced, then none
        assert nights[0]["price"] == "80.00" and nights[-1]["price"] is None

    one = run(app, "ari", "full-sync", "--property", prop.slug, "--channel", "booking")
    assert one.exit_code == 0 and one.output == f"{prop.slug}: 500 nights queued for booking\n"
    with db_session() as s:
        [row] = s.scalars(sa.select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None)))
        assert row.event == "availability_changed" and row.pending_nights[str(prop.cat_id)] == [
            [today.isoformat(), (today + dt.timedelta(days=499)).isoformat()]]
        assert s.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "ari_full_sync")) == 3


def test_ari_full_sync_refuses_what_it_cannot_do(app, db_session):
    prop = _property(db_session)
    assert run(app, "ari", "full-sync", "--property", "no-such-house").output.endswith(
        "No property with slug 'no-such-house'.\n")
    nothing = run(app, "ari", "full-sync", "--property", prop.slug)
    assert nothing.exit_code == 1 and "No switched-on channel has a webhook address" in nothing.output
    _new_key(app, prop.slug, "--channel", "slevomat")
    bare = run(app, "ari", "full-sync", "--property", prop.slug, "--channel", "slevomat")
    assert bare.exit_code == 1 and "This channel has no webhook address" in bare.output
    off = run(app, "ari", "full-sync", "--property", prop.slug, "--channel", "booking")
    assert off.exit_code == 1 and "This channel is not switched on." in off.output
    days = run(app, "ari", "full-sync", "--property", prop.slug, "--days", "0")
    assert days.exit_code == 1 and "days: Enter a number of days from 1 to 731." in days.output
    unknown = run(app, "ari", "full-sync", "--property", prop.slug, "--channel", "airbnb")
    assert unknown.exit_code == 2
    with db_session() as s:
        assert s.scalar(sa.select(sa.func.count(OutboxEvent.id))) == 0


# -- risk-free eligible --------------------------------------------------------------------------

def test_risk_free_eligible_switches_the_platforms_offer_on_and_off(app, db_session):
    """R59: the platform decides which properties may join the risk-free programme."""
    prop = _property(db_session)
    on = run(app, "risk-free", "eligible", "--property", prop.slug)
    assert on.exit_code == 0 and f"{prop.slug}: eligible for the risk-free programme" in on.output
    with db_session() as s:
        p = s.scalar(sa.select(Property).where(Property.slug == prop.slug))
        assert p.risk_free_eligible and not p.risk_free_opted_in
        p.risk_free_opted_in = True  # the host joined
        s.commit()
    again = run(app, "risk-free", "eligible", "--property", prop.slug)
    assert again.exit_code == 0 and "(unchanged)" in again.output
    off = run(app, "risk-free", "eligible", "--property", prop.slug, "--off")
    assert off.exit_code == 0 and "not eligible" in off.output
    with db_session() as s:
        p = s.scalar(sa.select(Property).where(Property.slug == prop.slug))
        assert not p.risk_free_eligible and not p.risk_free_opted_in
        from services.models import AuditEntry

        actions = list(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.property_id == p.id)
                                 .order_by(AuditEntry.id)))
        assert actions[-2:] == ["risk_free_offered", "risk_free_withdrawn"]


def test_risk_free_eligible_for_an_unknown_property_is_refused(app):
    result = run(app, "risk-free", "eligible", "--property", "no-such-house")
    assert result.exit_code == 1 and "No property with slug 'no-such-house'." in result.output


def test_demo_guesthouse_is_in_the_risk_free_programme(app, db_session):
    assert run(app, "demo").exit_code == 0
    with db_session() as s:
        gh = s.scalar(sa.select(Property).where(Property.slug == demo.DEMO_SLUG))
        assert gh.risk_free_eligible and gh.risk_free_opted_in
        smith = s.scalar(sa.select(Booking).where(Booking.guest_name == "Mr Smith"))
        assert smith.risk_free and smith.card_last4 == "4242" and smith.free_cancellation_until is not None


# -- risk-free settle ----------------------------------------------------------------------------

def _risk_free_booking(client, key, prop, external_id, arrival, nights=2):
    made = client.post("/api/v1/reservations", headers={"Authorization": f"Bearer {key}"}, json={
        "external_id": external_id, "room_category_id": prop.cat_id, "arrival": arrival.isoformat(),
        "departure": (arrival + dt.timedelta(days=nights)).isoformat(), "units": 1, "guests": 1,
        "guest": {"name": "Jana Nová"}, "status": "confirmed", "risk_free": True})
    assert made.status_code == 201, made.json
    return made.json["id"]


def _cancel(client, key, booking_id):
    cancelled = client.post(f"/api/v1/reservations/{booking_id}/cancel", headers={"Authorization": f"Bearer {key}"})
    assert cancelled.status_code == 200, cancelled.json


def test_risk_free_settle_pays_unsold_room_nights_on_the_arrival_day_once(app, db_session, client):
    """R55, R59: the platform pays each room-night still searching on the scheduled arrival day,
    at its commissionable amount; the worker settles too; nothing is paid twice."""
    clock.set_now(clock.now())
    prop = _property(db_session, units=2, price="100.00")
    with db_session() as s:
        p = s.scalar(sa.select(Property).where(Property.slug == prop.slug))
        p.risk_free_eligible = p.risk_free_opted_in = True
        s.commit()
    key = _new_key(app, prop.slug, "--channel", "booking")
    arrival = clock.today(prop.timezone) + dt.timedelta(days=3)
    first = _risk_free_booking(client, key, prop, "RF-1", arrival)
    second = _risk_free_booking(client, key, prop, "RF-2", arrival + dt.timedelta(days=1), nights=1)
    _cancel(client, key, first)  # after the second was sold: that sale resold nothing (R54)
    _cancel(client, key, second)

    early = run(app, "risk-free", "settle", "--date", (arrival - dt.timedelta(days=1)).isoformat())
    assert early.exit_code == 0 and early.output == "total: 0 room-nights paid by the platform\n"
    paid = run(app, "risk-free", "settle", "--date", arrival.isoformat())
    assert paid.exit_code == 0, paid.output
    assert paid.output == f"#{first} Jana Nová: 2 room-nights, 200.00 EUR\ntotal: 2 room-nights, 200.00 EUR\n"
    again = run(app, "risk-free", "settle", "--date", arrival.isoformat())
    assert again.output == "total: 0 room-nights paid by the platform\n"
    with db_session() as s:
        rows = list(s.scalars(sa.select(RoomNight).where(RoomNight.booking_id == first)))
        assert {(r.state, r.amount_paid) for r in rows} == {("paid_by_platform", r.commissionable) for r in rows}

    assert run(app, "worker", "--once").output == ""  # the second arrives tomorrow: nothing due yet
    clock.set_now(clock.now() + dt.timedelta(days=4))
    settled = run(app, "worker", "--once")
    assert settled.exit_code == 0, settled.output
    assert f"#{second} Jana Nová: 1 room-nights, 100.00 EUR\ntotal: 1 room-nights, 100.00 EUR\n" in settled.output
    assert "#" not in run(app, "worker", "--once").output


def test_risk_free_settle_refuses_a_malformed_date(app):
    result = run(app, "risk-free", "settle", "--date", "27.11.2026")
    assert result.exit_code == 2 and "Invalid value for '--date'" in result.output


# -- review partners: api-key create --channel holidaycheck, reviews import (issue 12) ------------

def test_api_key_create_for_a_review_partner_makes_a_reviews_only_key(app, db_session, client):
    prop = _property(db_session)
    result = run(app, "api-key", "create", "--property", prop.slug, "--channel", "holidaycheck")
    assert result.exit_code == 0, result.output
    *info, key = result.output.strip().splitlines()
    assert f"{prop.slug} <-> holidaycheck, scope reviews" in info[0]
    with db_session() as s:
        assert s.scalar(sa.select(ChannelConnection.scope).where(ChannelConnection.channel == "holidaycheck")) == "reviews"
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/reviews", headers=auth).status_code == 200
    assert client.get("/api/v1/reservations", headers=auth).json["error"]["code"] == "scope"


def _review(i, **kw):
    data = {"partner_review_id": f"HC-{i}", "created_at": "2026-01-10", "author": "Jana", "overall": 5.2,
            "scale": {"min": 1, "max": 6}, "sub_scores": {"room": 5}, "recommends": True, "text": "Schön",
            "language": "de", "status": "published"}
    data.update(kw)
    return data


def _reviews(db_session):
    from services.models import Review

    with db_session() as s:
        return dict(s.execute(sa.select(Review.partner_review_id, Review.status)).all())


def test_reviews_import_takes_a_file_through_the_intake(app, db_session, tmp_path):
    clock.set_now(dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc))
    prop = _property(db_session)
    _new_key(app, prop.slug, "--channel", "holidaycheck")
    listing = tmp_path / "reviews.json"
    listing.write_text(json.dumps([_review(1), _review(2, status="pending")]))
    first = run(app, "reviews", "import", str(listing), "--property", prop.slug)
    assert first.exit_code == 0, first.output
    assert f"{prop.slug}: 2 created, 0 updated" in first.output
    wrapped = tmp_path / "more.json"
    wrapped.write_text(json.dumps({"reviews": [_review(2, status="published"), _review(3)],
                                   "partner_totals": {"count": 31, "average": 5.4}}))
    second = run(app, "reviews", "import", str(wrapped))  # the one property HolidayCheck is on for
    assert second.exit_code == 0, second.output
    assert "1 created, 1 updated; partner totals 31 reviews, average 5.40" in second.output
    assert _reviews(db_session) == {"HC-1": "published", "HC-2": "published", "HC-3": "published"}
    with db_session() as s:
        conn = s.scalar(sa.select(ChannelConnection).where(ChannelConnection.channel == "holidaycheck"))
        assert conn.review_count == 31 and str(conn.review_average) == "5.40"


def test_a_bad_reviews_file_writes_nothing_and_names_each_record_and_field(app, db_session, tmp_path):
    clock.set_now(dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc))
    prop = _property(db_session)
    _new_key(app, prop.slug, "--channel", "holidaycheck")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([_review(1), _review(2, overall=7), _review(3, created_at="2027-01-01"),
                               _review(4, status="deleted")]))
    result = run(app, "reviews", "import", str(bad), "--property", prop.slug)
    assert result.exit_code == 1
    assert "record 1, overall: Must be on the scale from 1 to 6." in result.output
    assert "record 2, created_at:" in result.output and "record 3, status:" in result.output
    assert "Nothing imported: 3 error(s)" in result.output
    assert _reviews(db_session) == {}  # record 0 was fine, but the file is all or nothing
    not_json = tmp_path / "x.json"
    not_json.write_text("[{")
    assert run(app, "reviews", "import", str(not_json), "--property", prop.slug).exit_code == 1
    totals = tmp_path / "totals.json"
    totals.write_text(json.dumps({"reviews": [_review(1)], "partner_totals": {"count": 3, "average": 6.5}}))
    result = run(app, "reviews", "import", str(totals), "--property", prop.slug)
    assert result.exit_code == 1 and "partner_totals.average" in result.output
    assert _reviews(db_session) == {}


def test_reviews_import_needs_the_partner_switched_on(app, db_session, tmp_path):
    prop = _property(db_session)
    listing = tmp_path / "reviews.json"
    listing.write_text("[]")
    result = run(app, "reviews", "import", str(listing), "--property", prop.slug)
    assert result.exit_code == 1 and "holidaycheck is not switched on" in result.output
    assert run(app, "reviews", "import", str(listing)).exit_code == 1  # no property to pick

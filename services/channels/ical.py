"""iCal: each room category's booked nights as a secret-URL .ics, and external calendars
(Airbnb-style) imported as blocks.

The export lists the nights on which no unit of the category is free, merged into ranges,
without guest data: what another platform needs to stop selling. Imports become bookings
of source "ical" (free units, no quota), taken through inventory.take like any booking; an
event that collides with a booking here is kept with its nights unplaced and opens a double
booking (services.bookings.conflicts, cause "ical").
A feed is fetched only by the worker (`flask ical sync`), never inside a request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

import sqlalchemy as sa
from icalendar import Calendar, Event, vText
from sqlalchemy.orm import Session

from services.accounts import access
from services.availability import inventory
from services.bookings import conflicts as db_conflicts, notify
from services.core import audit, clock, inputs, outbound
from services.core.db import use_case
from services.core.errors import Conflict, Invalid, NotFound
from services.core.i18n import Message, _l, stored
from services.models import Booking, IcalFeed, Property, RoomCategory, UnplacedNight, User

EXPORT_DAYS = 540
MAX_FEED_BYTES = 2 * 1024 * 1024
SYNC_INTERVAL = dt.timedelta(hours=1)


def _token_hash(token: str) -> str:
    # The token has 192 bits of entropy: a fast hash is enough (as for API keys).
    return hashlib.sha256(token.encode()).hexdigest()


def renew_export_url(session: Session, actor: User, prop: Property, category_id: int) -> str:
    """A new secret for a category's export URL; the old URL stops working at once.

    Only a hash is stored: the returned token is shown to the host once."""
    access.check_property(actor, prop)
    cat = inventory.category_of(session, prop.id, category_id)
    with use_case(session):
        token = secrets.token_urlsafe(24)
        cat.ical_token_hash = _token_hash(token)
        audit.record(session, actor, prop, "ical_url_renewed", category=cat.name)
    return token


def export(session: Session, token: str) -> bytes:
    cat = session.scalar(sa.select(RoomCategory).where(RoomCategory.ical_token_hash == _token_hash(token)))
    if cat is None:
        raise NotFound(_l("No such calendar."))
    prop = cat.prop
    start = clock.today(prop.timezone)
    nights = inventory.nights_for(session, [cat.id], start, start + dt.timedelta(days=EXPORT_DAYS))[cat.id]
    cal = Calendar()
    cal.add("prodid", "-//Hotelier portal//iCal export//EN")
    cal.add("version", "2.0")
    # No property or guest data: the URL may travel. One line, escaped (vText): a name stored
    # with a line break broke the whole feed (names are single lines now: services.core.inputs).
    cal.add("x-wr-calname", vText(inputs.single_line(cat.name)))
    stamp = clock.now()
    run_start = None
    days = sorted(nights)
    for i, day in enumerate(days + [None]):
        full = day is not None and nights[day].free == 0
        if full and run_start is None:
            run_start = day
        if not full and run_start is not None:
            ev = Event()
            ev.add("uid", f"{cat.id}-{run_start.isoformat()}@hotelier-portal")
            ev.add("dtstamp", stamp)
            ev.add("dtstart", run_start)
            ev.add("dtend", days[i - 1] + dt.timedelta(days=1))
            ev.add("summary", "Booked")
            cal.add_component(ev)
            run_start = None
    return cal.to_ical()


def _check_url(url: str) -> str:
    """Checked again, after resolving the name, each time the worker fetches (services.core.outbound)."""
    try:
        return outbound.check_url(url, max_length=1000)
    except outbound.Refused as e:
        if e.reason == "address_not_allowed":
            raise Invalid({"url": outbound.NOT_PUBLIC}) from None
        raise Invalid({"url": _l("Enter the calendar's full http:// or https:// address (.ics).")}) from None


def add_feed(session: Session, actor: User, prop: Property, category_id: int, name: str, url: str) -> IcalFeed:
    access.check_property(actor, prop)
    cat = session.get(RoomCategory, category_id)
    errors = {}
    if cat is None or cat.property_id != prop.id:
        errors["category_id"] = _l("Choose a room category of this property.")
    name = inputs.line(name, "name", errors, required=_l("Enter a name, e.g. Airbnb."), max_len=80)
    try:
        url = _check_url(url)
    except Invalid as e:
        errors.update(e.errors)
    if errors:
        raise Invalid(errors)
    with use_case(session) as uc:
        now = clock.now()
        feed = IcalFeed(category_id=cat.id, name=name.strip()[:80], url=url, created_at=now, sync_requested_at=now)
        session.add(feed)
        audit.record(session, actor, prop, "ical_feed_added", category=cat.name, feed=feed.name)
        uc.keep(feed)
    return feed


def feeds(session: Session, prop: Property) -> list[IcalFeed]:
    return list(session.scalars(
        sa.select(IcalFeed).join(RoomCategory).where(RoomCategory.property_id == prop.id).order_by(IcalFeed.id)
    ))


def _feed_of(session: Session, actor: User, prop: Property, feed_id: int) -> IcalFeed:
    access.check_property(actor, prop)
    feed = session.get(IcalFeed, feed_id)
    if feed is None or feed.category.property_id != prop.id:
        raise NotFound(_l("No such calendar."))
    return feed


def request_sync(session: Session, actor: User, prop: Property, feed_id: int) -> IcalFeed:
    """'Sync now': the worker picks it up at its next round (a request never fetches)."""
    feed = _feed_of(session, actor, prop, feed_id)
    with use_case(session) as uc:
        feed.sync_requested_at = clock.now()
        uc.keep(feed)
    return feed


def remove_feed(session: Session, actor: User, prop: Property, feed_id: int) -> None:
    """Remove the feed and free the nights its blocks held."""
    feed = _feed_of(session, actor, prop, feed_id)
    with use_case(session):
        for b in session.scalars(sa.select(Booking).where(Booking.feed_id == feed.id, Booking.status == "confirmed")):
            inventory.release(session, b)
            b.status, b.updated_at = "cancelled", clock.now()
        audit.record(session, actor, prop, "ical_feed_removed", category=feed.category.name, feed=feed.name)
        session.delete(feed)


def fetch(url: str, timeout: float = 20.0) -> bytes:
    """The feed's .ics: public addresses only, no redirects, at most 2 MiB and `timeout` seconds."""
    return outbound.fetch(url, max_bytes=MAX_FEED_BYTES, timeout=timeout,
                          headers={"User-Agent": "hotelier-portal-ical/1", "Accept": "text/calendar"})


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def parse_events(data: bytes) -> dict[str, tuple[dt.date, dt.date, str]]:
    """UID -> (first night, departure, summary) of every event in an .ics file."""
    cal = Calendar.from_ical(data)
    out = {}
    for ev in cal.walk("VEVENT"):
        if "DTSTART" not in ev:
            continue
        start = _as_date(ev.decoded("DTSTART"))
        end = _as_date(ev.decoded("DTEND")) if "DTEND" in ev else start + dt.timedelta(days=1)
        if end <= start:
            end = start + dt.timedelta(days=1)
        uid = str(ev.get("UID") or f"{start.isoformat()}-{end.isoformat()}")[:100]
        out[uid] = (start, end, str(ev.get("SUMMARY") or "")[:80])
    return out


def sync_feed(session: Session, feed_id: int, fetcher: Callable[[str], bytes] = fetch) -> str:
    """Bring the feed's blocks in line with its .ics. Returns the status line shown to the host."""
    feed = session.get(IcalFeed, feed_id)
    url = feed.url
    session.commit()  # no transaction while fetching
    # A broken feed must not stop the others; its status says why in a reason code, never
    # with the answer's text or an exception's message (the host chose the URL: that would
    # let them read whatever the address answers).
    failure = None
    try:
        data = fetcher(url)
    except Exception as e:
        reason, http_status = outbound.reason_of(e)
        failure = {"ok": False, "reason": reason, **({"http_status": http_status} if http_status else {})}
    else:
        try:
            events = parse_events(data)
        except Exception:
            failure = {"ok": False, "reason": "not_ical"}
    if failure is not None:
        feed = session.get(IcalFeed, feed_id)
        feed.last_synced_at, feed.sync_requested_at = clock.now(), None
        feed.last_status = stored(failure)
        session.commit()
        return status_line(failure)
    feed = session.get(IcalFeed, feed_id)
    cat = feed.category
    prop = cat.prop
    today = clock.today(prop.timezone)
    now = clock.now()
    current = {b.external_id: b for b in session.scalars(
        sa.select(Booking).where(Booking.feed_id == feed.id, Booking.status == "confirmed"))}
    added = removed = conflicts = 0
    colliding: list[dt.date] = []
    for uid, b in current.items():
        ev = events.get(uid)
        if ev is None or (ev[0], ev[1]) != (b.arrival, b.departure):
            inventory.release(session, b)
            b.status, b.updated_at = "cancelled", now
            removed += 1
    for uid, (start, end, summary) in events.items():
        if end <= today:
            continue
        start = max(start, today)
        old = current.get(uid)
        if old is not None and (old.arrival, old.departure) == (start, end) and old.status == "confirmed":
            continue
        block = Booking(property_id=prop.id, category_id=cat.id, source="ical", status="confirmed", arrival=start,
                        departure=end, units=1, guests=1, guest_name=(summary or feed.name)[:120],
                        notes=f"{feed.name} ({uid})", feed_id=feed.id, external_id=uid, created_at=now, updated_at=now)
        session.add(block)
        try:
            with session.begin_nested():
                # Nights booked here and blocked there: the block is kept all the same, its nights
                # without a free unit unplaced (an "overbooked" lane), and a double booking opens (R13).
                inventory.take(session, block, overbook=True)
            added += 1
        except Conflict:  # lost a race for a unit three times over: the next sync brings it
            session.expunge(block) if block in session else None
            conflicts += 1
            continue
        if session.scalar(sa.select(UnplacedNight.id).where(UnplacedNight.booking_id == block.id).limit(1)):
            colliding.extend(inventory.nights_of(block.arrival, block.departure))
            conflicts += 1
    if colliding:
        db_conflicts.open_for(session, cat, sorted(set(colliding)), "ical")
    feed.last_synced_at, feed.sync_requested_at = now, None
    status = {"ok": True, "events": len(events), "added": added, "removed": removed, "conflicts": conflicts}
    feed.last_status = stored(status)
    if conflicts:
        notify.mail_host(session, prop, _l("Calendar %(name)s: possible double booking", name=feed.name),
                         _l("Events of the calendar %(name)s that fall on nights already fully booked here: %(n)s. Check them at once and contact the guests concerned.",
                            n=conflicts, name=feed.name))
    session.commit()
    return status_line(status)


def failure_reason(status: dict) -> Message | None:
    """Why a sync failed, as a translatable Message; None for a status without a known reason
    (one stored before reasons were codes: its text is not shown)."""
    reason = status.get("reason")
    if reason == "not_ical":
        return _l("not an iCal calendar")
    if reason == "http_status" or reason in outbound.REASONS:
        return outbound.reason_message(reason, status.get("http_status"))
    return None


def status_line(status: dict) -> str:
    """The outcome of a sync for operators (the portal words it in the host's language)."""
    if not status.get("ok"):
        return f"error: {failure_reason(status) or 'unknown'}"
    return (f"ok: {status['events']} events, {status['added']} blocked, {status['removed']} released, "
            f"{status['conflicts']} in conflict")


def all_feeds(session: Session) -> list[int]:
    return list(session.scalars(sa.select(IcalFeed.id).order_by(IcalFeed.id)))


def due_feeds(session: Session) -> list[int]:
    now = clock.now()
    return list(session.scalars(sa.select(IcalFeed.id).where(sa.or_(
        IcalFeed.sync_requested_at.is_not(None), IcalFeed.last_synced_at.is_(None),
        IcalFeed.last_synced_at <= now - SYNC_INTERVAL))))

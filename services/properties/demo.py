"""Demo data: an office, its staff, two hosts with properties, a year of rates, some bookings.

Idempotent: running it again on a database that has the demo leaves it as it is.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.availability import inventory
from services.channels import connections
from services.core import clock
from services.office import contracts, terms
from services.models import (Booking, CommissionRate, ExtraCost, NightRate, Property, RoomCategory, Terms, Unit,
                             User)
from services.accounts.users import create_user
from services.properties.registry import ensure_office
from services.bookings import replacement
from services.channels.reservations import CardInput, ReservationInput, cancel, create

DEMO_SLUG = "demo-guesthouse"  # its presence means the demo is loaded

PASSWORD = "demo-portal"
LOGINS = [
    ("staff@tourist-info.example", "staff", "Tourist-Info Musterstadt (staff)"),
    ("host@demo-guesthouse.example", "host", "Gästehaus Sonnenhang, slug demo-guesthouse"),
    ("host@demo-flat.example", "host", "Ferienwohnung Seeblick, slug demo-flat"),
    ("admin@portal.example", "admin", "administrator"),
]

GUESTHOUSE = [
    ("Einzelzimmer", 1, ["Zimmer 1", "Zimmer 2"], Decimal("59.00")),
    ("Doppelzimmer", 2, ["Zimmer 11", "Zimmer 12", "Zimmer 14", "Zimmer 15"], Decimal("89.00")),
    ("Familienzimmer", 4, ["Zimmer 21", "Zimmer 22", "Zimmer 23"], Decimal("129.00")),
]
FLAT = [("Ferienwohnung", 4, ["Wohnung Seeblick"], Decimal("110.00"))]


def _property(session, owner, office, slug, name, city, categories, costs) -> Property:
    now = clock.now()
    prop = Property(slug=slug, name=name, owner_id=owner.id, office_id=office.id, street="Hauptstraße 1",
                    postcode="83471", city=city, country="DE", phone="+49 8652 0000", email=owner.email,
                    created_at=now)
    session.add(prop)
    session.flush()
    contracts.start(session, None, prop, active=True)
    today = clock.today(prop.timezone)
    for pos, (cname, guests, units, price) in enumerate(categories):
        cat = RoomCategory(property_id=prop.id, name=cname, max_guests=guests, position=pos)
        session.add(cat)
        session.flush()
        session.add_all(Unit(category_id=cat.id, name=u, position=i) for i, u in enumerate(units))
        rows = []
        for i in range(366):
            night = today + dt.timedelta(days=i)
            weekend = night.weekday() in (4, 5)
            rows.append({"category_id": cat.id, "night": night, "quota": len(units),
                         "price": price + (Decimal("10.00") if weekend else 0), "min_stay": 2 if weekend else 1,
                         "closed": False, "closed_to_arrival": False, "closed_to_departure": False})
        session.execute(sa.insert(NightRate), rows)
    for cname, amount, per in costs:
        session.add(ExtraCost(property_id=prop.id, name=cname, amount=amount, per=per))
    session.flush()
    return prop


def _own(session, prop, user, cat_index, offset, nights, guest, units=1):
    cat = prop.categories[cat_index]
    today = clock.today(prop.timezone)
    now = clock.now()
    b = Booking(property_id=prop.id, category_id=cat.id, source="own", status="confirmed",
                arrival=today + dt.timedelta(days=offset), departure=today + dt.timedelta(days=offset + nights),
                units=units, guests=min(2, cat.max_guests), guest_name=guest, guest_phone="+49 170 000000",
                created_by_id=user.id, created_at=now, updated_at=now, notes="Telefonbuchung")
    session.add(b)
    inventory.take(session, b)


def can_load(session: Session) -> bool:
    """Whether `demo --if-empty` may load: an empty database, or one that holds the demo."""
    anything = session.scalar(sa.select(Property.id).limit(1))
    return not anything or bool(session.scalar(sa.select(Property.id).where(Property.slug == DEMO_SLUG)))


def present_logins(session: Session) -> list[tuple[str, str, str]]:
    """The demo's logins whose accounts exist (none once a real database replaced the demo)."""
    existing = set(session.scalars(sa.select(User.email).where(User.email.in_([e for e, _, _ in LOGINS]))))
    return [login for login in LOGINS if login[0] in existing]


def load(session: Session) -> bool:
    """Create the demo unless it exists; returns True when it created it."""
    if session.scalar(sa.select(Property.id).where(Property.slug == DEMO_SLUG)):
        return False
    office = ensure_office(session, "Tourist-Info Musterstadt")
    create_user(session, LOGINS[0][0], "Petra Berger", PASSWORD, "staff", office)
    host = create_user(session, LOGINS[1][0], "Anna Huber", PASSWORD, "host")
    host2 = create_user(session, LOGINS[2][0], "Josef Maier", PASSWORD, "host")
    if not session.scalar(sa.select(User.id).where(User.email == LOGINS[3][0])):
        create_user(session, LOGINS[3][0], "Admin", PASSWORD, "admin")
    gh = _property(session, host, office, DEMO_SLUG, "Gästehaus Sonnenhang", "Berchtesgaden", GUESTHOUSE,
                   [("Endreinigung", Decimal("15.00"), "stay")])
    flat = _property(session, host2, office, "demo-flat", "Ferienwohnung Seeblick", "Schönau am Königssee", FLAT,
                     [("Endreinigung", Decimal("60.00"), "stay"), ("Bettwäsche", Decimal("12.00"), "stay")])
    session.refresh(gh)
    session.refresh(flat)
    _office_terms(session, office, gh)
    _own(session, gh, host, 1, 1, 3, "Familie Schneider")
    _own(session, gh, host, 1, 5, 2, "Herr Wagner", units=2)
    _own(session, gh, host, 0, 0, 4, "Frau Becker")
    _own(session, gh, host, 2, 10, 7, "Familie Hoffmann")
    _own(session, gh, host, 1, 20, 5, "Stammgast Klein")
    _own(session, flat, host2, 0, 3, 7, "Familie Novák")
    gh.risk_free_eligible = gh.risk_free_opted_in = True  # in the risk-free programme (R50)
    session.commit()
    _channels(session, gh, flat)
    return True


def _office_terms(session, office, gh) -> None:
    """The office's contact and model terms (20 % deposit within 7 days), adopted by the
    guesthouse, and the commission rates of its channels."""
    now = clock.now()
    office.phone, office.opening_hours = "+49 8652 9670", "Mo–Fr 9–17 Uhr, Sa 9–12 Uhr"
    office.email = office.email or "info@tourist-info.example"
    common = {"deposit_percent": Decimal("20"), "deposit_days": 7, "updated_at": now,
              "text": "Anzahlung 20 % innerhalb von 7 Tagen nach der Buchung; Restzahlung bei Anreise."}
    session.add(Terms(office_id=office.id, fee_schedule=[dict(t) for t in terms.DEFAULT_SCHEDULE], **common))
    session.add(Terms(property_id=gh.id, fee_schedule=[dict(t) for t in terms.DEFAULT_SCHEDULE], adopted_at=now,
                      **common))
    contract = contracts.current(session, gh)
    contract.rates = [CommissionRate(channel=ch, percent=Decimal(p))
                      for ch, p in (("booking", "12"), ("slevomat", "15"), ("tourist_office", "10"))]
    session.flush()


def _channel_booking(session, conn, prop, cat_index, offset, nights, guest, status="confirmed", units=1, risk_free=False,
                     card=None, free_days=None):
    today = clock.today(prop.timezone)
    cat = prop.categories[cat_index]
    data = ReservationInput(
        external_id=f"DEMO-{conn.channel}-{offset}-{cat_index}", room_category_id=cat.id,
        arrival=today + dt.timedelta(days=offset), departure=today + dt.timedelta(days=offset + nights),
        units=units, guests=min(2, cat.max_guests) * units, guest_name=guest,
        guest_email=guest.split()[-1].lower() + "@example.com", guest_phone="+420 600 000 000", status=status,
        total_price=None, risk_free=risk_free, card=card,
        free_cancellation_until=clock.now() + dt.timedelta(days=free_days) if free_days is not None else None)
    return create(session, conn, data)[0]


def _channels(session, gh, flat) -> None:
    """Connections for both demo properties, bookings from several channels and one active hold."""
    conns = {name: connections.switch_on(session, None, gh, name)[0] for name in ("tourist-office", "slevomat", "booking")}
    flat_conn = connections.switch_on(session, None, flat, "e-domizil")[0]
    _channel_booking(session, conns["tourist-office"], gh, 1, 8, 3, "Familie Müller")
    _channel_booking(session, conns["booking"], gh, 0, 12, 2, "Mr Smith", risk_free=True, free_days=10,
                     card=CardInput("John Smith", "Visa", "4242", "09/28"))
    _channel_booking(session, conns["booking"], gh, 2, 3, 4, "Familie Dvořák", units=2,
                     card=CardInput("Tomáš Dvořák", "Mastercard", "5100", "03/27"))
    _channel_booking(session, conns["slevomat"], gh, 1, 2, 2, "Jana Nováková")
    _channel_booking(session, conns["slevomat"], gh, 1, 14, 2, "Petr Svoboda", status="pending")  # an active hold
    _channel_booking(session, flat_conn, flat, 0, 15, 7, "Familie Jansen")
    # The risk-free programme's life cycle (issue 10), one booking in each state: a guest's
    # cancellation searched for replacements, one of its nights resold, and two arrivals today
    # whose unsold room-nights the platform pays (fully, and partly next to a kept room).
    garcia = _channel_booking(session, conns["booking"], gh, 2, 18, 3, "Ms Garcia", units=2, risk_free=True)
    cancel(session, conns["booking"], garcia.id, units=1)
    _channel_booking(session, conns["booking"], gh, 2, 19, 1, "Herr Lang")
    berg = _channel_booking(session, conns["booking"], gh, 2, 0, 2, "Frau Berg", risk_free=True)
    cancel(session, conns["booking"], berg.id)
    ito = _channel_booking(session, conns["booking"], gh, 1, 0, 2, "Familie Ito", units=2, risk_free=True)
    cancel(session, conns["booking"], ito.id, units=1)
    replacement.settle(session)

"""Factory functions for tests: each builds a valid object with sensible defaults; `login`."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from services.core import clock
from services.office import contracts
from services.models import Booking, NightRate, Office, Property, RoomCategory, Unit, User
from services.accounts.users import create_user

PASSWORD = "secret-password"
# The real hash (scrypt) costs ~0.1 s per user and per login; the tests create and log in
# hundreds of users, so they share one cheap hash of the same password.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = itertools.count(1)


def make_office(session: Session, name: str | None = None) -> Office:
    office = Office(name=name or f"Office {next(_seq)}")
    session.add(office)
    session.flush()
    return office


def make_user(session: Session, role: str = "host", office: Office | None = None, email: str | None = None, *,
              name: str | None = None, locale: str | None = None, fast_hash: bool = True, commit: bool = True) -> User:
    """An account whose password is PASSWORD. `fast_hash=False`: made by services' `create_user`
    (its validation, the real hash) for a test about that; `commit=False`: only added, so that
    many users go to the database in one INSERT."""
    if role == "staff" and office is None:
        office = make_office(session)
    n = next(_seq)
    email, name = email or f"{role}{n}@example.com", name or f"{role.title()} {n}"
    if fast_hash:
        user = User(email=email, name=name, password_hash=FAST_HASH, role=role,
                    office_id=office.id if office else None, created_at=clock.now())
        session.add(user)
    else:
        user = create_user(session, email, name, PASSWORD, role, office)
    if locale:
        user.locale = locale
    if commit:
        session.commit()
    return user


def make_property(
    session: Session, owner: User | None = None, office: Office | None = None, units: int = 3,
    categories: int = 1, days: int = 60, price: str = "80.00", quota: int | None = None,
    active: bool = True, slug: str | None = None, start: dt.date | None = None,
) -> Property:
    """A property with `categories` categories of `units` units each and `days` nights of rates."""
    office = office or (owner.office if owner and owner.office else None) or make_office(session)
    owner = owner or make_user(session, "host")
    n = next(_seq)
    now = clock.now()
    prop = Property(slug=slug or f"prop-{n}", name=f"Property {n}", owner_id=owner.id, office_id=office.id,
                    created_at=now)
    session.add(prop)
    session.flush()
    contracts.start(session, None, prop, active=active)
    start = start or clock.today(prop.timezone)
    for c in range(categories):
        cat = RoomCategory(property_id=prop.id, name=f"Category {c + 1}", max_guests=2, position=c)
        session.add(cat)
        session.flush()
        session.add_all(Unit(category_id=cat.id, name=f"Room {c + 1}{i + 1:02d}", position=i) for i in range(units))
        if days:
            session.execute(sa.insert(NightRate), [
                {"category_id": cat.id, "night": start + dt.timedelta(days=i), "quota": units if quota is None else quota,
                 "price": Decimal(price), "min_stay": 1, "closed": False, "closed_to_arrival": False,
                 "closed_to_departure": False}
                for i in range(days)
            ])
    session.commit()
    session.refresh(prop)
    return prop


def new_booking(prop: Property, category: RoomCategory | None = None, arrival: dt.date | None = None, nights: int = 2,
                source: str = "own", status: str = "confirmed", units: int = 1, guest: str = "Guest",
                hold_minutes: int | None = None) -> Booking:
    """An unsaved booking; pass it to services.availability.inventory.take."""
    category = category or prop.categories[0]
    arrival = arrival or clock.today(prop.timezone) + dt.timedelta(days=1)
    now = clock.now()
    return Booking(property_id=prop.id, category_id=category.id, source=source, status=status, arrival=arrival,
                   departure=arrival + dt.timedelta(days=nights), units=units, guests=1, guest_name=guest,
                   created_at=now, updated_at=now,
                   hold_expires_at=now + dt.timedelta(minutes=hold_minutes) if hold_minutes is not None else None)


def login(client, user, password: str = PASSWORD):
    """Log `client` in as `user` (anything with an `email`; None: stay anonymous); asserts it worked."""
    if user is None:
        return None
    resp = client.post("/login", data={"email": user.email, "password": password})
    body = resp.get_data(as_text=True)
    main = body[body.find("<main"):][:1500]  # the message, not the page's head
    assert resp.status_code == 302, (resp.status_code, main)
    return resp

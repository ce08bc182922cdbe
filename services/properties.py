"""Accounts, properties, room categories and mandatory costs; the brokerage contract."""
from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from services import access, audit, clock
from services.inventory import touch
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.i18n import _l
from services.models import ExtraCost, Office, Property, RoomCategory, Unit, User

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MIN_PASSWORD = 8


# -- accounts ------------------------------------------------------------------------------

def create_user(session: Session, email: str, name: str, password: str, role: str, office: Office | None = None) -> User:
    email = email.strip().lower()
    errors = {}
    if not EMAIL.match(email):
        errors["email"] = _l("Enter a valid e-mail address.")
    elif session.scalar(sa.select(User.id).where(User.email == email)):
        errors["email"] = _l("An account with this e-mail address exists already.")
    if not name.strip():
        errors["name"] = _l("Enter a name.")
    if len(password) < MIN_PASSWORD:
        errors["password"] = _l("The password needs at least %(n)s characters.", n=MIN_PASSWORD)
    if role not in ("host", "staff", "admin"):
        errors["role"] = _l("Unknown role.")
    elif role == "staff" and office is None:
        errors["office"] = _l("Staff belong to a tourist office.")
    if errors:
        raise Invalid(errors)
    user = User(email=email, name=name.strip(), password_hash=generate_password_hash(password),
                role=role, office_id=office.id if office else None, created_at=clock.now())
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user


def change_password(session: Session, user: User, current: str, new: str, repeat: str) -> None:
    errors = {}
    if not check_password_hash(user.password_hash, current):
        errors["current"] = _l("The current password is not right.")
    if len(new) < MIN_PASSWORD:
        errors["new"] = _l("The password needs at least %(n)s characters.", n=MIN_PASSWORD)
    elif new != repeat:
        errors["repeat"] = _l("The two new passwords differ.")
    if errors:
        raise Invalid(errors)
    user.password_hash = generate_password_hash(new)
    audit.record(session, user, None, "password_changed", user.email)
    session.commit()


def set_locale(session: Session, user: User, locale: str) -> None:
    user.locale = locale
    session.commit()


# -- properties and the brokerage contract -------------------------------------------------

def create_host(session: Session, actor: User, host_name: str, email: str, property_name: str, slug: str) -> tuple[User, Property, str]:
    """Staff register a host with a first property; returns a one-time password to hand over."""
    access.require_staff(actor)
    if actor.office_id is None:
        raise Forbidden(_l("Only tourist-office staff can do this."))
    slug = slug.strip().lower()
    errors = {}
    if not property_name.strip():
        errors["property_name"] = _l("Enter the property's name.")
    if not SLUG.match(slug):
        errors["slug"] = _l("Use lower-case letters, digits and dashes only.")
    elif session.scalar(sa.select(Property.id).where(Property.slug == slug)):
        errors["slug"] = _l("This address is taken already.")
    password = secrets.token_urlsafe(9)
    try:
        user = create_user(session, email, host_name, password, "host")
    except Invalid as e:
        errors = {**{("host_name" if k == "name" else k): v for k, v in e.errors.items()}, **errors}
    if errors:
        session.rollback()
        raise Invalid(errors)
    prop = Property(slug=slug, name=property_name.strip(), owner_id=user.id, office_id=actor.office_id,
                    email=user.email, created_at=clock.now())
    session.add(prop)
    session.flush()
    audit.record(session, actor, prop, "host_created", f"{user.name} <{user.email}>, {prop.name}")
    session.commit()
    return user, prop, password


def set_contract(session: Session, actor: User, prop: Property, active: bool) -> None:
    """Activate (or end) the brokerage contract; only then (or no longer) may the host log in to it."""
    access.require_staff(actor)
    access.check_property(actor, prop)
    prop.contract_active_since = clock.now() if active else None
    audit.record(session, actor, prop, "contract_activated" if active else "contract_ended", prop.name)
    session.commit()


def office_properties(session: Session, actor: User) -> list[Property]:
    access.require_staff(actor)
    return list(session.scalars(
        sa.select(Property).where(access.visible_properties(actor))
        .options(sa.orm.joinedload(Property.owner)).order_by(Property.name)
    ))


PROPERTY_FIELDS = ("name", "street", "postcode", "city", "country", "phone", "email")


def update_property(session: Session, actor: User, prop: Property, values: dict[str, str]) -> None:
    access.check_property(actor, prop)
    values = {k: (values.get(k) or "").strip() for k in PROPERTY_FIELDS}
    errors = {}
    if not values["name"]:
        errors["name"] = _l("Enter the property's name.")
    if values["email"] and not EMAIL.match(values["email"]):
        errors["email"] = _l("Enter a valid e-mail address.")
    if values["country"] and not re.fullmatch(r"[A-Za-z]{2}", values["country"]):
        errors["country"] = _l("Use the two-letter country code, e.g. DE.")
    if errors:
        raise Invalid(errors)
    values["country"] = values["country"].upper()
    changed = {k: v for k, v in values.items() if getattr(prop, k) != v}
    for k, v in changed.items():
        setattr(prop, k, v)
    if changed:
        audit.record(session, actor, prop, "property_changed", ", ".join(f"{k}={v}" for k, v in changed.items()))
    session.commit()


def _int(value, field: str, low: int, high: int, errors: dict) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        errors[field] = _l("Enter a whole number.")
        return 0
    if not low <= n <= high:
        errors[field] = _l("Enter a number from %(low)s to %(high)s.", low=low, high=high)
    return n


def add_category(session: Session, actor: User, prop: Property, name: str, max_guests, unit_names: str) -> RoomCategory:
    """Add a room category; `unit_names` is one unit name per line or comma ("Room 12, Room 14")."""
    access.check_property(actor, prop)
    errors = {}
    if not name.strip():
        errors["name"] = _l("Enter a name, e.g. Double room.")
    guests = _int(max_guests, "max_guests", 1, 30, errors)
    names = [n.strip() for n in re.split(r"[,\n]", unit_names or "") if n.strip()]
    if not names:
        errors["unit_names"] = _l("Name at least one unit, e.g. Room 12.")
    elif len(set(names)) != len(names):
        errors["unit_names"] = _l("Each unit needs its own name.")
    elif len(names) > 200:
        errors["unit_names"] = _l("At most 200 units.")
    if errors:
        raise Invalid(errors)
    touch(session, prop.id)
    cat = RoomCategory(property_id=prop.id, name=name.strip(), max_guests=guests, position=len(prop.categories))
    session.add(cat)
    session.flush()
    session.add_all(Unit(category_id=cat.id, name=n, position=i) for i, n in enumerate(names))
    audit.record(session, actor, prop, "category_added", f"{cat.name}: {', '.join(names)}")
    session.commit()
    return cat


def add_extra_cost(session: Session, actor: User, prop: Property, name: str, amount: str, per: str, category_id: str | int | None) -> ExtraCost:
    access.check_property(actor, prop)
    errors = {}
    if not name.strip():
        errors["name"] = _l("Enter a name, e.g. Final cleaning.")
    try:
        value = Decimal(str(amount).strip().replace(",", "."))
        if not value.is_finite() or value < 0:
            raise InvalidOperation
        if value >= Decimal("100000000"):
            raise InvalidOperation
    except InvalidOperation:
        errors["amount"] = _l("Enter an amount of 0 or more, e.g. 45.00.")
        value = Decimal(0)
    if per not in ("stay", "night"):
        errors["per"] = _l("Choose per stay or per night.")
    # 0 is the form's "all room categories" (SelectField coerce=int), like None and "".
    cat_id = int(category_id) if category_id not in (None, "", "0", 0) else None
    if cat_id is not None and cat_id not in {c.id for c in prop.categories}:
        errors["category_id"] = _l("Choose a room category of this property.")
    if errors:
        raise Invalid(errors)
    touch(session, prop.id)
    cost = ExtraCost(property_id=prop.id, category_id=cat_id, name=name.strip(),
                     amount=value.quantize(Decimal("0.01")), per=per)
    session.add(cost)
    audit.record(session, actor, prop, "extra_cost_added", f"{cost.name} {cost.amount} {per}")
    session.commit()
    return cost


def remove_extra_cost(session: Session, actor: User, prop: Property, cost_id: int) -> None:
    access.check_property(actor, prop)
    cost = session.get(ExtraCost, cost_id)
    if cost is None or cost.property_id != prop.id:
        raise NotFound(_l("No such cost."))
    touch(session, prop.id)
    session.delete(cost)
    audit.record(session, actor, prop, "extra_cost_removed", f"{cost.name} {cost.amount}")
    session.commit()


def ensure_office(session: Session, name: str) -> Office:
    office = session.scalar(sa.select(Office).where(Office.name == name))
    if office is None:
        office = Office(name=name)
        session.add(office)
        session.flush()
    return office


def unused_slug_check(session: Session, slug: str) -> None:
    if session.scalar(sa.select(Property.id).where(Property.slug == slug)):
        raise Conflict(_l("This address is taken already."), code="slug_taken")

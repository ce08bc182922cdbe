"""Properties, room categories and units (added, renamed, deleted when no booking refers to
them) and mandatory costs; the brokerage contract; offices."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access, tokens, users
from services.office import contracts
from services.core import audit, clock, inputs
from services.availability.inventory import touch
from services.channels import ari
from services.core.errors import Conflict, Forbidden, Invalid, NotFound
from services.core.db import use_case
from services.core.i18n import _l
from services.models import CATEGORY_KINDS, Booking, ChannelConnection, ExtraCost, IcalFeed, NightRate, Occupancy, Office, Property, RoomCategory, Unit, User

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# -- properties and the brokerage contract -------------------------------------------------

def create_host(session: Session, actor: User, host_name: str, email: str, property_name: str, slug: str,
                link_base: str) -> tuple[User, Property]:
    """Staff register a host with a first property. The account has no password yet: the host
    gets an invitation e-mail with a one-time link (services.accounts.tokens) to choose one;
    `link_base` is the absolute address of that page without the secret (the web layer knows it)."""
    access.require_staff(actor)
    if actor.office_id is None:
        raise Forbidden(_l("Only tourist-office staff can do this."))
    slug = slug.strip().lower()
    errors = {}
    property_name = inputs.line(property_name, "property_name", errors, required=_l("Enter the property's name."),
                                max_len=120)
    if not SLUG.match(slug):
        errors["slug"] = _l("Use lower-case letters, digits and dashes only.")
    elif session.scalar(sa.select(Property.id).where(Property.slug == slug)):
        errors["slug"] = _l("This address is taken already.")
    with use_case(session) as uc:  # errors found after the account was added leave nothing behind
        try:
            user = users.create_user(session, email, host_name, None, "host")
        except Invalid as e:
            errors = {**{("host_name" if k == "name" else k): v for k, v in e.errors.items()}, **errors}
        if errors:
            raise Invalid(errors)
        prop = Property(slug=slug, name=property_name, owner_id=user.id, office_id=actor.office_id,
                        email=user.email, created_at=clock.now())
        session.add(prop)
        session.flush()
        contracts.start(session, actor, prop, active=False)
        tokens.invite(session, user, link_base, actor.office.name, prop.name)
        audit.record(session, actor, prop, "host_created", host=user.name, email=user.email, property=prop.name)
        uc.keep(user, prop)
    return user, prop


def set_contract(session: Session, actor: User, prop: Property, active: bool) -> None:
    """Activate (or end) the brokerage contract; only then (or no longer) may the host log in to it."""
    contracts.change(session, actor, prop, "activate" if active else "end")


def office_properties(session: Session, actor: User) -> list[Property]:
    access.require_staff(actor)
    return list(session.scalars(
        sa.select(Property).where(access.visible_properties(actor))
        .options(sa.orm.joinedload(Property.owner)).order_by(Property.name)
    ))


PROPERTY_FIELDS = ("name", "street", "postcode", "city", "country", "phone", "email")
_PROPERTY_LENGTHS = {"name": 120, "street": 120, "postcode": 12, "city": 80, "country": 2, "phone": 40, "email": 254}


def update_property(session: Session, actor: User, prop: Property, values: dict[str, str]) -> None:
    access.check_property(actor, prop)
    errors = {}
    values = {k: inputs.line(values.get(k), k, errors, max_len=_PROPERTY_LENGTHS[k]) for k in PROPERTY_FIELDS}
    if not values["name"] and "name" not in errors:
        errors["name"] = _l("Enter the property's name.")
    if values["email"] and "email" not in errors and not inputs.EMAIL.match(values["email"]):
        errors["email"] = _l("Enter a valid e-mail address.")
    if values["country"] and "country" not in errors and not re.fullmatch(r"[A-Za-z]{2}", values["country"]):
        errors["country"] = _l("Use the two-letter country code, e.g. DE.")
    if errors:
        raise Invalid(errors)
    with use_case(session):
        values["country"] = values["country"].upper()
        changed = {k: [getattr(prop, k), v] for k, v in values.items() if getattr(prop, k) != v}
        for k, (_, v) in changed.items():
            setattr(prop, k, v)
        if changed:
            audit.record(session, actor, prop, "property_changed", changes=changed)


def _int(value, field: str, low: int, high: int, errors: dict) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        errors[field] = _l("Enter a whole number.")
        return 0
    if not low <= n <= high:
        errors[field] = _l("Enter a number from %(low)s to %(high)s.", low=low, high=high)
    return n


def add_category(session: Session, actor: User, prop: Property, name: str, max_guests, unit_names: str,
                 kind: str = "room") -> RoomCategory:
    """Add a room category; `unit_names` is one unit name per line or comma ("Room 12, Room 14");
    `kind` (room, apartment, house) is what the public search filters by."""
    access.check_property(actor, prop)
    errors = {}
    name = inputs.line(name, "name", errors, required=_l("Enter a name, e.g. Double room."), max_len=80)
    guests = _int(max_guests, "max_guests", 1, 30, errors)
    if kind not in CATEGORY_KINDS:
        errors["kind"] = _l("Choose a type from the list.")
    names = []
    for piece in re.split(r"[,\n]", unit_names if isinstance(unit_names, str) else ""):
        names.append(inputs.line(piece, "unit_names", errors, max_len=40))
    names = [n for n in names if n]
    if "unit_names" in errors:
        names = []  # a name with control characters, or too long: its message stands
    elif not names:
        errors["unit_names"] = _l("Name at least one unit, e.g. Room 12.")
    elif len(set(names)) != len(names):
        errors["unit_names"] = _l("Each unit needs its own name.")
    elif len(names) > 200:
        errors["unit_names"] = _l("At most 200 units.")
    if errors:
        raise Invalid(errors)
    with use_case(session) as uc:
        touch(session, prop.id)
        cat = RoomCategory(property_id=prop.id, name=name, max_guests=guests, kind=kind, position=len(prop.categories))
        session.add(cat)
        session.flush()
        session.add_all(Unit(category_id=cat.id, name=n, position=i) for i, n in enumerate(names))
        audit.record(session, actor, prop, "category_added", category=cat.name, units=names)
        uc.keep(cat)
    return cat


def _category(session: Session, prop: Property, category_id: int) -> RoomCategory:
    return access.of_property(session, RoomCategory, category_id, prop.id, _l("No such room category."))


def _unit(session: Session, prop: Property, unit_id: int) -> Unit:
    """A unit of this property; another property's unit is "not found", like a missing one."""
    unit = session.get(Unit, unit_id) if 0 < unit_id <= inputs.MAX_ID else None
    if unit is None or unit.category.property_id != prop.id:
        raise NotFound(_l("No such unit."))
    return unit


def rename_category(session: Session, actor: User, prop: Property, category_id: int, name: str) -> RoomCategory:
    access.check_property(actor, prop)
    cat = _category(session, prop, category_id)
    errors = {}
    name = inputs.line(name, "name", errors, required=_l("Enter a name, e.g. Double room."), max_len=80)
    if "name" not in errors and any(c.name == name and c.id != cat.id for c in prop.categories):
        errors["name"] = _l("Another room category has this name already.")
    if errors:
        raise Invalid(errors)
    if name == cat.name:
        return cat
    with use_case(session) as uc:
        old, cat.name = cat.name, name
        audit.record(session, actor, prop, "category_renamed", **{"from": old, "to": name})
        uc.keep(cat)
    return cat


def set_category_kind(session: Session, actor: User, prop: Property, category_id: int, kind: str) -> RoomCategory:
    """A room category's type (room, apartment, house): what the public search filters by."""
    access.check_property(actor, prop)
    cat = _category(session, prop, category_id)
    if kind not in CATEGORY_KINDS:
        raise Invalid({"kind": _l("Choose a type from the list.")})
    if kind == cat.kind:
        return cat
    with use_case(session) as uc:
        old, cat.kind = cat.kind, kind
        audit.record(session, actor, prop, "category_kind_changed", category=cat.name, **{"from": old, "to": kind})
        uc.keep(cat)
    return cat


def rename_unit(session: Session, actor: User, prop: Property, unit_id: int, name: str) -> Unit:
    access.check_property(actor, prop)
    unit = _unit(session, prop, unit_id)
    errors = {}
    name = inputs.line(name, "name", errors, required=_l("Enter a name, e.g. Room 12."), max_len=40)
    if "name" not in errors and any(u.name == name and u.id != unit.id for u in unit.category.units):
        errors["name"] = _l("Each unit needs its own name.")
    if errors:
        raise Invalid(errors)
    if name == unit.name:
        return unit
    with use_case(session) as uc:
        old, unit.name = unit.name, name
        audit.record(session, actor, prop, "unit_renamed", category=unit.category.name, **{"from": old, "to": name})
        uc.keep(unit)
    return unit


MAX_NAMED = 5  # bookings named in a refusal; the rest are counted


def _refusal(name: str, bookings: list[Booking]) -> Conflict:
    """Why `name` cannot be deleted: guest and dates of the first MAX_NAMED bookings that refer
    to it, and how many more there are."""
    named = "; ".join(f"{b.guest_name} ({b.arrival:%d.%m.%Y}–{b.departure:%d.%m.%Y})" for b in bookings[:MAX_NAMED])
    more = len(bookings) - MAX_NAMED
    if more > 0:
        message = _l("%(name)s cannot be deleted: bookings refer to it: %(bookings)s and %(more)s more.",
                     name=name, bookings=named, more=more)
    else:
        message = _l("%(name)s cannot be deleted: bookings refer to it: %(bookings)s.", name=name, bookings=named)
    return Conflict(message, code="has_bookings", count=len(bookings))


def category_bookings(session: Session, category_id: int) -> list[Booking]:
    """Every booking of a category, whatever its status: past, cancelled and replaced ones too
    reference it (their history and statements need it)."""
    return list(session.scalars(
        sa.select(Booking).where(Booking.category_id == category_id).order_by(Booking.arrival, Booking.id)))


def unit_bookings(session: Session, unit_id: int) -> list[Booking]:
    """Every booking that holds (or held: past stays keep their rows) a night of the unit."""
    return list(session.scalars(
        sa.select(Booking).where(Booking.id.in_(sa.select(Occupancy.booking_id).where(Occupancy.unit_id == unit_id)))
        .order_by(Booking.arrival, Booking.id)))


def why_not_delete_category(session: Session, actor: User, prop: Property, category_id: int) -> Conflict | None:
    """What keeps the category from being deleted (bookings refer to it), or None: the
    confirmation step shows it before the host even tries."""
    access.check_property(actor, prop)
    cat = _category(session, prop, category_id)
    bookings = category_bookings(session, cat.id)
    return _refusal(cat.name, bookings) if bookings else None


def why_not_delete_unit(session: Session, actor: User, prop: Property, unit_id: int) -> Conflict | None:
    access.check_property(actor, prop)
    unit = _unit(session, prop, unit_id)
    bookings = unit_bookings(session, unit.id)
    if bookings:
        return _refusal(unit.name, bookings)
    if len(unit.category.units) <= 1:
        return Conflict(_l("%(name)s is the last unit of %(category)s: delete the room category instead.",
                           name=unit.name, category=unit.category.name), code="last_unit")
    return None


def delete_category(session: Session, actor: User, prop: Property, category_id: int) -> str:
    """Delete a room category with its units, night rates, its own mandatory costs and
    calendars, unless a booking references it (then Conflict names them). Returns its name."""
    refusal = why_not_delete_category(session, actor, prop, category_id)
    if refusal is not None:
        raise refusal
    cat = _category(session, prop, category_id)
    name, units = cat.name, [u.name for u in cat.units]
    with use_case(session):
        touch(session, prop.id, [cat.id])  # property-wide; the category's row stops its bookings meanwhile
        late = category_bookings(session, cat.id)  # booked since the look above (bookings lock the category only)
        if late:
            raise _refusal(cat.name, late)
        session.execute(sa.delete(NightRate).where(NightRate.category_id == cat.id))
        session.execute(sa.delete(ExtraCost).where(ExtraCost.category_id == cat.id))
        session.execute(sa.delete(IcalFeed).where(IcalFeed.category_id == cat.id))
        session.execute(sa.delete(Unit).where(Unit.category_id == cat.id))
        session.delete(cat)
        audit.record(session, actor, prop, "category_deleted", category=name, units=list(units))
    return name


def delete_unit(session: Session, actor: User, prop: Property, unit_id: int) -> str:
    """Delete a unit no booking ever took; the category's quotas shrink to the units left.
    The last unit of a category stays (delete the category instead). Returns its name."""
    refusal = why_not_delete_unit(session, actor, prop, unit_id)
    if refusal is not None:
        raise refusal
    unit = _unit(session, prop, unit_id)
    cat = unit.category
    name, left = unit.name, len(cat.units) - 1
    with use_case(session):
        touch(session, prop.id, [cat.id])  # property-wide; the category's row before its rates: one lock order
        late = unit_bookings(session, unit.id)  # booked since the look above (bookings lock the category only)
        if late:
            raise _refusal(unit.name, late)
        session.execute(sa.update(NightRate).where(NightRate.category_id == cat.id, NightRate.quota > left)
                        .values(quota=left).execution_options(synchronize_session=False))
        session.delete(unit)
        # One unit fewer: fewer free, quotas cut, over the whole future that channels are sold.
        today = clock.today(prop.timezone)
        ari.changed(session, prop.id, cat.id, (today, today + dt.timedelta(days=ari.UNIT_CHANGE_DAYS - 1)))
        audit.record(session, actor, prop, "unit_deleted", category=cat.name, unit=name)
    return name


@dataclass(frozen=True)
class FirstSteps:
    """What a new property still lacks before it can sell: the plan's first-run checklist."""

    rooms: bool  # at least one room category with units
    prices: bool  # a price on some night from today on
    channels: bool  # a channel module switched on

    @property
    def done(self) -> bool:
        """Rooms and prices: then the plan sells, and the checklist goes. Channels are a step a
        host who takes only own bookings may never take (shown, ticked or not, until then)."""
        return self.rooms and self.prices


def first_steps(session: Session, actor: User, prop: Property) -> FirstSteps:
    """Ticks for the checklist, in one query."""
    access.check_property(actor, prop)
    rooms, prices, channels = session.execute(sa.select(
        sa.exists().where(Unit.category_id == RoomCategory.id, RoomCategory.property_id == prop.id),
        sa.exists().where(NightRate.category_id == RoomCategory.id, RoomCategory.property_id == prop.id,
                          NightRate.night >= clock.today(prop.timezone), NightRate.price.is_not(None)),
        sa.exists().where(ChannelConnection.property_id == prop.id, ChannelConnection.active.is_(True),
                          ChannelConnection.scope == "booking"),
    )).one()
    return FirstSteps(bool(rooms), bool(prices), bool(channels))


def add_extra_cost(session: Session, actor: User, prop: Property, name: str, amount: str, per: str, category_id: str | int | None) -> ExtraCost:
    access.check_property(actor, prop)
    errors = {}
    name = inputs.line(name, "name", errors, required=_l("Enter a name, e.g. Final cleaning."), max_len=80)
    value = inputs.amount(str(amount))
    if value is None:
        errors["amount"] = _l("Enter an amount of 0 or more, e.g. 45.00.")
        value = Decimal(0)
    elif inputs.more_than_cents(inputs.exact_amount(str(amount))):
        errors["amount"] = inputs.TWO_DECIMALS
    elif value > inputs.MAX_COSTS:
        errors["amount"] = _l("A mandatory cost can be at most %(max)s.", max=inputs.MAX_COSTS)
    if per not in ("stay", "night"):
        errors["per"] = _l("Choose per stay or per night.")
    # 0 is the form's "all room categories" (SelectField coerce=int), like None and "".
    cat_id = int(category_id) if category_id not in (None, "", "0", 0) else None
    if cat_id is not None and cat_id not in {c.id for c in prop.categories}:
        errors["category_id"] = _l("Choose a room category of this property.")
    if "amount" not in errors and "category_id" not in errors:
        # Bounded together too, so that no booking's total can outgrow its column (services.core.inputs).
        scopes = [cat_id] if cat_id is not None else [c.id for c in prop.categories] or [None]
        total = value + max(sum((c.amount for c in prop.extra_costs if c.category_id in (None, scope)), Decimal(0))
                            for scope in scopes)
        if total > inputs.MAX_COSTS:
            errors["amount"] = _l("The mandatory costs of a room category can add up to at most %(max)s; "
                                  "with this one they would come to %(total)s.", max=inputs.MAX_COSTS, total=total)
    if errors:
        raise Invalid(errors)
    with use_case(session) as uc:
        touch(session, prop.id)
        cost = ExtraCost(property_id=prop.id, category_id=cat_id, name=name, amount=value, per=per)
        session.add(cost)
        audit.record(session, actor, prop, "extra_cost_added", name=cost.name, amount=str(cost.amount), per=per,
                     currency=prop.currency)
        uc.keep(cost)
    return cost


def remove_extra_cost(session: Session, actor: User, prop: Property, cost_id: int) -> None:
    access.check_property(actor, prop)
    cost = access.of_property(session, ExtraCost, cost_id, prop.id, _l("No such cost."))
    with use_case(session):
        touch(session, prop.id)
        session.delete(cost)
        audit.record(session, actor, prop, "extra_cost_removed", name=cost.name, amount=str(cost.amount), per=cost.per,
                     currency=prop.currency)


def property_by_slug(session: Session, slug: str) -> Property | None:
    """For operators (the CLI), who act outside any tenant; requests use access.property_for."""
    return session.scalar(sa.select(Property).where(Property.slug == slug))


def ensure_office(session: Session, name: str) -> Office:
    office = session.scalar(sa.select(Office).where(Office.name == name))
    if office is None:
        office = Office(name=name)
        session.add(office)
        session.flush()
    return office

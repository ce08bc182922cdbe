"""The brokerage contract (Vermittlungsvertrag) of a property, as a record with states.

    invited --activate--> active --suspend--> suspended --activate--> active
       any state but ended --end--> ended (kept as history; a new contract may start later)

Only `active` gives the host access and the property's channel keys and public listing; the
state is mirrored in `Property.contract_active_since` (set while active), the one column the
access checks, the API's key lookup (401 `contract_inactive`) and the searches read. Leaving
`active` ends the host's sessions at once. Every change is a ContractEvent and an audit entry.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access, users
from services.core import audit, clock
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.core.i18n import _l
from services.models import CHANNELS, CommissionRate, Contract, ContractEvent, Property, User

# Which state each action may start from, and where it leads.
TRANSITIONS = {
    "activate": (("invited", "suspended"), "active"),
    "suspend": (("active",), "suspended"),
    "end": (("invited", "active", "suspended"), "ended"),
}
AUDIT_ACTIONS = {"active": "contract_activated", "suspended": "contract_suspended", "ended": "contract_ended"}
# The channels a rate can be set for: the booking sources of CHANNELS ("tourist_office", "booking" ...).
RATE_CHANNELS = tuple(CHANNELS.values())


def current(session: Session, prop: Property) -> Contract | None:
    """The property's contract that has not ended (at most one), or None."""
    return session.scalar(sa.select(Contract).where(Contract.property_id == prop.id, Contract.state != "ended"))


def history(session: Session, prop: Property) -> list[Contract]:
    """All the property's contracts, newest first, with their events."""
    return list(session.scalars(
        sa.select(Contract).where(Contract.property_id == prop.id)
        .options(sa.orm.selectinload(Contract.events).joinedload(ContractEvent.actor),
                 sa.orm.selectinload(Contract.rates))
        .order_by(Contract.id.desc())))


def start(session: Session, actor: User | None, prop: Property, active: bool = False, note: str = "") -> Contract:
    """A new contract for `prop` (none may be running), invited or at once active. No commit:
    part of the caller's use case (registering a host, the demo data, a new contract after an end)."""
    if current(session, prop) is not None:
        raise Conflict(_l("This property has a contract already."), code="contract_exists")
    now = clock.now()
    c = Contract(property_id=prop.id, state="active" if active else "invited", created_at=now, updated_at=now,
                 activated_at=now if active else None)
    session.add(c)
    session.flush()
    session.add(ContractEvent(contract_id=c.id, at=now, actor_id=actor.id if actor else None, state=c.state, note=note))
    prop.contract_active_since = now if active else None
    return c


def change(session: Session, actor: User, prop: Property, action: str, note: str = "") -> Contract:
    """Activate, suspend or end the property's current contract (staff of its office, or an admin)."""
    access.require_staff(actor)
    access.check_property(actor, prop)
    if action not in TRANSITIONS:
        raise Invalid({"action": _l("Unknown action.")})
    allowed, target = TRANSITIONS[action]
    with use_case(session) as uc:
        c = session.scalar(sa.select(Contract).where(Contract.property_id == prop.id, Contract.state != "ended")
                           .with_for_update())
        if c is None and action == "activate":
            c = start(session, actor, prop, active=False)  # after an end: a new contract
        if c is None or c.state not in allowed:
            raise Conflict(_l("The contract cannot be changed this way in its present state."), code="contract_state")
        now = clock.now()
        was_active = c.state == "active"
        c.state, c.updated_at = target, now
        if target == "active":
            c.activated_at = c.activated_at or now
            prop.contract_active_since = now
        else:
            if target == "suspended":
                c.suspended_at = now
            if target == "ended":
                c.ended_at = now
            prop.contract_active_since = None
            if was_active:
                users.end_sessions(session, prop.owner)  # the host is out at once, not at the next login
        session.add(ContractEvent(contract_id=c.id, at=now, actor_id=actor.id, state=target, note=note))
        audit.record(session, actor, prop, AUDIT_ACTIONS[target], property=prop.name, note=note)
        uc.keep(c, prop)
    return c


def set_rates(session: Session, actor: User, prop: Property, rates: dict[str, str]) -> Contract:
    """The commission per channel (percent of the commissionable amount; empty: no rate set)."""
    access.require_staff(actor)
    access.check_property(actor, prop)
    errors, parsed = {}, {}
    for channel, raw in rates.items():
        if channel not in RATE_CHANNELS:
            errors[channel] = _l("Unknown channel.")
            continue
        raw = (raw or "").strip().replace(",", ".")
        if not raw:
            continue
        try:
            value = Decimal(raw)
        except InvalidOperation:
            errors[channel] = _l("Enter a percentage, e.g. 12.5.")
            continue
        if not value.is_finite() or not Decimal(0) <= value <= Decimal(100) or value != round(value, 2):
            errors[channel] = _l("Enter a percentage from 0 to 100 with at most two decimals.")
            continue
        parsed[channel] = value
    if errors:
        raise Invalid(errors)
    with use_case(session) as uc:
        c = current(session, prop)
        if c is None:
            raise Conflict(_l("This property has no contract."), code="no_contract")
        before = {r.channel: str(r.percent) for r in c.rates}
        c.rates = [CommissionRate(channel=ch, percent=v) for ch, v in sorted(parsed.items())]
        after = {ch: str(v) for ch, v in sorted(parsed.items())}
        if before != after:
            c.updated_at = clock.now()
            audit.record(session, actor, prop, "commission_rates_changed", before=before, after=after)
        uc.keep(c)
    return c


def rate_for(contract: Contract | None, channel: str) -> Decimal | None:
    """The commission percentage of `channel` under `contract`; None when none is set."""
    if contract is None:
        return None
    for r in contract.rates:
        if r.channel == channel:
            return r.percent
    return None

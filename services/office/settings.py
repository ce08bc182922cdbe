"""The office's own settings: its contact for hosts in trouble (R25) and its model terms (Muster-AGB)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access
from services.core import audit, inputs
from services.core.db import use_case
from services.core.errors import Forbidden, Invalid, NotFound
from services.core.i18n import _l
from services.models import Office, Terms, User
from services.office import terms as terms_rules


def office_for(session: Session, actor: User, office_id: int | None = None) -> Office:
    """The office whose settings `actor` opens: staff their own (whatever `office_id` says),
    an admin the one named by `office_id`."""
    access.require_staff(actor)
    if actor.role == "admin":
        office = session.get(Office, office_id) if office_id else None
        if office is None:
            raise NotFound(_l("No such tourist office."))
        return office
    if actor.office_id is None or (office_id and office_id != actor.office_id):
        raise Forbidden(_l("You have no access to this tourist office."))
    return actor.office


def offices(session: Session, actor: User) -> list[Office]:
    """Every office, for an admin to pick the one whose settings to open."""
    if actor.role != "admin":
        raise Forbidden(_l("You have no access to this tourist office."))
    return list(session.scalars(sa.select(Office).order_by(Office.name)))


def _check(actor: User, office: Office) -> None:
    access.require_staff(actor)
    if actor.role != "admin" and actor.office_id != office.id:
        raise Forbidden(_l("You have no access to this tourist office."))


def update_contact(session: Session, actor: User, office: Office, email: str, phone: str, opening_hours: str) -> Office:
    """Where a host in trouble reaches the office: e-mail, phone, opening hours."""
    _check(actor, office)
    errors: dict = {}
    email = inputs.line(email or "", "email", errors, max_len=254).lower()
    if email and "email" not in errors and not inputs.EMAIL.match(email):
        errors["email"] = _l("Enter a valid e-mail address.")
    phone = inputs.line(phone or "", "phone", errors, max_len=40)
    opening_hours = inputs.line(opening_hours or "", "opening_hours", errors, max_len=300)
    if errors:
        raise Invalid(errors)
    with use_case(session) as uc:
        before = {"email": office.email, "phone": office.phone, "opening_hours": office.opening_hours}
        office.email, office.phone, office.opening_hours = email, phone, opening_hours
        after = {"email": email, "phone": phone, "opening_hours": opening_hours}
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if changes:
            audit.record(session, actor, None, "office_contact_changed", changes=changes)
        uc.keep(office)
    return office


def save_model_terms(session: Session, actor: User, office: Office, schedule_rows: list[dict],
                     deposit_percent: str | None, deposit_days: str | None, text: str = "") -> Terms:
    """The office's model terms, which its hosts adopt (and may then edit as their own)."""
    _check(actor, office)
    parsed = terms_rules.validate(schedule_rows, deposit_percent, deposit_days, text)
    with use_case(session) as uc:
        model = terms_rules.model_of(session, office.id)
        if model is None:
            model = Terms(office_id=office.id)
            session.add(model)
        terms_rules.apply_parsed(model, actor, *parsed)
        audit.record(session, actor, None, "model_terms_changed", office=office.name)
        uc.keep(model, office)
    return model

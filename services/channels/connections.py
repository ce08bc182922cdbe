"""Channel modules (R30): switching a channel on for a property, its settings, its key
(made by services.channels.api_keys, shown once); the names of channels and booking sources.

A connection has a scope: `booking` (a channel: availability, reservations) or `reviews` (a
review partner such as HolidayCheck: it only sends reviews, R60-R64). Everything that treats
connections as booking sources (the availability push, the first steps) filters on it."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.accounts import access
from services.channels import api_keys
from services.core import audit, clock, inputs, outbound
from services.core.db import use_case
from services.core.errors import Invalid, NotFound
from services.core.i18n import _l
from services.models import (CHANNELS, INVENTORY_MODES, NOTIFY_CHANNELS, PAYMENT_MODES, REVIEW_PARTNERS, ChannelConnection,
                            Property, User)

# Where a booking came from, named the same on every page, in every e-mail and filter: the
# one table of this vocabulary (the channels are the online sources).
SOURCE_LABELS = {
    "own": _l("Own booking"),
    "tourist_office": _l("Tourist-office booking site"),
    "slevomat": _l("Slevomat (deal site, vouchers)"),
    "booking": _l("Booking.com"),
    "e_domizil": _l("e-domizil"),
    "api": _l("Other API client"),
    "ical": _l("Imported calendar"),
}
CHANNEL_LABELS = {source: SOURCE_LABELS[source] for source in CHANNELS.values()}
# Review partners connect like channels but are no booking source (never in SOURCE_LABELS).
REVIEW_PARTNER_LABELS = {"holidaycheck": _l("HolidayCheck (reviews)")}
# Every module a property can switch on: CLI/API/URL name -> connection channel.
MODULES = {**CHANNELS, **REVIEW_PARTNERS}


def channel_label(code: str):
    """A channel's or review partner's name (a translatable Message) for its code; unknown codes as they are."""
    return CHANNEL_LABELS.get(code) or REVIEW_PARTNER_LABELS.get(code, code)


def scope_of(source: str) -> str:
    """What a connection to this channel may do: `reviews` for a review partner, else `booking`."""
    return "reviews" if source in REVIEW_PARTNERS.values() else "booking"


def channel_source(name: str) -> str:
    """'tourist-office' (CLI/API spelling) or 'tourist_office' -> the booking source; a review
    partner's name ('holidaycheck') -> its connection channel."""
    if name in MODULES:
        return MODULES[name]
    if name in MODULES.values():
        return name
    raise Invalid({"channel": _l("Unknown channel. Use one of: %(names)s", names=", ".join(MODULES))})


def of_property(session: Session, prop: Property) -> dict[str, ChannelConnection]:
    rows = session.scalars(sa.select(ChannelConnection).where(ChannelConnection.property_id == prop.id))
    return {c.channel: c for c in rows}


def get_connection(session: Session, prop: Property, channel: str) -> ChannelConnection:
    conn = session.scalar(sa.select(ChannelConnection).where(
        ChannelConnection.property_id == prop.id, ChannelConnection.channel == channel_source(channel)))
    if conn is None:
        raise NotFound(_l("This channel is not switched on."))
    return conn


def default_inventory_mode(source: str) -> str:
    """How a new connection books: `notify` for channels that sell from the availability they
    were last sent (Booking.com, e-domizil), `request` (the portal decides) for the others."""
    return "notify" if source in NOTIFY_CHANNELS else "request"


def _check_inventory_mode(mode: str) -> str:
    if mode not in INVENTORY_MODES:
        raise Invalid({"inventory_mode": _l("Choose how this channel books: %(modes)s.",
                                            modes=", ".join(INVENTORY_MODES))})
    return mode


def _validate_settings(hold_minutes, webhook_url: str, payment_mode: str) -> tuple[int, str, str]:
    errors = {}
    try:
        hold = int(hold_minutes)
        if not 1 <= hold <= 1440:
            raise ValueError
    except (TypeError, ValueError):
        errors["hold_minutes"] = _l("Enter minutes from 1 to 1440.")
        hold = 60
    url = (webhook_url or "").strip()
    if url:
        # Checked again, after resolving the name, at every delivery (services.core.outbound).
        try:
            url = outbound.check_url(url, max_length=500)
        except outbound.Refused as e:
            errors["webhook_url"] = (outbound.NOT_PUBLIC if e.reason == "address_not_allowed" else
                                     _l("Enter a full http:// or https:// address, or leave it empty."))
    if payment_mode not in PAYMENT_MODES:
        errors["payment_mode"] = _l("Choose how the guest pays.")
    if errors:
        raise Invalid(errors)
    return hold, url, payment_mode


def switch_on(session: Session, actor: User | None, prop: Property, channel: str, hold_minutes=60,
              webhook_url: str = "", payment_mode: str | None = None,
              inventory_mode: str | None = None) -> tuple[ChannelConnection, str]:
    """Switch a channel module on (or on again): returns the connection and its new key, shown once.
    `inventory_mode` None: the channel's default for a new connection (default_inventory_mode),
    what it was for one switched on again. A review partner's connection gets the scope
    `reviews`; its hold time, payment and inventory mode are kept at their defaults (unused)."""
    if actor is not None:
        access.check_property(actor, prop)
    source = channel_source(channel)
    if scope_of(source) == "reviews":
        hold_minutes, payment_mode, inventory_mode = 60, "on_arrival", None
    if payment_mode is None:
        payment_mode = "prepaid" if source == "e_domizil" else "on_arrival"  # R22
    hold, url, mode = _validate_settings(hold_minutes, webhook_url, payment_mode)
    if inventory_mode is not None:
        _check_inventory_mode(inventory_mode)
    with use_case(session) as uc:
        now = clock.now()
        conn = session.scalar(sa.select(ChannelConnection).where(
            ChannelConnection.property_id == prop.id, ChannelConnection.channel == source))
        if conn is None:
            conn = ChannelConnection(property_id=prop.id, channel=source, created_at=now,
                                     inventory_mode=default_inventory_mode(source), scope=scope_of(source))
            session.add(conn)
        conn.active, conn.hold_minutes, conn.webhook_url, conn.payment_mode, conn.updated_at = True, hold, url, mode, now
        if inventory_mode is not None:
            conn.inventory_mode = inventory_mode
        key = api_keys.new_key(conn)
        if conn.scope == "reviews":
            audit.record(session, actor, prop, "channel_on", channel=source)
        else:
            audit.record(session, actor, prop, "channel_on", channel=source, inventory_mode=conn.inventory_mode)
        uc.keep(conn)
    return conn, key


def regenerate_key(session: Session, actor: User, prop: Property, channel: str) -> str:
    access.check_property(actor, prop)
    conn = get_connection(session, prop, channel)
    with use_case(session):
        key = api_keys.new_key(conn)
        conn.active, conn.updated_at = True, clock.now()
        audit.record(session, actor, prop, "channel_key_regenerated", channel=conn.channel)
    return key


def revoke(session: Session, actor: User, prop: Property, channel: str) -> None:
    """Switch the module off: the key stops working at once; bookings stay."""
    access.check_property(actor, prop)
    conn = get_connection(session, prop, channel)
    with use_case(session):
        conn.active, conn.key_prefix, conn.key_hash, conn.updated_at = False, None, "", clock.now()
        audit.record(session, actor, prop, "channel_off", channel=conn.channel)


SETTINGS = ("hold_minutes", "webhook_url", "payment_mode", "inventory_mode")


def update_settings(session: Session, actor: User, prop: Property, channel: str, hold_minutes, webhook_url: str,
                    payment_mode: str, inventory_mode: str | None = None) -> ChannelConnection:
    """Change a connection's settings; `inventory_mode` None keeps it. A review partner's
    connection has only its webhook address (the rest stays as it is)."""
    access.check_property(actor, prop)
    conn = get_connection(session, prop, channel)
    if conn.scope == "reviews":
        hold_minutes, payment_mode, inventory_mode = conn.hold_minutes, conn.payment_mode, None
    settings = _validate_settings(hold_minutes, webhook_url, payment_mode)
    if inventory_mode is not None:
        _check_inventory_mode(inventory_mode)
    with use_case(session) as uc:
        was = tuple(getattr(conn, f) for f in SETTINGS)
        conn.hold_minutes, conn.webhook_url, conn.payment_mode = settings
        if inventory_mode is not None:
            conn.inventory_mode = inventory_mode
        conn.updated_at = clock.now()
        # old -> new of what changed; of the webhook address only that it changed (it may carry a secret)
        changes = {f: [old, getattr(conn, f)] for f, old in zip(SETTINGS, was) if old != getattr(conn, f)}
        if "webhook_url" in changes:
            changes["webhook_url"] = True
        audit.record(session, actor, prop, "channel_settings", channel=conn.channel, changes=changes)
        uc.keep(conn)
    return conn


def set_contact_email(session: Session, actor: User, prop: Property, channel: str, email: str) -> ChannelConnection:
    """The channel's contact e-mail (its sales or support address): where a host's request to
    cancel goes when the connection has no webhook (R32, R38). Empty: none."""
    access.check_property(actor, prop)
    conn = get_connection(session, prop, channel)
    errors: dict = {}
    email = inputs.line(email, "contact_email", errors, max_len=254).strip()
    if email and not inputs.EMAIL.match(email):
        errors["contact_email"] = _l("Enter a valid e-mail address.")
    if errors:
        raise Invalid(errors)
    if email == conn.contact_email:
        return conn
    with use_case(session) as uc:
        was = conn.contact_email
        conn.contact_email, conn.updated_at = email, clock.now()
        audit.record(session, actor, prop, "channel_settings", channel=conn.channel,
                     changes={"contact_email": [was, email]})
        uc.keep(conn)
    return conn

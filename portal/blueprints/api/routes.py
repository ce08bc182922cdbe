"""JSON API v1: authentication by key, JSON in and out, one service call per endpoint."""
from __future__ import annotations

import base64
import datetime as dt
import json

from flask import Response, abort, g, jsonify, request

from portal.blueprints.api import bp, schemas
from portal.blueprints.api.openapi import document
from portal.blueprints.api.cache import AVAILABILITY_CACHE
from portal.extensions import db
from services.availability import inventory
from services.bookings import payment
from services.channels import api_keys, reservations, wire
from services.core import clock, inputs
from services.availability.pricing import extras_for, final_price
from services.core.errors import DomainError, Invalid
from services.models import ChannelConnection
from services.reviews import intake
from services.core.i18n import _l
from services.core.inputs import MAX_NIGHTS, UNSTORABLE, single_line, storable

MAX_BODY = 64 * 1024


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class ContractInactive(Unauthorized):
    code = "contract_inactive"


class BadRequest(DomainError):
    status = 400
    code = "invalid_json"


@bp.before_request
def authenticate():
    """Every endpoint but the document needs `Authorization: Bearer <key>`."""
    request.max_content_length = MAX_BODY
    if request.content_length is not None and request.content_length > MAX_BODY:
        abort(413)
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    key = header[7:].strip() if header[:7].lower() == "bearer " else None
    who = api_keys.api_caller(db.session, key)
    if who is None:
        raise Unauthorized(_l("Missing or wrong API key."))
    if not who.contract_active:
        raise ContractInactive(_l("The property's brokerage contract has ended: it cannot be booked through the API."))
    g.caller = who
    g.pop("connection", None)  # never a connection resolved for an earlier caller
    _check_scope(who)
    if request.method == "POST" and request.get_data(cache=True):
        _json_body()  # any body is JSON, not too deep, storable text: also where the endpoint reads none
    return None


# What each endpoint needs of the key's scope (ChannelConnection.scope). GET /property answers
# any key: it is how a partner checks which property its key belongs to (and its scope).
REVIEW_ENDPOINTS = frozenset({"api.create_review", "api.list_reviews"})
ANY_SCOPE = frozenset({"api.property_"})


def _check_scope(who: api_keys.Caller) -> None:
    """403 `scope`: a review partner's key on availability or reservations, a booking channel's on reviews."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in ANY_SCOPE:
        return  # no such route (404/405 follow), or open to every scope
    if endpoint in REVIEW_ENDPOINTS:
        if who.scope != "reviews":
            raise intake.WrongScope(_l("This key belongs to a booking channel: it cannot send or read reviews."))
    elif who.scope != "booking":
        raise intake.WrongScope(_l("This key belongs to a review partner: it may only send and read reviews."))


def _connection() -> ChannelConnection:
    """The caller's connection as an ORM object, loaded when an endpoint needs more than ids."""
    if "connection" not in g:
        g.connection = api_keys.connection_of(db.session, g.caller)
    return g.connection


MAX_JSON_DEPTH = 32  # a reservation is three levels deep; Python's parser gives up near 1000


def _json_body(required: bool = True):
    if not request.get_data(cache=True) and not required:
        return {}
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than Python's parser goes (a 500 before)
        raise BadRequest(_l("The JSON is nested too deeply.")) from None
    if data is None:
        raise BadRequest(_l("The body must be JSON (Content-Type: application/json)."))
    _check_json(data)
    return data


def _check_json(data) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH, and text no column can hold (NUL, lone
    surrogates, as "\\u0000" or "\\ud800"), naming the field; the same rule as the web edge's
    (portal.errors.refuse_unstorable_input), for the one kind of input it leaves to the API."""
    stack = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadRequest(_l("The JSON is nested too deeply."))
        if isinstance(value, str):
            if not storable(value):
                raise Invalid({path or "body": UNSTORABLE})
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else key
                if not storable(key):
                    raise Invalid({single_line(name) or "body": UNSTORABLE})
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))


def _date_arg(name: str) -> dt.date:
    value = request.args.get(name)
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        pass
    raise Invalid({name: _l("Use a date like 2027-05-01.")})


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@bp.get("/property")
def property_():
    connection = _connection()
    prop = connection.prop
    return jsonify(id=prop.id, name=prop.name, currency=prop.currency, channel=connection.channel,
                   scope=connection.scope, inventory_mode=connection.inventory_mode, room_categories=[
        {"id": c.id, "name": c.name, "units": len(c.units), "max_guests": c.max_guests} for c in prop.categories])


@bp.get("/availability")
def availability():
    start, end = _date_arg("from"), _date_arg("to")
    errors = {}
    if start is None:
        errors["from"] = _l("This field is required.")
    if end is None:
        errors["to"] = _l("This field is required.")
    elif start is not None and end <= start:
        errors["to"] = _l("`to` must be after `from` (it is exclusive).")
    elif start is not None and (end - start).days > MAX_NIGHTS:
        errors["to"] = _l("At most %(n)s nights.", n=MAX_NIGHTS)
    if errors:
        raise Invalid(errors)
    # Channels poll the same ranges over and over: answer from the cache while the property's
    # and its categories' inventory versions are unchanged and no hold has run out since (never stale).
    who = g.caller
    cache_key = (who.property_id, who.property_created, start, end)
    body = AVAILABILITY_CACHE.get(cache_key, who.inventory_version, clock.now())
    if body is None:
        body = json.dumps(_availability(_connection().prop, start, end), separators=(",", ":")).encode()
        valid_until = inventory.next_hold_expiry(db.session, who.property_id, start, end)
        AVAILABILITY_CACHE.put(cache_key, who.inventory_version, valid_until, body)
    return Response(body, mimetype="application/json")


def _availability(prop, start: dt.date, end: dt.date) -> dict:
    cats = prop.categories
    figures = inventory.nights_for(db.session, [c.id for c in cats], start, end) if cats else {}
    costs = [{"name": x.name, "amount": str(x.amount), "per": x.per, "room_category_id": x.category_id}
             for x in prop.extra_costs]
    out = []
    for c in cats:
        has_extras = bool(extras_for(prop, c.id, 1, 1))
        nights = []
        for n in figures[c.id].values():
            price = None if n.price is None else str(n.price)
            final = price if not has_extras or n.price is None else str(final_price(prop, c.id, n.price))
            nights.append(wire.night(n, final_price=final))
        out.append({"id": c.id, "name": c.name, "nights": nights})
    return {
        "from": start.isoformat(), "to": end.isoformat(), "currency": prop.currency,
        "final_price_rule": {
            "description": "The final price shown to guests is the sum of the nightly prices plus every mandatory "
                           "cost below (per stay, or per night) for each unit booked (R4).",
            "mandatory_costs": costs,
        },
        "room_categories": out,
    }


@bp.post("/reservations")
def create_reservation():
    data = schemas.reservation_input(_json_body())
    booking, created = reservations.create(db.session, _connection(), data)
    return jsonify(wire.reservation(booking)), 201 if created else 200


def _cursor_encode(b) -> str:
    return base64.urlsafe_b64encode(f"{b.updated_at.isoformat()}|{b.id}".encode()).decode()


def _cursor_decode(value: str) -> tuple[dt.datetime, int]:
    try:
        stamp, _, ident = base64.urlsafe_b64decode(value.encode()).decode().partition("|")
        after_id = inputs.whole(ident)
        if after_id is None or after_id > inputs.MAX_ID:
            raise ValueError
        return inputs.aware_datetime(stamp), after_id
    except (ValueError, UnicodeError):
        raise Invalid({"cursor": _l("Use the `next` value of the previous page.")}) from None


@bp.get("/reservations")
def changed_reservations():
    limit = inputs.whole(request.args.get("limit", "50"))
    if limit is None or not 1 <= limit <= 200:
        raise Invalid({"limit": _l("Must be from %(low)s to %(high)s.", low=1, high=200)})
    if request.args.get("cursor"):
        since, after_id = _cursor_decode(request.args["cursor"])
    else:
        raw = request.args.get("changed_since")
        since, after_id = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), 0
        if raw:
            try:
                since = inputs.aware_datetime(raw.replace(" ", "+"))  # a "+" left unencoded reads as a space
            except ValueError:
                raise Invalid({"changed_since": _l("Use a date and time with time zone, like 2027-04-01T12:00:00Z.")})
    items = reservations.changed_since(db.session, _connection(), since, after_id, limit)
    nxt = _cursor_encode(items[-1]) if len(items) == limit else None
    rows = payment.rows_by_booking(db.session, items)  # one query for the risk-free ones (no N+1)
    over = wire.overbooking_of(db.session, items)  # notify mode: three queries for the page
    return jsonify(reservations=[wire.reservation(b, rows.get(b.id), over.get(b.id)) for b in items], next=nxt)


@bp.get("/reservations/<id:reservation_id>")
def get_reservation(reservation_id):
    b = reservations.find(db.session, _connection(), reservation_id)
    return jsonify(wire.reservation(b, overbooking=wire.overbooking_of(db.session, [b]).get(b.id)))


@bp.post("/reservations/<id:reservation_id>/confirm")
def confirm_reservation(reservation_id):
    return jsonify(wire.reservation(reservations.confirm(db.session, _connection(), reservation_id)))


@bp.post("/reservations/<id:reservation_id>/cancel")
def cancel_reservation(reservation_id):
    body = _json_body(required=False)
    if not isinstance(body, dict):
        raise Invalid({"body": _l("Send a JSON object.")})
    unknown = sorted(set(body) - {"units"})
    if unknown:
        raise Invalid({unknown[0]: _l("Unknown field.")})
    units = body.get("units")
    if units is not None and (isinstance(units, bool) or not isinstance(units, int)):
        raise Invalid({"units": _l("Must be a whole number.")})
    return jsonify(wire.reservation(reservations.cancel(db.session, _connection(), reservation_id, units)))


# -- reviews (a review partner's key) ---------------------------------------------------------

@bp.post("/reviews")
def create_review():
    """A review as the partner has it: new (201) or the same partner_review_id again (200, updated)."""
    data = schemas.review_input(_json_body())
    review, created = intake.receive(db.session, _connection(), data)
    return jsonify(intake.wire(review)), 201 if created else 200


def _review_cursor(r) -> str:
    return base64.urlsafe_b64encode(f"{r.written_on.isoformat()}|{r.id}".encode()).decode()


def _review_cursor_decode(value: str) -> tuple[dt.date, int]:
    try:
        day, _, ident = base64.urlsafe_b64decode(value.encode()).decode().partition("|")
        before_id = inputs.whole(ident)
        if before_id is None or before_id > inputs.MAX_ID:
            raise ValueError
        return dt.date.fromisoformat(day), before_id
    except (ValueError, UnicodeError):
        raise Invalid({"cursor": _l("Use the `next` value of the previous page.")}) from None


@bp.get("/reviews")
def list_reviews():
    """Every review the portal holds for the key's property, newest first (by the day written)."""
    limit = inputs.whole(request.args.get("limit", "50"))
    if limit is None or not 1 <= limit <= 200:
        raise Invalid({"limit": _l("Must be from %(low)s to %(high)s.", low=1, high=200)})
    before = _review_cursor_decode(request.args["cursor"]) if request.args.get("cursor") else None
    items = intake.held(db.session, _connection(), limit, before)
    nxt = _review_cursor(items[-1]) if len(items) == limit else None
    return jsonify(reviews=[intake.wire(r) for r in items], next=nxt)

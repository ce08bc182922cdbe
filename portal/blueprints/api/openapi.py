"""The API's OpenAPI 3 document, served at /api/v1/openapi.json.

tests/api/test_openapi.py keeps it and the code in step: every route is documented, every
documented path exists, and the documented reservation fields are what the API returns.
"""
from __future__ import annotations

from services.core.inputs import MAX_UNITS_PER_BOOKING

DATE = {"type": "string", "format": "date", "example": "2027-05-01"}
DATETIME = {"type": "string", "format": "date-time"}
MONEY = {"type": "string", "pattern": r"^\d{1,8}(\.\d{1,2})?$", "example": "189.00"}
NULLABLE_MONEY = {"type": ["string", "null"], "pattern": r"^\d{1,8}(\.\d{1,2})?$"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERRORS = {
    "401": _error("Missing or wrong API key (code unauthorized), or the property's brokerage contract has ended (code contract_inactive)."),
    "403": _error("The key's scope does not allow this endpoint (code scope): a review partner's key (scope reviews) "
                  "may only use /reviews and GET /property; a booking channel's key (scope booking) may not use /reviews."),
    "413": _error("Body larger than 64 KB."),
    "429": _error("Rate limit exceeded."),
}
RESERVATION_RESPONSE = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reservation"}}}}
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}

RESERVATION = {
    "type": "object",
    "required": ["id", "external_id", "status", "channel", "room_category_id", "arrival", "departure", "units",
                 "guests", "guest", "voucher", "hold_expires_at", "total_price", "currency", "price_breakdown",
                 "payment_mode", "risk_free", "free_cancellation_until", "cancellation_requested_at",
                 "replaces_id", "replaced_by_id", "created_at", "updated_at", "overbooked", "conflict_id", "warnings"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "external_id": {"type": ["string", "null"], "description": "The channel's order id; null for a stay that replaced a modified one."},
        "status": {"type": "string", "enum": ["pending", "confirmed", "cancelled", "expired", "modified"],
                   "description": "pending = temporary hold (unpaid), modified = replaced by replaced_by_id."},
        "channel": {"type": "string"},
        "room_category_id": {"type": "integer"},
        "arrival": DATE, "departure": DATE,
        "units": {"type": "integer"}, "guests": {"type": "integer"},
        "guest": {"type": "object", "additionalProperties": False, "required": ["name", "email", "phone"], "properties": {
            "name": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string"}}},
        "voucher": {"type": ["string", "null"], "description": "Generated only when the reservation is paid (confirmed)."},
        "hold_expires_at": {"type": ["string", "null"], "format": "date-time"},
        "total_price": NULLABLE_MONEY,
        "currency": {"type": "string", "example": "EUR"},
        "price_breakdown": {"type": "object", "required": ["lodging", "mandatory_costs", "total"], "additionalProperties": False, "properties": {
            "lodging": NULLABLE_MONEY,
            "mandatory_costs": {"type": "array", "items": {"type": "object", "required": ["name", "amount"], "properties": {
                "name": {"type": "string"}, "amount": MONEY}}},
            "total": NULLABLE_MONEY}},
        "payment_mode": {"type": "string", "enum": ["on_arrival", "prepaid"]},
        "risk_free": {"type": "boolean"},
        "free_cancellation_until": {"type": ["string", "null"], "format": "date-time"},
        "cancellation_requested_at": {"type": ["string", "null"], "format": "date-time",
                                      "description": "Set when the host asked the channel to cancel (R32)."},
        "replaces_id": {"type": ["integer", "null"]},
        "replaced_by_id": {"type": ["integer", "null"]},
        "created_at": DATETIME, "updated_at": DATETIME,
        "overbooked": {"type": "boolean", "description":
                       "Notify mode only: the stay was stored although a night had no free unit or no quota "
                       "left; a double booking (conflict_id) is open and the host resolves it (R11-R13). "
                       "false for every other reservation."},
        "conflict_id": {"type": ["integer", "null"],
                        "description": "The double booking this reservation is part of (the open one, else the last)."},
        "warnings": {"type": "array", "description": "Notify mode only: the offer's rules the push broke and that "
                                                     "were accepted anyway; [] otherwise.",
                     "items": {"type": "object", "additionalProperties": False, "required": ["code", "reason", "nights"],
                               "properties": {
                                   "code": {"type": "string", "enum": ["not_available", "restriction"]},
                                   "reason": {"type": "string", "enum": [
                                       "closed", "no_price", "quota", "closed_to_arrival", "closed_to_departure",
                                       "min_stay", "max_stay"]},
                                   "nights": {"type": "array", "items": DATE}}}},
        "payment_status": {
            "type": "string", "enum": ["guest", "partially_paid_by_platform", "paid_by_platform"],
            "description": "Only for a risk-free reservation (risk_free true). guest = the guest pays (nothing paid "
                           "by the platform yet); partially_paid_by_platform = some rooms kept by the guest, some "
                           "room-nights paid by the platform (R57); paid_by_platform = fully cancelled, every "
                           "room-night not resold paid by the platform."},
        "replacement": {
            "type": "array", "description": "Only for a risk-free reservation: its cancelled room-nights in the "
                                            "search for a replacement guest or past it, by night and unit.",
            "items": {"type": "object", "additionalProperties": False,
                      "required": ["night", "unit", "state", "amount", "resold_by"], "properties": {
                          "night": DATE,
                          "unit": {"type": ["string", "null"], "description": "The unit's name (null once deleted)."},
                          "state": {"type": "string", "enum": ["searching", "resold", "paid_by_platform"]},
                          "amount": {**NULLABLE_MONEY, "description": "What the new guest (resold) or the platform "
                                                                      "(paid_by_platform) pays; null while searching."},
                          "resold_by": {"type": ["integer", "null"],
                                        "description": "The reservation that resold the night (state resold)."}}}},
    },
}

SINGLE_LINE = ("One line: no control characters (line breaks, tabs), no NUL; text fields are refused with "
               "422 and the field's name otherwise.")

RESERVATION_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["external_id", "room_category_id", "arrival", "departure", "guest"],
    "properties": {
        "external_id": {"type": "string", "minLength": 1, "maxLength": 100, "description": SINGLE_LINE},
        "room_category_id": {"type": "integer", "minimum": 1},
        "arrival": DATE, "departure": DATE,
        "units": {"type": "integer", "minimum": 1, "maximum": MAX_UNITS_PER_BOOKING, "default": 1,
                  "description": "A larger group is several reservations: every total must fit 99999999.99."},
        "guests": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
        "guest": {"type": "object", "additionalProperties": False, "required": ["name"], "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 120, "description": SINGLE_LINE},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "phone": {"type": "string", "maxLength": 40}}},
        "status": {"type": "string", "enum": ["pending", "confirmed"], "default": "confirmed",
                   "description": "pending: in the cart, unpaid (a hold); confirmed: paid."},
        "total_price": MONEY,
        "risk_free": {"type": "boolean", "default": False,
                      "description": "A risk-free reservation (Booking.com only: another channel gets 422 with field "
                                     "risk_free). For a property outside the programme it is stored as an ordinary "
                                     "booking (risk_free false in the answer)."},
        "free_cancellation_until": DATETIME,
        "card": {"type": "object", "additionalProperties": False, "required": ["holder", "brand", "last4", "expiry"],
                 "description": "The guest's card, never its number: a card number anywhere in it (a number field, "
                                "more than 4 digits) is refused with 422 and code card_number_not_allowed. The host "
                                "sees it once the booking is non-refundable (after free_cancellation_until).",
                 "properties": {
                     "holder": {"type": "string", "minLength": 1, "maxLength": 120, "description": SINGLE_LINE},
                     "brand": {"type": "string", "minLength": 1, "maxLength": 30, "description": SINGLE_LINE},
                     "last4": {"type": "string", "pattern": "^[0-9]{4}$"},
                     "expiry": {"type": "string", "pattern": "^(0[1-9]|1[0-2])/[0-9]{2}$", "description": "MM/YY"}}},
    },
}


NUMBER_ON_SCALE = {"type": "number", "minimum": 0, "maximum": 100,
                   "description": "On the review's scale; rounded to 2 decimal places."}
SCALE = {"type": "object", "additionalProperties": False, "required": ["min", "max"],
         "description": "The partner's scale, e.g. HolidayCheck's {\"min\": 1, \"max\": 6} (6 best); min below max.",
         "properties": {"min": {"type": "number", "minimum": 0, "maximum": 100},
                        "max": {"type": "number", "minimum": 0, "maximum": 100}}}
SUB_SCORES_DOC = "Name -> score on the same scale (e.g. room, service, location, food, hotel); at most 20."

REVIEW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "partner_review_id", "created_at", "travel_date", "author", "overall", "scale", "sub_scores",
                 "recommends", "text", "language", "status", "received_at", "updated_at"],
    "properties": {
        "id": {"type": "integer", "description": "The portal's id."},
        "partner_review_id": {"type": "string"},
        "created_at": {**DATE, "description": "The day the guest wrote it (where the property is)."},
        "travel_date": {"type": ["string", "null"], "format": "date"},
        "author": {"type": "string"},
        "overall": {"type": "number"},
        "scale": {"type": "object", "required": ["min", "max"], "properties": {
            "min": {"type": "number"}, "max": {"type": "number"}}},
        "sub_scores": {"type": "object", "additionalProperties": {"type": "number"}},
        "recommends": {"type": ["boolean", "null"]},
        "text": {"type": "string", "description": "As sent: user content, escaped wherever the portal shows it."},
        "language": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "published", "archived"]},
        "received_at": DATETIME, "updated_at": DATETIME,
    },
}

REVIEW_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["partner_review_id", "created_at", "author", "overall", "scale", "status"],
    "properties": {
        "partner_review_id": {"type": "string", "minLength": 1, "maxLength": 100,
                              "description": "The partner's id of the review: sending it again updates the review. "
                                             + SINGLE_LINE},
        "created_at": {"type": "string", "example": "2027-05-01",
                       "description": "The day the guest wrote it: a date, or a date and time (ISO 8601; with a time "
                                      "zone, the day where the property is). Not after the property's today."},
        "travel_date": {**DATE, "description": "Not after the property's today."},
        "author": {"type": "string", "minLength": 1, "maxLength": 80,
                   "description": "First name or alias. " + SINGLE_LINE},
        "overall": NUMBER_ON_SCALE,
        "sub_scores": {"type": "object", "maxProperties": 20, "additionalProperties": NUMBER_ON_SCALE,
                       "description": SUB_SCORES_DOC},
        "scale": SCALE,
        "recommends": {"type": ["boolean", "null"]},
        "text": {"type": "string", "maxLength": 10000,
                 "description": "Line breaks allowed; stored as sent and escaped wherever shown."},
        "language": {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", "default": "de"},
        "status": {"type": "string", "enum": ["pending", "published", "archived"],
                   "description": "pending: not checked by the partner yet (R61), never shown; published; archived "
                                  "(never shown). Reviews are never deleted."},
        "partner_totals": {"type": "object", "additionalProperties": False, "required": ["count"],
                           "description": "The partner's count and average over ALL the property's reviews (R62); "
                                          "shown instead of the portal's own figures.",
                           "properties": {"count": {"type": "integer", "minimum": 0, "maximum": 2147483647},
                                          "average": {**NUMBER_ON_SCALE, "description":
                                                      "On the review's scale; required when count is above 0."}}},
        "property_id": {"type": "integer", "description": "Optional: the key's property (GET /property). Any other "
                                                          "property is refused with 422 (field property_id)."},
    },
}
REVIEW_RESPONSE = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Review"}}}}


PUBLIC_SCORE = {
    "type": ["object", "null"], "additionalProperties": False, "required": ["average", "count", "scale"],
    "description": "The guests' reviews where they may be shown (at least 3 published, R60); null otherwise. "
                   "average and count are over all reviews (the review partner's totals where it sends them).",
    "properties": {"average": {"type": ["number", "null"]}, "count": {"type": "integer", "minimum": 0},
                   "scale": {"type": "object", "additionalProperties": False, "required": ["min", "max"], "properties": {
                       "min": {"type": ["number", "null"]}, "max": {"type": ["number", "null"]}}}}}

PUBLIC_PRICE = {
    "type": "object", "additionalProperties": False, "required": ["lodging", "extras", "total", "currency"],
    "description": "For the whole stay and every room asked for: the nightly prices plus the mandatory costs (R4).",
    "properties": {
        "lodging": MONEY,
        "extras": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                              "required": ["name", "amount"],
                                              "properties": {"name": {"type": "string"}, "amount": MONEY}}},
        "total": MONEY, "currency": {"type": "string", "example": "EUR"}},
}

PUBLIC_CATEGORY = {
    "type": "object", "additionalProperties": False,
    "required": ["id", "name", "kind", "max_guests", "available", "price"],
    "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["room", "apartment", "house"]},
        "max_guests": {"type": "integer", "description": "Guests per unit."},
        "available": {"type": "integer", "minimum": 1, "description": "Units free on every night of the stay."},
        "price": PUBLIC_PRICE},
}

PUBLIC_PROPERTY = {
    "type": "object", "additionalProperties": False,
    "required": ["slug", "name", "city", "cover_photo_url", "review_score"],
    "properties": {
        "slug": {"type": "string"}, "name": {"type": "string"}, "city": {"type": "string"},
        "cover_photo_url": {"type": ["string", "null"], "format": "uri",
                            "description": "The cover photo's thumbnail (public, cacheable)."},
        "review_score": PUBLIC_SCORE},
}

PUBLIC_SEARCH = {
    "type": "object",
    "additionalProperties": False,
    "required": ["arrival", "departure", "guests", "rooms", "page", "per_page", "total", "results"],
    "properties": {
        "arrival": DATE, "departure": DATE,
        "guests": {"type": "integer"}, "rooms": {"type": "integer"},
        "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1, "maximum": 50},
        "total": {"type": "integer", "minimum": 0, "description": "Properties found, over all pages."},
        "results": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["property", "categories"],
            "properties": {
                "property": PUBLIC_PROPERTY,
                "categories": {"type": "array", "minItems": 1, "items": PUBLIC_CATEGORY,
                               "description": "Free for the whole stay, cheapest first."}}}},
    },
}


def _query(name: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


PUBLIC_SEARCH_PATH = {
    "servers": [{"url": "/", "description": "The portal itself: a public page, outside the channel API."}],
    "get": {
        "summary": "The public availability search for the tourist office's website (no key)",
        "operationId": "publicSearch",
        "security": [],
        "description": "The office's properties with an active contract that have a room category free for the whole "
                       "stay (quotas, closed nights, minimum and maximum stay, closed to arrival on the arrival day, "
                       "closed to departure on the departure day, holds that have not expired), each once with its "
                       "free categories, cheapest first. The same as the HTML page GET /search. Answers carry an ETag "
                       "and Cache-Control: public, max-age=0, must-revalidate: send If-None-Match to get 304 while "
                       "nothing was sold or freed. Rate-limited per client address (60 per minute by default).",
        "parameters": [
            _query("office", {"type": "integer", "minimum": 1}, "The tourist office's id; may be left out when the "
                   "portal has only one office."),
            _query("arrival", DATE, "Not in the past.", True),
            _query("departure", DATE, "After arrival; at most 30 nights.", True),
            _query("guests", {"type": "integer", "minimum": 1, "maximum": 50}, "Guests in all rooms.", True),
            _query("rooms", {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                   "Units of one category; not more than guests."),
            _query("kind", {"type": "string", "enum": ["room", "apartment", "house"]}, "Only categories of this type."),
            _query("max_guests", {"type": "integer", "minimum": 1, "maximum": 50},
                   "Only categories that sleep at least this many guests per unit."),
            _query("sort", {"type": "string", "enum": ["price", "score"], "default": "price"},
                   "price: the cheapest category's total; score: the review score (on its scale), "
                   "properties without a shown score last."),
            _query("page", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1}, "From 1."),
            _query("per_page", {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}, "Properties per page."),
            _query("lang", {"type": "string", "enum": ["de", "en", "cs"], "default": "de"}, "The messages' language."),
        ],
        "responses": {
            "200": {"description": "A page of properties",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublicSearch"}}}},
            "304": {"description": "Not modified: the If-None-Match ETag still holds."},
            "404": _error("No such tourist office (code not_found)."),
            "422": _error("Invalid input (code invalid, with field and fields: each wrong parameter and its message), "
                          "e.g. a bad date, departure not after arrival, arrival in the past, more than 30 nights, "
                          "guests out of range, or office left out while there are several offices."),
            "429": _error("Too many searches from this address (code rate_limited)."),
        },
    },
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hotelier portal channel API", "version": "1.0.0",
                 "description": "One API key identifies one property's connection to one channel. Money is sent as "
                                "decimal strings with a currency, dates as ISO 8601. Errors are "
                                "{\"error\": {\"code\": ..., \"message\": ...}}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"},
                        "field": {"type": "string"}, "fields": {"type": "object"},
                        "nights": {"type": "array", "items": DATE}, "reason": {"type": "string"}}}}},
                "Reservation": RESERVATION,
                "ReservationCreate": RESERVATION_CREATE,
                "Review": REVIEW,
                "ReviewCreate": REVIEW_CREATE,
                "PublicSearch": PUBLIC_SEARCH,
            },
        },
        "paths": {
            "/property": {"get": {"summary": "The property of this key", "operationId": "getProperty", "responses": {
                "200": {"description": "The property with its room categories", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["id", "name", "currency", "channel", "scope", "inventory_mode",
                                                   "room_categories"],
                    "properties": {
                        "id": {"type": "integer"}, "name": {"type": "string"}, "currency": {"type": "string"},
                        "channel": {"type": "string", "description": "The channel this key belongs to."},
                        "scope": {"type": "string", "enum": ["booking", "reviews"], "description":
                            "What the key may do: booking (availability, reservations) or reviews (a review "
                            "partner: /reviews only). Every key may read this endpoint."},
                        "inventory_mode": {"type": "string", "enum": ["request", "notify"], "description":
                            "How this connection books (set by the host): request, the portal decides and answers "
                            "409 when a stay cannot be had; notify, the channel sells from the availability it was "
                            "last sent and its bookings are never refused for availability or restrictions."},
                        "room_categories": {"type": "array", "items": {"type": "object",
                            "required": ["id", "name", "units", "max_guests"], "properties": {
                                "id": {"type": "integer"}, "name": {"type": "string"},
                                "units": {"type": "integer"}, "max_guests": {"type": "integer"}}}}}}}}},
                **ERRORS}}},
            "/availability": {"get": {
                "summary": "Availability, prices and restrictions per room category and night",
                "operationId": "getAvailability",
                "parameters": [
                    {"name": "from", "in": "query", "required": True, "schema": DATE},
                    {"name": "to", "in": "query", "required": True, "schema": DATE,
                     "description": "Exclusive; at most 366 nights after from."}],
                "responses": {
                    "200": {"description": "Nights", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["from", "to", "currency", "final_price_rule", "room_categories"],
                        "properties": {
                            "from": DATE, "to": DATE, "currency": {"type": "string"},
                            "final_price_rule": {"type": "object", "description": "R4: the final price shown to guests adds these mandatory costs."},
                            "room_categories": {"type": "array", "items": {"type": "object", "properties": {
                                "id": {"type": "integer"}, "name": {"type": "string"},
                                "nights": {"type": "array", "items": {"type": "object", "required": [
                                    "date", "available", "price", "min_stay", "max_stay", "closed", "closed_to_arrival",
                                    "closed_to_departure"],
                                    "properties": {
                                        "date": DATE, "available": {"type": "integer"}, "price": NULLABLE_MONEY,
                                        "final_price": NULLABLE_MONEY,
                                        "min_stay": {"type": "integer", "description": "Shortest stay arriving this night."},
                                        "max_stay": {"type": ["integer", "null"],
                                                     "description": "Longest stay arriving this night; null: no limit."},
                                        "closed": {"type": "boolean"}, "closed_to_arrival": {"type": "boolean"},
                                        "closed_to_departure": {"type": "boolean"}}}}}}}}}}}},
                    "422": _error("Bad dates."), **ERRORS}}},
            "/reservations": {
                "post": {
                    "summary": "Create a reservation: a hold (pending) or a paid one (confirmed)",
                    "operationId": "createReservation",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReservationCreate"}}}},
                    "responses": {
                        "201": {"description": "Created. A connection in notify mode is never refused for "
                                               "availability or restrictions: a stay that could not be had fully is "
                                               "stored with overbooked true, its conflict_id and its warnings.",
                                **RESERVATION_RESPONSE},
                        "200": {"description": "The same external_id again: the existing reservation (safe retry)", **RESERVATION_RESPONSE},
                        "400": _error("Not JSON."),
                        "409": _error("Request mode only: the nights cannot be had (code not_available or restriction, "
                                      "with nights and reason: min_stay, max_stay, closed_to_arrival or "
                                      "closed_to_departure)."),
                        "422": _error("Invalid input (code invalid, with field), e.g. field risk_free when a channel "
                                      "other than Booking.com sends risk_free true; code card_number_not_allowed when "
                                      "the card holds a card number (with field, e.g. card.number)."), **ERRORS}},
                "get": {
                    "summary": "Reservations of this connection changed since a time, oldest change first",
                    "operationId": "listChangedReservations",
                    "parameters": [
                        {"name": "changed_since", "in": "query", "required": False, "schema": DATETIME,
                         "description": "Inclusive: changes at exactly this time are listed too, so none is missed; "
                                        "dedupe by id and updated_at."},
                        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
                         "description": "The `next` value of the previous page."},
                        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
                    "responses": {
                        "200": {"description": "A page", "content": {"application/json": {"schema": {
                            "type": "object", "required": ["reservations", "next"], "properties": {
                                "reservations": {"type": "array", "items": {"$ref": "#/components/schemas/Reservation"}},
                                "next": {"type": ["string", "null"]}}}}}},
                        "422": _error("Bad parameters."), **ERRORS}},
            },
            "/reviews": {
                "post": {
                    "summary": "Send a review (a review partner's key): new, or the same partner_review_id again to update it",
                    "operationId": "createReview",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReviewCreate"}}}},
                    "responses": {
                        "201": {"description": "Stored (a new partner_review_id)", **REVIEW_RESPONSE},
                        "200": {"description": "The same partner_review_id again: the review updated", **REVIEW_RESPONSE},
                        "400": _error("Not JSON."),
                        "422": _error("Invalid input (code invalid, with field): a score outside the scale (overall, "
                                      "sub_scores.<name>, partner_totals.average), scale min not below max (scale), "
                                      "an unknown status, a text over 10,000 characters, created_at or travel_date "
                                      "after the property's today, property_id of another property."), **ERRORS}},
                "get": {
                    "summary": "The reviews the portal holds for the key's property, newest first (by created_at)",
                    "operationId": "listReviews",
                    "parameters": [
                        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
                         "description": "The `next` value of the previous page."},
                        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
                    "responses": {
                        "200": {"description": "A page", "content": {"application/json": {"schema": {
                            "type": "object", "required": ["reviews", "next"], "properties": {
                                "reviews": {"type": "array", "items": {"$ref": "#/components/schemas/Review"}},
                                "next": {"type": ["string", "null"]}}}}}},
                        "422": _error("Bad parameters."), **ERRORS}},
            },
            "/reservations/{id}": {"get": {
                "summary": "One reservation", "operationId": "getReservation", "parameters": [ID_PARAM],
                "responses": {"200": {"description": "The reservation", **RESERVATION_RESPONSE},
                              "404": _error("Not a reservation of this connection."), **ERRORS}}},
            "/reservations/{id}/confirm": {"post": {
                "summary": "Payment complete: confirm the hold and generate the voucher", "operationId": "confirmReservation",
                "parameters": [ID_PARAM],
                "responses": {"200": {"description": "Confirmed", **RESERVATION_RESPONSE},
                              "400": _error("A body that is not JSON (none is needed)."),
                              "404": _error("Not a reservation of this connection."),
                              "409": _error("The hold expired and the nights are gone (request mode), or it was cancelled."), **ERRORS}}},
            "/reservations/{id}/cancel": {"post": {
                "summary": "Cancel (only the channel can, R32); nights are released at once", "operationId": "cancelReservation",
                "parameters": [ID_PARAM],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": False, "properties": {
                        "units": {"type": "integer", "minimum": 1, "description": "Cancel only this many units of a multi-unit booking."}}}}}},
                "responses": {"200": {"description": "Cancelled", **RESERVATION_RESPONSE},
                              "400": _error("Not JSON."),
                              "404": _error("Not a reservation of this connection."),
                              "409": _error("Replaced by a modification."), "422": _error("Bad units."), **ERRORS}}},
            "/search.json": PUBLIC_SEARCH_PATH,
        },
    }

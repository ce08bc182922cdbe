"""Tenant isolation, route by route: every (actor x route x method) of the portal.

Actors: anonymous; host A and host B (own properties A and B, office 1, contracts active);
host C (owns property C of office 1, contract NOT active); staff of office 1 (may act on A,
B and C); staff of office 2 (on none of them); an admin (on all).

Each cell expects one of:
  login     - anonymous: a redirect to /login (htmx: 401 + HX-Redirect, tested separately);
  allowed   - 2xx/3xx (the payloads are valid, so no 422 either), never 403/404/500;
  forbidden - 403 or 404 (staff-only routes: exactly 403 for hosts).
Whoever is outside a tenant never gets that tenant's data in a body, whatever the status;
a refused POST changes nothing in the database; no GET writes anything.

`test_every_route_is_in_the_matrix` fails when a route is added without a row here.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import pytest

from tests.factories import PASSWORD
from tests.photo_rows import make_photo
from tests.web import photo_images
from tests.web.conftest import HTMX, TODAY, assert_no_trace, login, snapshot

ACTORS = ["anonymous", "host_a", "host_b", "host_c", "staff1", "staff2", "admin"]
HOSTS = {"host_a", "host_b", "host_c"}
# Who may open and change each property.
ENTITLED = {
    "A": {"host_a", "staff1", "admin"},
    "B": {"host_b", "staff1", "admin"},
    "C": {"staff1", "admin"},  # host C: contract not active yet
}
# Who may see a tenant's data at all (host C owns C, even if refused for now).
INSIDERS = {"A": ENTITLED["A"], "B": ENTITLED["B"], "C": ENTITLED["C"] | {"host_c"}}

DAY = (TODAY + dt.timedelta(days=10)).isoformat()
LAST_MONTH = (TODAY.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")  # a statement that may be sent

LOGIN, ALLOWED, FORBIDDEN, NO_KEY = "login", "allowed", "forbidden", "no_key"


@dataclass(frozen=True)
class Case:
    name: str
    rule: str  # the url rule, exactly as in app.url_map
    method: str
    url: Callable  # (world, property) -> path
    data: Callable | None = None  # (world, property) -> form data
    access: str = "property"  # public | login | staff | property | staff_property
    target: str = "A"  # the tenant at stake
    staff_ok: frozenset = field(default_factory=lambda: frozenset({"staff1", "staff2", "admin"}))
    writes: bool | None = None  # an allowed request changes the database (default: every non-public POST)
    allowed_status: int | None = None  # what an allowed request answers when it is not a success
    page: bool = True  # an allowed answer is a page naming the property (not a file)

    def __post_init__(self):
        if self.writes is None:
            object.__setattr__(self, "writes", self.method == "POST" and self.access not in ("public", "login"))

    def __str__(self):
        return self.name


def _booking_form(w, p, **over):
    data = {"category_id": p.cat_id, "unit_id": 0, "arrival": (TODAY + dt.timedelta(days=20)).isoformat(),
            "departure": (TODAY + dt.timedelta(days=22)).isoformat(), "units": 1, "guests": 1,
            "guest_name": "Neu Gast", "guest_email": "", "guest_phone": "", "notes": ""}
    data.update(over)
    return data


def _edit_form(w, p):
    return _booking_form(w, p, arrival=p.own_arrival.isoformat(), departure=p.own_departure.isoformat(),
                         guest_name=p.own_guest, notes="late arrival")


CASES = [
    # Public: the login page, logging in and out, the language switch.
    Case("login-get", "/login", "GET", lambda w, p: "/login", access="public"),
    Case("login-post", "/login", "POST", lambda w, p: "/login",
         lambda w, p: {"email": w.host_b.email, "password": PASSWORD}, access="public"),
    Case("logout", "/logout", "POST", lambda w, p: "/logout", lambda w, p: {}, access="public"),
    Case("language", "/language", "POST", lambda w, p: "/language",
         lambda w, p: {"lang-locale": "en", "next": "/"}, access="public"),
    # "Forgot password" and the one-time link's page (an unknown secret: 410, Gone).
    Case("forgot-password-get", "/password/forgot", "GET", lambda w, p: "/password/forgot", access="public"),
    Case("forgot-password-post", "/password/forgot", "POST", lambda w, p: "/password/forgot",
         lambda w, p: {"email": "nobody@example.com"}, access="public"),
    Case("set-password-get", "/password/set/<secret>", "GET", lambda w, p: "/password/set/no-such-secret",
         access="public", allowed_status=410),
    Case("set-password-post", "/password/set/<secret>", "POST", lambda w, p: "/password/set/no-such-secret",
         lambda w, p: {"new": "a-new-password", "repeat": "a-new-password"}, access="public", allowed_status=410),
    # Any logged-in user.
    Case("ping", "/ping", "POST", lambda w, p: "/ping", lambda w, p: {}, access="login"),
    Case("account-get", "/account", "GET", lambda w, p: "/account", access="login"),
    Case("account-post", "/account", "POST", lambda w, p: "/account",
         lambda w, p: {"pw-current": PASSWORD, "pw-new": "another-secret-1", "pw-repeat": "another-secret-1"},
         access="login", writes=True),
    Case("account-sign-out", "/account/sign-out-everywhere", "POST", lambda w, p: "/account/sign-out-everywhere",
         lambda w, p: {}, access="login", writes=True),
    Case("home", "/", "GET", lambda w, p: "/", access="login"),
    # One property's pages and actions.
    Case("calendar", "/p/<slug>/calendar", "GET", lambda w, p: f"/p/{p.slug}/calendar"),
    Case("night-get", "/p/<slug>/calendar/night/<id:cat_id>/<night>", "GET",
         lambda w, p: f"/p/{p.slug}/calendar/night/{p.cat_id}/{DAY}"),
    Case("night-post", "/p/<slug>/calendar/night/<id:cat_id>/<night>", "POST",
         lambda w, p: f"/p/{p.slug}/calendar/night/{p.cat_id}/{DAY}",
         lambda w, p: {"price": "99.00", "quota": "2", "min_stay": "1"}),
    Case("why-get", "/p/<slug>/calendar/why/<id:cat_id>/<night>", "GET",
         lambda w, p: f"/p/{p.slug}/calendar/why/{p.cat_id}/{DAY}"),
    # The night is offered, so the fix is no longer needed: allowed, and it writes nothing.
    Case("why-fix", "/p/<slug>/calendar/why/<id:cat_id>/<night>", "POST",
         lambda w, p: f"/p/{p.slug}/calendar/why/{p.cat_id}/{DAY}", lambda w, p: {"action": "open"}, writes=False),
    # Undo of a history entry that is no calendar edit, and the fix of nights that are no gap:
    # refused with a message (a redirect without htmx), nothing written.
    Case("undo", "/p/<slug>/calendar/undo/<id:entry_id>", "POST",
         lambda w, p: f"/p/{p.slug}/calendar/undo/{p.audit_id}", lambda w, p: {}, writes=False),
    Case("gap-fix", "/p/<slug>/calendar/gap/<id:cat_id>/<night>", "POST",
         lambda w, p: f"/p/{p.slug}/calendar/gap/{p.cat_id}/{DAY}", lambda w, p: {}, writes=False),
    Case("bulk-get", "/p/<slug>/calendar/bulk", "GET", lambda w, p: f"/p/{p.slug}/calendar/bulk"),
    Case("bulk-post", "/p/<slug>/calendar/bulk", "POST", lambda w, p: f"/p/{p.slug}/calendar/bulk",
         lambda w, p: {"categories": [p.cat_id], "start": (TODAY + dt.timedelta(days=1)).isoformat(),
                       "end": (TODAY + dt.timedelta(days=7)).isoformat(), "weekdays": list(range(7)),
                       "price": "77.00", "closed": "", "closed_to_arrival": "", "closed_to_departure": ""}),
    Case("bookings", "/p/<slug>/bookings", "GET", lambda w, p: f"/p/{p.slug}/bookings"),
    Case("booking-new-get", "/p/<slug>/bookings/new", "GET", lambda w, p: f"/p/{p.slug}/bookings/new"),
    Case("booking-new-post", "/p/<slug>/bookings/new", "POST", lambda w, p: f"/p/{p.slug}/bookings/new", _booking_form),
    Case("booking-detail", "/p/<slug>/bookings/<id:booking_id>", "GET",
         lambda w, p: f"/p/{p.slug}/bookings/{p.own_id}"),
    Case("booking-detail-online", "/p/<slug>/bookings/<id:booking_id>", "GET",
         lambda w, p: f"/p/{p.slug}/bookings/{p.online_id}"),
    Case("booking-edit-get", "/p/<slug>/bookings/<id:booking_id>/edit", "GET",
         lambda w, p: f"/p/{p.slug}/bookings/{p.own_id}/edit"),
    Case("booking-edit-post", "/p/<slug>/bookings/<id:booking_id>/edit", "POST",
         lambda w, p: f"/p/{p.slug}/bookings/{p.own_id}/edit", _edit_form),
    Case("booking-cancel", "/p/<slug>/bookings/<id:booking_id>/cancel", "POST",
         lambda w, p: f"/p/{p.slug}/bookings/{p.own_id}/cancel", lambda w, p: {}),
    Case("settings-get", "/p/<slug>/settings", "GET", lambda w, p: f"/p/{p.slug}/settings"),
    Case("settings-post", "/p/<slug>/settings", "POST", lambda w, p: f"/p/{p.slug}/settings",
         lambda w, p: {"p-name": p.name, "p-city": "Neustadt", "p-country": "DE", "p-phone": "+49 1"}),
    Case("category-add", "/p/<slug>/categories", "POST", lambda w, p: f"/p/{p.slug}/categories",
         lambda w, p: {"c-name": "Suite", "c-max_guests": "2", "c-unit_names": "Suite 1, Suite 2"}),
    Case("cost-add", "/p/<slug>/costs", "POST", lambda w, p: f"/p/{p.slug}/costs",
         lambda w, p: {"x-name": "Bettwaesche", "x-amount": "12.50", "x-per": "stay", "x-category_id": "0"}),
    Case("cost-remove", "/p/<slug>/costs/<id:cost_id>/delete", "POST",
         lambda w, p: f"/p/{p.slug}/costs/{p.cost_id}/delete", lambda w, p: {}),
    Case("category-rename", "/p/<slug>/categories/<id:category_id>/rename", "POST",
         lambda w, p: f"/p/{p.slug}/categories/{p.cat_id}/rename", lambda w, p: {"name": "Doppelzimmer Neu"}),
    Case("category-kind", "/p/<slug>/categories/<id:category_id>/kind", "POST",
         lambda w, p: f"/p/{p.slug}/categories/{p.cat_id}/kind", lambda w, p: {"kind": "apartment"}),
    Case("unit-rename", "/p/<slug>/units/<id:unit_id>/rename", "POST",
         lambda w, p: f"/p/{p.slug}/units/{p.unit_ids[2]}/rename", lambda w, p: {"name": "Zimmer Neu"}),
    Case("category-delete-ask", "/p/<slug>/categories/<id:category_id>/delete", "GET",
         lambda w, p: f"/p/{p.slug}/categories/{p.cat_id}/delete"),
    # The world's category has bookings: the allowed answer is the refusal naming them (409), no write.
    Case("category-delete", "/p/<slug>/categories/<id:category_id>/delete", "POST",
         lambda w, p: f"/p/{p.slug}/categories/{p.cat_id}/delete", lambda w, p: {}, writes=False, allowed_status=409),
    Case("unit-delete-ask", "/p/<slug>/units/<id:unit_id>/delete", "GET",
         lambda w, p: f"/p/{p.slug}/units/{p.unit_ids[2]}/delete"),
    Case("unit-delete", "/p/<slug>/units/<id:unit_id>/delete", "POST",
         lambda w, p: f"/p/{p.slug}/units/{p.unit_ids[2]}/delete", lambda w, p: {}),
    Case("history", "/p/<slug>/history", "GET", lambda w, p: f"/p/{p.slug}/history"),
    # Channel bookings on the host's side (R32-R34, R22).
    Case("booking-modify", "/p/<slug>/bookings/<id:booking_id>/modify", "POST",
         lambda w, p: f"/p/{p.slug}/bookings/{p.online_id}/modify",
         lambda w, p: {"arrival": (TODAY + dt.timedelta(days=25)).isoformat(),
                       "departure": (TODAY + dt.timedelta(days=27)).isoformat(), "category_id": p.cat_id}),
    Case("booking-request-cancellation", "/p/<slug>/bookings/<id:booking_id>/request-cancellation", "POST",
         lambda w, p: f"/p/{p.slug}/bookings/{p.online_id}/request-cancellation", lambda w, p: {"note": "Guest called"}),
    Case("booking-report-cancellation", "/p/<slug>/bookings/<id:booking_id>/report-cancellation", "POST",
         lambda w, p: f"/p/{p.slug}/bookings/{p.online_id}/report-cancellation",
         lambda w, p: {"guest_told_on": TODAY.isoformat(), "told_by": "phone", "note": ""}),
    # The world's own booking is not cancelled: the allowed answer is the refusal (409), no write.
    Case("booking-cancellation-fee", "/p/<slug>/bookings/<id:booking_id>/cancellation-fee", "POST",
         lambda w, p: f"/p/{p.slug}/bookings/{p.own_id}/cancellation-fee", lambda w, p: {"cancellation_fee": "10"},
         writes=False, allowed_status=409),
    Case("booking-deposit", "/p/<slug>/bookings/<id:booking_id>/deposit", "POST",
         lambda w, p: f"/p/{p.slug}/bookings/{p.own_id}/deposit",
         lambda w, p: {"deposit_amount": "50,00", "deposit_due": (TODAY + dt.timedelta(days=1)).isoformat()}),
    # R56: the online booking has no card to check: the allowed answer is the refusal (409), no write.
    Case("booking-card-invalid", "/p/<slug>/bookings/<id:booking_id>/card-invalid", "POST",
         lambda w, p: f"/p/{p.slug}/bookings/{p.online_id}/card-invalid", lambda w, p: {},
         writes=False, allowed_status=409),
    # R53: the world's online booking is not risk-free, nothing is searched: the allowed answer is
    # the refusal "nothing to lift" (409), no write.
    Case("booking-lift-restrictions", "/p/<slug>/bookings/<id:booking_id>/lift-restrictions", "POST",
         lambda w, p: f"/p/{p.slug}/bookings/{p.online_id}/lift-restrictions", lambda w, p: {},
         writes=False, allowed_status=409),
    # Property - Policies (R50): property A is not offered the programme, so joining is refused (409).
    Case("policies", "/p/<slug>/policies", "GET", lambda w, p: f"/p/{p.slug}/policies"),
    Case("policies-risk-free", "/p/<slug>/policies/risk-free/<any(join, leave):action>", "POST",
         lambda w, p: f"/p/{p.slug}/policies/risk-free/join", lambda w, p: {}, writes=False, allowed_status=409),
    # Settings - Modules (R30), iCal, messages.
    Case("modules", "/p/<slug>/modules", "GET", lambda w, p: f"/p/{p.slug}/modules"),
    Case("module-on", "/p/<slug>/modules/<any('tourist-office', 'slevomat', 'booking', 'e-domizil', 'api', 'holidaycheck'):channel>/on", "POST", lambda w, p: f"/p/{p.slug}/modules/booking/on",
         lambda w, p: {"booking-hold_minutes": "30", "booking-webhook_url": "", "booking-payment_mode": "on_arrival"}),
    Case("module-regenerate", "/p/<slug>/modules/<any('tourist-office', 'slevomat', 'booking', 'e-domizil', 'api', 'holidaycheck'):channel>/regenerate", "POST",
         lambda w, p: f"/p/{p.slug}/modules/slevomat/regenerate", lambda w, p: {}),
    Case("module-off", "/p/<slug>/modules/<any('tourist-office', 'slevomat', 'booking', 'e-domizil', 'api', 'holidaycheck'):channel>/off", "POST",
         lambda w, p: f"/p/{p.slug}/modules/slevomat/off", lambda w, p: {}),
    # Property A's Slevomat connection has no webhook address: the full sync says so and queues nothing.
    Case("module-full-sync", "/p/<slug>/modules/<any('tourist-office', 'slevomat', 'booking', 'e-domizil', 'api', 'holidaycheck'):channel>/full-sync",
         "POST", lambda w, p: f"/p/{p.slug}/modules/slevomat/full-sync", lambda w, p: {}, writes=False),
    Case("calendars", "/p/<slug>/calendars", "GET", lambda w, p: f"/p/{p.slug}/calendars"),
    Case("calendar-add", "/p/<slug>/calendars", "POST", lambda w, p: f"/p/{p.slug}/calendars",
         lambda w, p: {"category_id": p.cat_id, "name": "Airbnb", "url": "https://example.org/cal.ics"}),
    Case("calendar-sync", "/p/<slug>/calendars/<id:feed_id>/sync", "POST",
         lambda w, p: f"/p/{p.slug}/calendars/{p.feed_id}/sync", lambda w, p: {}),
    Case("calendar-remove", "/p/<slug>/calendars/<id:feed_id>/delete", "POST",
         lambda w, p: f"/p/{p.slug}/calendars/{p.feed_id}/delete", lambda w, p: {}),
    Case("calendar-export-renew", "/p/<slug>/calendars/export/<id:category_id>/renew", "POST",
         lambda w, p: f"/p/{p.slug}/calendars/export/{p.cat_id}/renew", lambda w, p: {}),
    Case("messages", "/p/<slug>/messages", "GET", lambda w, p: f"/p/{p.slug}/messages"),
    # Public by design: the secret URL is the key; the export carries no property or guest data.
    Case("ical-export", "/ical/<token>.ics", "GET", lambda w, p: f"/ical/{p.ical_token}.ics", access="public"),
    Case("healthz", "/healthz", "GET", lambda w, p: "/healthz", access="public"),
    # The JSON API takes API keys, never the browser's session: 401 for every actor here
    # (its own tenant isolation is tested in tests/api).
    Case("api-openapi", "/api/v1/openapi.json", "GET", lambda w, p: "/api/v1/openapi.json", access="public"),
    Case("api-property", "/api/v1/property", "GET", lambda w, p: "/api/v1/property", access="api"),
    Case("api-availability", "/api/v1/availability", "GET", lambda w, p: "/api/v1/availability", access="api"),
    Case("api-create", "/api/v1/reservations", "POST", lambda w, p: "/api/v1/reservations", lambda w, p: {}, access="api"),
    Case("api-changed", "/api/v1/reservations", "GET", lambda w, p: "/api/v1/reservations", access="api"),
    Case("api-get", "/api/v1/reservations/<id:reservation_id>", "GET",
         lambda w, p: f"/api/v1/reservations/{p.online_id}", access="api"),
    Case("api-confirm", "/api/v1/reservations/<id:reservation_id>/confirm", "POST",
         lambda w, p: f"/api/v1/reservations/{p.online_id}/confirm", lambda w, p: {}, access="api"),
    Case("api-cancel", "/api/v1/reservations/<id:reservation_id>/cancel", "POST",
         lambda w, p: f"/api/v1/reservations/{p.online_id}/cancel", lambda w, p: {}, access="api"),
    Case("api-review-create", "/api/v1/reviews", "POST", lambda w, p: "/api/v1/reviews", lambda w, p: {}, access="api"),
    Case("api-reviews", "/api/v1/reviews", "GET", lambda w, p: "/api/v1/reviews", access="api"),
    # The tourist office's workspace.
    # Double bookings (issue 11). The world has none: an id no row has is a 404 for those who may
    # open the property (tests/web/test_conflicts_pages.py opens real ones, and 404s the others).
    Case("conflicts", "/p/<slug>/conflicts", "GET", lambda w, p: f"/p/{p.slug}/conflicts"),
    Case("conflicts-everywhere", "/conflicts", "GET", lambda w, p: "/conflicts", access="login"),
    Case("conflict", "/p/<slug>/conflicts/<id:db_id>", "GET", lambda w, p: f"/p/{p.slug}/conflicts/2147483646",
         allowed_status=404),
    Case("conflict-moves", "/p/<slug>/conflicts/<id:db_id>/moves", "POST",
         lambda w, p: f"/p/{p.slug}/conflicts/2147483646/moves", lambda w, p: {}, writes=False, allowed_status=404),
    # The R13 steps (tests/web/test_conflict_steps.py walks real ones).
    Case("conflict-steps", "/p/<slug>/conflicts/<id:db_id>/steps", "GET",
         lambda w, p: f"/p/{p.slug}/conflicts/2147483646/steps", allowed_status=404),
    Case("conflict-contact", "/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/contact", "POST",
         lambda w, p: f"/p/{p.slug}/conflicts/2147483646/bookings/{p.own_id}/contact", lambda w, p: {},
         writes=False, allowed_status=404),
    Case("conflict-new-dates", "/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/new-dates", "POST",
         lambda w, p: f"/p/{p.slug}/conflicts/2147483646/bookings/{p.own_id}/new-dates", lambda w, p: {},
         writes=False, allowed_status=404),
    Case("conflict-guest-cancels", "/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/cancel", "POST",
         lambda w, p: f"/p/{p.slug}/conflicts/2147483646/bookings/{p.own_id}/cancel", lambda w, p: {},
         writes=False, allowed_status=404),
    Case("conflict-replacements", "/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/replacements", "GET",
         lambda w, p: f"/p/{p.slug}/conflicts/2147483646/bookings/{p.own_id}/replacements", allowed_status=404),
    Case("conflict-offer",
         "/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/replacements/<id:category_id>/offer", "POST",
         lambda w, p: f"/p/{p.slug}/conflicts/2147483646/bookings/{p.own_id}/replacements/{p.cat_id}/offer",
         lambda w, p: {}, writes=False, allowed_status=404),
    Case("conflict-accept",
         "/p/<slug>/conflicts/<id:db_id>/bookings/<id:booking_id>/replacements/<id:category_id>/accept", "POST",
         lambda w, p: f"/p/{p.slug}/conflicts/2147483646/bookings/{p.own_id}/replacements/{p.cat_id}/accept",
         lambda w, p: {}, writes=False, allowed_status=404),
    Case("conflict-hand-over", "/p/<slug>/conflicts/<id:db_id>/hand-over", "POST",
         lambda w, p: f"/p/{p.slug}/conflicts/2147483646/hand-over", lambda w, p: {}, writes=False,
         allowed_status=404),
    Case("office-conflicts", "/office/conflicts", "GET", lambda w, p: "/office/conflicts", access="staff"),
    Case("guide", "/guide", "GET", lambda w, p: "/guide", access="login"),
    # Commission statements (R23): hosts read their own, staff of the office read and send.
    Case("statements-host-index", "/p/<slug>/statements", "GET", lambda w, p: f"/p/{p.slug}/statements"),
    Case("statement-host", "/p/<slug>/statements/<ym:month>", "GET",
         lambda w, p: f"/p/{p.slug}/statements/{LAST_MONTH}"),
    Case("statement-host-csv", "/p/<slug>/statements/<ym:month>.<any(csv, pdf):fmt>", "GET",
         lambda w, p: f"/p/{p.slug}/statements/{LAST_MONTH}.csv", page=False),
    Case("statements-office", "/office/statements", "GET", lambda w, p: f"/office/statements?month={LAST_MONTH}",
         access="staff"),
    Case("statement-staff", "/office/p/<slug>/statements/<ym:month>", "GET",
         lambda w, p: f"/office/p/{p.slug}/statements/{LAST_MONTH}", access="staff_property"),
    Case("statement-staff-pdf", "/office/p/<slug>/statements/<ym:month>.<any(csv, pdf):fmt>", "GET",
         lambda w, p: f"/office/p/{p.slug}/statements/{LAST_MONTH}.pdf", access="staff_property", page=False),
    Case("statement-send", "/office/p/<slug>/statements/<ym:month>/send", "POST",
         lambda w, p: f"/office/p/{p.slug}/statements/{LAST_MONTH}/send", lambda w, p: {}, access="staff_property"),
    Case("office-assist", "/office/p/<slug>/assist", "POST", lambda w, p: f"/office/p/{p.slug}/assist", lambda w, p: {},
         access="staff_property"),
    Case("office-assist-leave", "/office/assist/leave", "POST", lambda w, p: "/office/assist/leave", lambda w, p: {},
         access="staff", writes=False),
    # Replies and reports under a review (R64): the world has no reviews, so an entitled actor
    # meets "no such review" (404) and nothing is written; the others are refused before that.
    Case("review-reply", "/p/<slug>/reviews/<id:review_id>/reply", "POST",
         lambda w, p: f"/p/{p.slug}/reviews/2147483646/reply", lambda w, p: {}, writes=False, allowed_status=404),
    Case("review-report", "/p/<slug>/reviews/<id:review_id>/report", "POST",
         lambda w, p: f"/p/{p.slug}/reviews/2147483646/report", lambda w, p: {}, writes=False, allowed_status=404),
    Case("office-reviews", "/office/reviews", "GET", lambda w, p: "/office/reviews", access="staff"),
    # Guest cancellations reported by hosts (R20): the world has none, so an id no row has is a 404
    # for staff (tests/web/test_cancellation_pages.py handles real ones); hosts get 403.
    Case("office-cancellations", "/office/cancellations", "GET", lambda w, p: "/office/cancellations", access="staff"),
    Case("office-cancel-report", "/office/cancellations/<id:report_id>/cancel", "POST",
         lambda w, p: "/office/cancellations/2147483646/cancel", lambda w, p: {"c2147483646-fee": "0"},
         access="staff", writes=False, allowed_status=404),
    Case("office-decline-report", "/office/cancellations/<id:report_id>/decline", "POST",
         lambda w, p: "/office/cancellations/2147483646/decline", lambda w, p: {"d2147483646-note": "no"},
         access="staff", writes=False, allowed_status=404),
    Case("office", "/office", "GET", lambda w, p: "/office", access="staff"),
    Case("office-create-host", "/office/hosts", "POST", lambda w, p: "/office/hosts",
         lambda w, p: {"host_name": "Nora Neu", "email": "nora@example.com", "property_name": "Haus Neu",
                       "slug": "haus-neu"},
         # An admin belongs to no office, so has none to register a host with.
         access="staff", staff_ok=frozenset({"staff1", "staff2"})),
    Case("contract-end", "/office/p/<slug>/contract/<any(activate, suspend, end):action>", "POST",
         lambda w, p: f"/office/p/{p.slug}/contract/end", lambda w, p: {}, access="staff_property"),
    Case("office-sign-out-host", "/office/users/<id:user_id>/sign-out", "POST",
         lambda w, p: f"/office/users/{p.owner_id}/sign-out", lambda w, p: {}, access="staff_property"),
    Case("office-resend-invitation", "/office/users/<id:user_id>/invite", "POST",
         lambda w, p: f"/office/users/{p.owner_id}/invite", lambda w, p: {}, access="staff_property"),
    Case("office-risk-free", "/office/p/<slug>/risk-free/<any(on, off):action>", "POST",
         lambda w, p: f"/office/p/{p.slug}/risk-free/on", lambda w, p: {}, access="staff_property"),
    Case("contract-activate", "/office/p/<slug>/contract/<any(activate, suspend, end):action>", "POST",
         lambda w, p: f"/office/p/{p.slug}/contract/activate", lambda w, p: {}, access="staff_property", target="C"),
    # The contract's page and rates, the office's settings (an admin names the office), the host's terms (issue 14).
    Case("contract-page", "/office/p/<slug>/contract", "GET", lambda w, p: f"/office/p/{p.slug}/contract",
         access="staff_property"),
    Case("contract-rates", "/office/p/<slug>/contract/rates", "POST", lambda w, p: f"/office/p/{p.slug}/contract/rates",
         lambda w, p: {"booking": "10"}, access="staff_property"),
    Case("office-settings-get", "/office/settings", "GET", lambda w, p: f"/office/settings?office={w.offices[1]}",
         access="staff", staff_ok=frozenset({"staff1", "admin"})),
    Case("office-settings-post", "/office/settings", "POST", lambda w, p: f"/office/settings?office={w.offices[1]}",
         lambda w, p: {"form": "contact", "phone": "+49 9999"}, access="staff", staff_ok=frozenset({"staff1", "admin"})),
    Case("terms-page", "/p/<slug>/terms", "GET", lambda w, p: f"/p/{p.slug}/terms"),
    Case("terms-adopt", "/p/<slug>/terms", "POST", lambda w, p: f"/p/{p.slug}/terms", lambda w, p: {"action": "adopt"}),
    # Guest reviews: the host's page, the public block (404: C's contract is not active), the
    # office's websites that may frame the block (an admin has no office to set them for).
    Case("reviews-page", "/p/<slug>/reviews", "GET", lambda w, p: f"/p/{p.slug}/reviews"),
    Case("reviews-embed", "/embed/<slug>/reviews", "GET", lambda w, p: f"/embed/{p.slug}/reviews",
         access="public", target="C", allowed_status=404),
    # The public availability search (issue 15), for anyone; of office 2, which has no properties:
    # office 1's are public there by design (their names carry the tenants' marker words).
    *(Case(f"search-{kind}", rule, "GET", lambda w, p, rule=rule: (
        f"{rule}?office={w.offices[2]}&arrival={TODAY + dt.timedelta(days=10)}"
        f"&departure={TODAY + dt.timedelta(days=12)}&guests=2"), access="public", page=False)
      for kind, rule in (("page", "/search"), ("json", "/search.json"))),
    Case("office-embed-get", "/office/embed", "GET", lambda w, p: "/office/embed", access="staff"),
    Case("office-embed-post", "/office/embed", "POST", lambda w, p: "/office/embed",
         lambda w, p: {"origins": "https://www.example.de"}, access="staff", staff_ok=frozenset({"staff1", "staff2"})),
    # Photos (issue 13): the page and the upload (a real 2048 x 1536 JPEG, confirmed), each file
    # of the world's photo (the `world` fixture below adds one to every property); the public
    # sizes of a property with an active contract for anyone, of C (not active) for no one.
    Case("photos-page", "/p/<slug>/photos", "GET", lambda w, p: f"/p/{p.slug}/photos"),
    Case("photos-upload", "/p/<slug>/photos", "POST", lambda w, p: f"/p/{p.slug}/photos",
         lambda w, p: {"photos": (io.BytesIO(photo_images.small_jpeg()), "garten.jpg"), "confirm_no_text": "y"}),
    *(Case(f"photo-file-{v}", "/p/<slug>/photos/<id:photo_id>/<any(thumb, web, original):variant>", "GET",
           lambda w, p, v=v: f"/p/{p.slug}/photos/{p.photo_id}/{v}", page=False) for v in ("thumb", "web", "original")),
    Case("photo-public-web", "/public/photos/<id:photo_id>/<any(thumb, web):variant>", "GET",
         lambda w, p: f"/public/photos/{p.photo_id}/web", access="public", page=False),
    Case("photo-public-thumb-inactive", "/public/photos/<id:photo_id>/<any(thumb, web):variant>", "GET",
         lambda w, p: f"/public/photos/{p.photo_id}/thumb", access="public", target="C", allowed_status=404,
         page=False),
    # Arranging photos: the world's one photo of each property is first and the cover already,
    # so moving it, the order and the cover change nothing; the details change its motive;
    # deleting asks first without scripts (a page), and deletes with confirm=yes. The office's
    # zip of its photos (an admin names the office: 404 without).
    Case("photo-details", "/p/<slug>/photos/<id:photo_id>/details", "POST",
         lambda w, p: f"/p/{p.slug}/photos/{p.photo_id}/details",
         lambda w, p: {"motive": "view", "category_id": "", "description": "Blick"}),
    Case("photo-move", "/p/<slug>/photos/<id:photo_id>/move/<any(up, down):direction>", "POST",
         lambda w, p: f"/p/{p.slug}/photos/{p.photo_id}/move/down", lambda w, p: {}, writes=False),
    Case("photos-order", "/p/<slug>/photos/order", "POST", lambda w, p: f"/p/{p.slug}/photos/order",
         lambda w, p: {"order": str(p.photo_id)}, writes=False),
    Case("photo-cover", "/p/<slug>/photos/<id:photo_id>/cover", "POST",
         lambda w, p: f"/p/{p.slug}/photos/{p.photo_id}/cover", lambda w, p: {}, writes=False),
    Case("photo-delete-ask", "/p/<slug>/photos/<id:photo_id>/delete", "POST",
         lambda w, p: f"/p/{p.slug}/photos/{p.photo_id}/delete", lambda w, p: {}, writes=False),
    Case("photo-delete", "/p/<slug>/photos/<id:photo_id>/delete", "POST",
         lambda w, p: f"/p/{p.slug}/photos/{p.photo_id}/delete", lambda w, p: {"confirm": "yes"}),
    Case("office-photos", "/office/photos.zip", "GET", lambda w, p: "/office/photos.zip", access="staff",
         staff_ok=frozenset({"staff1", "staff2"}), page=False),
]

PROPERTY_CASES = [c for c in CASES if c.access == "property"]


@pytest.fixture
def world(world, db_session):
    """The web tests' world with one photo in each property (its files are dummy bytes, its
    description carries the property's marker: only insiders may ever see it)."""
    with db_session() as s:
        photos = {key: make_photo(s, p.id, motive="exterior", description=f"Haus {p.markers[0]}", commit=False)
                  for key, p in world.props.items()}
        s.commit()
        for key, photo in photos.items():
            world.props[key].photo_id = photo.id
    return world


def expected(case: Case, actor: str) -> str:
    if case.access == "public":
        return ALLOWED
    if case.access == "api":
        return NO_KEY
    if actor == "anonymous":
        return LOGIN
    if case.access == "login":
        return ALLOWED
    if case.access == "staff":
        return ALLOWED if actor in case.staff_ok else FORBIDDEN
    if case.access == "staff_property":
        return ALLOWED if actor in ENTITLED[case.target] and actor not in HOSTS else FORBIDDEN
    return ALLOWED if actor in ENTITLED[case.target] else FORBIDDEN


def _request(client, case: Case, w, p, headers=None):
    if case.method == "GET":
        return client.get(case.url(w, p), headers=headers)
    return client.post(case.url(w, p), data=case.data(w, p), headers=headers)


def _assert_no_leak(body: str, w, actor: str) -> None:
    for key, p in w.props.items():
        if actor in INSIDERS[key]:
            continue
        for marker in p.markers:
            assert marker not in body, f"{actor} got data of property {key}: {marker!r}"


def test_every_route_is_in_the_matrix(app):
    """A new route must get a row in CASES (and so an expectation for every actor)."""
    in_app = {(r.rule, m) for r in app.url_map.iter_rules() if r.endpoint != "static"
              for m in r.methods - {"HEAD", "OPTIONS"}}
    in_matrix = {(c.rule, c.method) for c in CASES}
    assert in_app - in_matrix == set(), "routes missing from the access matrix"
    assert in_matrix - in_app == set(), "the matrix lists routes the app does not have"


def test_the_matrix_covers_every_kind_of_outcome():
    outcomes = {expected(c, a) for c in CASES for a in ACTORS}
    assert outcomes == {LOGIN, ALLOWED, FORBIDDEN, NO_KEY}
    assert all(expected(c, "staff2") == FORBIDDEN for c in PROPERTY_CASES)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("actor", ACTORS)
def test_access(app, client, world, actor, case):
    account = None if actor == "anonymous" else world.users[actor]
    login(client, account)
    p = world.props[case.target]
    before = snapshot(app)

    resp = _request(client, case, world, p)
    body = resp.get_data().decode("utf-8", "replace")  # a zip too: its names and photos.csv stay readable
    outcome = expected(case, actor)

    assert resp.status_code < 500, body[:1000]
    assert_no_trace(body)
    _assert_no_leak(body, world, actor)
    if outcome == NO_KEY:
        assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"
    elif outcome == LOGIN:
        assert resp.status_code == 302, resp.status_code
        assert urlsplit(resp.headers["Location"]).path == "/login"
    elif outcome == FORBIDDEN:
        if actor in HOSTS and case.access in ("staff", "staff_property"):
            assert resp.status_code == 403, resp.status_code
        else:
            assert resp.status_code in (403, 404), resp.status_code
    else:
        # The payloads are valid, so an allowed request goes through (not even a 422).
        if case.allowed_status:
            assert resp.status_code == case.allowed_status, (resp.status_code, body[:2000])
        else:
            assert 200 <= resp.status_code < 400, (resp.status_code, body[:2000])
        if case.access == "property" and resp.status_code == 200 and case.page:
            assert p.name in body  # the page really shows the property
    if outcome != ALLOWED or case.method == "GET":
        assert snapshot(app) == before, "a refused request or a GET changed the database"
    elif case.writes:
        # The same payload that changed nothing when refused does change something when allowed.
        assert snapshot(app) != before


@pytest.mark.parametrize("case", [c for c in CASES if c.access not in ("public", "api")], ids=str)
def test_anonymous_htmx_gets_a_full_redirect_to_login(app, client, world, case):
    """Never a login form swapped into a cell: 401 and HX-Redirect to the login page."""
    before = snapshot(app)
    resp = _request(client, case, world, world.props[case.target], headers=HTMX)
    assert resp.status_code == 401
    assert urlsplit(resp.headers["HX-Redirect"]).path == "/login"
    body = resp.get_data(as_text=True)
    assert "<form" not in body and "password" not in body.lower()
    assert snapshot(app) == before


@pytest.mark.parametrize("case", PROPERTY_CASES + [c for c in CASES if c.name == "contract-activate"], ids=str)
def test_host_c_waits_for_the_contract(app, client, world, case):
    """Host C owns property C, but until staff activate the contract every page is 403 with the reason."""
    login(client, world.host_c)
    before = snapshot(app)
    resp = _request(client, case, world, world.C)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 403
    assert "waiting for the tourist office to activate the brokerage contract" in body
    assert snapshot(app) == before
    home = client.get("/").get_data(as_text=True)
    assert world.C.name not in home and "No property is open to you yet" in home


@pytest.mark.parametrize("staff,key,allowed", [
    ("staff1", "B", True), ("staff1", "C", True),  # C: staff prepare a property before its contract is active
    ("staff2", "B", False), ("staff2", "C", False),
])
def test_staff_reach_exactly_the_properties_of_their_office(client, world, staff, key, allowed):
    """The matrix probes property A; every page of B and C, for both offices' staff."""
    login(client, world.users[staff])
    p = world.props[key]
    for case in (c for c in PROPERTY_CASES if c.method == "GET"):
        resp = _request(client, case, world, p)
        body = resp.get_data(as_text=True)
        if allowed:
            assert resp.status_code == (case.allowed_status or 200), case
            if resp.status_code == 200 and case.page:
                assert p.name in body
        else:
            assert resp.status_code == 403, case
            _assert_no_leak(body, world, staff)


@pytest.mark.parametrize("case", [c for c in PROPERTY_CASES if c.method == "GET"], ids=str)
def test_host_a_cannot_reach_property_b_either(client, world, case):
    """The matrix probes property A; the other direction is refused just the same."""
    login(client, world.host_a)
    resp = _request(client, case, world, world.B)
    assert resp.status_code in (403, 404)
    _assert_no_leak(resp.get_data(as_text=True), world, "host_a")


# -- ids of another property under a property one may open ----------------------------------

def _foreign_id_requests(w):
    """Requests under property A's address that name an object of property B."""
    a, b = w.A, w.B
    return [
        ("GET", f"/p/{a.slug}/bookings/{b.own_id}", None, 404),
        ("GET", f"/p/{a.slug}/bookings/{b.online_id}", None, 404),
        ("GET", f"/p/{a.slug}/bookings/{b.own_id}/edit", None, 404),
        ("POST", f"/p/{a.slug}/bookings/{b.own_id}/edit", _edit_form(w, b), 404),
        ("POST", f"/p/{a.slug}/bookings/{b.own_id}/cancel", {}, 404),
        ("POST", f"/p/{a.slug}/bookings/{b.online_id}/card-invalid", {}, 404),
        ("POST", f"/p/{a.slug}/bookings/{b.online_id}/lift-restrictions", {}, 404),
        ("POST", f"/p/{a.slug}/costs/{b.cost_id}/delete", {}, 404),
        ("GET", f"/p/{a.slug}/calendar/night/{b.cat_id}/{DAY}", None, 404),
        ("POST", f"/p/{a.slug}/calendar/night/{b.cat_id}/{DAY}", {"price": "1.00"}, 404),
        ("GET", f"/p/{a.slug}/calendar/why/{b.cat_id}/{DAY}", None, 404),
        ("POST", f"/p/{a.slug}/calendar/why/{b.cat_id}/{DAY}", {"action": "open"}, 404),
        ("POST", f"/p/{a.slug}/bookings/new", _booking_form(w, b), 422),
        ("POST", f"/p/{a.slug}/bookings/new", _booking_form(w, a, unit_id=b.unit_ids[0]), 422),
        ("POST", f"/p/{a.slug}/bookings/{a.own_id}/edit", _edit_form(w, a) | {"category_id": b.cat_id}, 422),
        ("POST", f"/p/{a.slug}/calendar/bulk", {"categories": [b.cat_id], "start": DAY, "end": DAY,
                                                "weekdays": list(range(7)), "price": "1.00"}, 422),
        ("POST", f"/p/{a.slug}/costs", {"x-name": "X", "x-amount": "1", "x-per": "stay",
                                        "x-category_id": str(b.cat_id)}, 422),
        *(("GET", f"/p/{a.slug}/photos/{b.photo_id}/{v}", None, 404) for v in ("thumb", "web", "original")),
        ("POST", f"/p/{a.slug}/photos/{b.photo_id}/details", {"motive": "view"}, 404),
        ("POST", f"/p/{a.slug}/photos/{b.photo_id}/move/up", {}, 404),
        ("POST", f"/p/{a.slug}/photos/{b.photo_id}/cover", {}, 404),
        ("POST", f"/p/{a.slug}/photos/{b.photo_id}/delete", {}, 404),
        ("POST", f"/p/{a.slug}/photos/{b.photo_id}/delete", {"confirm": "yes"}, 404),
        ("POST", f"/p/{a.slug}/photos/order", {"order": f"{a.photo_id},{b.photo_id}"}, 422),
    ]


@pytest.mark.parametrize("actor", ["host_a", "staff1"])
def test_ids_of_another_property_are_not_found_under_this_one(app, client, world, actor):
    """Even staff who may open both properties cannot mix them: the object must belong to the URL's property."""
    login(client, world.users[actor])
    for method, url, data, status in _foreign_id_requests(world):
        before = snapshot(app)
        resp = client.get(url) if method == "GET" else client.post(url, data=data)
        body = resp.get_data(as_text=True)
        assert resp.status_code == status, (method, url, resp.status_code)
        assert world.B.own_guest not in body and world.B.online_guest not in body and world.B.cost_name not in body
        assert_no_trace(body)
        assert snapshot(app) == before, (method, url)


def test_unknown_property_is_404_for_everyone(client, world):
    login(client, world.admin)
    resp = client.get("/p/no-such-house/calendar")
    assert resp.status_code == 404
    assert "No such property" in resp.get_data(as_text=True)
